// The mock provider (mock/ models) through the real daemon, as an in-process upstream: what it
// answers, and that its replies are recorded like a real provider's (usage, cost, stored bodies).
#include <gtest/gtest.h>

#include <thread>

#include <nlohmann/json.hpp>

#include "fake_upstream.hpp"
#include "harness.hpp"

using namespace llmgate::test;
using namespace std::chrono;
using nlohmann::json;

namespace {

// Forty words (their cap and truncation flag in the ledger: tests/unit/proxy/proxy_mock_test.cpp).
std::string long_text() {
  std::string s;
  for (int i = 0; i < 40; ++i) s += (i ? " word" : "word") + std::to_string(i);
  return s;
}

std::string config_for(const FakeUpstream& up) {
  return R"(model_list:
  - model_name: gpt-test
    litellm_params:
      model: openai/gpt-4o-mini
      api_base: )" +
         up.base_url() + R"(
  - model_name: err500
    litellm_params:
      model: openai/error-500
      api_base: )" +
         up.base_url() + R"(
  - model_name: mock-long
    litellm_params:
      model: mock/long
      mock_response: )" +
         long_text() + R"(
      input_cost_per_token: 0.001
      output_cost_per_token: 0.002
  - model_name: mock-echo
    litellm_params:
      model: mock/echo
  - model_name: mock-paced
    litellm_params:
      model: mock/paced
      mock_tokens_per_second: 20
      mock_response: one two three four five six seven eight nine ten eleven twelve
general_settings:
  master_key: )" +
         kMasterKey + R"(
  database_url: "sqlite:///ledger.db"
  proxy_batch_write_at: 0.05
  store_prompts_in_spend_logs: true
  background_health_checks: false
llmgate_settings:
  drain_seconds: 0.1
  ledger:
    max_body_log_bytes: 4096
)";
}

class ProxyMock : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    up = new FakeUpstream();
    gw = new Daemon(config_for(*up));
  }
  static void TearDownTestSuite() {
    delete gw;
    delete up;
  }
  // The ledger's record of a request (polled: the writer flushes every 50 ms here).
  static json record_of(const RawResponse& r) { return record_of(r.header("x-request-id")); }
  static json record_of(const std::string& id) {
    EXPECT_FALSE(id.empty());
    const auto deadline = steady_clock::now() + seconds(10);
    while (steady_clock::now() < deadline) {
      auto g = request(gw->port(), "GET", "/llmgate/api/logs/" + id, "", {auth_header()});
      if (g.status == 200) return json::parse(g.body);
      std::this_thread::sleep_for(milliseconds(20));
    }
    ADD_FAILURE() << "no ledger record for " << id;
    return json::object();
  }
  static FakeUpstream* up;
  static Daemon* gw;
};
FakeUpstream* ProxyMock::up = nullptr;
Daemon* ProxyMock::gw = nullptr;

TEST_F(ProxyMock, ReplyIsTheMockResponseWithUsageAndCost) {
  auto r = request(gw->port(), "POST", "/v1/chat/completions", chat_body("mock-long"), {auth_header()});
  ASSERT_EQ(r.status, 200) << r.body;
  const json j = json::parse(r.body);
  EXPECT_EQ(j["object"], "chat.completion");
  EXPECT_EQ(j["choices"][0]["message"]["content"], long_text());
  EXPECT_EQ(j["usage"]["completion_tokens"], 40);
  const int64_t prompt = j["usage"]["prompt_tokens"].get<int64_t>();
  EXPECT_GT(prompt, 0);
  ASSERT_FALSE(r.header("x-litellm-response-cost").empty());
  EXPECT_NEAR(std::stod(r.header("x-litellm-response-cost")), prompt * 0.001 + 40 * 0.002, 1e-9);
  EXPECT_FALSE(r.header("x-litellm-model-id").empty());
  const json rec = record_of(r);
  EXPECT_EQ(rec["status"], 200);
  EXPECT_EQ(rec["provider"], "mock");
  EXPECT_EQ(rec["completion_tokens"], 40);
  EXPECT_EQ(rec["tokens_estimated"], false);
  EXPECT_NEAR(rec["cost"].get<double>(), prompt * 0.001 + 40 * 0.002, 1e-9);
}

TEST_F(ProxyMock, StreamedReplyCarriesEveryPieceThenDone) {
  auto r = request(gw->port(), "POST", "/v1/chat/completions",
                   chat_body("mock-long", true, R"("stream_options":{"include_usage":true})"), {auth_header()});
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.header("content-type"), "text/event-stream");
  std::string text;
  bool usage = false, stop = false;
  std::size_t pos = 0, events = 0;
  while ((pos = r.body.find("data: ", pos)) != std::string::npos) {
    const auto end = r.body.find('\n', pos);
    const std::string data = r.body.substr(pos + 6, end - pos - 6);
    pos = end;
    if (data == "[DONE]") continue;
    ++events;
    const json ev = json::parse(data);
    if (ev.contains("usage")) {
      usage = ev["usage"]["completion_tokens"] == 40;
      continue;
    }
    const json& c = ev["choices"][0];
    if (c["finish_reason"] == "stop") stop = true;
    if (c["delta"].contains("content")) text += c["delta"]["content"].get<std::string>();
  }
  EXPECT_EQ(text, long_text());
  EXPECT_EQ(events, 42u);  // 40 pieces, the finish chunk, the usage chunk
  EXPECT_TRUE(stop);
  EXPECT_TRUE(usage);
  EXPECT_NE(r.body.find("data: [DONE]"), std::string::npos);
}

TEST_F(ProxyMock, UsageChunkIsLeftOutUnlessAsked) {
  auto r = request(gw->port(), "POST", "/v1/chat/completions", chat_body("mock-long", true), {auth_header()});
  ASSERT_EQ(r.status, 200);
  EXPECT_EQ(r.body.find("\"usage\""), std::string::npos);
  const json rec = record_of(r);
  EXPECT_EQ(rec["completion_tokens"], 40);  // recorded all the same
  EXPECT_EQ(rec["tokens_estimated"], false);
}

// A stored stream has the same shape whichever upstream sent it: one event's data per line.
TEST_F(ProxyMock, StoredStreamIsShapedAsARealProvidersStream) {
  for (const char* model : {"gpt-test", "mock-echo"}) {
    auto r = request(gw->port(), "POST", "/v1/chat/completions", chat_body(model, true), {auth_header()});
    ASSERT_EQ(r.status, 200) << model;
    const json rec = record_of(r);
    const std::string body = rec["response_body"].get<std::string>();
    const std::string first = body.substr(0, body.find('\n'));
    EXPECT_TRUE(json::accept(first)) << model << ": " << body;
    EXPECT_EQ(rec["response_truncated"], false) << model;
  }
}

// A client that leaves a mock stream is recorded as with any upstream: 499, the usage estimated
// (the usage chunk never came) and flagged.
TEST_F(ProxyMock, ClientLeavingAStreamIsRecordedAsWithAnyUpstream) {
  RawConn c(gw->port());
  c.send(http_request("POST", "/v1/chat/completions", chat_body("mock-paced", true), {auth_header()}));
  const std::string got = c.read_until("data: ", seconds(5));
  ASSERT_NE(got.find("data: "), std::string::npos);
  const auto at = lower(got).find("x-request-id: ");
  ASSERT_NE(at, std::string::npos);
  const std::string id = got.substr(at + 14, got.find('\r', at) - at - 14);
  c.close();
  const json rec = record_of(id);
  EXPECT_EQ(rec["status"], 499);
  EXPECT_EQ(rec["error_type"], "client_closed_request");
  EXPECT_EQ(rec["tokens_estimated"], true);
  EXPECT_LT(rec["completion_tokens"].get<int64_t>(), 12);
}

// The record's error, for the gateway's own errors and an upstream's error body alike, comes from
// one place: an upstream's keeps its status, type and message.
TEST_F(ProxyMock, ErrorsAreRecordedWithTheirStatusTypeAndMessage) {
  auto up_err = request(gw->port(), "POST", "/v1/chat/completions", chat_body("err500"), {auth_header()});
  ASSERT_EQ(up_err.status, 500);
  json rec = record_of(up_err);
  EXPECT_EQ(rec["status"], 500);
  EXPECT_EQ(rec["error_type"], "server_error");
  EXPECT_EQ(rec["error_message"], "fake upstream failure");
  auto own = request(gw->port(), "POST", "/v1/chat/completions", chat_body("no-such-model"), {auth_header()});
  ASSERT_EQ(own.status, 404);
  rec = record_of(own);
  EXPECT_EQ(rec["status"], 404);
  EXPECT_EQ(rec["error_type"], "invalid_request_error");
  EXPECT_NE(rec["error_message"].get<std::string>().find("no-such-model"), std::string::npos);
}

// As OpenAI: the float32 vector in base64 when the client asks for it, else floats.
TEST_F(ProxyMock, EmbeddingsHonourTheEncodingFormat) {
  auto b64 = request(gw->port(), "POST", "/v1/embeddings",
                     R"({"model":"mock-echo","input":"hi","encoding_format":"base64"})", {auth_header()});
  ASSERT_EQ(b64.status, 200) << b64.body;
  EXPECT_TRUE(json::parse(b64.body)["data"][0]["embedding"].is_string());
  auto floats = request(gw->port(), "POST", "/v1/embeddings", R"({"model":"mock-echo","input":"hi"})", {auth_header()});
  ASSERT_EQ(floats.status, 200) << floats.body;
  const json j = json::parse(floats.body);
  EXPECT_EQ(j["data"][0]["embedding"].size(), 8u);
  EXPECT_GT(j["usage"]["prompt_tokens"].get<int64_t>(), 0);
}

}  // namespace
