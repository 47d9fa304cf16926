// Read queries of the SQLite ledger (reader threads). Every query is bounded in time and binds
// all parameters; SQL text is assembled only from fixed fragments.
#include <SQLiteCpp/Exception.h>
#include <SQLiteCpp/Statement.h>
#include <sqlite3.h>
#include <sys/stat.h>

#include <array>
#include <charconv>
#include <chrono>
#include <cmath>
#include <stdexcept>
#include <variant>

#include "llmgate/json_limits.hpp"
#include "store/schema.hpp"
#include "store/sqlite_ledger.hpp"
#include "store/text_util.hpp"

namespace llmgate::store {

namespace {

using Params = std::multimap<std::string, std::string>;
using json = nlohmann::json;
using Bind = std::variant<int64_t, double, std::string>;

constexpr int64_t kDayUs = 86400LL * 1000000;

std::optional<std::string> param(const Params& p, const char* name) {
  auto it = p.find(name);
  if (it == p.end() || it->second.empty()) return std::nullopt;
  return it->second;
}

struct Range {
  int64_t start_us, end_us;  // [start, end)
};

// start/end in unix seconds (or dates). Default: the last `default_span_us` up to now.
Range time_range(const Params& p, const char* start_name = "start", const char* end_name = "end",
                 int64_t default_span_us = kDayUs) {
  auto parse = [&](const char* name) -> std::optional<int64_t> {
    auto v = param(p, name);
    if (!v) return std::nullopt;
    auto t = parse_time_us(*v);
    if (!t) throw std::invalid_argument(std::string("invalid '") + name +
                                        "': expected unix seconds or YYYY-MM-DD[THH:MM:SS]");
    return t;
  };
  auto s = parse(start_name);
  auto e = parse(end_name);
  Range r{};
  r.end_us = e ? *e : now_unix_us() + 1;
  r.start_us = s ? *s : r.end_us - default_span_us;
  if (r.start_us > r.end_us)
    throw std::invalid_argument(std::string("'") + start_name + "' is after '" + end_name + "'");
  return r;
}

int64_t int_param(const Params& p, const char* name, int64_t def, int64_t lo, int64_t hi) {
  auto v = param(p, name);
  if (!v) return def;
  int64_t x = 0;
  auto [ptr, ec] = std::from_chars(v->data(), v->data() + v->size(), x);
  if (ec != std::errc() || ptr != v->data() + v->size() || x < lo || x > hi)
    throw std::invalid_argument(std::string("invalid '") + name + "': expected an integer in [" +
                                std::to_string(lo) + ", " + std::to_string(hi) + "]");
  return x;
}

void bind_all(SQLite::Statement& st, const std::vector<Bind>& binds) {
  int k = 1;
  for (const auto& b : binds) {
    if (auto* i = std::get_if<int64_t>(&b)) st.bind(k++, *i);
    else if (auto* d = std::get_if<double>(&b)) st.bind(k++, *d);
    else st.bind(k++, std::get<std::string>(b));
  }
}

json opt_cost(const SQLite::Column& c) {
  if (c.isNull()) return nullptr;
  return c.getDouble();
}

// FTS5 query from free text: every whitespace-separated word becomes a quoted phrase (quotes
// doubled), so operators and punctuation are matched literally, never interpreted. A NUL byte
// separates words too: FTS5 reads the query as a C string.
std::string fts_query(const std::string& q) {
  auto sep = [](char c) { return c == '\0' || std::isspace(static_cast<unsigned char>(c)); };
  std::string out;
  std::size_t i = 0;
  while (i < q.size()) {
    while (i < q.size() && sep(q[i])) ++i;
    std::size_t j = i;
    while (j < q.size() && !sep(q[j])) ++j;
    if (j > i) {
      std::string w = q.substr(i, j - i);
      bool has_word = false;
      for (unsigned char c : w) has_word |= std::isalnum(c) || c >= 0x80;
      if (has_word) {
        if (!out.empty()) out += ' ';
        out += '"';
        for (char c : w) {
          if (c == '"') out += '"';
          out += c;
        }
        out += '"';
      }
    }
    i = j;
  }
  return out;
}

std::string prefix_upper(const std::string& p) { return p + "\xff"; }

// The rollup rows for [start, end): whole days from usage_daily, the edges from usage_hourly
// (hour granularity: the start is rounded down to its hour).
struct RollupSource {
  std::string cte;
  std::vector<Bind> binds;
};
RollupSource rollup_source(const Range& r, const char* dim /* "model" | "key" */) {
  const int64_t s = r.start_us / 1000000;
  const int64_t e = (r.end_us + 999999) / 1000000;
  const int64_t hs = s - ((s % 3600) + 3600) % 3600;
  int64_t d0 = (s + 86399) / 86400 * 86400;
  int64_t d1 = e / 86400 * 86400;
  if (d0 >= d1) d0 = d1 = e;
  RollupSource src;
  const std::string h = std::string("usage_hourly_") + dim, d = std::string("usage_daily_") + dim;
  src.cte = "WITH r AS (SELECT * FROM " + h + " WHERE t >= ? AND t < ?" +
            " UNION ALL SELECT * FROM " + d + " WHERE t >= ? AND t < ?" +
            " UNION ALL SELECT * FROM " + h + " WHERE t >= ? AND t < ?) ";
  src.binds = {hs, d0, d0, d1, std::max(d1, hs), e};
  return src;
}

std::string bucket_sums() {
  std::string s =
      "sum(requests), sum(errors), sum(prompt_tokens), sum(completion_tokens), sum(total_tokens),"
      " sum(cost), sum(cache_hits), sum(cost_unknown)";
  for (std::size_t i = 0; i < kLatencyBucketsMs.size(); ++i) s += ", sum(b" + std::to_string(i) + ")";
  return s;
}

// Reads the aggregate columns produced by bucket_sums() starting at column `c`.
json aggregate_json(SQLite::Statement& st, int c) {
  json j;
  int64_t req = st.getColumn(c).getInt64();
  int64_t err = st.getColumn(c + 1).getInt64();
  int64_t hits = st.getColumn(c + 6).getInt64();
  j["requests"] = req;
  j["errors"] = err;
  j["prompt_tokens"] = st.getColumn(c + 2).getInt64();
  j["completion_tokens"] = st.getColumn(c + 3).getInt64();
  j["total_tokens"] = st.getColumn(c + 4).getInt64();
  j["cost"] = st.getColumn(c + 5).getDouble();
  j["cost_unknown_requests"] = st.getColumn(c + 7).getInt64();
  j["cache_hits"] = hits;
  j["error_rate"] = req ? static_cast<double>(err) / static_cast<double>(req) : 0.0;
  j["cache_hit_rate"] = req ? static_cast<double>(hits) / static_cast<double>(req) : 0.0;
  std::array<int64_t, 16> b{};
  for (std::size_t i = 0; i < b.size(); ++i) b[i] = st.getColumn(c + 8 + static_cast<int>(i)).getInt64();
  j["p50_ms"] = std::round(histogram_quantile(b, 0.50) * 10) / 10;
  j["p95_ms"] = std::round(histogram_quantile(b, 0.95) * 10) / 10;
  return j;
}

std::string group_name(const std::string& v, const char* empty) { return v.empty() ? empty : v; }

int64_t file_size(const std::string& p) {
  struct stat st{};
  return ::stat(p.c_str(), &st) == 0 ? static_cast<int64_t>(st.st_size) : 0;
}

// Resolves a "key" filter (hash prefix or alias) to the key hashes seen in the rollups.
std::vector<std::string> resolve_keys(SQLite::Database& db, const std::string& key) {
  SQLite::Statement st(db,
                       "SELECT DISTINCT key_hash FROM usage_daily_key WHERE key_hash <> '' AND (key_alias = ?1"
                       " OR (key_hash >= ?2 AND key_hash < ?3)) LIMIT 100");
  st.bind(1, key);
  st.bind(2, key);
  st.bind(3, prefix_upper(key));
  std::vector<std::string> out;
  while (st.executeStep()) out.push_back(st.getColumn(0).getString());
  return out;
}

constexpr const char* kListColumns =
    "l.id, l.request_id, l.startTime, l.endTime, l.model, l.model_group, l.model_id,"
    " l.custom_llm_provider, l.status_code, l.ttft_us, l.overhead_us, l.prompt_tokens,"
    " l.completion_tokens, l.total_tokens, l.spend, l.api_key, l.key_alias, l.\"user\", l.stream,"
    " l.cache_hit, l.error_type, l.error_message";

}  // namespace

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
  if (name == "logs") fn = &SqliteLedger::q_logs;
  else if (name == "log") fn = &SqliteLedger::q_log;
  else if (name == "usage") fn = &SqliteLedger::q_usage;
  else if (name == "summary") fn = &SqliteLedger::q_summary;
  else if (name == "spend_logs") fn = &SqliteLedger::q_spend_logs;
  else if (name == "global_spend") fn = &SqliteLedger::q_global_spend;
  else if (name != "stats") throw std::invalid_argument("unknown query '" + name + "'");
  return fn ? (this->*fn)(db, params) : q_stats(db);
}

nlohmann::json SqliteLedger::query(const std::string& name, const Params& params) {
  std::unique_ptr<SQLite::Database> db;
  try {
    db = acquire_reader();
    json out = run_query(*db, name, params);
    release_reader(std::move(db));
    return out;
  } catch (const SQLite::Exception& e) {
    // A broken connection is not returned to the pool.
    throw std::runtime_error(std::string("ledger database unavailable: ") + e.what());
  }
}

std::vector<std::string> SqliteLedger::query_plans_for_test(const std::string& name,
                                                            const Params& params) {
  auto db = acquire_reader();
  std::vector<std::string> sqls;
  auto collect = [](unsigned, void* ctx, void* p, void*) -> int {
    if (char* sql = sqlite3_expanded_sql(static_cast<sqlite3_stmt*>(p))) {
      static_cast<std::vector<std::string>*>(ctx)->emplace_back(sql);
      sqlite3_free(sql);
    }
    return 0;
  };
  sqlite3_trace_v2(db->getHandle(), SQLITE_TRACE_STMT, collect, &sqls);
  run_query(*db, name, params);
  sqlite3_trace_v2(db->getHandle(), 0, nullptr, nullptr);
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

// LiteLLM GET /spend/logs: a list of rows with LiteLLM's field names (newest first, <= 1000).
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

json SqliteLedger::q_global_spend(SQLite::Database& db, const Params& p) {
  double spend = db.execAndGet("SELECT coalesce(sum(cost), 0) FROM usage_daily_model").getDouble();
  return json{{"spend", spend}, {"max_budget", nullptr}};
}

}  // namespace llmgate::store
