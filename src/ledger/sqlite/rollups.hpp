#pragma once
// The usage rollup tables, summed in memory per batch (private to src/ledger/sqlite): each
// written record is added to its (hour, model group, key) cell, and the five tables' buckets
// are made from those cells once per batch, so a batch costs one upsert per bucket it touched,
// not five per row.
#include <SQLiteCpp/Database.h>
#include <SQLiteCpp/Statement.h>

#include <array>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <tuple>
#include <vector>

#include "ledger/sqlite/record_binding.hpp"
#include "llmgate/ledger.hpp"

namespace llmgate::store {

struct RollupKey {
  int64_t t;
  std::string model_group, key_hash;
};
struct RollupKeyView {
  int64_t t;
  std::string_view model_group, key_hash;
};
// Transparent: a batch looks its buckets up by views (no allocation unless a bucket is new).
struct RollupLess {
  using is_transparent = void;
  template <class A, class B>
  bool operator()(const A& a, const B& b) const {
    // Both sides as views: clang 14 cannot compare tuples of string with tuples of string_view.
    using View = std::tuple<int64_t, std::string_view, std::string_view>;
    return View(a.t, a.model_group, a.key_hash) < View(b.t, b.model_group, b.key_hash);
  }
};

struct RollupVal {
  std::string key_alias;
  int64_t requests = 0, errors = 0, prompt = 0, completion = 0, total = 0, cost_unknown = 0, cache_hits = 0;
  double cost = 0, latency_ms_sum = 0;
  std::array<int64_t, 16> buckets{};
  uint64_t alias_seq = 0;  // the batch's record that set key_alias (fold_rollups)
};

// "INSERT INTO <table> ... ON CONFLICT DO UPDATE" adding a bucket's sums to its row.
std::string rollup_upsert_sql(const char* table);

struct RollupSpec {
  const char* table;
  int64_t span;  // seconds per bucket
  bool by_model, by_key;
};
constexpr RollupSpec kRollups[] = {{"usage_hourly_model", 3600, true, false},
                                   {"usage_hourly_key", 3600, false, true},
                                   {"usage_daily_model", 86400, true, false},
                                   {"usage_daily_key", 86400, false, true},
                                   {"usage_daily", 86400, true, true}};
constexpr std::size_t kNumRollups = sizeof(kRollups) / sizeof(kRollups[0]);

using RollupMaps = std::array<std::map<RollupKey, RollupVal, RollupLess>, kNumRollups>;

// A batch's rows summed per (hour, model_group, key_hash): one lookup per row instead of one
// per rollup table. fold_rollups() makes the five tables' buckets from it once per batch.
using HourCells = std::map<RollupKey, RollupVal, RollupLess>;

// Adds the batch's `seq`-th written record (counted from 1) to its hour cell.
void add_to_rollups(HourCells& cells, uint64_t seq, const RequestRecord& r, const BoundRecord& v);

// The rollup tables' buckets of a batch. A key's bucket takes the alias of the last record
// (in write order) that had one.
RollupMaps fold_rollups(const HourCells& cells);

// Upserts the buckets of `cells` into the rollup tables, one prepared statement per kRollups
// entry (rollup_upsert_sql), inside the batch's transaction.
void upsert_rollups(const std::vector<std::unique_ptr<SQLite::Statement>>& stmts, const HourCells& cells);

}  // namespace llmgate::store
