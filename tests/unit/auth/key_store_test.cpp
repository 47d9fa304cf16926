// Virtual keys: the /key/* routes, KeyStore::authorize outcomes, usage accounting and
// persistence across reopen.
#include <gtest/gtest.h>
#include <unistd.h>

#include <SQLiteCpp/SQLiteCpp.h>

#include <atomic>
#include <cctype>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "limits/memory_limit_store.hpp"
#include "llmgate/app.hpp"
#include "llmgate/keys.hpp"
#include "llmgate/storage.hpp"

namespace llmgate {
namespace {

namespace fs = std::filesystem;
using json = nlohmann::json;

constexpr int64_t kStart = 1'700'000'000'000'000;  // 2023-11-14T22:13:20Z, on a minute boundary
constexpr int64_t kMinute = 60'000'000;

class KeyStoreTest : public ::testing::Test {
 protected:
  LimitStore* limits_ = nullptr;  // null: the key store's own in-memory store
  void SetUp() override {
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    dir_ = fs::temp_directory_path() / ("llmgate-keys-" + std::to_string(::getpid()) + "-" + info->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    db_path_ = (dir_ / "llmgate.db").string();
    register_key_routes(routes_);
    open();
  }
  void TearDown() override {
    app_.keys = nullptr;
    store_.reset();
    fs::remove_all(dir_);
  }

  void open(double flush_interval_s = 1.0) {
    KeyStoreOptions o;
    LedgerSettings where;
    where.database_path = db_path_;
    o.repository = open_key_repository(where);
    o.flush_interval_s = flush_interval_s;
    o.now_us = [this] { return now_.load(); };
    o.limits = limits_;
    store_ = VirtualKeyStore::open(o);
    app_.keys = store_.get();
  }
  void reopen(double flush_interval_s = 1.0) {
    app_.keys = nullptr;
    store_.reset();  // shutdown: final flush
    open(flush_interval_s);
  }

  HttpResponse call(const std::string& method, const std::string& target, const std::string& body = {}) {
    HttpRequest req;
    req.method = method;
    req.target = target;
    auto q = target.find('?');
    req.path = target.substr(0, q);
    if (q != std::string::npos) req.query = parse_query(std::string_view(target).substr(q + 1));
    req.body = body;
    for (auto& r : routes_)
      if (r.method == method && r.path == req.path) {
        EXPECT_TRUE(r.needs_master_key) << r.path;
        EXPECT_TRUE(r.blocking) << r.path;
        return r.handler(req, app_);
      }
    ADD_FAILURE() << "no route " << method << " " << req.path;
    return {};
  }
  json call_json(const std::string& method, const std::string& target, const json& body, int expect_status = 200) {
    HttpResponse r = call(method, target, body.is_null() ? std::string() : body.dump());
    EXPECT_EQ(r.status, expect_status) << target << " -> " << r.body;
    json j = json::parse(r.body, nullptr, false);
    EXPECT_FALSE(j.is_discarded()) << r.body;
    return j;
  }
  // Generates a key and returns {raw key, response}.
  std::pair<std::string, json> generate(const json& body) {
    json j = call_json("POST", "/key/generate", body);
    return {j.value("key", std::string()), j};
  }
  Errc authorize(const std::string& key, const std::string& model, std::string* msg = nullptr) {
    Principal p;
    std::string m;
    Errc e = store_->authorize(key, model, p, m);
    if (msg) *msg = m;
    if (!key.empty()) {
      EXPECT_EQ(m.find(key), std::string::npos) << "message echoes the key: " << m;
    }
    return e;
  }
  Principal principal(const std::string& key) {
    Principal p;
    std::string m;
    EXPECT_EQ(store_->authorize(key, "", p, m), Errc::ok) << m;
    return p;
  }
  void use(const std::string& key, double cost, int64_t tokens) {
    RequestRecord r;
    r.cost_usd = cost;
    r.total_tokens = tokens;
    Principal p = principal(key);
    store_->record_usage(p, r);
  }
  double db_spend(const std::string& hash) {
    SQLite::Database db(db_path_, SQLite::OPEN_READONLY);
    SQLite::Statement q(db, "SELECT spend FROM llmgate_keys WHERE token = ?");
    q.bind(1, hash);
    return q.executeStep() ? q.getColumn(0).getDouble() : -1;
  }
  std::string file_bytes(const fs::path& p) {
    std::ifstream in(p, std::ios::binary);
    std::ostringstream ss;
    ss << in.rdbuf();
    return ss.str();
  }

  fs::path dir_;
  std::string db_path_;
  std::atomic<int64_t> now_{kStart};
  std::vector<Route> routes_;
  std::unique_ptr<VirtualKeyStore> store_;
  App app_;
};

TEST_F(KeyStoreTest, GenerateShowsKeyOnceAndStoresOnlyItsHash) {
  auto [key, g] = generate({{"key_alias", "billing-svc"},
                            {"max_budget", 2.5},
                            {"models", {"gpt-4o"}},
                            {"rpm_limit", 100},
                            {"tpm_limit", 5000},
                            {"duration", "30d"},
                            {"metadata", {{"team", "payments"}}}});
  ASSERT_EQ(key.rfind("sk-", 0), 0u) << key;
  EXPECT_GE(key.size(), 3u + 22u);
  for (char c : key.substr(3)) EXPECT_TRUE(std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_');
  EXPECT_EQ(g["token"], hash_key(key));
  EXPECT_EQ(g["key_alias"], "billing-svc");
  EXPECT_EQ(g["max_budget"], 2.5);
  EXPECT_EQ(g["models"], json({"gpt-4o"}));
  EXPECT_EQ(g["rpm_limit"], 100);
  EXPECT_EQ(g["tpm_limit"], 5000);
  EXPECT_EQ(g["expires"], "2023-12-14T22:13:20.000Z");  // kStart + 30 days
  EXPECT_EQ(g["metadata"]["team"], "payments");
  EXPECT_EQ(g["blocked"], false);
  EXPECT_EQ(g["spend"], 0.0);
  EXPECT_EQ(g["key_name"], "sk-..." + key.substr(key.size() - 4));

  // Two keys are never the same.
  now_ += 1'000'000;
  auto [key2, g2] = generate(json::object());
  EXPECT_NE(key, key2);

  // info (by raw key and by hash), list and list with objects: never the raw key.
  for (const std::string& ref : {key, hash_key(key)}) {
    HttpResponse r = call("GET", "/key/info?key=" + ref);
    ASSERT_EQ(r.status, 200) << r.body;
    EXPECT_EQ(r.body.find(key), std::string::npos);
    json j = json::parse(r.body);
    EXPECT_EQ(j["key"], hash_key(key));
    EXPECT_EQ(j["info"]["key_alias"], "billing-svc");
    EXPECT_EQ(j["info"]["max_budget"], 2.5);
  }
  HttpResponse list = call("GET", "/key/list");
  ASSERT_EQ(list.status, 200);
  json l = json::parse(list.body);
  EXPECT_EQ(l["total_count"], 2);
  EXPECT_EQ(l["keys"], json({hash_key(key2), hash_key(key)}));  // newest first
  HttpResponse full = call("GET", "/key/list?return_full_object=true&key_alias=billing-svc");
  ASSERT_EQ(full.status, 200);
  EXPECT_EQ(full.body.find(key), std::string::npos);
  json f = json::parse(full.body);
  ASSERT_EQ(f["keys"].size(), 1u);
  EXPECT_EQ(f["keys"][0]["token"], hash_key(key));

  // The database file holds the hash, never the key.
  store_->flush();
  std::string bytes = file_bytes(db_path_) + file_bytes(db_path_ + "-wal");
  EXPECT_EQ(bytes.find(key), std::string::npos);
  EXPECT_NE(bytes.find(hash_key(key)), std::string::npos);
}

TEST_F(KeyStoreTest, ListIsNewestFirstAndPaged) {
  std::vector<std::string> hashes;
  for (int i = 0; i < 5; ++i) {
    now_ += 1'000'000;
    hashes.push_back(generate({{"key_alias", "k" + std::to_string(i)}}).second["token"]);
  }
  json p1 = call_json("GET", "/key/list?page=1&size=2", nullptr);
  EXPECT_EQ(p1["keys"], json({hashes[4], hashes[3]}));
  EXPECT_EQ(p1["total_pages"], 3);
  json p3 = call_json("GET", "/key/list?page=3&size=2", nullptr);
  EXPECT_EQ(p3["keys"], json({hashes[0]}));
  call_json("GET", "/key/list?size=0", nullptr, 400);
  call_json("GET", "/key/list?page=abc", nullptr, 400);
}

TEST_F(KeyStoreTest, GenerateRejectsBadInput) {
  EXPECT_EQ(call("POST", "/key/generate", "{not json").status, 400);
  EXPECT_EQ(call("POST", "/key/generate", "[1,2]").status, 400);
  json e = call_json("POST", "/key/generate", {{"duration", "soon"}}, 400);
  EXPECT_NE(e["error"]["message"].get<std::string>().find("duration"), std::string::npos);
  call_json("POST", "/key/generate", {{"max_budget", -1}}, 400);
  call_json("POST", "/key/generate", {{"models", "gpt-4o"}}, 400);
  call_json("POST", "/key/generate", {{"rpm_limit", 1.5}}, 400);
  call_json("POST", "/key/generate", {{"spend", 3}}, 400);
  // Limits we do not enforce are refused rather than silently ignored.
  e = call_json("POST", "/key/generate", {{"budget_duration", "30d"}}, 400);
  EXPECT_NE(e["error"]["message"].get<std::string>().find("budget_duration"), std::string::npos);
  // Aliases are unique.
  generate({{"key_alias", "dup"}});
  call_json("POST", "/key/generate", {{"key_alias", "dup"}}, 400);
  // A chosen key value must look like a key; the same key twice is refused.
  call_json("POST", "/key/generate", {{"key", "short"}}, 400);
  auto [k, g] = generate({{"key", "sk-chosen-by-admin-0001"}});
  EXPECT_EQ(k, "sk-chosen-by-admin-0001");
  json dup = call_json("POST", "/key/generate", {{"key", "sk-chosen-by-admin-0001"}}, 400);
  EXPECT_EQ(dup.dump().find("sk-chosen-by-admin-0001"), std::string::npos);
  EXPECT_EQ(store_->size(), 2u);
}

TEST_F(KeyStoreTest, AuthorizeOutcomes) {
  auto [key, g] = generate({{"key_alias", "svc"}, {"models", {"gpt-4o", "llama"}}});
  std::string msg;
  Principal p;
  std::string m;
  ASSERT_EQ(store_->authorize(key, "gpt-4o", p, m), Errc::ok) << m;
  EXPECT_FALSE(p.master);
  EXPECT_EQ(p.key_hash, hash_key(key));
  EXPECT_EQ(p.key_alias, "svc");
  EXPECT_EQ(p.allowed_models, (std::vector<std::string>{"gpt-4o", "llama"}));

  EXPECT_EQ(authorize(key, "llama"), Errc::ok);
  EXPECT_EQ(authorize(key, ""), Errc::ok);  // no model check (e.g. /v1/models)
  EXPECT_EQ(authorize(key, "claude", &msg), Errc::forbidden);
  EXPECT_NE(msg.find("claude"), std::string::npos);
  EXPECT_EQ(authorize("sk-unknown-key-123456789", "gpt-4o", &msg), Errc::unauthorized);
  EXPECT_EQ(authorize("", "gpt-4o"), Errc::unauthorized);
  EXPECT_EQ(authorize(hash_key(key), "gpt-4o"), Errc::unauthorized);  // the hash is not a key

  // A key without a model list may call any model.
  auto [open_key, g2] = generate(json::object());
  EXPECT_EQ(authorize(open_key, "anything"), Errc::ok);
}

TEST_F(KeyStoreTest, ExpiredKeyIsUnauthorized) {
  auto [key, g] = generate({{"duration", "1h"}});
  now_ += 3600LL * 1'000'000 - 1;
  EXPECT_EQ(authorize(key, "m"), Errc::ok);
  now_ += 1;
  std::string msg;
  EXPECT_EQ(authorize(key, "m", &msg), Errc::unauthorized);
  EXPECT_NE(msg.find("expired"), std::string::npos);
  // Extending the key through /key/update brings it back.
  call_json("POST", "/key/update", {{"key", key}, {"duration", "1d"}});
  EXPECT_EQ(authorize(key, "m"), Errc::ok);
  call_json("POST", "/key/update", {{"key", key}, {"duration", nullptr}});
  now_ += 365LL * 86400 * 1'000'000;
  EXPECT_EQ(authorize(key, "m"), Errc::ok);
}

TEST_F(KeyStoreTest, BlockAndUnblock) {
  auto [key, g] = generate(json::object());
  json b = call_json("POST", "/key/block", {{"key", key}});
  EXPECT_EQ(b["blocked"], true);
  EXPECT_EQ(b.dump().find(key), std::string::npos);
  std::string msg;
  // LiteLLM answers 401 for a blocked key.
  EXPECT_EQ(authorize(key, "m", &msg), Errc::unauthorized);
  EXPECT_NE(msg.find("blocked"), std::string::npos);
  json info = call_json("GET", "/key/info?key=" + hash_key(key), nullptr);
  EXPECT_EQ(info["info"]["blocked"], true);
  // Unblock by hash.
  json u = call_json("POST", "/key/unblock", {{"key", hash_key(key)}});
  EXPECT_EQ(u["blocked"], false);
  EXPECT_EQ(authorize(key, "m"), Errc::ok);
  call_json("POST", "/key/block", {{"key", "sk-not-a-known-key-000"}}, 404);
  call_json("POST", "/key/block", json::object(), 400);
}

TEST_F(KeyStoreTest, UpdateChangesLimitsAndKeepsUnsentFields) {
  auto [key, g] = generate({{"key_alias", "a"}, {"models", {"m1"}}, {"max_budget", 1.0}});
  generate({{"key_alias", "taken"}});
  json u = call_json("POST", "/key/update",
                     {{"key", key}, {"models", {"m2"}}, {"rpm_limit", 7}, {"metadata", {{"x", 1}}}});
  EXPECT_EQ(u["models"], json({"m2"}));
  EXPECT_EQ(u["rpm_limit"], 7);
  EXPECT_EQ(u["key_alias"], "a");  // not sent: unchanged
  EXPECT_EQ(u["max_budget"], 1.0);
  EXPECT_EQ(authorize(key, "m1"), Errc::forbidden);
  EXPECT_EQ(authorize(key, "m2"), Errc::ok);
  // null clears: unlimited budget, all models.
  u = call_json("POST", "/key/update", {{"key", key}, {"max_budget", nullptr}, {"models", nullptr}});
  EXPECT_TRUE(u["max_budget"].is_null());
  EXPECT_EQ(authorize(key, "m1"), Errc::ok);
  call_json("POST", "/key/update", {{"key", key}, {"key_alias", "taken"}}, 400);
  call_json("POST", "/key/update", {{"key", "sk-nope-nope-nope-00"}, {"rpm_limit", 1}}, 404);
  call_json("POST", "/key/update", {{"rpm_limit", 1}}, 400);
  // Spend can be reset by an admin (LiteLLM allows setting spend).
  use(key, 0.75, 10);
  u = call_json("POST", "/key/update", {{"key", key}, {"spend", 0}});
  EXPECT_EQ(u["spend"], 0.0);
}

TEST_F(KeyStoreTest, BudgetExceededAfterRecordedUsage) {
  auto [key, g] = generate({{"max_budget", 0.01}});
  use(key, 0.004, 100);
  use(key, 0.004, 100);
  EXPECT_EQ(authorize(key, "m"), Errc::ok);  // 0.008 < 0.01
  use(key, 0.004, 100);
  std::string msg;
  EXPECT_EQ(authorize(key, "m", &msg), Errc::budget_exceeded);
  EXPECT_NE(msg.find("Budget"), std::string::npos);
  json info = call_json("GET", "/key/info?key=" + key, nullptr);
  EXPECT_NEAR(info["info"]["spend"].get<double>(), 0.012, 1e-12);
  // Raising the budget lets the key through again.
  call_json("POST", "/key/update", {{"key", key}, {"max_budget", 1}});
  EXPECT_EQ(authorize(key, "m"), Errc::ok);
  // Unknown cost (no price) adds nothing.
  RequestRecord r;
  r.total_tokens = 10;
  Principal p = principal(key);
  store_->record_usage(p, r);
  info = call_json("GET", "/key/info?key=" + key, nullptr);
  EXPECT_NEAR(info["info"]["spend"].get<double>(), 0.012, 1e-12);
}

TEST_F(KeyStoreTest, RpmLimitPerMinuteWindow) {
  auto [key, g] = generate({{"rpm_limit", 3}});
  for (int i = 0; i < 3; ++i) EXPECT_EQ(authorize(key, "m"), Errc::ok) << i;
  std::string msg;
  EXPECT_EQ(authorize(key, "m", &msg), Errc::rate_limited);
  EXPECT_NE(msg.find("rpm"), std::string::npos);
  now_ += kMinute;  // next minute: a fresh window
  EXPECT_EQ(authorize(key, "m"), Errc::ok);
  // Rejected requests (wrong model) do not use up the window.
  auto [k2, g2] = generate({{"rpm_limit", 1}, {"models", {"a"}}});
  EXPECT_EQ(authorize(k2, "b"), Errc::forbidden);
  EXPECT_EQ(authorize(k2, "a"), Errc::ok);
  EXPECT_EQ(authorize(k2, "a"), Errc::rate_limited);
}

TEST_F(KeyStoreTest, TpmLimitCountsRecordedTokens) {
  auto [key, g] = generate({{"tpm_limit", 1000}});
  use(key, 0, 600);
  EXPECT_EQ(authorize(key, "m"), Errc::ok);
  use(key, 0, 500);  // 1100 tokens this minute
  std::string msg;
  EXPECT_EQ(authorize(key, "m", &msg), Errc::rate_limited);
  EXPECT_NE(msg.find("tpm"), std::string::npos);
  now_ += kMinute;
  EXPECT_EQ(authorize(key, "m"), Errc::ok);
}

TEST(AdmissionEstimate, PromptFromBodySizePlusCompletionLimitOrDefault) {
  TokenEstimate e = estimate_request_tokens(400, 50, true);
  EXPECT_EQ(e.prompt, 100);
  EXPECT_EQ(e.completion, 50);
  e = estimate_request_tokens(401, std::nullopt, true);
  EXPECT_EQ(e.prompt, 101);  // rounded up
  EXPECT_EQ(e.completion, kDefaultReservedCompletionTokens);
  e = estimate_request_tokens(8, std::nullopt, false);  // embeddings: no completion
  EXPECT_EQ(e.prompt, 2);
  EXPECT_EQ(e.completion, 0);
  EXPECT_EQ(estimate_request_tokens(0, -5, true).completion, 0);
  EXPECT_EQ(estimate_request_tokens(0, INT64_MAX, true).completion, 1'000'000'000);
}

TEST_F(KeyStoreTest, BudgetCountsReservationsOfRequestsInFlight) {
  auto [key, g] = generate({{"max_budget", 0.03}});
  const UsageEstimate est{10, 0.007};
  std::vector<Principal> in_flight;
  std::string msg;
  for (;;) {
    Principal p;
    const Errc e = store_->authorize(key, "m", est, p, msg);
    if (e != Errc::ok) {
      EXPECT_EQ(e, Errc::budget_exceeded);
      break;
    }
    EXPECT_TRUE(p.lease.held());
    EXPECT_EQ(p.lease.nano_usd(), 7'000'000);
    in_flight.push_back(std::move(p));
    ASSERT_LT(in_flight.size(), 50u);
  }
  // Admitted while spend + reservations < budget: 0, .007, .014, .021, .028.
  EXPECT_EQ(in_flight.size(), 5u);
  EXPECT_NE(msg.find("reserved by requests in flight"), std::string::npos) << msg;
  // Settling releases the estimate and adds the real cost: 5 x 0.006 = 0.03 <= budget + one request.
  for (auto& p : in_flight) {
    RequestRecord r;
    r.cost_usd = 0.006;
    r.total_tokens = 10;
    store_->record_usage(p, r);
    EXPECT_FALSE(p.lease.held());
  }
  json info = call_json("GET", "/key/info?key=" + key, nullptr);
  EXPECT_NEAR(info["info"]["spend"].get<double>(), 0.03, 1e-12);
  EXPECT_EQ(authorize(key, "m"), Errc::budget_exceeded);
  // With a higher budget the released reservations no longer count: exactly one fits again.
  call_json("POST", "/key/update", {{"key", key}, {"max_budget", 0.031}});
  Principal a, b;
  EXPECT_EQ(store_->authorize(key, "m", est, a, msg), Errc::ok) << msg;
  EXPECT_EQ(store_->authorize(key, "m", est, b, msg), Errc::budget_exceeded);
}

TEST_F(KeyStoreTest, ReservationIsReleasedExactlyOnceOnEveryPath) {
  auto [key, g] = generate({{"max_budget", 1.0}, {"tpm_limit", 100}});
  const UsageEstimate est{100, 1.0};  // one request holds the whole budget and tpm
  std::string msg;
  {
    Principal p;
    ASSERT_EQ(store_->authorize(key, "m", est, p, msg), Errc::ok) << msg;
    Principal q;
    EXPECT_EQ(store_->authorize(key, "m", est, q, msg), Errc::budget_exceeded);
    EXPECT_FALSE(q.lease.held());
  }  // destroyed without settling (a request torn down): released
  {
    Principal p;
    ASSERT_EQ(store_->authorize(key, "m", est, p, msg), Errc::ok) << msg;
    p.lease.release();
    p.lease.release();  // a second release gives nothing back twice
    Principal moved = std::move(p);
    EXPECT_FALSE(moved.lease.held());
  }
  {
    Principal p;
    ASSERT_EQ(store_->authorize(key, "m", est, p, msg), Errc::ok) << msg;
    RequestRecord r;  // settled with no usage (an upstream error), then destroyed: released once
    store_->record_usage(p, r);
    store_->record_usage(p, r);
  }
  // Nothing is held any more: a request that holds everything is admitted, then one more is not.
  Principal p;
  ASSERT_EQ(store_->authorize(key, "m", est, p, msg), Errc::ok) << msg;
  Principal q;
  EXPECT_NE(store_->authorize(key, "m", est, q, msg), Errc::ok);
  // A reused principal gives back its old reservation before taking a new one.
  ASSERT_EQ(store_->authorize(key, "m", est, p, msg), Errc::ok) << msg;
}

TEST_F(KeyStoreTest, TpmCountsReservationsAcrossTheMinute) {
  auto [key, g] = generate({{"tpm_limit", 100}});
  const UsageEstimate est{30, 0.5};
  std::vector<Principal> in_flight;
  std::string msg;
  for (int i = 0; i < 10; ++i) {
    Principal p;
    if (store_->authorize(key, "m", est, p, msg) != Errc::ok) break;
    EXPECT_EQ(p.lease.tokens(), 30);
    EXPECT_EQ(p.lease.nano_usd(), 0);  // no budget on this key: no cost held
    in_flight.push_back(std::move(p));
  }
  EXPECT_EQ(in_flight.size(), 4u);  // 0, 30, 60, 90 < 100
  EXPECT_NE(msg.find("tpm"), std::string::npos);
  // Reservations outlive the minute: their tokens land in the minute they finish in.
  now_ += kMinute;
  Principal extra;
  EXPECT_EQ(store_->authorize(key, "m", est, extra, msg), Errc::rate_limited);
  RequestRecord r;
  r.total_tokens = 17;
  for (auto& p : in_flight) store_->record_usage(p, r);  // 68 tokens this minute
  Principal a, b, c;
  EXPECT_EQ(store_->authorize(key, "m", est, a, msg), Errc::ok) << msg;     // 68 < 100
  EXPECT_EQ(store_->authorize(key, "m", est, b, msg), Errc::ok) << msg;     // 68 + 30 < 100
  EXPECT_EQ(store_->authorize(key, "m", est, c, msg), Errc::rate_limited);  // 68 + 60
}

TEST_F(KeyStoreTest, ConcurrentReservationsBalance) {
  auto [key, g] = generate({{"max_budget", 1e9}, {"tpm_limit", int64_t{1} << 40}});
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t)
    threads.emplace_back([&, key = key] {
      for (int i = 0; i < 2000; ++i) {
        Principal p;
        std::string m;
        if (store_->authorize(key, "m", UsageEstimate{7, 0.001}, p, m) != Errc::ok) continue;
        if (i % 2 == 0) {
          RequestRecord r;
          r.cost_usd = 0.25;
          store_->record_usage(p, r);
        }  // odd ones end without settling: released by the destructor
      }
    });
  for (auto& t : threads) t.join();
  // Everything released: a key whose budget is the spend plus a hair admits exactly one more.
  json info = call_json("GET", "/key/info?key=" + key, nullptr);
  const double spend = info["info"]["spend"].get<double>();
  EXPECT_EQ(spend, 4 * 1000 * 0.25);
  call_json("POST", "/key/update", {{"key", key}, {"max_budget", spend + 0.0005}, {"tpm_limit", 8}});
  Principal a, b;
  std::string m;
  EXPECT_EQ(store_->authorize(key, "m", UsageEstimate{7, 0.001}, a, m), Errc::ok) << m;
  EXPECT_NE(store_->authorize(key, "m", UsageEstimate{7, 0.001}, b, m), Errc::ok);
}

TEST_F(KeyStoreTest, DeleteByKeyHashOrAliasIsAllOrNothing) {
  auto [k1, g1] = generate({{"key_alias", "one"}});
  auto [k2, g2] = generate({{"key_alias", "two"}});
  auto [k3, g3] = generate({{"key_alias", "three"}});
  // One unknown key: nothing is deleted.
  json e = call_json("POST", "/key/delete", {{"keys", {k1, "sk-unknown-unknown-1"}}}, 404);
  EXPECT_EQ(e.dump().find(k1), std::string::npos);
  EXPECT_EQ(store_->size(), 3u);
  json d = call_json("POST", "/key/delete", {{"keys", {k1, hash_key(k2)}}});
  EXPECT_EQ(d["deleted_keys"].size(), 2u);
  EXPECT_EQ(d.dump().find(k1), std::string::npos);
  EXPECT_EQ(authorize(k1, "m"), Errc::unauthorized);
  EXPECT_EQ(authorize(k2, "m"), Errc::unauthorized);
  call_json("GET", "/key/info?key=" + k1, nullptr, 404);
  d = call_json("POST", "/key/delete", {{"key_aliases", {"three"}}});
  EXPECT_EQ(d["deleted_keys"], json({hash_key(k3)}));
  EXPECT_EQ(store_->size(), 0u);
  call_json("POST", "/key/delete", json::object(), 400);
  // Deletion is persistent.
  reopen();
  EXPECT_EQ(store_->size(), 0u);
}

TEST_F(KeyStoreTest, DeletedKeysLeaveNoCountersInTheLimitStore) {
  auto mem = make_memory_limit_store();
  limits_ = mem.get();
  reopen();
  auto [k1, g1] = generate({{"rpm_limit", 5}});
  auto [k2, g2] = generate({{"rpm_limit", 5}});
  EXPECT_EQ(authorize(k1, "m"), Errc::ok);
  EXPECT_EQ(authorize(k2, "m"), Errc::ok);
  auto& counters = static_cast<limits::MemoryLimitStore&>(*mem);
  EXPECT_EQ(counters.size(), 2u);
  call_json("POST", "/key/delete", {{"keys", {k1}}});
  EXPECT_EQ(counters.size(), 1u);  // k2's window is still counted
  app_.keys = nullptr;
  store_.reset();  // before the limit store it points at
}

TEST_F(KeyStoreTest, KeysAndSpendSurviveReopen) {
  auto [key, g] = generate(
      {{"key_alias", "persist"}, {"max_budget", 5}, {"models", {"m"}}, {"duration", "2d"}, {"rpm_limit", 9}});
  auto [blocked, g2] = generate({{"key_alias", "blocked"}});
  call_json("POST", "/key/block", {{"key", blocked}});
  use(key, 1.25, 10);
  use(key, 0.5, 10);
  reopen();  // the destructor's final flush persists the spend
  EXPECT_EQ(store_->size(), 2u);
  json info = call_json("GET", "/key/info?key=" + key, nullptr);
  EXPECT_NEAR(info["info"]["spend"].get<double>(), 1.75, 1e-12);
  EXPECT_EQ(info["info"]["key_alias"], "persist");
  EXPECT_EQ(info["info"]["max_budget"], 5.0);
  EXPECT_EQ(info["info"]["models"], json({"m"}));
  EXPECT_EQ(info["info"]["rpm_limit"], 9);
  EXPECT_EQ(info["info"]["expires"], g["expires"]);
  EXPECT_EQ(info["info"]["created_at"], g["created_at"]);
  EXPECT_EQ(authorize(key, "m"), Errc::ok);
  EXPECT_EQ(authorize(blocked, "m"), Errc::unauthorized);
}

TEST_F(KeyStoreTest, SpendIsPersistedInTheBackgroundWithinTheFlushInterval) {
  reopen(0.05);
  auto [key, g] = generate(json::object());
  const std::string hash = hash_key(key);
  EXPECT_EQ(db_spend(hash), 0.0);
  use(key, 0.5, 10);
  // Wait (bounded) for the flusher thread, without calling flush() or closing the store.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (db_spend(hash) != 0.5 && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  EXPECT_EQ(db_spend(hash), 0.5);
}

TEST_F(KeyStoreTest, ConcurrentUsageIsCountedExactly) {
  auto [key, g] = generate(json::object());
  Principal p = principal(key);
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t)
    threads.emplace_back([&] {
      for (int i = 0; i < 1000; ++i) {
        RequestRecord r;
        r.cost_usd = 0.25;  // exact in binary floating point
        r.total_tokens = 1;
        store_->record_usage(p, r);
        Principal q;
        std::string m;
        store_->authorize(key, "m", q, m);
        if (i % 100 == 0) store_->flush();
      }
    });
  for (auto& t : threads) t.join();
  json info = call_json("GET", "/key/info?key=" + key, nullptr);
  EXPECT_EQ(info["info"]["spend"].get<double>(), 1000.0);
  store_->flush();
  EXPECT_EQ(db_spend(hash_key(key)), 1000.0);
}

TEST_F(KeyStoreTest, RoutesAnswerClearlyWithoutAKeyStore) {
  app_.keys = nullptr;
  HttpResponse r = call("POST", "/key/generate", "{}");
  EXPECT_EQ(r.status, 400);
  EXPECT_NE(r.body.find("not enabled"), std::string::npos);
  call_json("GET", "/key/info", nullptr, 400);
  app_.keys = store_.get();
  call_json("GET", "/key/info", nullptr, 400);  // no key parameter
}

TEST(ParseDuration, LiteLLMUnits) {
  EXPECT_EQ(parse_duration_seconds("30s"), 30);
  EXPECT_EQ(parse_duration_seconds("15m"), 900);
  EXPECT_EQ(parse_duration_seconds("1h"), 3600);
  EXPECT_EQ(parse_duration_seconds("30d"), 30 * 86400);
  EXPECT_EQ(parse_duration_seconds("2w"), 14 * 86400);
  EXPECT_EQ(parse_duration_seconds("1mo"), 30 * 86400);
  EXPECT_EQ(parse_duration_seconds(""), -1);
  EXPECT_EQ(parse_duration_seconds("d"), -1);
  EXPECT_EQ(parse_duration_seconds("0d"), -1);
  EXPECT_EQ(parse_duration_seconds("5y"), -1);
  EXPECT_EQ(parse_duration_seconds("-1d"), -1);
}

}  // namespace
}  // namespace llmgate
