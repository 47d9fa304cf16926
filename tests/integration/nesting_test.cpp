// Deeply nested JSON, from clients and from upstreams. A chat body whose `messages` was 100,000
// nested arrays used to kill the gateway (the mock provider dumped it recursively and overflowed
// the worker's stack). Every JSON body of every endpoint, with 100,000 and 1,000,000 levels in
// each field, must get a quick 400 invalid_request_error; an upstream answering that deep must
// give the client a clean error; and the gateway must serve normally afterwards.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <functional>
#include <thread>

#include <nlohmann/json.hpp>

#include "harness.hpp"

using namespace llmgate::test;
using namespace std::chrono;
using nlohmann::json;

namespace {

constexpr std::size_t kDepths[] = {100'000, 1'000'000};

std::string arrays(std::size_t n) { return std::string(n, '[') + std::string(n, ']'); }

std::string objects(std::size_t n) {
  std::string s;
  s.reserve(n * 6 + 1);
  for (std::size_t i = 0; i < n; ++i) s += R"({"a":)";
  s += "1";
  return s + std::string(n, '}');
}

std::string sized(const std::string& status, const std::string& body) {
  return "HTTP/1.1 " + status +
         "\r\nContent-Type: application/json\r\nConnection: close\r\nContent-Length: " + std::to_string(body.size()) +
         "\r\n\r\n" + body;
}

std::string streamed(const std::string& content_type, const std::string& body) {
  return "HTTP/1.1 200 OK\r\nContent-Type: " + content_type +
         "\r\nConnection: close\r\nContent-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body;
}

std::string config(const std::string& origin) {
  return R"(model_list:
  - model_name: mock-m
    litellm_params:
      model: mock/m
  - model_name: gpt-deep
    litellm_params:
      model: openai/deep
      api_base: )" +
         origin + R"(/v1
      api_key: sk-upstream
  - model_name: gpt-deep-error
    litellm_params:
      model: openai/deep-error
      api_base: )" +
         origin + R"(/v1
      api_key: sk-upstream
  - model_name: azure-deep
    litellm_params:
      model: azure/deep
      api_base: )" +
         origin + R"(
      api_key: azure-key
      api_version: "2024-10-21"
  - model_name: azure-deep-error
    litellm_params:
      model: azure/deep-error
      api_base: )" +
         origin + R"(
      api_key: azure-key
      api_version: "2024-10-21"
  - model_name: ollama-deep
    litellm_params:
      model: ollama_chat/deep
      api_base: )" +
         origin + R"(
  - model_name: ollama-deep-error
    litellm_params:
      model: ollama_chat/deep-error
      api_base: )" +
         origin + R"(
general_settings:
  master_key: )" +
         kMasterKey + R"(
  database_url: "sqlite:///ledger.db"
  store_model_in_db: true
  background_health_checks: false
litellm_settings:
  request_timeout: 5
llmgate_settings:
  drain_seconds: 0.1
)";
}

// The upstream's answers: `depth` levels inside an otherwise ordinary answer of the dialect the
// target names; "-error" models get an error status whose error object holds the deep value.
std::atomic<std::size_t> g_upstream_depth{100'000};

std::string deep_answer(const std::string& target, const std::string& body) {
  const std::string d = arrays(g_upstream_depth);
  const bool stream = body.find(R"("stream":true)") != std::string::npos;
  const bool error = body.find("deep-error") != std::string::npos || target.find("deep-error") != std::string::npos;
  if (target.find("/api/") != std::string::npos) {  // Ollama
    if (error) return sized("500 Internal Server Error", R"({"error":{"message":)" + d + "}}");
    const std::string msg =
        R"({"model":"deep","created_at":"2024-01-01T00:00:00Z","message":{"role":"assistant","content":"hi","tool_calls":)" +
        d + R"(},"done":)" + (stream ? "false" : "true") + R"(,"prompt_eval_count":5,"eval_count":1})";
    return stream ? streamed("application/x-ndjson", msg + "\n") : sized("200 OK", msg);
  }
  if (error)
    return sized(
        "500 Internal Server Error",
        R"({"error":{"message":"failed","type":"server_error","param":null,"code":null,"innererror":)" + d + "}}");
  if (stream)
    return streamed(
        "text/event-stream",
        R"(data: {"id":"c","object":"chat.completion.chunk","created":1,"model":"deep","choices":[{"index":0,"delta":{"content":)" +
            d +
            R"(},"finish_reason":null}]})"
            "\n\ndata: [DONE]\n\n");
  return sized(
      "200 OK",
      R"({"id":"c","object":"chat.completion","created":1,"model":"deep","choices":[{"index":0,"message":{"role":"assistant","content":)" +
          d + R"(},"finish_reason":"stop"}],"usage":{"prompt_tokens":9,"completion_tokens":1,"total_tokens":10}})");
}

class NestingTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    up = new ScriptedUpstream(deep_answer);
    gw = new Daemon(config(up->origin()));
  }
  static void TearDownTestSuite() {
    delete gw;
    delete up;
  }
  static ScriptedUpstream* up;
  static Daemon* gw;

  static RawResponse post(const std::string& target, const std::string& body,
                          std::vector<std::pair<std::string, std::string>> headers = {auth_header()}) {
    RawConn c(gw->port());
    c.send(http_request("POST", target, body, headers));
    auto r = c.read_response(seconds(10));
    return r ? *r : RawResponse{};
  }

  static void expect_still_serving() {
    ASSERT_TRUE(gw->running()) << gw->log();
    const auto r = post("/v1/chat/completions", chat_body("mock-m"));
    EXPECT_EQ(r.status, 200) << r.body;
    EXPECT_EQ(json::parse(r.body, nullptr, false)["object"], "chat.completion") << r.body;
  }
};
ScriptedUpstream* NestingTest::up = nullptr;
Daemon* NestingTest::gw = nullptr;

struct Case {
  std::string target;
  std::string body;
  bool ui = false;  // the dashboard's sign-in: same-origin, no key
};

// Every JSON endpoint with the deep value `d` (arrays) or `o` (objects) in each of its fields.
std::vector<Case> client_cases(const std::string& d, const std::string& o) {
  const std::string hi = R"("messages":[{"role":"user","content":"hi"}])";
  std::vector<Case> cs;
  // The body is refused before its model is looked up; these two models are the ones whose
  // dialects would build a document of it (the mock and Ollama).
  for (const char* model : {"mock-m", "ollama-deep"}) {
    const std::string m = std::string(R"({"model":")") + model + R"(",)";
    for (const char* t : {"/v1/chat/completions", "/chat/completions"}) {
      cs.push_back({t, m + R"("messages":)" + d + "}"});
      cs.push_back({t, m + R"("messages":[{"role":"user","content":)" + d + "}]}"});
      cs.push_back({t, m + R"("messages":[{"role":"user","content":[{"type":"text","text":"hi","x":)" + o + "}]}]}"});
      cs.push_back({t, m + hi + R"(,"tools":)" + d + "}"});
      cs.push_back({t, m + hi + R"(,"tools":[{"type":"function","function":{"name":"f","parameters":)" + o + "}}]}"});
      cs.push_back({t, m + hi + R"(,"response_format":)" + o + "}"});
      cs.push_back({t, m + hi + R"(,"stream":true,"stream_options":)" + o + "}"});
      cs.push_back({t, m + hi + R"(,"metadata":)" + o + R"(,"stream":true})"});
      cs.push_back(
          {t,
           m + R"("messages":[{"role":"assistant","content":"","tool_calls":[{"id":"1","type":"function","function":{"name":"f","arguments":)" +
               o + "}}]}]}"});
    }
    for (const char* t : {"/v1/completions", "/completions"}) {
      cs.push_back({t, m + R"("prompt":)" + d + "}"});
      cs.push_back({t, m + R"("prompt":"hi","logit_bias":)" + o + "}"});
    }
    for (const char* t : {"/v1/embeddings", "/embeddings"}) {
      cs.push_back({t, m + R"("input":)" + d + "}"});
      cs.push_back({t, m + R"("input":["a"],"encoding_format":)" + o + "}"});
    }
  }
  // Azure's paths name the deployment instead of a model field.
  cs.push_back({"/openai/deployments/azure-deep/chat/completions?api-version=2024-10-21", R"({"messages":)" + d + "}"});
  cs.push_back({"/openai/deployments/mock-m/embeddings?api-version=2024-10-21", R"({"input":)" + d + "}"});
  // A body ending inside the nesting, never closed.
  cs.push_back({"/v1/chat/completions", R"({"model":"mock-m","messages":)" + d.substr(0, d.size() / 2)});
  // Management API.
  cs.push_back({"/key/generate", R"({"metadata":)" + o + "}"});
  cs.push_back({"/key/generate", R"({"models":)" + d + "}"});
  cs.push_back({"/key/generate", R"({"key_alias":"a","max_budget":)" + d + "}"});
  cs.push_back({"/key/update", R"({"key":"sk-none","metadata":)" + o + "}"});
  cs.push_back({"/key/delete", R"({"keys":)" + d + "}"});
  cs.push_back({"/key/block", R"({"key":)" + d + "}"});
  cs.push_back({"/model/new", R"({"model_name":"n","litellm_params":)" + o + "}"});
  cs.push_back(
      {"/model/new",
       R"({"model_name":"n","litellm_params":{"model":"openai/x","api_base":"http://127.0.0.1:9/v1"},"model_info":)" +
           d + "}"});
  cs.push_back({"/model/update", R"({"model_info":{"id":"x"},"litellm_params":)" + o + "}"});
  cs.push_back({"/model/delete", R"({"id":)" + d + "}"});
  // The dashboard's JSON sign-in.
  cs.push_back({"/ui/login", R"({"username":)" + d + R"(,"password":"x"})", true});
  return cs;
}

}  // namespace

TEST_F(NestingTest, DeepClientBodiesAre400QuicklyOnEveryEndpointAndField) {
  for (std::size_t n : kDepths) {
    const std::string d = arrays(n), o = objects(n);
    for (const Case& c : client_cases(d, o)) {
      SCOPED_TRACE(std::to_string(n) + " levels: POST " + c.target + " " + c.body.substr(0, 120));
      std::vector<std::pair<std::string, std::string>> headers = {auth_header()};
      if (c.ui) headers = {{"Origin", "http://127.0.0.1"}};
      const auto t0 = steady_clock::now();
      const auto r = post(c.target, c.body, headers);
      const auto took = steady_clock::now() - t0;
      ASSERT_TRUE(gw->running()) << gw->log();
      ASSERT_EQ(r.status, 400) << r.body;
      const json j = json::parse(r.body, nullptr, false);
      ASSERT_TRUE(j.is_object()) << r.body;
      EXPECT_EQ(j["error"]["type"], "invalid_request_error") << r.body;
      EXPECT_LT(took, seconds(2));
    }
    expect_still_serving();
  }
}

// The documented limit itself: 512 levels are served, 513 are refused.
TEST_F(NestingTest, FiveHundredTwelveLevelsAreServedAndOneMoreIsNot) {
  // The body object is the first level.
  auto r = post("/v1/chat/completions",
                R"({"model":"mock-m","messages":[{"role":"user","content":"hi"}],"metadata":)" + arrays(511) + "}");
  EXPECT_EQ(r.status, 200) << r.body;
  r = post("/v1/chat/completions",
           R"({"model":"mock-m","messages":[{"role":"user","content":"hi"}],"metadata":)" + arrays(512) + "}");
  EXPECT_EQ(r.status, 400) << r.body;
  EXPECT_NE(r.body.find("512"), std::string::npos) << r.body;
  r = post("/key/generate", R"({"metadata":{"a":)" + arrays(510) + "}}");
  EXPECT_EQ(r.status, 200) << r.body;
  r = post("/key/generate", R"({"metadata":{"a":)" + arrays(511) + "}}");
  EXPECT_EQ(r.status, 400) << r.body;
  expect_still_serving();
}

// A tool call's arguments are a JSON document inside a string: the Ollama dialect parses them.
TEST_F(NestingTest, DeepToolCallArgumentsInAStringAre400) {
  for (std::size_t n : kDepths) {
    const auto r = post(
        "/v1/chat/completions",
        R"({"model":"ollama-deep","messages":[{"role":"user","content":"hi"},{"role":"assistant","content":"",)"
        R"("tool_calls":[{"id":"1","type":"function","function":{"name":"f","arguments":")" +
            arrays(n) + R"("}}]}]})");
    ASSERT_TRUE(gw->running()) << gw->log();
    EXPECT_EQ(r.status, 400) << r.body;
    EXPECT_EQ(json::parse(r.body, nullptr, false)["error"]["type"], "invalid_request_error") << r.body;
  }
  expect_still_serving();
}

// Upstream answers nested that deep, plain and streamed, in each dialect: a clean error for the
// client (the gateway neither builds the document nor forwards it).
TEST_F(NestingTest, DeepUpstreamAnswersGiveTheClientACleanError) {
  for (std::size_t n : kDepths) {
    g_upstream_depth = n;
    for (const char* model :
         {"gpt-deep", "azure-deep", "ollama-deep", "gpt-deep-error", "azure-deep-error", "ollama-deep-error"}) {
      for (bool stream : {false, true}) {
        SCOPED_TRACE(std::to_string(n) + " levels from " + model + (stream ? ", streamed" : ""));
        const auto r = post("/v1/chat/completions", chat_body(model, stream));
        ASSERT_TRUE(gw->running()) << gw->log();
        const bool openai_stream = stream && std::string(model) == "gpt-deep";
        if (openai_stream) {
          // OpenAI streams are relayed event by event without a document: nothing to crash on.
          EXPECT_TRUE(r.status == 200 || r.status == 502) << r.status;
          continue;
        }
        EXPECT_GE(r.status, 500) << r.body;
        const json j = json::parse(r.body, nullptr, false);
        ASSERT_TRUE(j.is_object()) << r.body.substr(0, 300);
        ASSERT_TRUE(j["error"].is_object()) << r.body.substr(0, 300);
        EXPECT_TRUE(j["error"]["message"].is_string()) << r.body.substr(0, 300);
        EXPECT_LT(r.body.size(), 4096u) << "the deep value must not reach the client";
      }
    }
    expect_still_serving();
  }
}
