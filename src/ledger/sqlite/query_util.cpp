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

void bind_all(SQLite::Statement& st, const std::vector<Bind>& binds) {
  int k = 1;
  for (const auto& b : binds) {
    if (auto* i = std::get_if<int64_t>(&b)) st.bind(k++, *i);
    else if (auto* d = std::get_if<double>(&b)) st.bind(k++, *d);
    else st.bind(k++, std::get<std::string>(b));
  }
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
  src.cte = "WITH r AS (SELECT * FROM " + h + " WHERE t >= ? AND t < ?" + " UNION ALL SELECT * FROM " + d +
            " WHERE t >= ? AND t < ?" + " UNION ALL SELECT * FROM " + h + " WHERE t >= ? AND t < ?) ";
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
UsageFigures aggregate(SQLite::Statement& st, int c) {
  UsageFigures f;
  f.requests = st.getColumn(c).getInt64();
  f.errors = st.getColumn(c + 1).getInt64();
  f.prompt_tokens = st.getColumn(c + 2).getInt64();
  f.completion_tokens = st.getColumn(c + 3).getInt64();
  f.total_tokens = st.getColumn(c + 4).getInt64();
  f.cost = st.getColumn(c + 5).getDouble();
  f.cache_hits = st.getColumn(c + 6).getInt64();
  f.cost_unknown_requests = st.getColumn(c + 7).getInt64();
  for (std::size_t i = 0; i < f.latency.size(); ++i)
    f.latency[i] = st.getColumn(c + 8 + static_cast<int>(i)).getInt64();
  return f;
}

void add_figures(UsageFigures& into, const UsageFigures& f) {
  into.requests += f.requests;
  into.errors += f.errors;
  into.prompt_tokens += f.prompt_tokens;
  into.completion_tokens += f.completion_tokens;
  into.total_tokens += f.total_tokens;
  into.cost += f.cost;
  into.cache_hits += f.cache_hits;
  into.cost_unknown_requests += f.cost_unknown_requests;
  for (std::size_t i = 0; i < f.latency.size(); ++i) into.latency[i] += f.latency[i];
}

int64_t file_size(const std::string& p) {
  struct stat st {};
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
