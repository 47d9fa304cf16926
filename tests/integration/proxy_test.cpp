// The real daemon against the in-process fake OpenAI upstream: round trips, streaming,
// passthrough, auth, upstream failures, disconnects, pooled-connection retry.
#include <gtest/gtest.h>

#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <regex>
#include <thread>

#include <nlohmann/json.hpp>

#include "fake_upstream.hpp"
#include "harness.hpp"

using namespace llmgate::test;
using namespace std::chrono;
using nlohmann::json;

namespace {

std::string config_for(const FakeUpstream& up, const std::string& extra_llmgate = "",
                       const std::string& extra_models = "") {
  return R"(model_list:
  - model_name: gpt-test
    litellm_params:
      model: openai/gpt-4o-mini
      api_base: )" +
         up.base_url() + R"(
      api_key: sk-upstream-secret-key
  - model_name: hang
    litellm_params:
      model: openai/hang
      api_base: )" +
         up.base_url() + R"(
      timeout: 1
  - model_name: echo
    litellm_params:
      model: openai/echo
      api_base: )" +
         up.base_url() + R"(
      api_key: sk-upstream-secret-key
  - model_name: err500
    litellm_params:
      model: openai/error-500
      api_base: )" +
         up.base_url() + R"(
  - model_name: cut
    litellm_params:
      model: openai/stream-cut
      api_base: )" +
         up.base_url() + R"(
  - model_name: slow-first
    litellm_params:
      model: openai/slow-first
      api_base: )" +
         up.base_url() + R"(
  - model_name: cut-early
    litellm_params:
      model: openai/stream-cut-early
      api_base: )" +
         up.base_url() + R"(
  - model_name: slow
    litellm_params:
      model: openai/slow-stream
      api_base: )" +
         up.base_url() + R"(
  - model_name: err429
    litellm_params:
      model: openai/error-429
      api_base: )" +
         up.base_url() + R"(
  - model_name: split
    litellm_params:
      model: openai/split-chunks
      api_base: )" +
         up.base_url() + R"(
  - model_name: split-paced
    litellm_params:
      model: openai/split-chunks-paced
      api_base: )" +
         up.base_url() + R"(
  - model_name: stale
    litellm_params:
      model: openai/stale-once
      api_base: )" +
         up.base_url() + R"(
  - model_name: nousage
    litellm_params:
      model: openai/no-usage
      api_base: )" +
         up.base_url() + R"(
  - model_name: notjson
    litellm_params:
      model: openai/not-json
      api_base: )" +
         up.base_url() + R"(
  - model_name: status900
    litellm_params:
      model: openai/status-900
      api_base: )" +
         up.base_url() + R"(
  - model_name: slow-body
    litellm_params:
      model: openai/slow-body
      api_base: )" +
         up.base_url() + R"(
  - model_name: slow-chunked-body
    litellm_params:
      model: openai/slow-chunked-body
      api_base: )" +
         up.base_url() + R"(
)" + extra_models +
         R"(
general_settings:
  master_key: )" +
         kMasterKey + R"(
  background_health_checks: false
llmgate_settings:
  drain_seconds: 0.3
)" + extra_llmgate;
}

// Data lines of an SSE body.
std::vector<std::string> sse_data(const std::string& body) {
  std::vector<std::string> out;
  std::size_t pos = 0;
  while ((pos = body.find("data: ", pos)) != std::string::npos) {
    auto end = body.find('\n', pos);
    out.push_back(body.substr(pos + 6, end - pos - 6));
    pos = end;
  }
  return out;
}

class ProxyTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    up = new FakeUpstream();
    gw = new Daemon(config_for(*up));
  }
  static void TearDownTestSuite() {
    delete gw;
    delete up;
  }
  static FakeUpstream* up;
  static Daemon* gw;
};
FakeUpstream* ProxyTest::up = nullptr;
Daemon* ProxyTest::gw = nullptr;

TEST_F(ProxyTest, NonStreamingRoundTrip) {
  auto r = request(gw->port(), "POST", "/v1/chat/completions", chat_body("gpt-test"), {auth_header()});
  ASSERT_EQ(r.status, 200) << r.body;
  auto j = json::parse(r.body);
  EXPECT_EQ(j["choices"][0]["message"]["content"], FakeUpstream::kContent);
  EXPECT_EQ(j["usage"]["prompt_tokens"], FakeUpstream::kPromptTokens);
  EXPECT_EQ(r.header("x-request-id").size(), 32u);
  EXPECT_TRUE(std::regex_match(r.header("x-litellm-overhead-duration-ms"), std::regex(R"([0-9]+\.[0-9]{3})")))
      << r.header("x-litellm-overhead-duration-ms");
  // gpt-4o-mini is in the price table: 12 prompt + 5 completion tokens have a known cost.
  ASSERT_FALSE(r.header("x-litellm-response-cost").empty());
  EXPECT_GT(std::stod(r.header("x-litellm-response-cost")), 0.0);
  // The upstream got the deployment's key and model, not the client's.
  auto h = up->last_headers();
  EXPECT_EQ(h["authorization"], "Bearer sk-upstream-secret-key");
  EXPECT_EQ(json::parse(up->last_body())["model"], "gpt-4o-mini");
  // Same path without /v1.
  auto r2 = request(gw->port(), "POST", "/chat/completions", chat_body("gpt-test"), {auth_header()});
  EXPECT_EQ(r2.status, 200);
}

TEST_F(ProxyTest, ClientRequestIdIsKept) {
  auto r = request(gw->port(), "POST", "/v1/chat/completions", chat_body("gpt-test"),
                   {auth_header(), {"x-request-id", "my-trace-123"}});
  EXPECT_EQ(r.header("x-request-id"), "my-trace-123");
  // Field names are case-insensitive.
  auto r2 = request(gw->port(), "POST", "/v1/chat/completions", chat_body("gpt-test"),
                    {{"AUTHORIZATION", std::string("bearer ") + kMasterKey}, {"X-Request-ID", "Trace-456"}});
  EXPECT_EQ(r2.status, 200) << r2.body;
  EXPECT_EQ(r2.header("x-request-id"), "Trace-456");
}

TEST_F(ProxyTest, UnknownFieldsPassThroughAndRedirectFieldsDoNot) {
  std::string extra =
      R"("tools":[{"type":"function","function":{"name":"f","parameters":{}}}],"logprobs":true,"user":"u1","vendor_x":{"a":[1,2]},"api_base":"http://evil.example","base_url":"http://evil.example","api_key":"sk-client","extra_headers":{"X":"1"})";
  auto r = request(gw->port(), "POST", "/v1/chat/completions", chat_body("echo", false, extra), {auth_header()});
  ASSERT_EQ(r.status, 200) << r.body;
  auto sent = json::parse(up->last_body());
  EXPECT_EQ(sent["model"], "echo");
  EXPECT_EQ(sent["vendor_x"], json::parse(R"({"a":[1,2]})"));
  EXPECT_EQ(sent["logprobs"], true);
  EXPECT_EQ(sent["user"], "u1");
  EXPECT_EQ(sent["tools"][0]["function"]["name"], "f");
  EXPECT_FALSE(sent.contains("api_base"));
  EXPECT_FALSE(sent.contains("base_url"));
  EXPECT_FALSE(sent.contains("api_key"));
  EXPECT_FALSE(sent.contains("extra_headers"));
}

TEST_F(ProxyTest, StreamingForwardsEventsAndStripsUsageUnlessAsked) {
  auto r = request(gw->port(), "POST", "/v1/chat/completions", chat_body("gpt-test", true), {auth_header()});
  ASSERT_EQ(r.status, 200);
  EXPECT_NE(r.header("content-type").find("text/event-stream"), std::string::npos);
  auto data = sse_data(r.body);
  ASSERT_FALSE(data.empty());
  EXPECT_EQ(data.back(), "[DONE]");
  std::string text;
  for (auto& d : data) {
    if (d == "[DONE]") continue;
    auto j = json::parse(d);
    EXPECT_FALSE(j.contains("usage") && j["choices"].empty()) << "usage chunk leaked: " << d;
    if (!j["choices"].empty() && j["choices"][0]["delta"].contains("content"))
      text += j["choices"][0]["delta"]["content"].get<std::string>();
  }
  EXPECT_EQ(text, FakeUpstream::stream_text(5));
  // The gateway asked the upstream for usage on the client's behalf.
  EXPECT_EQ(json::parse(up->last_body())["stream_options"]["include_usage"], true);

  auto r2 = request(gw->port(), "POST", "/v1/chat/completions",
                    chat_body("gpt-test", true, R"("stream_options":{"include_usage":true})"), {auth_header()});
  bool saw_usage = false;
  for (auto& d : sse_data(r2.body))
    if (d != "[DONE]" && json::parse(d).contains("usage") && !json::parse(d)["usage"].is_null()) saw_usage = true;
  EXPECT_TRUE(saw_usage);
}

TEST_F(ProxyTest, ModelsList) {
  auto r = request(gw->port(), "GET", "/v1/models", "", {auth_header()});
  ASSERT_EQ(r.status, 200);
  auto j = json::parse(r.body);
  EXPECT_EQ(j["object"], "list");
  bool found = false;
  for (auto& m : j["data"]) found |= m["id"] == "gpt-test";
  EXPECT_TRUE(found);
}

TEST_F(ProxyTest, AuthFailures) {
  auto none = request(gw->port(), "POST", "/v1/chat/completions", chat_body("gpt-test"));
  EXPECT_EQ(none.status, 401);
  auto wrong = request(gw->port(), "POST", "/v1/chat/completions", chat_body("gpt-test"),
                       {auth_header("sk-wrong-key-abcdef")});
  EXPECT_EQ(wrong.status, 401);
  EXPECT_EQ(wrong.body.find("sk-wrong"), std::string::npos) << "the key must not be echoed";
  auto j = json::parse(wrong.body);
  EXPECT_EQ(j["error"]["type"], "authentication_error");
  EXPECT_TRUE(j["error"].contains("param"));
  EXPECT_TRUE(j["error"].contains("code"));
  // Azure SDKs send api-key; others x-api-key.
  EXPECT_EQ(
      request(gw->port(), "POST", "/v1/chat/completions", chat_body("gpt-test"), {{"api-key", kMasterKey}}).status,
      200);
  EXPECT_EQ(
      request(gw->port(), "POST", "/v1/chat/completions", chat_body("gpt-test"), {{"x-api-key", kMasterKey}}).status,
      200);
  EXPECT_EQ(
      request(gw->port(), "POST", "/v1/chat/completions", chat_body("gpt-test"), {{"Api-Key", kMasterKey}}).status,
      200);
  EXPECT_EQ(
      request(gw->port(), "POST", "/v1/chat/completions", chat_body("gpt-test"), {{"X-API-KEY", kMasterKey}}).status,
      200);
  // The scheme is case-insensitive.
  EXPECT_EQ(request(gw->port(), "POST", "/v1/chat/completions", chat_body("gpt-test"),
                    {{"Authorization", std::string("BEARER ") + kMasterKey}})
                .status,
            200);
  // An empty Authorization falls through to api-key.
  EXPECT_EQ(request(gw->port(), "POST", "/v1/chat/completions", chat_body("gpt-test"),
                    {{"Authorization", ""}, {"api-key", kMasterKey}})
                .status,
            200);
  // LiteLLM's rule, on the proxy path and the routes: another scheme in Authorization presents
  // no key there, so api-key is read; a bare key without the scheme is not a key.
  for (const char* path : {"/v1/chat/completions", "/v1/models"}) {
    const bool post = std::string_view(path) == "/v1/chat/completions";
    auto send = [&](std::vector<std::pair<std::string, std::string>> h) {
      return request(gw->port(), post ? "POST" : "GET", path, post ? chat_body("gpt-test") : "", h).status;
    };
    EXPECT_EQ(send({{"Authorization", "Basic dXNlcjpwYXNz"}, {"api-key", kMasterKey}}), 200) << path;
    EXPECT_EQ(send({{"Authorization", kMasterKey}}), 401) << path;
    EXPECT_EQ(send({{"api-key", std::string("Bearer ") + kMasterKey}}), 401) << path;
  }
  // Health needs no key.
  EXPECT_EQ(request(gw->port(), "GET", "/health/liveliness").status, 200);
  EXPECT_EQ(request(gw->port(), "GET", "/health/readiness").status, 200);
  EXPECT_EQ(request(gw->port(), "GET", "/health").status, 200);
  EXPECT_EQ(request(gw->port(), "GET", "/v1/models").status, 401);
}

TEST_F(ProxyTest, ClientErrors) {
  auto unknown = request(gw->port(), "POST", "/v1/chat/completions", chat_body("no-such-model"), {auth_header()});
  EXPECT_EQ(unknown.status, 404);
  EXPECT_EQ(json::parse(unknown.body)["error"]["code"], "model_not_found");
  auto missing = request(gw->port(), "POST", "/v1/chat/completions", R"({"messages":[]})", {auth_header()});
  EXPECT_EQ(missing.status, 400);
  EXPECT_EQ(json::parse(missing.body)["error"]["param"], "model");
  auto bad = request(gw->port(), "POST", "/v1/chat/completions", "{not json", {auth_header()});
  EXPECT_EQ(bad.status, 400);
  EXPECT_EQ(json::parse(bad.body)["error"]["type"], "invalid_request_error");
  auto path = request(gw->port(), "GET", "/nope", "", {auth_header()});
  EXPECT_EQ(path.status, 404);
  EXPECT_TRUE(json::parse(path.body).contains("error"));
  auto method = request(gw->port(), "GET", "/v1/chat/completions", "", {auth_header()});
  EXPECT_EQ(method.status, 405);
  EXPECT_TRUE(json::parse(method.body).contains("error"));
}

TEST_F(ProxyTest, UpstreamErrorPassesThrough) {
  auto r = request(gw->port(), "POST", "/v1/chat/completions", chat_body("err500"), {auth_header()});
  EXPECT_EQ(r.status, 500);
  auto j = json::parse(r.body);
  EXPECT_EQ(j["error"]["message"], "fake upstream failure");
  EXPECT_EQ(j["error"]["type"], "server_error");
}

TEST_F(ProxyTest, UpstreamSuccessThatIsNotJsonIs502) {
  // An HTML page with 200 (a proxy in front of the upstream) is not passed on as a completion:
  // the client's SDK could not read it, and the ledger must not count it a success.
  auto r = request(gw->port(), "POST", "/v1/chat/completions", chat_body("notjson"), {auth_header()});
  EXPECT_EQ(r.status, 502) << r.body;
  auto j = json::parse(r.body);
  EXPECT_NE(j["error"]["message"].get<std::string>().find("not a JSON object"), std::string::npos) << r.body;
  EXPECT_EQ(r.body.find("<html>"), std::string::npos);
  // The connection to the upstream was whole: the next request is served as usual.
  EXPECT_EQ(request(gw->port(), "POST", "/v1/chat/completions", chat_body("gpt-test"), {auth_header()}).status, 200);
}

TEST_F(ProxyTest, UpstreamStatusOutsideHttpsRangeIs502) {
  // "HTTP/1.1 900" was passed on to the client as is (found by the robustness test).
  auto r = request(gw->port(), "POST", "/v1/chat/completions", chat_body("status900"), {auth_header()});
  EXPECT_EQ(r.status, 502) << r.body;
  EXPECT_NE(json::parse(r.body)["error"]["message"].get<std::string>().find("not a final HTTP status"),
            std::string::npos)
      << r.body;
}

TEST_F(ProxyTest, UpstreamRateLimitKeepsStatusAndRetryAfter) {
  auto r = request(gw->port(), "POST", "/v1/chat/completions", chat_body("err429", false), {auth_header()});
  EXPECT_EQ(r.status, 429);
  EXPECT_EQ(r.header("retry-after"), "1");
  auto j = json::parse(r.body);
  EXPECT_TRUE(j["error"].is_object()) << r.body;
  // The upstream's other headers are not passed on.
  EXPECT_EQ(r.header("x-ratelimit-limit-requests"), "");
}

TEST_F(ProxyTest, UpstreamHangIs504WithinTimeout) {
  const auto t0 = steady_clock::now();
  auto r = request(gw->port(), "POST", "/v1/chat/completions", chat_body("hang"), {auth_header()});
  const auto took = steady_clock::now() - t0;
  EXPECT_EQ(r.status, 504);
  EXPECT_EQ(json::parse(r.body)["error"]["code"], "upstream_timeout");
  EXPECT_LT(took, seconds(3));
  EXPECT_GE(took, milliseconds(900));
}

TEST_F(ProxyTest, UpstreamDiesMidStreamGivesErrorEventNotFakeStop) {
  auto r = request(gw->port(), "POST", "/v1/chat/completions", chat_body("cut", true), {auth_header()});
  ASSERT_EQ(r.status, 200);
  EXPECT_NE(r.body.find("event: error"), std::string::npos) << r.body;
  EXPECT_EQ(r.body.find("\"finish_reason\":\"stop\""), std::string::npos) << r.body;
  EXPECT_EQ(r.body.find("[DONE]"), std::string::npos);
}

TEST_F(ProxyTest, StreamThatDiesBeforeItsFirstEventGetsAnHttpError) {
  // The stream's head goes out with its first chunk, so nothing has reached the client yet:
  // a plain OpenAI-shaped 502 instead of a 200 carrying an error event.
  auto r = request(gw->port(), "POST", "/v1/chat/completions", chat_body("cut-early", true), {auth_header()});
  EXPECT_EQ(r.status, 502) << r.body;
  auto j = nlohmann::json::parse(r.body, nullptr, false);
  ASSERT_TRUE(j.is_object()) << r.body;
  EXPECT_TRUE(j["error"].contains("message"));
  EXPECT_TRUE(j["error"].contains("type"));
  // The connection stays usable.
  auto ok = request(gw->port(), "POST", "/v1/chat/completions", chat_body("gpt-test", true), {auth_header()});
  EXPECT_EQ(ok.status, 200);
}

TEST_F(ProxyTest, StreamHeadAndFirstEventArriveTogether) {
  RawConn c(gw->port());
  c.send(http_request("POST", "/v1/chat/completions", chat_body("slow", true), {auth_header()}));
  std::string got = c.read_until("\r\n\r\n", seconds(5));
  ASSERT_NE(got.find("text/event-stream"), std::string::npos) << got;
  // What arrived with the head already holds the first event (one write for both; a head
  // written alone arrives alone, since the client reads as soon as it lands).
  EXPECT_NE(got.find("data: "), std::string::npos) << got;
}

// A response body that does not come whole with its head (Content-Length, or chunked; cut at
// arbitrary bytes, 20 ms apart): what came with the head is parsed at once, the rest read on.
TEST_F(ProxyTest, NonStreamingBodyInPiecesArrivesWhole) {
  for (const char* model : {"slow-body", "slow-chunked-body"}) {
    for (int i = 0; i < 2; ++i) {  // the second on the pooled connection the first left behind
      auto r = request(gw->port(), "POST", "/v1/chat/completions", chat_body(model), {auth_header()});
      ASSERT_EQ(r.status, 200) << model << ": " << r.body;
      auto j = json::parse(r.body);
      EXPECT_EQ(j["choices"][0]["message"]["content"], FakeUpstream::kContent) << model;
      EXPECT_EQ(j["usage"]["prompt_tokens"], FakeUpstream::kPromptTokens) << model;
    }
  }
}

// Each event in two HTTP chunks ("data: ..." and its blank line), all in one write or paced:
// the gateway parses what is buffered chunk after chunk and forwards every event whole.
TEST_F(ProxyTest, EventsSplitOverTwoChunksArriveWhole) {
  for (const char* model : {"split", "split-paced"}) {
    auto r = request(gw->port(), "POST", "/v1/chat/completions",
                     chat_body(model, true, R"("stream_options":{"include_usage":true})"), {auth_header()});
    ASSERT_EQ(r.status, 200) << model;
    auto data = sse_data(r.body);
    ASSERT_FALSE(data.empty()) << model;
    EXPECT_EQ(data.back(), "[DONE]") << model;
    std::string text;
    bool saw_usage = false;
    for (auto& d : data) {
      if (d == "[DONE]") continue;
      auto j = json::parse(d);  // a split event would not parse
      if (j.contains("usage") && !j["usage"].is_null()) saw_usage = true;
      if (!j["choices"].empty() && j["choices"][0]["delta"].contains("content"))
        text += j["choices"][0]["delta"]["content"].get<std::string>();
    }
    EXPECT_EQ(text, FakeUpstream::stream_text(5)) << model;
    EXPECT_TRUE(saw_usage) << model;
    EXPECT_EQ(r.body.find("\n\n\n"), std::string::npos) << model;  // no event boundary lost or doubled
  }
}

TEST_F(ProxyTest, SlowFirstEventDoesNotHoldTheResponseHead) {
  // The head waits for the first event only briefly (200 ms): a slow first token (long
  // prefill, reasoning models) still gets the client its response headers.
  RawConn c(gw->port());
  const auto t0 = std::chrono::steady_clock::now();
  c.send(http_request("POST", "/v1/chat/completions", chat_body("slow-first", true), {auth_header()}));
  std::string got = c.read_until("\r\n\r\n", seconds(5));
  const auto head_after = std::chrono::steady_clock::now() - t0;
  ASSERT_NE(got.find("200 OK"), std::string::npos) << got;
  EXPECT_EQ(got.find("data: "), std::string::npos) << "the head came with an event: " << got;
  EXPECT_LT(head_after, milliseconds(550));
  got += c.read_until("[DONE]", seconds(5));
  EXPECT_NE(got.find("[DONE]"), std::string::npos) << got;
}

TEST_F(ProxyTest, ClientDisconnectClosesUpstreamWithinOneSecond) {
  const int before = up->connections_open();
  {
    RawConn c(gw->port());
    c.send(http_request("POST", "/v1/chat/completions", chat_body("slow", true), {auth_header()}));
    std::string got = c.read_until("data: ", seconds(5));
    ASSERT_NE(got.find("data: "), std::string::npos);
  }  // client goes away mid-stream
  EXPECT_TRUE(up->wait_open_connections_at_most(before, milliseconds(1000)))
      << "upstream connections still open: " << up->connections_open();
}

TEST_F(ProxyTest, ClientDisconnectDuringNonStreamingRequestIs499AndHarmless) {
  // Regression: this path (client gone before the upstream answered) once crashed the process
  // (a GCC 12 coroutine double free, see server/session.hpp).
  const int before = up->connections_open();
  for (int i = 0; i < 3; ++i) {
    const int sent = up->requests();
    RawConn c(gw->port());
    c.send(http_request("POST", "/v1/chat/completions", chat_body("hang"), {auth_header()}));
    ASSERT_TRUE(up->wait_requests_at_least(sent + 1, seconds(5)));  // the gateway waits on the upstream
  }                                                                 // each client leaves while the upstream hangs
  EXPECT_TRUE(up->wait_open_connections_at_most(before, milliseconds(1500)));
  EXPECT_TRUE(gw->running());
  EXPECT_EQ(request(gw->port(), "GET", "/health/liveliness").status, 200);
}

TEST_F(ProxyTest, StalePooledConnectionIsRetriedOnce) {
  auto r1 = request(gw->port(), "POST", "/v1/chat/completions", chat_body("stale"), {auth_header()});
  ASSERT_EQ(r1.status, 200);
  // The second request reuses the pooled connection, which the upstream closes unanswered.
  auto r2 = request(gw->port(), "POST", "/v1/chat/completions", chat_body("stale"), {auth_header()});
  EXPECT_EQ(r2.status, 200) << r2.body;
}

TEST_F(ProxyTest, PipelinedRequestsAnsweredInOrder) {
  RawConn c(gw->port());
  c.send(http_request("GET", "/health/liveliness") + http_request("GET", "/nope", "", {auth_header()}) +
         http_request("POST", "/v1/chat/completions", chat_body("gpt-test"), {auth_header()}));
  auto a = c.read_response();
  auto b = c.read_response();
  auto d = c.read_response();
  ASSERT_TRUE(a && b && d);
  EXPECT_EQ(a->status, 200);
  EXPECT_EQ(b->status, 404);
  EXPECT_EQ(d->status, 200);
}

TEST_F(ProxyTest, ExpectContinue) {
  RawConn c(gw->port());
  std::string body = chat_body("gpt-test");
  c.send("POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + std::string(kMasterKey) +
         "\r\nContent-Type: application/json\r\nExpect: 100-continue\r\nContent-Length: " +
         std::to_string(body.size()) + "\r\n\r\n");
  auto interim = c.read_response(seconds(5), true);
  ASSERT_TRUE(interim);
  EXPECT_EQ(interim->status, 100);
  c.send(body);
  auto r = c.read_response();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
}

TEST_F(ProxyTest, StreamWithoutUsageStillCounts) {
  auto r = request(gw->port(), "POST", "/v1/chat/completions", chat_body("nousage", true), {auth_header()});
  ASSERT_EQ(r.status, 200);
  EXPECT_NE(r.body.find("[DONE]"), std::string::npos);
}

TEST(ProxyLifecycle, SigtermDrainsThenExitsZero) {
  FakeUpstream up;
  Daemon gw(config_for(up, "  shutdown_grace_seconds: 10\n",
                       "  - model_name: paced\n    litellm_params:\n      model: mock/paced\n"
                       "      mock_tokens_per_second: 20\n"
                       "      mock_response: one two three four five six seven eight nine ten eleven twelve\n"));
  // An in-flight stream (12 pieces at 20/s, about 0.6 s) must finish during the drain.
  RawConn c(gw.port());
  c.send(http_request("POST", "/v1/chat/completions", chat_body("paced", true), {auth_header()}));
  ASSERT_NE(c.read_until("data: ", seconds(5)).find("data: "), std::string::npos);
  gw.signal(SIGTERM);
  // Readiness turns 503 at once; liveness stays 200.
  bool saw_503 = false;
  for (int i = 0; i < 100 && !saw_503; ++i) {
    auto r = request(gw.port(), "GET", "/health/readiness");
    saw_503 = r.status == 503 && json::parse(r.body)["status"] == "draining";
  }
  EXPECT_TRUE(saw_503);
  EXPECT_EQ(request(gw.port(), "GET", "/health/liveliness").status, 200);
  auto rest = c.read_until("[DONE]", seconds(10));
  EXPECT_NE(rest.find("[DONE]"), std::string::npos) << "in-flight stream was cut";
  EXPECT_EQ(gw.wait_exit(seconds(15)), 0) << gw.log();
}

TEST(ProxyLifecycle, SecondSignalExitsAtOnce) {
  FakeUpstream up;
  Daemon gw(config_for(up, "  shutdown_grace_seconds: 30\n")
                .replace(config_for(up).find("drain_seconds: 0.3"), 18, "drain_seconds: 30"));
  gw.signal(SIGTERM);
  // Wait until the first signal was handled (pending signals coalesce), then send the second.
  bool draining = false;
  for (int i = 0; i < 200 && !draining; ++i) {
    draining = request(gw.port(), "GET", "/health/readiness").status == 503;
    if (!draining) std::this_thread::sleep_for(milliseconds(10));
  }
  ASSERT_TRUE(draining);
  gw.signal(SIGTERM);
  EXPECT_NE(gw.wait_exit(seconds(3)), -1);
}

// The log goes to a pipe whose reader goes away (a log shipper that died, `llmgate | head`):
// the gateway keeps serving and loses only the lines. SIGPIPE's default action ended it at the
// first log line written after the reader left.
TEST(ProxyLifecycle, LogPipeWithoutReaderDoesNotStopTheGateway) {
  FakeUpstream up;
  const std::string dir = make_temp_dir();
  std::ofstream(dir + "/config.yaml") << config_for(up);
  int p[2];
  ASSERT_EQ(::pipe(p), 0);
  const pid_t pid = ::fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    ::dup2(p[1], 1);
    ::dup2(p[1], 2);
    ::close_range(3, ~0U, 0);  // the pipe's own ends and whatever the test process holds
    ::execl(LLMGATE_BIN, LLMGATE_BIN, "--config", (dir + "/config.yaml").c_str(), "--host", "127.0.0.1", "--port", "0",
            "--workers", "2", static_cast<char*>(nullptr));
    ::_exit(127);
  }
  ::close(p[1]);
  struct Reap {
    pid_t pid;
    ~Reap() {
      ::kill(pid, SIGKILL);
      ::waitpid(pid, nullptr, 0);
    }
  } reap{pid};
  std::string out;
  std::smatch m;
  const std::regex re("listening on http://127\\.0\\.0\\.1:([0-9]+)");
  const auto deadline = steady_clock::now() + seconds(15);
  while (!std::regex_search(out, m, re) && steady_clock::now() < deadline) {
    pollfd pfd{p[0], POLLIN, 0};
    if (::poll(&pfd, 1, 100) != 1) continue;
    char buf[4096];
    const ssize_t n = ::read(p[0], buf, sizeof buf);
    if (n <= 0) break;
    out.append(buf, static_cast<std::size_t>(n));
  }
  ASSERT_TRUE(std::regex_search(out, m, re)) << out;
  const int port = std::stoi(m[1]);
  ::close(p[0]);  // nobody reads the log any more
  // Each request logs a line (flushed at least every second), the unknown model too.
  for (int i = 0; i < 12; ++i) {
    EXPECT_EQ(request(port, "POST", "/v1/chat/completions", chat_body("gpt-test"), {auth_header()}).status, 200);
    EXPECT_EQ(request(port, "POST", "/v1/chat/completions", chat_body("no-such-model"), {auth_header()}).status, 404);
    std::this_thread::sleep_for(milliseconds(200));
  }
  EXPECT_EQ(::waitpid(pid, nullptr, WNOHANG), 0) << "the gateway exited";
  EXPECT_EQ(request(port, "GET", "/health/liveliness").status, 200);
}

}  // namespace

namespace {
TEST(ProxyStreaming, KeepAliveCommentDuringUpstreamSilence) {
  FakeUpstream up;
  Daemon gw(config_for(up, "  stream_keepalive_seconds: 0.05\n"));
  // slow-stream: 200 ms between events, so the gateway fills the silence with comments.
  RawConn c(gw.port());
  c.send(http_request("POST", "/v1/chat/completions", chat_body("slow", true), {auth_header()}));
  std::string got = c.read_until(": keep-alive", seconds(5));
  EXPECT_NE(got.find(": keep-alive\n\n"), std::string::npos) << got.substr(0, 500);
  EXPECT_NE(got.find("data: "), std::string::npos);
}
}  // namespace

namespace {
// llmgate_settings.busy_poll_microseconds: the workers poll instead of sleeping for a while
// after each request starts and ends. Requests and streams are served as without it, and once
// traffic stops the workers sleep again (a poller left running would burn a core while idle).
TEST(ProxyBusyPoll, ServesAndSleepsAgainWhenTrafficStops) {
  FakeUpstream up;
  Daemon gw(config_for(up, "  busy_poll_microseconds: 2000\n"), {"--workers", "2"});
  for (int i = 0; i < 40; ++i) {
    auto r = request(gw.port(), "POST", "/v1/chat/completions", chat_body("gpt-test"), {auth_header()});
    ASSERT_EQ(r.status, 200) << r.body;
  }
  auto s = request(gw.port(), "POST", "/v1/chat/completions", chat_body("gpt-test", true), {auth_header()});
  ASSERT_EQ(s.status, 200) << s.body;
  EXPECT_NE(s.body.find("data: [DONE]"), std::string::npos) << s.body.substr(0, 500);
  std::this_thread::sleep_for(milliseconds(100));
  const long long t0 = process_cpu_ticks(gw.pid());
  std::this_thread::sleep_for(seconds(1));
  const long long used = process_cpu_ticks(gw.pid()) - t0;
  // Ticks are 10 ms: a poller still running would use ~100 of them in this second.
  EXPECT_LE(used, ::sysconf(_SC_CLK_TCK) / 20) << "CPU ticks used in 1 s without traffic";
  EXPECT_EQ(request(gw.port(), "POST", "/v1/chat/completions", chat_body("gpt-test"), {auth_header()}).status, 200);
}
}  // namespace

TEST(ProxyPricing, CustomPriceFollowsARuntimeModelUpdate) {
  // Each worker keeps a deployment's price per config snapshot: a /model/update (a new
  // snapshot) must change what the next requests cost, on every worker.
  FakeUpstream up;
  const std::string yaml = R"(model_list: []
general_settings:
  master_key: )" + std::string(kMasterKey) +
                           R"(
  store_model_in_db: true
  background_health_checks: false
llmgate_settings:
  drain_seconds: 0.3
  upstream_allowlist: [127.0.0.0/8]
)";
  Daemon gw(yaml);
  const json model = {{"model_name", "priced"},
                      {"litellm_params",
                       {{"model", "openai/house-model"},
                        {"api_base", up.base_url()},
                        {"input_cost_per_token", 0.001},
                        {"output_cost_per_token", 0.002}}},
                      {"model_info", {{"id", "priced-1"}}}};
  ASSERT_EQ(request(gw.port(), "POST", "/model/new", model.dump(), {auth_header()}).status, 200);
  auto cost_now = [&] {
    auto r = request(gw.port(), "POST", "/v1/chat/completions", chat_body("priced"), {auth_header()});
    EXPECT_EQ(r.status, 200) << r.body;
    return std::stod(r.header("x-litellm-response-cost"));
  };
  const int p = FakeUpstream::kPromptTokens, c = FakeUpstream::kCompletionTokens;
  for (int i = 0; i < 4; ++i) EXPECT_NEAR(cost_now(), p * 0.001 + c * 0.002, 1e-12);
  const json update = {{"model_info", {{"id", "priced-1"}}}, {"litellm_params", {{"input_cost_per_token", 0.01}}}};
  ASSERT_EQ(request(gw.port(), "POST", "/model/update", update.dump(), {auth_header()}).status, 200);
  for (int i = 0; i < 4; ++i) EXPECT_NEAR(cost_now(), p * 0.01 + c * 0.002, 1e-12);
}

namespace {
int thread_count(pid_t pid) {
  int n = 0;
  std::error_code ec;
  for (auto it = std::filesystem::directory_iterator("/proc/" + std::to_string(pid) + "/task", ec);
       !ec && it != std::filesystem::directory_iterator(); it.increment(ec))
    ++n;
  return n;
}
}  // namespace

TEST(ProxyUpstreamAddress, AnAddressIsConnectedWithoutALookupAndANameIsResolved) {
  // An api_base with an IP address skips the resolver, whose getaddrinfo runs on a thread Asio
  // starts on first use; a host name still goes through it.
  FakeUpstream up;
  const std::string port = std::to_string(up.port());
  const std::string yaml = R"(model_list:
  - model_name: by-address
    litellm_params:
      model: openai/gpt-4o-mini
      api_base: http://127.0.0.1:)" +
                           port + R"(/v1
  - model_name: by-name
    litellm_params:
      model: openai/gpt-4o-mini
      api_base: http://localhost:)" +
                           port + R"(/v1
general_settings:
  master_key: )" + std::string(kMasterKey) +
                           R"(
  background_health_checks: false
llmgate_settings:
  drain_seconds: 0.3
)";
  Daemon gw(yaml);
  const int threads_at_start = thread_count(gw.pid());
  for (int i = 0; i < 4; ++i)
    EXPECT_EQ(request(gw.port(), "POST", "/v1/chat/completions", chat_body("by-address"), {auth_header()}).status, 200);
  EXPECT_EQ(thread_count(gw.pid()), threads_at_start);
  for (int i = 0; i < 4; ++i)
    EXPECT_EQ(request(gw.port(), "POST", "/v1/chat/completions", chat_body("by-name"), {auth_header()}).status, 200);
  EXPECT_GT(thread_count(gw.pid()), threads_at_start);
}
