// Read queries of the SQLite ledger over the rollups: usage, summary and LiteLLM's
// /global/spend.
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

json SqliteLedger::q_usage(SQLite::Database& db, const Params& p) {
  const Range r = time_range(p);
  const std::string bucket = param(p, "bucket").value_or("hour");
  if (bucket != "hour" && bucket != "day")
    throw std::invalid_argument("invalid 'bucket': expected hour or day");
  const std::string group_by = param(p, "group_by").value_or("none");
  std::string gcol;
  if (group_by == "none") gcol = "''";
  else if (group_by == "model") gcol = "model_group";
  else if (group_by == "key") gcol = "key_hash";
  else throw std::invalid_argument("invalid 'group_by': expected none, model or key");
  const int64_t span = bucket == "hour" ? 3600 : 86400;
  const int64_t s = r.start_us / 1000000;
  const int64_t from = s - ((s % span) + span) % span;
  const int64_t to = (r.end_us + 999999) / 1000000;
  std::string sql = "SELECT t, " + gcol + ", max(key_alias), " + bucket_sums() + " FROM " +
                    (bucket == "hour" ? "usage_hourly_" : "usage_daily_") + (group_by == "key" ? "key" : "model") +
                    " WHERE t >= ? AND t < ? GROUP BY t, " + gcol + " ORDER BY t, " + gcol +
                    " LIMIT 100000";
  SQLite::Statement st(db, sql);
  st.bind(1, from);
  st.bind(2, to);
  json series = json::array();
  while (st.executeStep()) {
    json row = aggregate_json(st, 3);
    row["t"] = st.getColumn(0).getInt64();
    std::string g = st.getColumn(1).getString();
    if (group_by == "none") row["group"] = "all";
    else if (group_by == "model") row["group"] = group_name(g, "unknown");
    else {
      row["group"] = group_name(g, "none");
      row["key_alias"] = st.getColumn(2).getString();
    }
    series.push_back(std::move(row));
  }
  return json{{"bucket", bucket}, {"group_by", group_by}, {"series", std::move(series)}};
}

json SqliteLedger::q_summary(SQLite::Database& db, const Params& p) {
  const Range r = time_range(p);
  const RollupSource src = rollup_source(r, "model");
  const RollupSource ksrc = rollup_source(r, "key");
  json out;
  {
    SQLite::Statement st(db, src.cte + "SELECT model_group, " + bucket_sums() +
                                 " FROM r GROUP BY model_group ORDER BY sum(requests) DESC"
                                 " LIMIT 1000");
    bind_all(st, src.binds);
    json arr = json::array();
    std::array<int64_t, 8 + kLatencyBucketsMs.size()> tot_i{};
    double tot_cost = 0;
    while (st.executeStep()) {
      json row = aggregate_json(st, 1);
      row["model"] = group_name(st.getColumn(0).getString(), "unknown");
      for (std::size_t i = 0; i < tot_i.size(); ++i)
        if (i != 5) tot_i[i] += st.getColumn(1 + static_cast<int>(i)).getInt64();
      tot_cost += st.getColumn(6).getDouble();
      arr.push_back(std::move(row));
    }
    out["by_model"] = std::move(arr);
    // Totals from the per-model rows (one scan).
    SQLite::Statement tot(db, "SELECT ?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8" + [] {
      std::string s;
      for (std::size_t i = 0; i < kLatencyBucketsMs.size(); ++i) s += ", ?" + std::to_string(9 + i);
      return s;
    }());
    for (std::size_t i = 0; i < tot_i.size(); ++i) {
      if (i == 5) tot.bind(6, tot_cost);
      else tot.bind(static_cast<int>(i) + 1, static_cast<int64_t>(tot_i[i]));
    }
    tot.executeStep();
    out["totals"] = aggregate_json(tot, 0);
  }
  {
    SQLite::Statement st(db, ksrc.cte + "SELECT key_hash, max(key_alias), " + bucket_sums() +
                                 " FROM r GROUP BY key_hash ORDER BY sum(cost) DESC,"
                                 " sum(requests) DESC LIMIT 1000");
    bind_all(st, ksrc.binds);
    json arr = json::array(), top = json::array();
    while (st.executeStep()) {
      json row = aggregate_json(st, 2);
      row["key_hash"] = st.getColumn(0).getString();
      row["key_alias"] = st.getColumn(1).getString();
      if (top.size() < 10)
        top.push_back({{"key_hash", row["key_hash"]}, {"key_alias", row["key_alias"]},
                       {"cost", row["cost"]}, {"requests", row["requests"]}});
      arr.push_back(std::move(row));
    }
    out["by_key"] = std::move(arr);
    out["top_keys"] = std::move(top);
  }
  out["start"] = static_cast<double>(r.start_us) / 1e6;
  out["end"] = static_cast<double>(r.end_us) / 1e6;
  return out;
}

json SqliteLedger::q_global_spend(SQLite::Database& db, const Params& p) {
  double spend = db.execAndGet("SELECT coalesce(sum(cost), 0) FROM usage_daily_model").getDouble();
  return json{{"spend", spend}, {"max_budget", nullptr}};
}

}  // namespace llmgate::store
