// Helpers shared by the ledger's read queries.
#include "ledger/sqlite/query_util.hpp"

#include <sys/stat.h>

#include <array>
#include <cctype>
#include <charconv>
#include <chrono>
#include <cmath>
#include <stdexcept>

#include "ledger/sqlite/schema.hpp"
#include "ledger/text_util.hpp"

namespace llmgate::store::query_detail {

std::optional<std::string> param(const Params& p, const char* name) {
  auto it = p.find(name);
  if (it == p.end() || it->second.empty()) return std::nullopt;
  return it->second;
}

// start/end in unix seconds (or dates). Default: the last `default_span_us` up to now.
Range time_range(const Params& p, const char* start_name, const char* end_name,
                 int64_t default_span_us) {
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

}  // namespace llmgate::store::query_detail
