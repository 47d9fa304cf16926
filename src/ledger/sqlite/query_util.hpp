#pragma once
// Helpers shared by the ledger's read queries (ledger_queries*.cpp): parameters, time ranges,
// binds, rollup sources and aggregates. Private to src/ledger/sqlite.
#include <SQLiteCpp/Database.h>
#include <SQLiteCpp/Statement.h>

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include <nlohmann/json.hpp>

namespace llmgate::store::query_detail {

using Params = std::multimap<std::string, std::string>;
using json = nlohmann::json;
using Bind = std::variant<int64_t, double, std::string>;

constexpr int64_t kDayUs = 86400LL * 1000000;

std::optional<std::string> param(const Params& p, const char* name);

struct Range {
  int64_t start_us, end_us;  // [start, end)
};

// start/end in unix seconds (or dates). Default: the last `default_span_us` up to now.
Range time_range(const Params& p, const char* start_name = "start", const char* end_name = "end",
                 int64_t default_span_us = kDayUs);
int64_t int_param(const Params& p, const char* name, int64_t def, int64_t lo, int64_t hi);
void bind_all(SQLite::Statement& st, const std::vector<Bind>& binds);
json opt_cost(const SQLite::Column& c);
// FTS5 query from free text: every word a quoted phrase (see query_util.cpp).
std::string fts_query(const std::string& q);
std::string prefix_upper(const std::string& p);

// The rollup rows for [start, end): whole days from usage_daily, the edges from usage_hourly
// (hour granularity: the start is rounded down to its hour).
struct RollupSource {
  std::string cte;
  std::vector<Bind> binds;
};
RollupSource rollup_source(const Range& r, const char* dim /* "model" | "key" */);
std::string bucket_sums();
// Reads the aggregate columns produced by bucket_sums() starting at column `c`.
json aggregate_json(SQLite::Statement& st, int c);
std::string group_name(const std::string& v, const char* empty);
int64_t file_size(const std::string& p);
// Resolves a "key" filter (hash prefix or alias) to the key hashes seen in the rollups.
std::vector<std::string> resolve_keys(SQLite::Database& db, const std::string& key);

constexpr const char* kListColumns =
    "l.id, l.request_id, l.startTime, l.endTime, l.model, l.model_group, l.model_id,"
    " l.custom_llm_provider, l.status_code, l.ttft_us, l.overhead_us, l.prompt_tokens,"
    " l.completion_tokens, l.total_tokens, l.spend, l.api_key, l.key_alias, l.\"user\", l.stream,"
    " l.cache_hit, l.error_type, l.error_message";

}  // namespace llmgate::store::query_detail
