// The SQLite LedgerReader: the request list (logs), one request (log) and LiteLLM's /spend/logs.
// SQL only: filters arrive parsed and rows leave as structs (src/admin builds the JSON).
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

LogPage SqliteLedger::logs(const LogFilter& f) {
  return with_reader([&](SQLite::Database& db) { return q_logs(db, f); });
}

std::optional<LogDetail> SqliteLedger::log(const std::string& request_id) {
  return with_reader([&](SQLite::Database& db) { return q_log(db, request_id); });
}

std::vector<SpendLogRow> SqliteLedger::spend_logs(const SpendLogFilter& f) {
  return with_reader([&](SQLite::Database& db) { return q_spend_logs(db, f); });
}

LogPage SqliteLedger::q_logs(SQLite::Database& db, const LogFilter& f) {
  const LedgerTimeRange& r = f.range;
  const int64_t limit = f.limit;
  std::string where = " WHERE l.startTime >= ? AND l.startTime < ?";
  std::vector<Bind> binds{r.start_us, r.end_us};
  if (!f.model.empty()) {
    where += " AND l.model = ?";
    binds.emplace_back(f.model);
  }
  if (!f.key.empty()) {
    auto hashes = resolve_keys(db, f.key);
    if (hashes.empty()) return {};
    where += " AND l.api_key IN (?";
    for (std::size_t i = 1; i < hashes.size(); ++i) where += ",?";
    where += ")";
    for (auto& h : hashes) binds.emplace_back(h);
  }
  switch (f.status) {
    case StatusClass::any: break;
    case StatusClass::ok_2xx: where += " AND l.status_code >= 200 AND l.status_code < 300"; break;
    case StatusClass::client_4xx: where += " AND l.status_code >= 400 AND l.status_code < 500"; break;
    // "status_code >= 400" is repeated literally so the partial error index applies.
    case StatusClass::server_5xx:
      where += " AND l.status_code >= 400 AND l.status_code >= 500 AND l.status_code < 600";
      break;
    case StatusClass::error: where += " AND l.status_code >= 400"; break;
  }
  const std::optional<LogCursor>& cursor = f.cursor;
  std::string sql;
  const std::optional<std::string>& q = f.text;
  std::string fq = q ? fts_query(*q) : std::string();
  if (q && !fq.empty()) {
    // Drive from the full-text index newest-first (rowid = commit order), bounded below by the
    // first row of the time range (minus an hour of slack for long requests).
    // The id window of the time range, with an hour of slack on both sides (a row's id follows
    // its commit, which is at most a request's duration after its start).
    int64_t min_id = 0, max_id = 0;
    {
      SQLite::Statement st(db,
                           "SELECT (SELECT id FROM spend_logs WHERE startTime >= ?1"
                           " ORDER BY startTime LIMIT 1),"
                           " (SELECT id FROM spend_logs WHERE startTime < ?2"
                           " ORDER BY startTime DESC LIMIT 1)");
      st.bind(1, static_cast<int64_t>(r.start_us - 3600LL * 1000000));
      st.bind(2, static_cast<int64_t>(r.end_us + 3600LL * 1000000));
      if (!st.executeStep() || st.getColumn(0).isNull() || st.getColumn(1).isNull()) return {};
      min_id = st.getColumn(0).getInt64();
      max_id = st.getColumn(1).getInt64();
    }
    sql = std::string("SELECT ") + kListColumns + " FROM spend_logs_fts f JOIN spend_logs l ON l.id = f.rowid" + where +
          " AND spend_logs_fts MATCH ? AND f.rowid >= ? AND f.rowid <= ?";
    binds.emplace_back(fq);
    binds.emplace_back(min_id);
    binds.emplace_back(max_id);
    if (cursor) {
      sql += " AND f.rowid < ?";
      binds.emplace_back(cursor->id);
    }
    sql += " ORDER BY f.rowid DESC LIMIT ?";
  } else if (q) {
    // No word characters at all (e.g. "';--"): literal substring scan, bounded by the range.
    where +=
        " AND (instr(l.messages, ?) > 0 OR instr(l.response, ?) > 0 OR"
        " instr(l.error_message, ?) > 0)";
    binds.emplace_back(*q);
    binds.emplace_back(*q);
    binds.emplace_back(*q);
  }
  if (sql.empty()) {
    sql = std::string("SELECT ") + kListColumns + " FROM spend_logs l" + where;
    if (cursor) {
      sql += " AND (l.startTime < ? OR (l.startTime = ? AND l.id < ?))";
      binds.emplace_back(cursor->start_us);
      binds.emplace_back(cursor->start_us);
      binds.emplace_back(cursor->id);
    }
    sql += " ORDER BY l.startTime DESC, l.id DESC LIMIT ?";
  }
  binds.emplace_back(limit + 1);
  SQLite::Statement st(db, sql);
  bind_all(st, binds);
  LogPage page;
  int64_t last_id = 0;
  while (st.executeStep()) {
    if (static_cast<int64_t>(page.rows.size()) == limit) {
      page.next = LogCursor{page.rows.back().start_us, last_id};
      break;
    }
    last_id = st.getColumn(0).getInt64();
    LogRow row;
    row.request_id = st.getColumn(1).getString();
    row.start_us = st.getColumn(2).getInt64();
    row.end_us = st.getColumn(3).getInt64();
    row.model = st.getColumn(4).getString();
    row.model_group = st.getColumn(5).getString();
    row.deployment_id = st.getColumn(6).getString();
    row.provider = st.getColumn(7).getString();
    row.status = st.getColumn(8).getInt();
    row.ttft_us = st.getColumn(9).getInt64();
    row.overhead_us = st.getColumn(10).getInt64();
    row.prompt_tokens = st.getColumn(11).getInt64();
    row.completion_tokens = st.getColumn(12).getInt64();
    row.total_tokens = st.getColumn(13).getInt64();
    if (!st.getColumn(14).isNull()) row.cost = st.getColumn(14).getDouble();
    row.key_hash = st.getColumn(15).getString();
    row.key_alias = st.getColumn(16).getString();
    row.user = st.getColumn(17).getString();
    row.stream = st.getColumn(18).getInt() != 0;
    row.cache_hit = st.getColumn(19).getInt() != 0;
    row.error_type = st.getColumn(20).getString();
    row.error_message = st.getColumn(21).getString();
    page.rows.push_back(std::move(row));
  }
  return page;
}

std::optional<LogDetail> SqliteLedger::q_log(SQLite::Database& db, const std::string& id) {
  SQLite::Statement st(db,
                       "SELECT request_id, call_type, startTime, completionStartTime, endTime,"
                       " ttft_us, upstream_us, overhead_us, model, model_group, model_id,"
                       " custom_llm_provider, upstream_model, api_base, api_key, key_alias,"
                       " \"user\", requester_ip_address, status_code, error_type, error_message,"
                       " prompt_tokens, completion_tokens, total_tokens, cached_tokens,"
                       " reasoning_tokens, tokens_estimated, spend, stream, cache_hit, retries,"
                       " fallback_from, messages, response, request_truncated, response_truncated"
                       " FROM spend_logs WHERE request_id = ?");
  st.bind(1, id);
  if (!st.executeStep()) return std::nullopt;
  int c = 0;
  auto str = [&] { return st.getColumn(c++).getString(); };
  auto i64 = [&] { return st.getColumn(c++).getInt64(); };
  LogDetail d;
  d.request_id = str();
  d.endpoint = str();
  d.start_us = i64();
  d.first_byte_us = i64();
  d.end_us = i64();
  d.ttft_us = i64();
  d.upstream_us = i64();
  d.overhead_us = i64();
  d.model = str();
  d.model_group = str();
  d.deployment_id = str();
  d.provider = str();
  d.upstream_model = str();
  d.api_base = str();
  d.key_hash = str();
  d.key_alias = str();
  d.user = str();
  d.client_ip = str();
  d.status = st.getColumn(c++).getInt();
  d.error_type = str();
  d.error_message = str();
  d.prompt_tokens = i64();
  d.completion_tokens = i64();
  d.total_tokens = i64();
  d.cached_tokens = i64();
  d.reasoning_tokens = i64();
  d.tokens_estimated = i64() != 0;
  if (!st.getColumn(c).isNull()) d.cost = st.getColumn(c).getDouble();
  ++c;
  d.stream = i64() != 0;
  d.cache_hit = i64() != 0;
  d.retries = i64();
  d.fallback_from = str();
  d.request_body = str();
  d.response_body = str();
  d.request_truncated = i64() != 0;
  d.response_truncated = i64() != 0;
  return d;
}

std::vector<SpendLogRow> SqliteLedger::q_spend_logs(SQLite::Database& db, const SpendLogFilter& f) {
  std::string sql =
      "SELECT request_id, call_type, api_key, spend, total_tokens, prompt_tokens,"
      " completion_tokens, startTime, endTime, completionStartTime, model, model_id, model_group,"
      " custom_llm_provider, api_base, \"user\", metadata, cache_hit, requester_ip_address,"
      " messages, response, status, status_code, key_alias FROM spend_logs";
  std::vector<Bind> binds;
  if (f.request_id) {
    sql += " WHERE request_id = ?";
    binds.emplace_back(*f.request_id);
  } else {
    sql += " WHERE startTime >= ? AND startTime < ?";
    binds.emplace_back(f.range.start_us);
    binds.emplace_back(f.range.end_us);
    if (f.key_hash) {
      const std::string& h = *f.key_hash;
      // Stored hashes may be prefixes: match them through the (small) key rollup, then use the
      // (api_key, startTime) index.
      SQLite::Statement ks(db,
                           "SELECT DISTINCT key_hash FROM usage_daily_key WHERE key_hash <> ''"
                           " AND substr(?1, 1, length(key_hash)) = key_hash LIMIT 100");
      ks.bind(1, h);
      std::vector<std::string> hashes;
      while (ks.executeStep()) hashes.push_back(ks.getColumn(0).getString());
      if (hashes.empty()) return {};
      sql += " AND api_key IN (?";
      for (std::size_t i = 1; i < hashes.size(); ++i) sql += ",?";
      sql += ")";
      for (auto& x : hashes) binds.emplace_back(x);
    }
    if (f.user) {
      sql += " AND \"user\" = ? AND \"user\" <> ''";  // literal term: partial index applies
      binds.emplace_back(*f.user);
    }
    sql += " ORDER BY startTime DESC LIMIT 1000";
  }
  SQLite::Statement st(db, sql);
  bind_all(st, binds);
  std::vector<SpendLogRow> rows;
  while (st.executeStep()) {
    SpendLogRow r;
    r.request_id = st.getColumn(0).getString();
    r.call_type = st.getColumn(1).getString();
    r.api_key = st.getColumn(2).getString();
    if (!st.getColumn(3).isNull()) r.spend = st.getColumn(3).getDouble();
    r.total_tokens = st.getColumn(4).getInt64();
    r.prompt_tokens = st.getColumn(5).getInt64();
    r.completion_tokens = st.getColumn(6).getInt64();
    r.start_us = st.getColumn(7).getInt64();
    r.end_us = st.getColumn(8).getInt64();
    r.completion_start_us = st.getColumn(9).getInt64();
    r.model = st.getColumn(10).getString();
    r.model_id = st.getColumn(11).getString();
    r.model_group = st.getColumn(12).getString();
    r.custom_llm_provider = st.getColumn(13).getString();
    r.api_base = st.getColumn(14).getString();
    r.user = st.getColumn(15).getString();
    r.metadata = st.getColumn(16).getString();
    r.cache_hit = st.getColumn(17).getInt() != 0;
    r.requester_ip_address = st.getColumn(18).getString();
    r.messages = st.getColumn(19).getString();
    r.response = st.getColumn(20).getString();
    r.status = st.getColumn(21).getString();
    r.status_code = st.getColumn(22).getInt();
    r.key_alias = st.getColumn(23).getString();
    rows.push_back(std::move(r));
  }
  return rows;
}

}  // namespace llmgate::store
