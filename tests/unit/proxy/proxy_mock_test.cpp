// The mock provider's answers go through the proxy's one body capture: the record a finished
// request hands its observers holds at most max_body_log_bytes of the answer, with the
// truncation flag, for a streamed reply as for a plain one. Runs handle_proxy on a worker's
// io_context in the test's thread, against a loopback socket pair, with a record observer
// that keeps the record (the ledger, which caps bodies again, is not involved).
#include <gtest/gtest.h>

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "llmgate/config.hpp"
#include "llmgate/record_observer.hpp"
#include "server/session.hpp"
#include "server/worker.hpp"

using namespace llmgate;

namespace {

constexpr std::size_t kCap = 200;

std::string long_text() {
  std::string s;
  for (int i = 0; i < 40; ++i) s += (i ? " word" : "word") + std::to_string(i);
  return s;
}

struct KeepRecord final : RecordObserver {
  explicit KeepRecord(std::optional<RequestRecord>& out) : out_(out) {}
  void on_record(const RequestRecord& rec, const RecordContext&) override { out_ = rec; }
  std::optional<RequestRecord>& out_;
};

// One request through handle_proxy, answered by the mock; returns the finished record.
std::optional<RequestRecord> proxy_once(const std::string& body) {
  App app;
  app.set_config(std::make_shared<const Config>(load_config_string(R"(model_list:
  - model_name: m
    litellm_params:
      model: mock/m
      mock_response: )" + long_text() + R"(
general_settings:
  store_prompts_in_spend_logs: true
llmgate_settings:
  ledger:
    max_body_log_bytes: )" + std::to_string(kCap) + "\n")));
  const std::vector<Route> routes;
  net::thread_pool readers(1);
  std::optional<RequestRecord> rec;
  {
    Worker w(0, app, routes, readers);
    w.record_observers.add(std::make_unique<KeepRecord>(rec));
    tcp::socket client(w.ioc), server(w.ioc);
    tcp::acceptor acc(w.ioc, tcp::endpoint(net::ip::address_v4::loopback(), 0));
    client.connect(acc.local_endpoint());
    acc.accept(server);
    BeastRequest req;
    req.method(http::verb::post);
    req.target("/v1/chat/completions");
    req.body() = body;
    RequestInfo info;
    info.request_id = info.record_id = "0123456789abcdef0123456789abcdef";
    info.t0 = std::chrono::steady_clock::now();
    info.start_us = now_unix_us();
    net::co_spawn(w.ioc, handle_proxy(w, server, req, Endpoint::chat, info), [](std::exception_ptr, bool) {});
    w.ioc.run_for(std::chrono::seconds(10));
  }
  readers.join();
  return rec;
}

const std::string kMessages = R"("messages":[{"role":"user","content":"hello"}])";

TEST(ProxyMockCapture, PlainReplyLargerThanTheCapIsCutAndFlagged) {
  const auto rec = proxy_once(R"({"model":"m",)" + kMessages + "}");
  ASSERT_TRUE(rec);
  EXPECT_EQ(rec->status, 200);
  EXPECT_EQ(rec->response_body.size(), kCap);
  EXPECT_TRUE(rec->response_truncated);
}

TEST(ProxyMockCapture, StreamedReplyLargerThanTheCapIsCutAndFlagged) {
  const auto rec = proxy_once(R"({"model":"m","stream":true,)" + kMessages + "}");
  ASSERT_TRUE(rec);
  EXPECT_EQ(rec->status, 200);
  EXPECT_EQ(rec->response_body.size(), kCap);
  EXPECT_TRUE(rec->response_truncated);
  EXPECT_EQ(rec->completion_tokens, 40);
  EXPECT_FALSE(rec->tokens_estimated);
}

}  // namespace
