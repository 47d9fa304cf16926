// Virtual-key budgets and tpm limits under concurrency (estimates reserved at admission, settled
// when a request ends, on every path), and malformed upstream stream events.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <memory>
#include <optional>
#include <thread>

#include <SQLiteCpp/SQLiteCpp.h>
#include <nlohmann/json.hpp>

#include "fake_upstream.hpp"
#include "harness.hpp"

using namespace llmgate::test;
using namespace std::chrono;
using nlohmann::json;

namespace {

// 12 prompt + 5 completion tokens at these prices: $0.0062 a request.
constexpr double kRequestCost = 12 * 0.0001 + 5 * 0.001;
constexpr int kRequestTokens = 12 + 5;

// `paced`: streams with events 100 ms apart (requests stay in flight together); `up`: whole
// streams in one write (a malformed event arrives in one read with the events after it).
std::string config_for(const FakeUpstream& paced, const FakeUpstream& up) {
  const std::string prices = R"(
      input_cost_per_token: 0.0001
      output_cost_per_token: 0.001
)";
  return R"(model_list:
  - model_name: priced
    litellm_params:
      model: openai/gpt-4o-mini
      api_base: )" +
         paced.base_url() + prices + R"(  - model_name: hang-504
    litellm_params:
      model: openai/hang
      api_base: )" +
         up.base_url() + R"(
      timeout: 1)" +
         prices + R"(  - model_name: hang
    litellm_params:
      model: openai/hang
      api_base: )" +
         up.base_url() + prices + R"(  - model_name: malformed
    litellm_params:
      model: openai/stream-malformed
      api_base: )" +
         up.base_url() + R"(
  - model_name: malformed-azure
    litellm_params:
      model: azure/stream-malformed
      api_base: )" +
         up.origin() + R"(
      api_version: "2024-10-21"
      api_key: sk-azure-fake
  - model_name: malformed-ollama
    litellm_params:
      model: ollama_chat/stream-malformed
      api_base: )" +
         up.origin() + R"(
general_settings:
  master_key: )" +
         kMasterKey + R"(
  database_url: "sqlite:///ledger.db"
  proxy_batch_write_at: 0.05
  background_health_checks: false
llmgate_settings:
  drain_seconds: 0.1
)";
}

class KeyLimits : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    FakeUpstreamOptions o;
    o.stream_interval_ms = 100;
    paced = new FakeUpstream(o);
    up = new FakeUpstream();
    gw = new Daemon(config_for(*paced, *up));
  }
  static void TearDownTestSuite() {
    delete gw;
    delete up;
    delete paced;
  }
  static std::string new_key(const std::string& limits) {
    auto r = request(gw->port(), "POST", "/key/generate", limits, {auth_header()});
    EXPECT_EQ(r.status, 200) << r.body;
    return json::parse(r.body, nullptr, false).value("key", std::string());
  }
  static double spend(const std::string& key) {
    auto r = request(gw->port(), "GET", "/key/info?key=" + key, "", {auth_header()});
    auto j = json::parse(r.body, nullptr, false);
    return j.is_object() ? j["info"].value("spend", -1.0) : -1.0;
  }
  // A streamed request that lasts ~0.7 s upstream (events 100 ms apart) and reports its usage.
  static std::string slow_stream_request(const std::string& key) {
    return http_request("POST", "/v1/chat/completions",
                        chat_body("priced", true, R"("max_tokens":5,"stream_options":{"include_usage":true})"),
                        {auth_header(key)});
  }
  // Sends `n` requests at once (each on its own connection, all sent before any answer is read)
  // and returns the statuses, checking each rejection's shape against `code`.
  static std::vector<int> parallel(const std::string& req, int n, const std::string& code) {
    std::vector<std::unique_ptr<RawConn>> conns;
    for (int i = 0; i < n; ++i) conns.push_back(std::make_unique<RawConn>(gw->port()));
    for (auto& c : conns) EXPECT_TRUE(c->send(req));
    std::vector<int> statuses;
    for (auto& c : conns) {
      auto r = c->read_response(seconds(20));
      EXPECT_TRUE(r);
      if (!r) continue;
      statuses.push_back(r->status);
      if (r->status != 200) {
        EXPECT_EQ(r->status, 429) << r->body;
        auto j = json::parse(r->body, nullptr, false);
        EXPECT_TRUE(j.is_object() && j["error"].value("code", std::string()) == code) << r->body;
      } else {
        EXPECT_NE(r->body.find("data: [DONE]"), std::string::npos) << r->body;
      }
    }
    return statuses;
  }
  // Sends a request with `key` until it is answered 200 (a settling request may still be
  // finishing), within a bounded time. Returns the last status.
  static int admitted_within(const std::string& key, milliseconds timeout) {
    const auto deadline = steady_clock::now() + timeout;
    int status = 0;
    do {
      status = request(gw->port(), "POST", "/v1/chat/completions", chat_body("priced"), {auth_header(key)}).status;
      if (status == 200) break;
      std::this_thread::sleep_for(milliseconds(20));
    } while (steady_clock::now() < deadline);
    return status;
  }
  static FakeUpstream* paced;
  static FakeUpstream* up;
  static Daemon* gw;
};
FakeUpstream* KeyLimits::paced = nullptr;
FakeUpstream* KeyLimits::up = nullptr;
Daemon* KeyLimits::gw = nullptr;

TEST_F(KeyLimits, BudgetHoldsUnderFiftyParallelRequests) {
  const std::string key = new_key(R"({"max_budget":0.03})");
  const auto statuses = parallel(slow_stream_request(key), 50, "budget_exceeded");
  const auto admitted = std::count(statuses.begin(), statuses.end(), 200);
  ASSERT_EQ(statuses.size(), 50u);
  EXPECT_GE(admitted, 1);
  // Overshoot at most one request's cost.
  EXPECT_LE(admitted * kRequestCost, 0.03 + kRequestCost + 1e-9) << admitted << " admitted";
  // Every admitted request was settled at its real cost.
  const auto deadline = steady_clock::now() + seconds(5);
  while (std::abs(spend(key) - admitted * kRequestCost) > 1e-9 && steady_clock::now() < deadline)
    std::this_thread::sleep_for(milliseconds(20));
  EXPECT_NEAR(spend(key), admitted * kRequestCost, 1e-9);
}

TEST_F(KeyLimits, TpmHoldsUnderFiftyParallelRequests) {
  const std::string key = new_key(R"({"tpm_limit":100})");
  const auto statuses = parallel(slow_stream_request(key), 50, "rate_limit_exceeded");
  const auto admitted = std::count(statuses.begin(), statuses.end(), 200);
  ASSERT_EQ(statuses.size(), 50u);
  EXPECT_GE(admitted, 1);
  EXPECT_LE(admitted * kRequestTokens, 100 + kRequestTokens) << admitted << " admitted";
}

// A request whose estimate (max_tokens 100 at $0.001 a token) is the whole budget holds it while
// it runs; however it ends, the hold is given back.
TEST_F(KeyLimits, ReservationIsReleasedWhenTheUpstreamFails) {
  const std::string key = new_key(R"({"max_budget":0.03})");
  const int before = up->requests();
  RawConn a(gw->port());
  a.send(http_request("POST", "/v1/chat/completions", chat_body("hang-504", false, R"("max_tokens":100)"),
                      {auth_header(key)}));
  ASSERT_TRUE(up->wait_requests_at_least(before + 1, seconds(5)));
  // In flight: its reservation keeps a second request out.
  auto held = request(gw->port(), "POST", "/v1/chat/completions", chat_body("priced"), {auth_header(key)});
  EXPECT_EQ(held.status, 429) << held.body;
  EXPECT_NE(held.body.find("budget_exceeded"), std::string::npos) << held.body;
  auto r = a.read_response(seconds(10));
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 504) << r->body;
  EXPECT_EQ(admitted_within(key, seconds(5)), 200);
  EXPECT_NEAR(spend(key), kRequestCost, 1e-9);  // the failed request cost nothing
}

TEST_F(KeyLimits, ReservationIsReleasedWhenTheClientLeaves) {
  const std::string key = new_key(R"({"max_budget":0.03})");
  const int before = up->requests();
  {
    RawConn a(gw->port());
    a.send(http_request("POST", "/v1/chat/completions", chat_body("hang", false, R"("max_tokens":100)"),
                        {auth_header(key)}));
    ASSERT_TRUE(up->wait_requests_at_least(before + 1, seconds(5)));
    EXPECT_EQ(request(gw->port(), "POST", "/v1/chat/completions", chat_body("priced"), {auth_header(key)}).status, 429);
  }  // the client closes while the upstream hangs
  EXPECT_EQ(admitted_within(key, seconds(5)), 200);
}

struct LedgerRow {
  int status = 0;
  std::string error_type;
  int64_t prompt_tokens = 0, completion_tokens = 0;
  bool estimated = false;
};

std::optional<LedgerRow> ledger_row(const std::string& db_path, const std::string& request_id) {
  const auto deadline = steady_clock::now() + seconds(10);
  while (steady_clock::now() < deadline) {
    try {
      SQLite::Database db(db_path, SQLite::OPEN_READONLY);
      SQLite::Statement q(db,
                          "SELECT status_code, error_type, prompt_tokens, completion_tokens, tokens_estimated "
                          "FROM spend_logs WHERE request_id = ?");
      q.bind(1, request_id);
      if (q.executeStep()) {
        LedgerRow r;
        r.status = q.getColumn(0).getInt();
        r.error_type = q.getColumn(1).getString();
        r.prompt_tokens = q.getColumn(2).getInt64();
        r.completion_tokens = q.getColumn(3).getInt64();
        r.estimated = q.getColumn(4).getInt() != 0;
        return r;
      }
    } catch (const std::exception&) {
    }
    std::this_thread::sleep_for(milliseconds(20));
  }
  return std::nullopt;
}

TEST_F(KeyLimits, MalformedStreamEventEndsTheStreamWithAnError) {
  for (const std::string model : {"malformed", "malformed-azure", "malformed-ollama"}) {
    RawConn c(gw->port());
    c.send(http_request("POST", "/v1/chat/completions", chat_body(model, true), {auth_header()}));
    auto r = c.read_response(seconds(10));
    ASSERT_TRUE(r) << model;
    EXPECT_EQ(r->status, 200) << model;  // the stream had started
    const std::string& b = r->body;
    EXPECT_NE(b.find("Hello"), std::string::npos) << model << ": the events before it arrive\n" << b;
    EXPECT_NE(b.find("event: error"), std::string::npos) << model << "\n" << b;
    EXPECT_NE(b.find("upstream_stream_error"), std::string::npos) << model << "\n" << b;
    EXPECT_EQ(b.find("[DONE]"), std::string::npos) << model << "\n" << b;
    EXPECT_EQ(b.find("\"finish_reason\":\"stop\""), std::string::npos) << model << "\n" << b;
    EXPECT_EQ(b.find("\"cut"), std::string::npos) << model << ": the malformed event is not passed on\n" << b;
    EXPECT_EQ(b.find("\" fake\""), std::string::npos) << model << ": nor what came after it\n" << b;
    auto row = ledger_row(gw->dir() + "/ledger.db", r->header("x-request-id"));
    ASSERT_TRUE(row) << model;
    EXPECT_EQ(row->status, 502) << model;
    EXPECT_EQ(row->error_type, "api_error") << model;
    EXPECT_GT(row->prompt_tokens, 0) << model;
    EXPECT_GE(row->completion_tokens, 1) << model << ": the events delivered before it";
    EXPECT_TRUE(row->estimated) << model;
  }
}

}  // namespace
