// Read queries of the SQLite ledger: the request list (logs), one request (log) and LiteLLM's
// /spend/logs.
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

json SqliteLedger::q_logs(SQLite::Database& db, const Params& p) {
  const Range r = time_range(p);
  const int64_t limit = int_param(p, "limit", 50, 1, 200);
  std::string where = " WHERE l.startTime >= ? AND l.startTime < ?";
  std::vector<Bind> binds{r.start_us, r.end_us};
  if (auto m = param(p, "model")) {
    where += " AND l.model = ?";
    binds.emplace_back(*m);
  }
  if (auto k = param(p, "key")) {
    auto hashes = resolve_keys(db, *k);
    if (hashes.empty()) return json{{"data", json::array()}, {"next_cursor", nullptr}};
    where += " AND l.api_key IN (?";
    for (std::size_t i = 1; i < hashes.size(); ++i) where += ",?";
    where += ")";
    for (auto& h : hashes) binds.emplace_back(h);
  }
  if (auto sc = param(p, "status_class")) {
    if (*sc == "2xx") where += " AND l.status_code >= 200 AND l.status_code < 300";
    else if (*sc == "4xx") where += " AND l.status_code >= 400 AND l.status_code < 500";
    // "status_code >= 400" is repeated literally so the partial error index applies.
    else if (*sc == "5xx") where += " AND l.status_code >= 400 AND l.status_code >= 500 AND l.status_code < 600";
    else if (*sc == "error") where += " AND l.status_code >= 400";
    else throw std::invalid_argument("invalid 'status_class': expected 2xx, 4xx, 5xx or error");
  }
  std::optional<std::pair<int64_t, int64_t>> cursor;
  if (auto c = param(p, "cursor")) {
    int64_t a = 0, b = 0;
    auto dot = c->find('_');
    bool ok = dot != std::string::npos;
    if (ok) {
      auto [p1, e1] = std::from_chars(c->data(), c->data() + dot, a);
      auto [p2, e2] = std::from_chars(c->data() + dot + 1, c->data() + c->size(), b);
      ok = e1 == std::errc() && e2 == std::errc() && p1 == c->data() + dot &&
           p2 == c->data() + c->size();
    }
    if (!ok) throw std::invalid_argument("invalid 'cursor'");
    cursor = std::make_pair(a, b);
  }
  std::string sql;
  auto q = param(p, "q");
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
      if (!st.executeStep() || st.getColumn(0).isNull() || st.getColumn(1).isNull())
        return json{{"data", json::array()}, {"next_cursor", nullptr}};
      min_id = st.getColumn(0).getInt64();
      max_id = st.getColumn(1).getInt64();
    }
    sql = std::string("SELECT ") + kListColumns +
          " FROM spend_logs_fts f JOIN spend_logs l ON l.id = f.rowid" + where +
          " AND spend_logs_fts MATCH ? AND f.rowid >= ? AND f.rowid <= ?";
    binds.emplace_back(fq);
    binds.emplace_back(min_id);
    binds.emplace_back(max_id);
    if (cursor) {
      sql += " AND f.rowid < ?";
      binds.emplace_back(cursor->second);
    }
    sql += " ORDER BY f.rowid DESC LIMIT ?";
  } else if (q) {
    // No word characters at all (e.g. "';--"): literal substring scan, bounded by the range.
    where += " AND (instr(l.messages, ?) > 0 OR instr(l.response, ?) > 0 OR"
             " instr(l.error_message, ?) > 0)";
    binds.emplace_back(*q);
    binds.emplace_back(*q);
    binds.emplace_back(*q);
  }
  if (sql.empty()) {
    sql = std::string("SELECT ") + kListColumns + " FROM spend_logs l" + where;
    if (cursor) {
      sql += " AND (l.startTime < ? OR (l.startTime = ? AND l.id < ?))";
      binds.emplace_back(cursor->first);
      binds.emplace_back(cursor->first);
      binds.emplace_back(cursor->second);
    }
    sql += " ORDER BY l.startTime DESC, l.id DESC LIMIT ?";
  }
  binds.emplace_back(limit + 1);
  SQLite::Statement st(db, sql);
  bind_all(st, binds);
  json data = json::array();
  json next = nullptr;
  while (st.executeStep()) {
    if (static_cast<int64_t>(data.size()) == limit) {
      next = std::to_string(data.back()["start_us_"].get<int64_t>()) + "_" +
             std::to_string(data.back()["id_"].get<int64_t>());
      break;
    }
    const int64_t start = st.getColumn(2).getInt64(), end = st.getColumn(3).getInt64();
    const int64_t ttft = st.getColumn(9).getInt64();
    json row;
    row["id_"] = st.getColumn(0).getInt64();
    row["start_us_"] = start;
    row["request_id"] = st.getColumn(1).getString();
    row["start_time"] = static_cast<double>(start) / 1e6;
    row["end_time"] = static_cast<double>(end) / 1e6;
    row["model"] = st.getColumn(4).getString();
    row["model_group"] = st.getColumn(5).getString();
    row["deployment_id"] = st.getColumn(6).getString();
    row["provider"] = st.getColumn(7).getString();
    row["status"] = st.getColumn(8).getInt();
    row["latency_ms"] = static_cast<double>(end - start) / 1000.0;
    row["ttft_ms"] = ttft > 0 ? json(static_cast<double>(ttft) / 1000.0) : json(nullptr);
    row["overhead_ms"] = static_cast<double>(st.getColumn(10).getInt64()) / 1000.0;
    row["prompt_tokens"] = st.getColumn(11).getInt64();
    row["completion_tokens"] = st.getColumn(12).getInt64();
    row["total_tokens"] = st.getColumn(13).getInt64();
    row["cost"] = opt_cost(st.getColumn(14));
    row["key_hash"] = st.getColumn(15).getString();
    row["key_alias"] = st.getColumn(16).getString();
    row["user"] = st.getColumn(17).getString();
    row["stream"] = st.getColumn(18).getInt() != 0;
    row["cache_hit"] = st.getColumn(19).getInt() != 0;
    row["error_type"] = st.getColumn(20).getString();
    row["error_message"] = st.getColumn(21).getString();
    data.push_back(std::move(row));
  }
  for (auto& row : data) {
    row.erase("id_");
    row.erase("start_us_");
  }
  return json{{"data", std::move(data)}, {"next_cursor", next}};
}

json SqliteLedger::q_log(SQLite::Database& db, const Params& p) {
  auto id = param(p, "request_id");
  if (!id) throw std::invalid_argument("missing 'request_id'");
  SQLite::Statement st(db,
                       "SELECT request_id, call_type, startTime, completionStartTime, endTime,"
                       " ttft_us, upstream_us, overhead_us, model, model_group, model_id,"
                       " custom_llm_provider, upstream_model, api_base, api_key, key_alias,"
                       " \"user\", requester_ip_address, status_code, error_type, error_message,"
                       " prompt_tokens, completion_tokens, total_tokens, cached_tokens,"
                       " reasoning_tokens, tokens_estimated, spend, stream, cache_hit, retries,"
                       " fallback_from, messages, response, request_truncated, response_truncated"
                       " FROM spend_logs WHERE request_id = ?");
  st.bind(1, *id);
  if (!st.executeStep()) return nullptr;
  int c = 0;
  auto str = [&] { return st.getColumn(c++).getString(); };
  auto i64 = [&] { return st.getColumn(c++).getInt64(); };
  auto secs = [&] {
    int64_t v = st.getColumn(c++).getInt64();
    return v ? json(static_cast<double>(v) / 1e6) : json(nullptr);
  };
  auto ms = [&] { return static_cast<double>(st.getColumn(c++).getInt64()) / 1000.0; };
  json j;
  j["request_id"] = str();
  j["endpoint"] = str();
  j["start_time"] = secs();
  j["first_byte_time"] = secs();
  j["end_time"] = secs();
  j["latency_ms"] = (j["end_time"].is_number() && j["start_time"].is_number())
                        ? json(std::round((j["end_time"].get<double>() - j["start_time"].get<double>()) * 1e6) / 1e3)
                        : json(nullptr);
  {
    int64_t t = st.getColumn(c++).getInt64();
    j["ttft_ms"] = t > 0 ? json(static_cast<double>(t) / 1000.0) : json(nullptr);
  }
  j["upstream_ms"] = ms();
  j["overhead_ms"] = ms();
  j["model"] = str();
  j["model_group"] = str();
  j["deployment_id"] = str();
  j["provider"] = str();
  j["upstream_model"] = str();
  j["api_base"] = str();
  j["key_hash"] = str();
  j["key_alias"] = str();
  j["user"] = str();
  j["client_ip"] = str();
  j["status"] = st.getColumn(c++).getInt();
  j["error_type"] = str();
  j["error_message"] = str();
  j["prompt_tokens"] = i64();
  j["completion_tokens"] = i64();
  j["total_tokens"] = i64();
  j["cached_tokens"] = i64();
  j["reasoning_tokens"] = i64();
  j["tokens_estimated"] = i64() != 0;
  j["cost"] = opt_cost(st.getColumn(c++));
  j["stream"] = i64() != 0;
  j["cache_hit"] = i64() != 0;
  j["retries"] = i64();
  j["fallback_from"] = str();
  j["request_body"] = str();
  j["response_body"] = str();
  j["request_truncated"] = i64() != 0;
  j["response_truncated"] = i64() != 0;
  return j;
}

json SqliteLedger::q_spend_logs(SQLite::Database& db, const Params& p) {
  std::string sql =
      "SELECT request_id, call_type, api_key, spend, total_tokens, prompt_tokens,"
      " completion_tokens, startTime, endTime, completionStartTime, model, model_id, model_group,"
      " custom_llm_provider, api_base, \"user\", metadata, cache_hit, requester_ip_address,"
      " messages, response, status, status_code, key_alias FROM spend_logs";
  std::vector<Bind> binds;
  if (auto id = param(p, "request_id")) {
    sql += " WHERE request_id = ?";
    binds.emplace_back(*id);
  } else {
    const Range r = time_range(p, "start_date", "end_date", 30 * kDayUs);
    // end_date as a plain date means "through that day" (LiteLLM semantics).
    int64_t end = r.end_us;
    if (auto e = param(p, "end_date"); e && e->size() == 10) end += kDayUs;
    sql += " WHERE startTime >= ? AND startTime < ?";
    binds.emplace_back(r.start_us);
    binds.emplace_back(end);
    if (auto k = param(p, "api_key")) {
      // Accept the raw key (hashed here) or a stored hash / hash prefix.
      std::string h = (k->rfind("sk-", 0) == 0) ? sha256_hex(*k) : *k;
      // Stored hashes may be prefixes: match them through the (small) key rollup, then use the
      // (api_key, startTime) index.
      SQLite::Statement ks(db,
                           "SELECT DISTINCT key_hash FROM usage_daily_key WHERE key_hash <> ''"
                           " AND substr(?1, 1, length(key_hash)) = key_hash LIMIT 100");
      ks.bind(1, h);
      std::vector<std::string> hashes;
      while (ks.executeStep()) hashes.push_back(ks.getColumn(0).getString());
      if (hashes.empty()) return json::array();
      sql += " AND api_key IN (?";
      for (std::size_t i = 1; i < hashes.size(); ++i) sql += ",?";
      sql += ")";
      for (auto& x : hashes) binds.emplace_back(x);
    }
    if (auto u = param(p, "user_id")) {
      sql += " AND \"user\" = ? AND \"user\" <> ''";  // literal term: partial index applies
      binds.emplace_back(*u);
    }
    sql += " ORDER BY startTime DESC LIMIT 1000";
  }
  SQLite::Statement st(db, sql);
  bind_all(st, binds);
  json arr = json::array();
  while (st.executeStep()) {
    json j;
    j["request_id"] = st.getColumn(0).getString();
    j["call_type"] = st.getColumn(1).getString();
    j["api_key"] = st.getColumn(2).getString();
    j["spend"] = st.getColumn(3).isNull() ? json(0.0) : json(st.getColumn(3).getDouble());
    j["total_tokens"] = st.getColumn(4).getInt64();
    j["prompt_tokens"] = st.getColumn(5).getInt64();
    j["completion_tokens"] = st.getColumn(6).getInt64();
    j["startTime"] = iso8601_us(st.getColumn(7).getInt64());
    j["endTime"] = iso8601_us(st.getColumn(8).getInt64());
    const int64_t cst = st.getColumn(9).getInt64();
    j["completionStartTime"] = cst ? json(iso8601_us(cst)) : json(nullptr);
    j["model"] = st.getColumn(10).getString();
    j["model_id"] = st.getColumn(11).getString();
    j["model_group"] = st.getColumn(12).getString();
    j["custom_llm_provider"] = st.getColumn(13).getString();
    j["api_base"] = st.getColumn(14).getString();
    j["user"] = st.getColumn(15).getString();
    json md = parse_json_bounded(st.getColumn(16).getString());
    if (md.is_discarded() || !md.is_object()) md = json::object();
    md["status_code"] = st.getColumn(22).getInt();
    md["user_api_key_alias"] = st.getColumn(23).getString();
    md["spend_unknown"] = st.getColumn(3).isNull();
    j["metadata"] = std::move(md);
    j["cache_hit"] = st.getColumn(17).getInt() ? "True" : "False";
    j["cache_key"] = "";
    j["request_tags"] = json::array();
    j["team_id"] = nullptr;
    j["end_user"] = st.getColumn(15).getString();
    j["requester_ip_address"] = st.getColumn(18).getString();
    j["messages"] = st.getColumn(19).getString();
    j["response"] = st.getColumn(20).getString();
    j["status"] = st.getColumn(21).getString();
    arr.push_back(std::move(j));
  }
  return arr;
}

}  // namespace llmgate::store
