// The SQLite LedgerReader (reader threads): the connection pool, the plan-trace test hook and
// the database stats. Every query is bounded in time and binds all parameters; SQL text is
// assembled only from fixed fragments. The query families are in ledger_queries_logs.cpp (logs,
// one log, spend logs) and ledger_queries_usage.cpp (usage, summary, total spend).
#include <sqlite3.h>

#include <SQLiteCpp/Exception.h>
#include <SQLiteCpp/Statement.h>

#include <charconv>
#include <cmath>
#include <stdexcept>

#include "ledger/sqlite/query_util.hpp"
#include "ledger/sqlite/schema.hpp"
#include "ledger/sqlite/sqlite_ledger.hpp"
#include "ledger/text_util.hpp"
#include "llmgate/json_limits.hpp"

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

LedgerDbStats SqliteLedger::db_stats() {
  return with_reader([&](SQLite::Database& db) {
    LedgerDbStats out;
    out.database_path = path_;
    out.database_bytes = file_size(path_);
    out.wal_bytes = file_size(path_ + "-wal");
    out.rows.push_back(
        {"spend_logs", db.execAndGet("SELECT v FROM ledger_meta WHERE k = 'spend_logs_rows'").getInt64()});
    for (const char* t :
         {"usage_hourly_model", "usage_hourly_key", "usage_daily_model", "usage_daily_key", "usage_daily"})
      out.rows.push_back({t, db.execAndGet(std::string("SELECT count(*) FROM ") + t).getInt64()});
    return out;
  });
}

}  // namespace llmgate::store
