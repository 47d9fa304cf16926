#include "ledger/sqlite/rollups.hpp"

#include <algorithm>
#include <cmath>

#include "ledger/sqlite/schema.hpp"

namespace llmgate::store {

std::string rollup_upsert_sql(const char* table) {
  std::string cols =
      "t, model_group, key_hash, key_alias, requests, errors, prompt_tokens,"
      " completion_tokens, total_tokens, cost, cost_unknown, cache_hits,"
      " latency_ms_sum";
  std::string vals = "?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?";
  std::string upd = "key_alias = excluded.key_alias";
  for (const char* c : {"requests", "errors", "prompt_tokens", "completion_tokens", "total_tokens", "cost",
                        "cost_unknown", "cache_hits", "latency_ms_sum"})
    upd += std::string(", ") + c + " = " + c + " + excluded." + c;
  for (std::size_t i = 0; i < kLatencyBucketsMs.size(); ++i) {
    std::string b = "b" + std::to_string(i);
    cols += ", " + b;
    vals += ", ?";
    upd += ", " + b + " = " + b + " + excluded." + b;
  }
  return std::string("INSERT INTO ") + table + " (" + cols + ") VALUES (" + vals +
         ") ON CONFLICT (t, model_group, key_hash) DO UPDATE SET " + upd;
}

void add_to_rollups(HourCells& cells, uint64_t seq, const RequestRecord& r, const BoundRecord& v) {
  const int64_t sec = r.start_us >= 0 ? r.start_us / 1000000 : (r.start_us - 999999) / 1000000;
  const double lat_ms = std::max<double>(0, static_cast<double>(r.end_us - r.start_us) / 1000.0);
  std::size_t bucket = 0;
  while (bucket + 1 < kLatencyBucketsMs.size() && lat_ms > kLatencyBucketsMs[bucket]) ++bucket;
  const RollupKeyView key{sec - ((sec % 3600) + 3600) % 3600, v.model_group, v.key_hash};
  auto it = cells.find(key);
  if (it == cells.end())
    it = cells.emplace(RollupKey{key.t, std::string(key.model_group), std::string(key.key_hash)}, RollupVal{}).first;
  RollupVal& b = it->second;
  if (!v.key_alias.empty()) {
    if (b.key_alias != v.key_alias) b.key_alias.assign(v.key_alias);
    b.alias_seq = seq;
  }
  b.requests += 1;
  b.errors += r.status >= 400 ? 1 : 0;
  b.prompt += r.prompt_tokens;
  b.completion += r.completion_tokens;
  b.total += r.total_tokens;
  if (r.cost_usd && std::isfinite(*r.cost_usd)) b.cost += *r.cost_usd;
  else b.cost_unknown += 1;
  b.cache_hits += r.cache_hit ? 1 : 0;
  b.latency_ms_sum += lat_ms;
  b.buckets[bucket] += 1;
}

RollupMaps fold_rollups(const HourCells& cells) {
  RollupMaps out;
  for (const auto& [key, c] : cells) {
    for (std::size_t ri = 0; ri < kNumRollups; ++ri) {
      const RollupSpec& spec = kRollups[ri];
      const int64_t t = key.t - ((key.t % spec.span) + spec.span) % spec.span;
      const RollupKeyView k{t, spec.by_model ? std::string_view(key.model_group) : std::string_view(),
                            spec.by_key ? std::string_view(key.key_hash) : std::string_view()};
      auto& m = out[ri];
      auto it = m.find(k);
      if (it == m.end())
        it = m.emplace(RollupKey{t, std::string(k.model_group), std::string(k.key_hash)}, RollupVal{}).first;
      RollupVal& b = it->second;
      if (spec.by_key && !c.key_alias.empty() && c.alias_seq > b.alias_seq) {
        b.key_alias = c.key_alias;
        b.alias_seq = c.alias_seq;
      }
      b.requests += c.requests;
      b.errors += c.errors;
      b.prompt += c.prompt;
      b.completion += c.completion;
      b.total += c.total;
      b.cost += c.cost;
      b.cost_unknown += c.cost_unknown;
      b.cache_hits += c.cache_hits;
      b.latency_ms_sum += c.latency_ms_sum;
      for (std::size_t i = 0; i < b.buckets.size(); ++i) b.buckets[i] += c.buckets[i];
    }
  }
  return out;
}

void upsert_rollups(const std::vector<std::unique_ptr<SQLite::Statement>>& stmts, const HourCells& cells) {
  const RollupMaps rollups = fold_rollups(cells);
  for (std::size_t ri = 0; ri < kNumRollups; ++ri) {
    SQLite::Statement& st = *stmts[ri];
    for (const auto& [key, v] : rollups[ri]) {
      st.reset();
      int k = 1;
      st.bind(k++, static_cast<int64_t>(key.t));
      st.bind(k++, key.model_group);
      st.bind(k++, key.key_hash);
      st.bind(k++, v.key_alias);
      st.bind(k++, static_cast<int64_t>(v.requests));
      st.bind(k++, static_cast<int64_t>(v.errors));
      st.bind(k++, static_cast<int64_t>(v.prompt));
      st.bind(k++, static_cast<int64_t>(v.completion));
      st.bind(k++, static_cast<int64_t>(v.total));
      st.bind(k++, v.cost);
      st.bind(k++, static_cast<int64_t>(v.cost_unknown));
      st.bind(k++, static_cast<int64_t>(v.cache_hits));
      st.bind(k++, v.latency_ms_sum);
      for (auto c : v.buckets) st.bind(k++, static_cast<int64_t>(c));
      st.exec();
    }
  }
}

}  // namespace llmgate::store
