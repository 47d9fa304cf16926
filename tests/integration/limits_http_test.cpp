// The HTTP request limits a hostile client meets: the whole-body deadline, obsolete line
// folding, the status of an oversized header; and what /health tells a caller without the
// master key.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "fake_upstream.hpp"
#include "harness.hpp"

using namespace llmgate::test;
using namespace std::chrono;
using nlohmann::json;

namespace {

std::string limits_yaml(const FakeUpstream& up) {
  return R"(model_list:
  - model_name: up
    litellm_params:
      model: openai/gpt-4o-mini
      api_base: )" +
         up.base_url() + R"(
      api_key: sk-upstream
  - model_name: m
    litellm_params:
      model: mock/m
general_settings:
  master_key: )" +
         std::string(kMasterKey) + R"(
  background_health_checks: false
llmgate_settings:
  limits:
    body_timeout_seconds: 1
    body_idle_timeout_seconds: 5
)";
}

class LimitsHttpTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    up = new FakeUpstream();
    gw = new Daemon(limits_yaml(*up));
  }
  static void TearDownTestSuite() {
    delete gw;
    delete up;
  }
  static FakeUpstream* up;
  static Daemon* gw;
};
FakeUpstream* LimitsHttpTest::up = nullptr;
Daemon* LimitsHttpTest::gw = nullptr;

std::string error_type(const RawResponse& r) {
  const json j = json::parse(r.body, nullptr, false);
  return j.is_object() && j.contains("error") ? j["error"].value("type", std::string()) : std::string();
}

TEST_F(LimitsHttpTest, SlowBodyMeetsTheWholeBodyDeadline) {
  // One byte every 100 ms never trips the 5 s gap timeout; the 1 s whole-body deadline must.
  const int before = up->requests();
  RawConn c(gw->port());
  ASSERT_TRUE(c.send("POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " +
                     std::string(kMasterKey) +
                     "\r\nContent-Type: application/json\r\nContent-Length: 1048576\r\n\r\n{"));
  const auto t0 = steady_clock::now();
  std::optional<RawResponse> r;
  while (!r && steady_clock::now() - t0 < seconds(8)) {
    c.send(" ");
    r = c.read_response(milliseconds(100));  // paces the sender; keeps what arrived
  }
  ASSERT_TRUE(r) << "no answer within 8 s";
  EXPECT_EQ(r->status, 408) << r->body;
  EXPECT_EQ(r->header("connection"), "close");
  EXPECT_LT(steady_clock::now() - t0, seconds(4));
  EXPECT_TRUE(c.closed_within(seconds(5)));
  EXPECT_EQ(up->requests(), before) << "the upstream was called";
}

TEST_F(LimitsHttpTest, ABodyThatArrivesInTimeIsServed) {
  RawConn c(gw->port());
  const std::string body = chat_body("m");
  ASSERT_TRUE(c.send("POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " +
                     std::string(kMasterKey) + "\r\nContent-Length: " + std::to_string(body.size()) + "\r\n\r\n" +
                     body.substr(0, 10)));
  EXPECT_FALSE(c.read_response(milliseconds(300)));  // the rest comes later, within the deadline
  ASSERT_TRUE(c.send(body.substr(10)));
  auto r = c.read_response(seconds(5));
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200) << r->body;
}

TEST_F(LimitsHttpTest, ObsoleteLineFoldingIs400AndCloses) {
  for (const std::string fold :
       {"X-F: a\r\n  b\r\n", "X-F: a\r\n\tb\r\n", "X-F:\r\n b\r\n", "X-A: 1\r\nX-F: a\r\n b\r\nX-B: 2\r\n"}) {
    RawConn c(gw->port());
    ASSERT_TRUE(c.send("GET /health/liveliness HTTP/1.1\r\nHost: x\r\n" + fold + "\r\n"));
    auto r = c.read_response(seconds(5));
    ASSERT_TRUE(r) << fold;
    EXPECT_EQ(r->status, 400) << fold << r->body;
    EXPECT_EQ(error_type(*r), "invalid_request_error") << r->body;
    EXPECT_TRUE(c.closed_within(seconds(5))) << fold;
  }
}

TEST_F(LimitsHttpTest, ObsoleteLineFoldingInALaterReadIs400) {
  RawConn c(gw->port());
  ASSERT_TRUE(c.send("GET /health/liveliness HTTP/1.1\r\nHost: x\r\nX-F: a\r\n"));
  EXPECT_FALSE(c.read_response(milliseconds(200)));  // the gateway has read the first part
  ASSERT_TRUE(c.send(" b\r\n\r\n"));
  auto r = c.read_response(seconds(5));
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 400) << r->body;
  EXPECT_TRUE(c.closed_within(seconds(5)));
}

TEST_F(LimitsHttpTest, SpacesAndNewlinesThatAreNotFoldingAreServed) {
  // Spaces inside a value, and a body with newlines followed by spaces, are ordinary.
  auto r = request(gw->port(), "GET", "/health/liveliness", "", {{"X-F", "a  b\t c"}});
  EXPECT_EQ(r.status, 200) << r.body;
  const std::string pretty =
      "{\n  \"model\": \"m\",\n  \"messages\": [\n    {\"role\": \"user\", \"content\": \"hi\"}\n  ]\n}";
  r = request(gw->port(), "POST", "/v1/chat/completions", pretty, {auth_header()});
  EXPECT_EQ(r.status, 200) << r.body;
  // Keep-alive: the second request's head follows the first body on one connection.
  RawConn c(gw->port());
  ASSERT_TRUE(c.send(http_request("POST", "/v1/chat/completions", pretty, {auth_header()}) +
                     http_request("GET", "/health/liveliness")));
  auto a = c.read_response(seconds(5));
  auto b = c.read_response(seconds(5));
  ASSERT_TRUE(a && b);
  EXPECT_EQ(a->status, 200);
  EXPECT_EQ(b->status, 200);
}

TEST_F(LimitsHttpTest, OneHugeHeaderIs431NotTheRequestTargetsStatus) {
  auto r = request(gw->port(), "GET", "/health/liveliness", "", {{"X-Big", std::string(64 * 1024, 'b')}});
  EXPECT_EQ(r.status, 431) << r.body;
  // Many fields that together pass the limit.
  std::vector<std::pair<std::string, std::string>> h;
  for (int i = 0; i < 40; ++i) h.emplace_back("x-h" + std::to_string(i), std::string(1000, 'v'));
  EXPECT_EQ(request(gw->port(), "GET", "/health/liveliness", "", h).status, 431);
  // A long request target stays 414, also when it is longer than the whole header limit.
  EXPECT_EQ(request(gw->port(), "GET", "/health/liveliness?x=" + std::string(9000, 'a')).status, 414);
  EXPECT_EQ(request(gw->port(), "GET", "/health/liveliness?x=" + std::string(40000, 'a')).status, 414);
}

TEST_F(LimitsHttpTest, StillServesAfterwards) {
  EXPECT_EQ(request(gw->port(), "POST", "/v1/chat/completions", chat_body("up"), {auth_header()}).status, 200);
}

// /health: probes need no key and learn status and counts; deployment details (addresses,
// models, upstream errors) are for the master key, and only the master key starts a round of
// upstream checks.
class HealthDetailTest : public ::testing::Test {
 protected:
  void SetUp() override {
    gw = std::make_unique<Daemon>(R"(model_list:
  - model_name: good
    litellm_params:
      model: openai/gpt-4o-mini
      api_base: )" + up.base_url() +
                                  R"(
      api_key: sk-upstream
  - model_name: broken
    litellm_params:
      model: openai/gpt-4o
      api_base: )" + up.origin() + R"(/not-here/v1
      api_key: sk-upstream
general_settings:
  master_key: )" + std::string(kMasterKey) +
                                  R"(
  database_url: "sqlite:///ledger.db"
  background_health_checks: false
)");
  }
  static void expect_counts_only(const RawResponse& r, int healthy, int unhealthy) {
    EXPECT_EQ(r.status, 200) << r.body;
    const json j = json::parse(r.body, nullptr, false);
    ASSERT_TRUE(j.is_object()) << r.body;
    EXPECT_TRUE(j.contains("status")) << r.body;
    EXPECT_EQ(j.value("healthy_count", -1), healthy) << r.body;
    EXPECT_EQ(j.value("unhealthy_count", -1), unhealthy) << r.body;
    for (const char* secret : {"127.0.0.1", "api_base", "gpt-4o", "good", "broken", "not-here", "404", "error"})
      EXPECT_EQ(r.body.find(secret), std::string::npos) << secret << " in " << r.body;
  }
  FakeUpstream up;
  std::unique_ptr<Daemon> gw;
};

TEST_F(HealthDetailTest, WithoutTheMasterKeyCountsOnlyAndNoUpstreamCalls) {
  // No round has run: both deployments count as healthy until checked, and asking does not
  // start a round.
  expect_counts_only(request(gw->port(), "GET", "/health"), 2, 0);
  expect_counts_only(request(gw->port(), "GET", "/health", "", {auth_header("sk-wrong")}), 2, 0);
  auto made = request(gw->port(), "POST", "/key/generate", R"({"key_alias":"app"})", {auth_header()});
  ASSERT_EQ(made.status, 200) << made.body;
  const std::string vkey = json::parse(made.body, nullptr, false).value("key", std::string());
  ASSERT_FALSE(vkey.empty());
  expect_counts_only(request(gw->port(), "GET", "/health", "", {auth_header(vkey)}), 2, 0);
  EXPECT_EQ(up.requests(), 0) << "a caller without the master key started upstream checks";

  // The master key gets the details and runs a round.
  auto r = request(gw->port(), "GET", "/health", "", {auth_header()});
  ASSERT_EQ(r.status, 200) << r.body;
  const json j = json::parse(r.body, nullptr, false);
  ASSERT_TRUE(j.is_object()) << r.body;
  EXPECT_EQ(j.value("healthy_count", -1), 1) << r.body;
  EXPECT_EQ(j.value("unhealthy_count", -1), 1) << r.body;
  ASSERT_EQ(j["unhealthy_endpoints"].size(), 1u) << r.body;
  EXPECT_EQ(j["unhealthy_endpoints"][0].value("model_name", ""), "broken");
  EXPECT_NE(j["unhealthy_endpoints"][0].value("api_base", "").find("/not-here/v1"), std::string::npos) << r.body;
  EXPECT_FALSE(j["unhealthy_endpoints"][0].value("error", "").empty()) << r.body;
  ASSERT_EQ(j["healthy_endpoints"].size(), 1u) << r.body;
  EXPECT_EQ(j["healthy_endpoints"][0].value("model_name", ""), "good");
  const int after_round = up.requests();
  EXPECT_GE(after_round, 2);

  // Without it again: the counts of the last round, still no details, no new round.
  expect_counts_only(request(gw->port(), "GET", "/health"), 1, 1);
  expect_counts_only(request(gw->port(), "GET", "/health", "", {auth_header(vkey)}), 1, 1);
  EXPECT_EQ(up.requests(), after_round);
}

TEST_F(HealthDetailTest, AnAdminDashboardSessionGetsTheDetails) {
  // The dashboard's model page reads /health with its session cookie.
  auto login = request(gw->port(), "POST", "/ui/login", json{{"username", "admin"}, {"password", kMasterKey}}.dump(),
                       {{"Origin", "http://127.0.0.1"}});
  ASSERT_EQ(login.status, 200) << login.body;
  std::string cookie = login.header("set-cookie");
  cookie = cookie.substr(0, cookie.find(';'));
  ASSERT_FALSE(cookie.empty());
  auto r = request(gw->port(), "GET", "/health", "", {{"Cookie", cookie}});
  EXPECT_EQ(r.status, 200) << r.body;
  EXPECT_NE(r.body.find("unhealthy_endpoints"), std::string::npos) << r.body;
  EXPECT_NE(r.body.find("/not-here/v1"), std::string::npos) << r.body;
  // A stale cookie is just no master.
  r = request(gw->port(), "GET", "/health", "", {{"Cookie", "llmgate_session=0000"}});
  expect_counts_only(r, 1, 1);
}

TEST(HealthDetailOpen, AGatewayWithoutAMasterKeyShowsDetailsToEveryone) {
  Daemon gw(
      "model_list:\n  - model_name: m\n    litellm_params:\n      model: mock/m\n"
      "general_settings:\n  background_health_checks: false\n");
  auto r = request(gw.port(), "GET", "/health");
  EXPECT_EQ(r.status, 200) << r.body;
  EXPECT_NE(r.body.find("healthy_endpoints"), std::string::npos) << r.body;
}

}  // namespace
