// The SQLite LedgerReader over the rollups: usage, summary and the total spend (SQL only; src/admin
// builds the JSON).
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

std::vector<UsagePoint> SqliteLedger::usage(const UsageFilter& f) {
  return with_reader([&](SQLite::Database& db) { return q_usage(db, f); });
}

UsageSummary SqliteLedger::summary(const LedgerTimeRange& r) {
  return with_reader([&](SQLite::Database& db) { return q_summary(db, r); });
}

double SqliteLedger::total_spend() {
  return with_reader([&](SQLite::Database& db) {
    return db.execAndGet("SELECT coalesce(sum(cost), 0) FROM usage_daily_model").getDouble();
  });
}

std::vector<UsagePoint> SqliteLedger::q_usage(SQLite::Database& db, const UsageFilter& f) {
  const bool hour = f.bucket == UsageBucket::hour;
  const char* gcol = f.group_by == UsageGroupBy::none    ? "''"
                     : f.group_by == UsageGroupBy::model ? "model_group"
                                                         : "key_hash";
  const int64_t span = hour ? 3600 : 86400;
  const int64_t s = f.range.start_us / 1000000;
  const int64_t from = s - ((s % span) + span) % span;
  const int64_t to = (f.range.end_us + 999999) / 1000000;
  std::string sql = std::string("SELECT t, ") + gcol + ", max(key_alias), " + bucket_sums() + " FROM " +
                    (hour ? "usage_hourly_" : "usage_daily_") + (f.group_by == UsageGroupBy::key ? "key" : "model") +
                    " WHERE t >= ? AND t < ? GROUP BY t, " + gcol + " ORDER BY t, " + gcol + " LIMIT 100000";
  SQLite::Statement st(db, sql);
  st.bind(1, from);
  st.bind(2, to);
  std::vector<UsagePoint> series;
  while (st.executeStep()) {
    UsagePoint pt;
    pt.t = st.getColumn(0).getInt64();
    pt.group = st.getColumn(1).getString();
    if (f.group_by == UsageGroupBy::key) pt.key_alias = st.getColumn(2).getString();
    pt.figures = aggregate(st, 3);
    series.push_back(std::move(pt));
  }
  return series;
}

UsageSummary SqliteLedger::q_summary(SQLite::Database& db, const LedgerTimeRange& r) {
  const RollupSource src = rollup_source(r, "model");
  const RollupSource ksrc = rollup_source(r, "key");
  UsageSummary out;
  {
    SQLite::Statement st(db, src.cte + "SELECT model_group, " + bucket_sums() +
                                 " FROM r GROUP BY model_group ORDER BY sum(requests) DESC"
                                 " LIMIT 1000");
    bind_all(st, src.binds);
    while (st.executeStep()) {
      ModelUsage m{st.getColumn(0).getString(), aggregate(st, 1)};
      add_figures(out.totals, m.figures);
      out.by_model.push_back(std::move(m));
    }
  }
  {
    SQLite::Statement st(db, ksrc.cte + "SELECT key_hash, max(key_alias), " + bucket_sums() +
                                 " FROM r GROUP BY key_hash ORDER BY sum(cost) DESC,"
                                 " sum(requests) DESC LIMIT 1000");
    bind_all(st, ksrc.binds);
    while (st.executeStep())
      out.by_key.push_back(KeyUsage{st.getColumn(0).getString(), st.getColumn(1).getString(), aggregate(st, 2)});
  }
  return out;
}

}  // namespace llmgate::store
