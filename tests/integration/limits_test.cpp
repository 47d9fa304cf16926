// Request limits and timeouts: 413, 414, 431, 408, each an OpenAI-shaped JSON error.
#include <gtest/gtest.h>

#include <fstream>

#include <nlohmann/json.hpp>

#include "harness.hpp"

using namespace llmgate::test;
using namespace std::chrono;
using nlohmann::json;

namespace {

const std::string kYaml = std::string(R"(model_list:
  - model_name: m
    litellm_params:
      model: mock/m
general_settings:
  master_key: )") + kMasterKey +
                          R"(
llmgate_settings:
  limits:
    max_body_bytes: 1024
    header_timeout_seconds: 1
    body_idle_timeout_seconds: 1
)";

class LimitsTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { gw = new Daemon(kYaml); }
  static void TearDownTestSuite() { delete gw; }
  static Daemon* gw;
  static void expect_json_error(const RawResponse& r, int status) {
    EXPECT_EQ(r.status, status) << r.body;
    auto j = json::parse(r.body, nullptr, false);
    ASSERT_TRUE(j.is_object()) << r.body;
    EXPECT_TRUE(j["error"].contains("message"));
    EXPECT_TRUE(j["error"].contains("type"));
    EXPECT_TRUE(j["error"].contains("param"));
    EXPECT_TRUE(j["error"].contains("code"));
  }
};
Daemon* LimitsTest::gw = nullptr;

TEST_F(LimitsTest, BodyTooLargeByContentLengthIs413BeforeTheBodyIsRead) {
  RawConn c(gw->port());
  // Only the headers are sent: the decision comes from Content-Length.
  c.send("POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + std::string(kMasterKey) +
         "\r\nContent-Length: 5000\r\n\r\n");
  auto r = c.read_response(seconds(5));
  ASSERT_TRUE(r);
  expect_json_error(*r, 413);
}

TEST_F(LimitsTest, ChunkedBodyTooLargeIs413) {
  RawConn c(gw->port());
  std::string chunk(800, 'a');
  char size[16];
  std::snprintf(size, sizeof size, "%zx", chunk.size());
  c.send("POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n" + std::string(size) +
         "\r\n" + chunk + "\r\n" + size + "\r\n" + chunk + "\r\n0\r\n\r\n");
  auto r = c.read_response(seconds(5));
  ASSERT_TRUE(r);
  expect_json_error(*r, 413);
}

TEST_F(LimitsTest, LongRequestLineIs414) {
  auto r = request(gw->port(), "GET", "/v1/models?x=" + std::string(9000, 'a'), "", {auth_header()});
  expect_json_error(r, 414);
}

TEST_F(LimitsTest, HugeHeadersAre431) {
  auto r = request(gw->port(), "GET", "/v1/models", "", {auth_header(), {"x-big", std::string(17000, 'b')}});
  expect_json_error(r, 431);
}

TEST_F(LimitsTest, TooManyHeaderFieldsAre431) {
  std::vector<std::pair<std::string, std::string>> h = {auth_header()};
  for (int i = 0; i < 120; ++i) h.emplace_back("x-h" + std::to_string(i), "v");
  auto r = request(gw->port(), "GET", "/v1/models", "", h);
  expect_json_error(r, 431);
}

TEST_F(LimitsTest, SlowHeadersAre408) {
  RawConn c(gw->port());
  c.send("POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\n");  // never finishes the headers
  auto r = c.read_response(seconds(5));
  ASSERT_TRUE(r);
  expect_json_error(*r, 408);
}

TEST_F(LimitsTest, StalledBodyIs408) {
  RawConn c(gw->port());
  c.send("POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{\"model\":");
  auto r = c.read_response(seconds(5));
  ASSERT_TRUE(r);
  expect_json_error(*r, 408);
}

TEST_F(LimitsTest, MalformedRequestIs400) {
  RawConn c(gw->port());
  c.send("THIS IS NOT HTTP\r\n\r\n");
  auto r = c.read_response(seconds(5));
  ASSERT_TRUE(r);
  expect_json_error(*r, 400);
}

TEST_F(LimitsTest, HeadIsGetWithoutABodyAndKeepsTheConnectionInStep) {
  // HEAD answers carry the head (and the length a GET body would have) and never a body: a
  // body would be read as the start of the next response on a keep-alive connection.
  for (const std::string path : {"/health/liveliness", "/v1/chat/completions", "/no/such/path"}) {
    RawConn c(gw->port());
    c.send("HEAD " + path +
           " HTTP/1.1\r\nHost: x\r\n\r\nGET /health/liveliness HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    const std::string got = c.read_until_close(seconds(5));
    const std::size_t head_end = got.find("\r\n\r\n");
    ASSERT_NE(head_end, std::string::npos) << got;
    const std::string head = got.substr(0, head_end);
    const int want = path == "/health/liveliness" ? 200 : path == "/no/such/path" ? 404 : 405;
    EXPECT_EQ(head.substr(0, 12), "HTTP/1.1 " + std::to_string(want)) << path << "\n" << got;
    EXPECT_NE(head.find("Content-Length: "), std::string::npos) << got;
    EXPECT_EQ(head.find("Content-Length: 0\r"), std::string::npos) << "the length a GET body would have: " << got;
    // The next bytes are the GET's answer, whole.
    EXPECT_EQ(got.substr(head_end + 4, 15), "HTTP/1.1 200 OK") << path << "\n" << got;
    EXPECT_NE(got.find("I'm alive!", head_end), std::string::npos) << got;
  }
}

TEST_F(LimitsTest, ServerSurvivesAndStillServes) {
  auto r = request(gw->port(), "POST", "/v1/chat/completions", chat_body("m"), {auth_header()});
  EXPECT_EQ(r.status, 200);
}

TEST(Cli, CheckConfigMasksSecretsAndExitsZero) {
  std::string dir = make_temp_dir();
  {
    std::ofstream f(dir + "/c.yaml");
    f << "model_list:\n  - model_name: a\n    litellm_params:\n      model: openai/gpt-4o\n      api_base: http://127.0.0.1:9/v1\n      api_key: os.environ/MY_UPSTREAM_KEY\n";
  }
  auto [code, out] = run_binary({"--config", dir + "/c.yaml", "--check-config"},
                                {{"MY_UPSTREAM_KEY", "sk-verysecretvalue123456"}});
  EXPECT_EQ(code, 0) << out;
  EXPECT_EQ(out.find("verysecretvalue"), std::string::npos) << out;
  EXPECT_NE(out.find("gpt-4o"), std::string::npos);
}

TEST(Cli, MissingEnvVarIsExit2NamingVariableAndPath) {
  std::string dir = make_temp_dir();
  {
    std::ofstream f(dir + "/c.yaml");
    f << "model_list:\n  - model_name: a\n    litellm_params:\n      model: openai/gpt-4o\n      api_base: os.environ/NOT_SET_ANYWHERE_XYZ\n";
  }
  auto [code, out] = run_binary({"--config", dir + "/c.yaml", "--check-config"});
  EXPECT_EQ(code, 2);
  EXPECT_NE(out.find("NOT_SET_ANYWHERE_XYZ"), std::string::npos) << out;
  EXPECT_NE(out.find("model_list[0].litellm_params.api_base"), std::string::npos) << out;
}

TEST(Cli, ConfigFromEnvironmentVariable) {
  std::string dir = make_temp_dir();
  { std::ofstream(dir + "/c.yaml") << kYaml; }
  auto [code, out] = run_binary({"--check-config"}, {{"LLMGATE_CONFIG", dir + "/c.yaml"}});
  EXPECT_EQ(code, 0) << out;
}

TEST(Cli, UnsupportedKeysWarnWithPath) {
  Daemon gw(kYaml + "litellm_settings:\n  success_callback: []\n  cache: true\n");
  EXPECT_NE(gw.log().find("litellm_settings.success_callback: not supported yet, ignored"), std::string::npos)
      << gw.log();
  EXPECT_EQ(request(gw.port(), "GET", "/health/liveliness").status, 200);
}

TEST(Cli, PortInUseIsAClearError) {
  Daemon a(kYaml);
  std::string dir = make_temp_dir();
  { std::ofstream(dir + "/c.yaml") << kYaml; }
  auto [code,
        out] = run_binary({"--config", dir + "/c.yaml", "--host", "127.0.0.1", "--port", std::to_string(a.port())});
  EXPECT_EQ(code, 2);
  EXPECT_NE(out.find("in use"), std::string::npos) << out;
}

}  // namespace

namespace {
TEST(Auth, NoMasterKeyMeansOpenGateway) {
  Daemon gw("model_list:\n  - model_name: m\n    litellm_params:\n      model: mock/m\n");
  EXPECT_NE(gw.log().find("NO MASTER KEY CONFIGURED"), std::string::npos);
  EXPECT_EQ(request(gw.port(), "POST", "/v1/chat/completions", chat_body("m")).status, 200);
  EXPECT_EQ(request(gw.port(), "POST", "/v1/chat/completions", chat_body("m"), {auth_header("sk-anything")}).status,
            200);
  EXPECT_EQ(request(gw.port(), "GET", "/v1/models").status, 200);
}
}  // namespace

namespace {
TEST(Metrics, OpenByDefaultAndMasterKeyOnlyWhenRequired) {
  Daemon open_gw(kYaml);
  EXPECT_EQ(request(open_gw.port(), "GET", "/metrics").status, 200);
  Daemon gw(kYaml + "litellm_settings:\n  require_auth_for_metrics_endpoint: true\n");
  EXPECT_EQ(request(gw.port(), "GET", "/metrics").status, 401);
  auto ok = request(gw.port(), "GET", "/metrics", "", {auth_header()});
  EXPECT_EQ(ok.status, 200);
  EXPECT_NE(ok.body.find("litellm_in_flight_requests"), std::string::npos);
}
}  // namespace
