// Ledger read API: filters, keyset pagination, literal matching of hostile input, rollups that
// agree with the raw rows, and the HTTP routes (spend API + dashboard API).
#include <SQLiteCpp/Database.h>
#include <gtest/gtest.h>

#include <map>
#include <random>
#include <set>
#include <sstream>

#include "admin/ledger_api.hpp"
#include "llmgate/app.hpp"
#include "store_test_util.hpp"

using namespace llmgate;
using namespace llmgate::testing_store;
using nlohmann::json;

namespace {

using Params = std::multimap<std::string, std::string>;

class StoreQuery : public ::testing::Test {
 protected:
  void SetUp() override { l_ = open_ledger(settings_for(dir_.file("q.db"))); }
  void fill(int n, int64_t start) {
    for (int i = 0; i < n; ++i) {
      auto r = make_record(i, start + static_cast<int64_t>(i / 3) * 1000000);  // ties by 3
      records_.push_back(r);
      l_->submit(std::move(r));
    }
    ASSERT_TRUE(l_->flush_for_test(std::chrono::seconds(20)));
  }
  std::vector<std::string> all_pages(Params p, std::size_t* pages = nullptr) {
    std::vector<std::string> ids;
    p.emplace("limit", "17");
    std::size_t n = 0;
    for (;;) {
      json page = admin::ledger_query(*l_, "logs", p);
      ++n;
      for (auto& row : page["data"]) ids.push_back(row["request_id"]);
      if (page["next_cursor"].is_null()) break;
      p.erase("cursor");
      p.emplace("cursor", page["next_cursor"].get<std::string>());
      if (n > 1000) break;
    }
    if (pages) *pages = n;
    return ids;
  }
  TempDir dir_;
  std::unique_ptr<store::SqliteLedger> l_;
  std::vector<RequestRecord> records_;
};

}  // namespace

TEST_F(StoreQuery, PaginationReturnsEachRowExactlyOnceNewestFirst) {
  const int64_t start = now_us() - 3600LL * 1000000;
  fill(250, start);
  std::size_t pages = 0;
  auto ids = all_pages({}, &pages);
  EXPECT_EQ(ids.size(), 250u);
  EXPECT_EQ(std::set<std::string>(ids.begin(), ids.end()).size(), 250u);
  EXPECT_EQ(pages, 15u);  // ceil(250 / 17)
  // Newest first.
  json first = admin::ledger_query(*l_, "logs", {{"limit", "2"}});
  EXPECT_GE(first["data"][0]["start_time"].get<double>(), first["data"][1]["start_time"].get<double>());
  // With filters and with free text too.
  auto ids_model = all_pages({{"model", "gpt-4o"}});
  EXPECT_EQ(ids_model.size(), 125u);
  EXPECT_EQ(std::set<std::string>(ids_model.begin(), ids_model.end()).size(), 125u);
  auto ids_q = all_pages({{"q", "general kenobi"}});
  EXPECT_EQ(ids_q.size(), 250u);
  EXPECT_EQ(std::set<std::string>(ids_q.begin(), ids_q.end()).size(), 250u);
}

TEST_F(StoreQuery, FiltersSelectTheRightRows) {
  const int64_t start = now_us() - 3600LL * 1000000;
  fill(100, start);
  auto count = [&](Params p) { return all_pages(std::move(p)).size(); };
  EXPECT_EQ(count({{"status_class", "5xx"}}), 10u);
  EXPECT_EQ(count({{"status_class", "error"}}), 10u);
  EXPECT_EQ(count({{"status_class", "2xx"}}), 90u);
  EXPECT_EQ(count({{"status_class", "4xx"}}), 0u);
  EXPECT_EQ(count({{"key", "team-b"}}), 34u);            // alias (i % 3 == 0)
  EXPECT_EQ(count({{"key", "fedcba98"}}), 34u);          // hash prefix
  EXPECT_EQ(count({{"key", "abcdef0123456789"}}), 66u);  // full hash
  EXPECT_EQ(count({{"q", "number 42"}}), 1u);
  EXPECT_EQ(count({{"q", "refused"}}), 10u);                            // error message
  EXPECT_EQ(count({{"model", "llama"}, {"status_class", "5xx"}}), 0u);  // odd i -> gpt-4o
  EXPECT_EQ(count({{"model", "gpt-4o"}, {"status_class", "5xx"}}), 10u);
  // Time range: only the first 30 seconds (ids 0..89 have start + i/3 s).
  const std::string s = std::to_string(start / 1000000);
  const std::string e = std::to_string(start / 1000000 + 10);
  EXPECT_EQ(count({{"start", s}, {"end", e}}), 30u);
  // Default range is the last 24 h: a record from two days ago is not listed.
  l_->submit(make_record(5000, now_us() - 48LL * 3600 * 1000000));
  ASSERT_TRUE(l_->flush_for_test(std::chrono::seconds(10)));
  EXPECT_EQ(count({}), 100u);
  json row = admin::ledger_query(*l_, "logs", {{"limit", "1"}})["data"][0];
  for (const char* f :
       {"request_id",   "start_time", "end_time",  "model",       "model_group",   "deployment_id",     "provider",
        "status",       "latency_ms", "ttft_ms",   "overhead_ms", "prompt_tokens", "completion_tokens", "total_tokens",
        "cost",         "key_hash",   "key_alias", "user",        "stream",        "cache_hit",         "error_type",
        "error_message"})
    EXPECT_TRUE(row.contains(f)) << f;
  EXPECT_FALSE(row.contains("request_body"));
}

TEST_F(StoreQuery, SqlInjectionStringsAreMatchedLiterally) {
  const std::vector<std::string> evil = {"x' OR '1'='1",
                                         "'; DROP TABLE spend_logs; --",
                                         "\" OR \"\"=\"",
                                         "%",
                                         "_",
                                         "*",
                                         "NEAR(a b)",
                                         "a\" OR b",
                                         "1) UNION SELECT * FROM usage_daily --",
                                         "\\",
                                         "' OR 1=1 --"};
  int i = 0;
  for (const auto& e : evil) {
    RequestRecord r = make_record(i++);
    r.model = e;
    r.model_group = "";
    r.key_alias = e;
    r.key_hash = "";
    r.request_body = "prefix " + e + " suffix";
    l_->submit(std::move(r));
  }
  for (int k = 0; k < 20; ++k) l_->submit(make_record(1000 + k));
  ASSERT_TRUE(l_->flush_for_test(std::chrono::seconds(10)));
  for (const auto& e : evil) {
    SCOPED_TRACE(e);
    json by_model = admin::ledger_query(*l_, "logs", {{"model", e}});
    ASSERT_EQ(by_model["data"].size(), 1u);
    EXPECT_EQ(by_model["data"][0]["model"], e);
    EXPECT_EQ(admin::ledger_query(*l_, "logs", {{"key", e}})["data"].size(), 0u);  // no such key hash
    json by_q = admin::ledger_query(*l_, "logs", {{"q", e}});
    for (auto& row : by_q["data"]) {
      json full = admin::ledger_query(*l_, "log", {{"request_id", row["request_id"].get<std::string>()}});
      EXPECT_NE(full["request_body"].get<std::string>().find("prefix"), std::string::npos);
    }
    EXPECT_TRUE(admin::ledger_query(*l_, "log", {{"request_id", e}}).is_null());
    EXPECT_THROW(admin::ledger_query(*l_, "logs", {{"status_class", e}}), std::invalid_argument);
    EXPECT_THROW(admin::ledger_query(*l_, "logs", {{"cursor", e}}), std::invalid_argument);
    EXPECT_THROW(admin::ledger_query(*l_, "logs", {{"start", e}}), std::invalid_argument);
    EXPECT_THROW(admin::ledger_query(*l_, "usage", {{"group_by", e}}), std::invalid_argument);
    EXPECT_THROW(admin::ledger_query(*l_, "usage", {{"bucket", e}}), std::invalid_argument);
    EXPECT_EQ(admin::ledger_query(*l_, "spend_logs", {{"user_id", e}}).size(), 0u);
    EXPECT_EQ(admin::ledger_query(*l_, "spend_logs", {{"api_key", e}}).size(), 0u);
  }
  // Literal substring search for a query without word characters.
  json pct = admin::ledger_query(*l_, "logs", {{"q", "%"}});
  ASSERT_EQ(pct["data"].size(), 1u);
  EXPECT_EQ(pct["data"][0]["model"], "%");
  // Phrase search for an injection string finds exactly the row that contains it.
  json drop = admin::ledger_query(*l_, "logs", {{"q", "'; DROP TABLE spend_logs; --"}});
  ASSERT_EQ(drop["data"].size(), 1u);
  EXPECT_EQ(drop["data"][0]["model"], "'; DROP TABLE spend_logs; --");
  EXPECT_EQ(admin::ledger_query(*l_, "stats", {})["rows"]["spend_logs"], 31);  // table intact
}

// Found by tests/fuzz/ledger_query: a NUL byte in the search text (q=a%00b) ended FTS5's query
// string early ("unterminated string") and the dashboard got a 503. It separates words now.
TEST_F(StoreQuery, SearchTextWithNulBytesSeparatesWords) {
  fill(6, now_us() - 60 * 1000000LL);
  json r;
  ASSERT_NO_THROW(r = admin::ledger_query(*l_, "logs", {{"q", std::string("hello\0number", 12)}}));
  EXPECT_EQ(r["data"].size(), 6u);
  ASSERT_NO_THROW(r = admin::ledger_query(*l_, "logs", {{"q", std::string("\0\"a\0", 4)}}));
  EXPECT_TRUE(r["data"].is_array());
}

TEST_F(StoreQuery, RollupTotalsEqualRawSums) {
  std::mt19937 rng(42);
  const int64_t base = now_us() - 3LL * 24 * 3600 * 1000000;
  int64_t req = 0, errors = 0, prompt = 0, completion = 0, total = 0, hits = 0;
  double cost = 0;
  std::map<std::string, int64_t> per_model;
  for (int i = 0; i < 600; ++i) {
    int64_t start = base + static_cast<int64_t>(rng() % (3LL * 24 * 3600)) * 1000000;
    RequestRecord r = make_record(i, start);
    r.end_us = start + 1000 * static_cast<int64_t>(rng() % 5000);
    ++req;
    errors += r.status >= 400;
    prompt += r.prompt_tokens;
    completion += r.completion_tokens;
    total += r.total_tokens;
    hits += r.cache_hit;
    cost += r.cost_usd.value_or(0);
    per_model[r.model_group] += 1;
    l_->submit(std::move(r));
  }
  ASSERT_TRUE(l_->flush_for_test(std::chrono::seconds(20)));
  const Params range = {{"start", std::to_string(base / 1000000 - 3600)},
                        {"end", std::to_string(now_us() / 1000000 + 10)}};
  json s = admin::ledger_query(*l_, "summary", range);
  json t = s["totals"];
  EXPECT_EQ(t["requests"], req);
  EXPECT_EQ(t["errors"], errors);
  EXPECT_EQ(t["prompt_tokens"], prompt);
  EXPECT_EQ(t["completion_tokens"], completion);
  EXPECT_EQ(t["total_tokens"], total);
  EXPECT_EQ(t["cache_hits"], hits);
  EXPECT_NEAR(t["cost"].get<double>(), cost, 1e-9);
  EXPECT_NEAR(t["error_rate"].get<double>(), double(errors) / req, 1e-12);
  EXPECT_GT(t["p95_ms"].get<double>(), t["p50_ms"].get<double>());
  // Raw-row cross-check straight from SQLite.
  SQLite::Database db(dir_.file("q.db"), SQLite::OPEN_READONLY);
  EXPECT_EQ(db.execAndGet("SELECT count(*) FROM spend_logs").getInt64(), req);
  EXPECT_NEAR(db.execAndGet("SELECT total(spend) FROM spend_logs").getDouble(), cost, 1e-9);
  for (auto& m : s["by_model"]) EXPECT_EQ(m["requests"], per_model[m["model"]]) << m;
  int64_t key_sum = 0;
  for (auto& k : s["by_key"]) key_sum += k["requests"].get<int64_t>();
  EXPECT_EQ(key_sum, req);
  EXPECT_LE(s["top_keys"].size(), 10u);
  // Usage series (hour and day buckets, grouped) add up to the same totals.
  for (const char* bucket : {"hour", "day"}) {
    for (const char* g : {"none", "model", "key"}) {
      Params p = range;
      p.emplace("bucket", bucket);
      p.emplace("group_by", g);
      json u = admin::ledger_query(*l_, "usage", p);
      int64_t sreq = 0, stok = 0;
      double scost = 0;
      for (auto& row : u["series"]) {
        sreq += row["requests"].get<int64_t>();
        stok += row["total_tokens"].get<int64_t>();
        scost += row["cost"].get<double>();
        EXPECT_EQ(row["t"].get<int64_t>() % (std::string(bucket) == "hour" ? 3600 : 86400), 0);
      }
      EXPECT_EQ(sreq, req) << bucket << " " << g;
      EXPECT_EQ(stok, total);
      EXPECT_NEAR(scost, cost, 1e-9);
    }
  }
}

TEST_F(StoreQuery, BadParametersAreRejected) {
  EXPECT_THROW(admin::ledger_query(*l_, "logs", {{"limit", "0"}}), std::invalid_argument);
  EXPECT_THROW(admin::ledger_query(*l_, "logs", {{"limit", "201"}}), std::invalid_argument);
  EXPECT_THROW(admin::ledger_query(*l_, "logs", {{"limit", "ten"}}), std::invalid_argument);
  EXPECT_THROW(admin::ledger_query(*l_, "logs", {{"start", "200"}, {"end", "100"}}), std::invalid_argument);
  EXPECT_THROW(admin::ledger_query(*l_, "nope", {}), std::invalid_argument);
  EXPECT_THROW(admin::ledger_query(*l_, "log", {}), std::invalid_argument);
  EXPECT_NO_THROW(admin::ledger_query(*l_, "logs", {{"limit", "200"}}));
}

TEST_F(StoreQuery, StatsReportSizesAndRows) {
  fill(10, now_us() - 60 * 1000000LL);
  json s = admin::ledger_query(*l_, "stats", {});
  EXPECT_EQ(s["database_path"], dir_.file("q.db"));
  EXPECT_GT(s["database_bytes"].get<int64_t>(), 0);
  EXPECT_TRUE(s["wal_bytes"].is_number());
  EXPECT_EQ(s["rows"]["spend_logs"], 10);
  EXPECT_GT(s["rows"]["usage_hourly_model"].get<int64_t>(), 0);
  EXPECT_GT(s["rows"]["usage_hourly_key"].get<int64_t>(), 0);
  EXPECT_EQ(s["writer"]["written"], 10);
}

TEST_F(StoreQuery, SpendLogsUsesLiteLLMShape) {
  fill(12, now_us() - 60 * 1000000LL);
  json one = admin::ledger_query(*l_, "spend_logs", {{"request_id", "req-4"}});
  ASSERT_EQ(one.size(), 1u);
  for (const char* f : {"request_id",
                        "call_type",
                        "api_key",
                        "spend",
                        "total_tokens",
                        "prompt_tokens",
                        "completion_tokens",
                        "startTime",
                        "endTime",
                        "completionStartTime",
                        "model",
                        "model_id",
                        "model_group",
                        "custom_llm_provider",
                        "api_base",
                        "user",
                        "metadata",
                        "cache_hit",
                        "requester_ip_address",
                        "messages",
                        "response",
                        "status"})
    EXPECT_TRUE(one[0].contains(f)) << f;
  EXPECT_EQ(one[0]["status"], "success");
  EXPECT_EQ(one[0]["startTime"].get<std::string>().back(), 'Z');
  EXPECT_EQ(admin::ledger_query(*l_, "spend_logs", {{"user_id", "user-1"}}).size(), 3u);            // 1, 6, 11
  EXPECT_EQ(admin::ledger_query(*l_, "spend_logs", {{"api_key", "fedcba9876543210"}}).size(), 4u);  // 0,3,6,9
  EXPECT_EQ(admin::ledger_query(*l_, "spend_logs", {}).size(), 12u);
  double spend = 0;
  for (auto& r : records_) spend += r.cost_usd.value_or(0);
  EXPECT_NEAR(admin::ledger_query(*l_, "global_spend", {})["spend"].get<double>(), spend, 1e-12);
}

TEST_F(StoreQuery, RoutesMapQueriesAndErrors) {
  fill(5, now_us() - 60 * 1000000LL);
  std::vector<Route> routes;
  register_ledger_routes(routes);
  App app;
  app.ledger = l_.get();
  auto find = [&](const std::string& path) -> Route* {
    for (auto& r : routes)
      if (r.path == path) return &r;
    return nullptr;
  };
  for (const char* p : {"/spend/logs", "/global/spend", "/llmgate/api/logs", "/llmgate/api/logs/*",
                        "/llmgate/api/usage", "/llmgate/api/summary", "/llmgate/api/stats"}) {
    Route* r = find(p);
    ASSERT_NE(r, nullptr) << p;
    EXPECT_TRUE(r->blocking);
    EXPECT_TRUE(r->needs_master_key);
    EXPECT_EQ(r->method, "GET");
  }
  HttpRequest req;
  req.method = "GET";
  req.path = "/llmgate/api/logs";
  req.query = {{"limit", "2"}};
  HttpResponse res = find("/llmgate/api/logs")->handler(req, app);
  EXPECT_EQ(res.status, 200);
  json j = json::parse(res.body);
  EXPECT_EQ(j["data"].size(), 2u);
  EXPECT_TRUE(j["next_cursor"].is_string());

  req.query = {{"limit", "nope"}};
  res = find("/llmgate/api/logs")->handler(req, app);
  EXPECT_EQ(res.status, 400);
  j = json::parse(res.body);
  EXPECT_EQ(j["error"]["type"], "invalid_request_error");
  EXPECT_NE(j["error"]["message"].get<std::string>().find("limit"), std::string::npos);

  req.path = "/llmgate/api/logs/req-3";
  req.query = {};
  res = find("/llmgate/api/logs/*")->handler(req, app);
  EXPECT_EQ(res.status, 200);
  EXPECT_EQ(json::parse(res.body)["request_id"], "req-3");
  req.path = "/llmgate/api/logs/missing";
  EXPECT_EQ(find("/llmgate/api/logs/*")->handler(req, app).status, 404);

  req.path = "/global/spend";
  j = json::parse(find("/global/spend")->handler(req, app).body);
  EXPECT_TRUE(j["spend"].is_number());
  EXPECT_TRUE(j["max_budget"].is_null());

  App none;  // ledger disabled
  req.path = "/llmgate/api/stats";
  EXPECT_EQ(find("/llmgate/api/stats")->handler(req, none).status, 503);
}

// Every statement a dashboard or spend query runs reads spend_logs through an index (a range of
// spend_logs_start or one request_id), never by scanning the table or a whole index; and the
// indexes kept are exactly the ones those plans use.
TEST_F(StoreQuery, EveryQueryReadsSpendLogsThroughAnIndex) {
  const int64_t start = now_us() - 3600LL * 1000000;
  fill(60, start);
  const std::string wk = std::to_string(now_us() / 1000000 - 7 * 86400);
  const std::string cursor = admin::ledger_query(*l_, "logs", {{"limit", "5"}})["next_cursor"].get<std::string>();
  const std::vector<std::pair<std::string, Params>> queries = {
      {"logs", {}},
      {"logs", {{"cursor", cursor}}},
      {"logs", {{"model", "gpt-4o"}}},
      {"logs", {{"key", "team-a"}}},
      {"logs", {{"status_class", "5xx"}}},
      {"logs", {{"status_class", "error"}, {"start", wk}}},
      {"logs", {{"status_class", "2xx"}}},
      {"logs", {{"q", "number 42"}}},
      {"logs", {{"q", "refused"}, {"cursor", cursor}}},
      {"logs", {{"q", "';--"}}},
      {"logs", {{"model", "gpt-4o"}, {"key", "fedcba98"}, {"status_class", "5xx"}, {"start", wk}}},
      {"log", {{"request_id", "req-7"}}},
      {"usage", {}},
      {"usage", {{"start", wk}, {"group_by", "model"}}},
      {"usage", {{"bucket", "day"}, {"group_by", "key"}, {"start", wk}}},
      {"summary", {}},
      {"summary", {{"start", wk}}},
      {"stats", {}},
      {"spend_logs", {}},
      {"spend_logs", {{"request_id", "req-7"}}},
      {"spend_logs", {{"api_key", "abcdef0123456789"}}},
      {"spend_logs", {{"user_id", "user-3"}}},
      {"global_spend", {}},
  };
  std::set<std::string> used;
  for (const auto& [name, params] : queries) {
    const auto plans = l_->query_plans_for_test([&] { admin::ledger_query(*l_, name, params); });
    EXPECT_FALSE(plans.empty()) << name;
    for (const auto& plan : plans) {
      std::istringstream lines(plan);
      std::string sql, line;
      std::getline(lines, sql);
      bool reads_spend_logs = false, through_index = false;
      while (std::getline(lines, line)) {
        for (const char* t : {" spend_logs ", " l "}) {
          if ((line.rfind("SCAN", 0) == 0 || line.rfind("SEARCH", 0) == 0) &&
              (line + " ").find(t) != std::string::npos) {
            reads_spend_logs = true;
            // SCAN is the whole table or a whole index; SEARCH a range or a key.
            EXPECT_EQ(line.rfind("SEARCH", 0), 0u) << name << ": " << line << "\n" << sql;
            for (const char* how :
                 {"USING INDEX spend_logs_start", "USING COVERING INDEX spend_logs_start",
                  "USING INDEX spend_logs_request_id", "USING INDEX spend_logs_key_time", "USING INTEGER PRIMARY KEY"})
              through_index |= line.find(how) != std::string::npos;
          }
        }
        for (const char* idx : {"spend_logs_start", "spend_logs_request_id", "spend_logs_key_time",
                                "usage_daily_key_hash", "usage_daily_key_alias"})
          if (line.find(idx) != std::string::npos) used.insert(idx);
      }
      if (reads_spend_logs) {
        EXPECT_TRUE(through_index) << name << "\n" << plan;
      }
    }
  }
  // The indexes that exist are the ones the plans above use.
  SQLite::Database db(dir_.file("q.db"), SQLite::OPEN_READONLY);
  SQLite::Statement st(db,
                       "SELECT name FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL"
                       " AND tbl_name IN ('spend_logs', 'usage_hourly_model', 'usage_hourly_key',"
                       " 'usage_daily_model', 'usage_daily_key', 'usage_daily') ORDER BY name");
  std::set<std::string> exist;
  while (st.executeStep()) exist.insert(st.getColumn(0).getString());
  EXPECT_EQ(exist, used);
}
