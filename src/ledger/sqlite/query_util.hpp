#pragma once
// Helpers shared by the ledger's read queries (ledger_queries*.cpp): binds, rollup sources and
// aggregates. Private to src/ledger/sqlite.
#include <SQLiteCpp/Database.h>
#include <SQLiteCpp/Statement.h>

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "llmgate/ledger_reader.hpp"

namespace llmgate::store::query_detail {

using Bind = std::variant<int64_t, double, std::string>;

constexpr int64_t kDayUs = 86400LL * 1000000;

using Range = LedgerTimeRange;

void bind_all(SQLite::Statement& st, const std::vector<Bind>& binds);
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
UsageFigures aggregate(SQLite::Statement& st, int c);
void add_figures(UsageFigures& into, const UsageFigures& f);
int64_t file_size(const std::string& p);
// Resolves a "key" filter (hash prefix or alias) to the key hashes seen in the rollups.
std::vector<std::string> resolve_keys(SQLite::Database& db, const std::string& key);

constexpr const char* kListColumns =
    "l.id, l.request_id, l.startTime, l.endTime, l.model, l.model_group, l.model_id,"
    " l.custom_llm_provider, l.status_code, l.ttft_us, l.overhead_us, l.prompt_tokens,"
    " l.completion_tokens, l.total_tokens, l.spend, l.api_key, l.key_alias, l.\"user\", l.stream,"
    " l.cache_hit, l.error_type, l.error_message";

}  // namespace llmgate::store::query_detail
