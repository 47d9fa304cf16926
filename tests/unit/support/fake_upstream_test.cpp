// The fake upstream itself, driven by a plain blocking Beast client (every read is bounded by
// SO_RCVTIMEO, so a broken fake fails the test instead of hanging it).
#include "fake_upstream.hpp"

#include <sys/socket.h>
#include <sys/time.h>

#include <gtest/gtest.h>
#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <nlohmann/json.hpp>

namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
using json = nlohmann::json;
using llmgate::test::FakeUpstream;
using llmgate::test::FakeUpstreamOptions;

struct Client {
  asio::io_context ioc;
  tcp::socket sock{ioc};
  beast::flat_buffer buf;

  explicit Client(unsigned short port) {
    sock.connect({asio::ip::make_address("127.0.0.1"), port});
    timeval tv{5, 0};
    ::setsockopt(sock.native_handle(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  }
  void send(http::verb verb, const std::string& target, const std::string& body,
            std::vector<std::pair<std::string, std::string>> headers = {}) {
    http::request<http::string_body> req{verb, target, 11};
    req.set(http::field::host, "127.0.0.1");
    if (!body.empty()) req.set(http::field::content_type, "application/json");
    for (auto& [k, v] : headers) req.set(k, v);
    req.body() = body;
    req.prepare_payload();
    http::write(sock, req);
  }
  http::response<http::string_body> read(beast::error_code& ec) {
    http::response<http::string_body> res;
    http::read(sock, buf, res, ec);
    return res;
  }
  http::response<http::string_body> request(http::verb verb, const std::string& target, const std::string& body,
                                            std::vector<std::pair<std::string, std::string>> headers = {}) {
    send(verb, target, body, std::move(headers));
    beast::error_code ec;
    auto res = read(ec);
    EXPECT_FALSE(ec) << ec.message();
    return res;
  }
};

// "data: ..." payloads of an SSE body.
std::vector<std::string> sse_data(const std::string& body) {
  std::vector<std::string> out;
  size_t pos = 0;
  while ((pos = body.find("data: ", pos)) != std::string::npos) {
    auto end = body.find("\n\n", pos);
    out.push_back(body.substr(pos + 6, end - pos - 6));
    pos = end;
  }
  return out;
}

std::vector<json> ndjson(const std::string& body) {
  std::vector<json> out;
  size_t pos = 0;
  while (pos < body.size()) {
    auto end = body.find('\n', pos);
    if (end == std::string::npos) end = body.size();
    if (end > pos) out.push_back(json::parse(body.substr(pos, end - pos)));
    pos = end + 1;
  }
  return out;
}

TEST(FakeUpstream, NonStreamingChatCompletion) {
  FakeUpstream up;
  Client c(up.port());
  auto res = c.request(http::verb::post, "/v1/chat/completions",
                       R"({"model":"gpt-4o-mini","messages":[{"role":"user","content":"hi"}],"x_unknown":1})",
                       {{"Authorization", "Bearer sk-test"}});
  ASSERT_EQ(res.result_int(), 200);
  auto j = json::parse(res.body());
  EXPECT_EQ(j["object"], "chat.completion");
  EXPECT_EQ(j["model"], "gpt-4o-mini");
  EXPECT_EQ(j["choices"][0]["message"]["role"], "assistant");
  EXPECT_EQ(j["choices"][0]["message"]["content"], FakeUpstream::kContent);
  EXPECT_EQ(j["choices"][0]["finish_reason"], "stop");
  EXPECT_EQ(j["usage"]["total_tokens"], FakeUpstream::kPromptTokens + FakeUpstream::kCompletionTokens);
  EXPECT_EQ(up.last_target(), "/v1/chat/completions");
  EXPECT_NE(up.last_body().find("x_unknown"), std::string::npos);
  EXPECT_EQ(up.last_headers()["authorization"], "Bearer sk-test");
  EXPECT_EQ(up.requests(), 1);
}

TEST(FakeUpstream, StreamWithUsageEndsWithDone) {
  FakeUpstream up({.stream_events = 3});
  Client c(up.port());
  auto res = c.request(http::verb::post, "/v1/chat/completions",
                       R"({"model":"m","stream":true,"stream_options":{"include_usage":true},"messages":[]})");
  ASSERT_EQ(res.result_int(), 200);
  EXPECT_EQ(res[http::field::content_type].substr(0, 17), "text/event-stream");
  auto ev = sse_data(res.body());
  ASSERT_EQ(ev.size(), 3u + 1 + 1 + 1);  // content, final, usage, [DONE]
  EXPECT_EQ(ev.back(), "[DONE]");
  std::string text;
  for (int i = 0; i < 3; ++i) {
    auto j = json::parse(ev[i]);
    EXPECT_EQ(j["object"], "chat.completion.chunk");
    EXPECT_EQ(j["choices"][0].contains("finish_reason"), true);
    if (i == 0) {
      EXPECT_EQ(j["choices"][0]["delta"]["role"], "assistant");
    }
    text += j["choices"][0]["delta"]["content"].get<std::string>();
  }
  EXPECT_EQ(text, FakeUpstream::stream_text(3));
  EXPECT_EQ(json::parse(ev[3])["choices"][0]["finish_reason"], "stop");
  auto usage = json::parse(ev[4]);
  EXPECT_TRUE(usage["choices"].empty());
  EXPECT_EQ(usage["usage"]["completion_tokens"], 3);
}

TEST(FakeUpstream, StreamWithoutUsageAndHeaderOverride) {
  FakeUpstream up;
  Client c(up.port());
  auto res = c.request(http::verb::post, "/v1/chat/completions", R"({"model":"m","stream":true})",
                       {{"x-fake-stream-events", "7"}, {"x-fake-interval-ms", "1"}});
  auto ev = sse_data(res.body());
  ASSERT_EQ(ev.size(), 7u + 1 + 1);
  EXPECT_EQ(ev.back(), "[DONE]");
  for (auto& e : ev) EXPECT_EQ(e.find("\"usage\""), std::string::npos);
}

TEST(FakeUpstream, KeepAliveServesManyRequestsOnOneConnection) {
  FakeUpstream up;
  Client c(up.port());
  EXPECT_EQ(c.request(http::verb::post, "/v1/chat/completions", R"({"model":"stale-once"})").result_int(), 200);
  // stale-once: the second request on the same connection is closed unanswered...
  beast::error_code ec;
  c.send(http::verb::post, "/v1/chat/completions", R"({"model":"stale-once"})");
  c.read(ec);
  EXPECT_TRUE(ec) << "expected the connection to be closed";
  // ...while a fresh connection answers again, and a normal model keeps the connection alive.
  Client c2(up.port());
  EXPECT_EQ(c2.request(http::verb::post, "/v1/chat/completions", R"({"model":"stale-once"})").result_int(), 200);
  EXPECT_EQ(c2.request(http::verb::post, "/v1/chat/completions", R"({"model":"m"})").result_int(), 200);
  EXPECT_EQ(c2.request(http::verb::post, "/v1/chat/completions", R"({"model":"m"})").result_int(), 200);
  EXPECT_EQ(up.connections_accepted(), 2);
}

TEST(FakeUpstream, ModelsListAndErrors) {
  FakeUpstream up;
  Client c(up.port());
  auto res = c.request(http::verb::get, "/v1/models", "");
  ASSERT_EQ(res.result_int(), 200);
  auto j = json::parse(res.body());
  EXPECT_EQ(j["object"], "list");
  EXPECT_FALSE(j["data"].empty());
  res = c.request(http::verb::post, "/v1/chat/completions", R"({"model":"error-500"})");
  EXPECT_EQ(res.result_int(), 500);
  EXPECT_EQ(json::parse(res.body())["error"]["type"], "server_error");
  res = c.request(http::verb::post, "/v1/chat/completions", R"({"model":"error-429"})");
  EXPECT_EQ(res.result_int(), 429);
  EXPECT_EQ(res["retry-after"], "1");
  EXPECT_EQ(json::parse(res.body())["error"]["code"], "rate_limit_exceeded");
}

TEST(FakeUpstream, StreamCutClosesWithoutDone) {
  FakeUpstream up;
  Client c(up.port());
  c.send(http::verb::post, "/v1/chat/completions", R"({"model":"stream-cut","stream":true})");
  beast::error_code ec;
  auto res = c.read(ec);
  EXPECT_TRUE(ec);  // the chunked body ends prematurely
}

TEST(FakeUpstream, ObservesClientCloseDuringHangAndSlowStream) {
  FakeUpstream up;
  {
    Client c(up.port());
    c.send(http::verb::post, "/v1/chat/completions", R"({"model":"hang"})");
    ASSERT_TRUE(up.wait_requests_at_least(1, std::chrono::seconds(5)));
    EXPECT_EQ(up.connections_open(), 1);
  }
  EXPECT_TRUE(up.wait_open_connections_at_most(0, std::chrono::seconds(1)));
  {
    Client c(up.port());
    c.send(http::verb::post, "/v1/chat/completions", R"({"model":"slow-stream","stream":true})",
           {{"x-fake-interval-ms", "5000"}});
    http::response_parser<http::string_body> p;
    beast::error_code ec;
    http::read_header(c.sock, c.buf, p, ec);  // the stream has started
    ASSERT_FALSE(ec);
    EXPECT_EQ(up.connections_open(), 1);
  }
  // Closed by the client in the middle of a 5 s pause: seen well before the next event.
  EXPECT_TRUE(up.wait_open_connections_at_most(0, std::chrono::seconds(1)));
}

TEST(FakeUpstream, DestructorDoesNotWaitForHangingConnections) {
  auto up = std::make_unique<FakeUpstream>();
  Client c(up->port());
  c.send(http::verb::post, "/v1/chat/completions", R"({"model":"hang"})");
  ASSERT_TRUE(up->wait_requests_at_least(1, std::chrono::seconds(5)));
  auto t0 = std::chrono::steady_clock::now();
  up.reset();
  EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::seconds(1));
  beast::error_code ec;
  c.read(ec);
  EXPECT_TRUE(ec);
}

TEST(FakeUpstream, AzureDialect) {
  FakeUpstream up;
  Client c(up.port());
  const std::string target = "/openai/deployments/gpt4o/chat/completions?api-version=2024-10-21";
  auto res = c.request(http::verb::post, target, R"({"messages":[]})");
  EXPECT_EQ(res.result_int(), 401);
  EXPECT_EQ(json::parse(res.body())["error"]["code"], "401");
  res = c.request(http::verb::post, target, R"({"messages":[],"stream":true})", {{"api-key", "k"}});
  ASSERT_EQ(res.result_int(), 200);
  auto ev = sse_data(res.body());
  ASSERT_GE(ev.size(), 3u);
  auto first = json::parse(ev[0]);
  EXPECT_TRUE(first["choices"].empty());
  EXPECT_TRUE(first.contains("prompt_filter_results"));
  EXPECT_EQ(ev.back(), "[DONE]");
  res = c.request(http::verb::post, "/openai/deployments/content-filter/chat/completions?api-version=2024-10-21",
                  R"({"messages":[]})", {{"api-key", "k"}});
  EXPECT_EQ(res.result_int(), 400);
  auto err = json::parse(res.body());
  EXPECT_EQ(err["error"]["code"], "content_filter");
  EXPECT_EQ(err["error"]["innererror"]["code"], "ResponsibleAIPolicyViolation");
}

TEST(FakeUpstream, OllamaDialect) {
  FakeUpstream up;
  Client c(up.port());
  auto res = c.request(http::verb::get, "/api/tags", "");
  ASSERT_EQ(res.result_int(), 200);
  EXPECT_EQ(json::parse(res.body())["models"][0]["name"], "llama3.2:latest");
  res = c.request(http::verb::post, "/api/chat", R"({"model":"llama3.2","messages":[],"think":true})");
  ASSERT_EQ(res.result_int(), 200);
  EXPECT_EQ(res[http::field::content_type], "application/x-ndjson");
  auto lines = ndjson(res.body());
  ASSERT_GE(lines.size(), 3u);
  EXPECT_EQ(lines[0]["message"]["thinking"], "Thinking about");
  EXPECT_EQ(lines.back()["done"], true);
  EXPECT_EQ(lines.back()["done_reason"], "stop");
  EXPECT_EQ(lines.back()["prompt_eval_count"], FakeUpstream::kPromptTokens);
  res = c.request(http::verb::post, "/api/generate", R"({"model":"llama3.2","prompt":"hi","stream":false})");
  auto j = json::parse(res.body());
  EXPECT_EQ(j["response"], FakeUpstream::kContent);
  EXPECT_EQ(j["done"], true);
  res = c.request(http::verb::post, "/api/embed", R"({"model":"all-minilm","input":["a","b"]})");
  EXPECT_EQ(json::parse(res.body())["embeddings"].size(), 2u);
  res = c.request(http::verb::post, "/api/chat", R"({"model":"missing-model","messages":[]})");
  EXPECT_EQ(res.result_int(), 404);
}

TEST(FakeUpstream, ServesConcurrentClientsOnSeveralThreads) {
  FakeUpstream up({.threads = 2});
  std::vector<std::thread> ts;
  std::atomic<int> ok{0};
  for (int t = 0; t < 4; ++t)
    ts.emplace_back([&] {
      Client c(up.port());
      for (int i = 0; i < 50; ++i)
        if (c.request(http::verb::post, "/v1/chat/completions", R"({"model":"m","stream":true})").result_int() == 200)
          ++ok;
    });
  for (auto& t : ts) t.join();
  EXPECT_EQ(ok.load(), 200);
  EXPECT_EQ(up.connections_accepted(), 4);
}

}  // namespace
