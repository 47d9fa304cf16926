// Read queries of the SQLite ledger (reader threads): the connection pool, the dispatch by
// name of the untyped queries, and the stats query. Every query is bounded in time and binds
// all parameters; SQL text is assembled only from fixed fragments. The query families are in
// ledger_queries_logs.cpp (LedgerReader: logs, one log, spend logs) and ledger_queries_usage.cpp
// (usage, summary, global spend).
#include <sqlite3.h>

#include <SQLiteCpp/Exception.h>
#include <SQLiteCpp/Statement.h>

#include <charconv>
#include <cmath>
#include <stdexcept>

#include "ledger/sqlite/query_util.hpp"
#include "ledger/sqlite/schema.hpp"
#include "ledger/text_util.hpp"
#include "llmgate/json_limits.hpp"
#include "ledger/sqlite/sqlite_ledger.hpp"

namespace llmgate::store {

using namespace query_detail;

std::unique_ptr<SQLite::Database> SqliteLedger::acquire_reader() {
  {
    std::lock_guard lk(readers_mu_);
    if (!readers_.empty()) {
      auto db = std::move(readers_.back());
      readers_.pop_back();
      return db;
    }
  }
  auto db = std::make_unique<SQLite::Database>(path_, SQLite::OPEN_READWRITE);
  configure_connection(*db, 2000, false);
  return db;
}

void SqliteLedger::release_reader(std::unique_ptr<SQLite::Database> db) {
  std::lock_guard lk(readers_mu_);
  if (readers_.size() < 8) readers_.push_back(std::move(db));
}

nlohmann::json SqliteLedger::run_query(SQLite::Database& db, const std::string& name,
                                       const Params& params) {
  using Fn = json (SqliteLedger::*)(SQLite::Database&, const Params&);
  Fn fn = nullptr;
  if (name == "usage") fn = &SqliteLedger::q_usage;
  else if (name == "summary") fn = &SqliteLedger::q_summary;
  else if (name == "global_spend") fn = &SqliteLedger::q_global_spend;
  else if (name != "stats") throw std::invalid_argument("unknown query '" + name + "'");
  return fn ? (this->*fn)(db, params) : q_stats(db);
}

nlohmann::json SqliteLedger::query(const std::string& name, const Params& params) {
  return with_reader([&](SQLite::Database& db) { return run_query(db, name, params); });
}

namespace {
int collect_statement(unsigned, void* ctx, void* p, void*) {
  if (char* sql = sqlite3_expanded_sql(static_cast<sqlite3_stmt*>(p))) {
    static_cast<std::vector<std::string>*>(ctx)->emplace_back(sql);
    sqlite3_free(sql);
  }
  return 0;
}
}  // namespace

void SqliteLedger::trace_plans(SQLite::Database& db, bool on) {
  if (on) sqlite3_trace_v2(db.getHandle(), SQLITE_TRACE_STMT, collect_statement, plan_trace_);
  else sqlite3_trace_v2(db.getHandle(), 0, nullptr, nullptr);
}

std::vector<std::string> SqliteLedger::query_plans_for_test(const std::function<void()>& run) {
  std::vector<std::string> sqls;
  plan_trace_ = &sqls;
  run();
  plan_trace_ = nullptr;
  auto db = acquire_reader();
  std::vector<std::string> plans;
  for (const auto& sql : sqls) {
    if (sql.rfind("--", 0) == 0) continue;  // a statement FTS5 ran inside one of ours
    SQLite::Statement st(*db, "EXPLAIN QUERY PLAN " + sql);
    std::string plan = sql + "\n";
    while (st.executeStep()) plan += st.getColumn(3).getString() + "\n";
    plans.push_back(std::move(plan));
  }
  release_reader(std::move(db));
  return plans;
}

json SqliteLedger::q_stats(SQLite::Database& db) {
  json rows;
  rows["spend_logs"] =
      db.execAndGet("SELECT v FROM ledger_meta WHERE k = 'spend_logs_rows'").getInt64();
  for (const char* t : {"usage_hourly_model", "usage_hourly_key", "usage_daily_model",
                        "usage_daily_key", "usage_daily"})
    rows[t] = db.execAndGet(std::string("SELECT count(*) FROM ") + t).getInt64();
  const LedgerStats ls = stats();
  return json{{"database_path", path_},
              {"database_bytes", file_size(path_)},
              {"wal_bytes", file_size(path_ + "-wal")},
              {"rows", rows},
              {"writer",
               {{"queued", ls.queued},
                {"queued_bytes", ls.queued_bytes},
                {"written", ls.written},
                {"dropped", ls.dropped},
                {"db_errors", ls.db_errors},
                {"batches", ls.batches},
                {"last_batch_seconds", ls.last_batch_seconds}}}};
}

}  // namespace llmgate::store
