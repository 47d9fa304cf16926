#pragma once
// The ledger's typed read queries: plain filter structs in, plain rows out. A storage backend
// implements LedgerReader with its own SQL; parsing HTTP parameters into filters and building the
// JSON the routes send live in src/admin/ (ledger_params.cpp, ledger_json.cpp).
// Readers run on reader threads (never the writer's), block, and throw std::runtime_error when
// the database is unavailable.
#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace llmgate {

// Latency histogram buckets of the usage rollups (upper bounds in ms; the last is +inf).
constexpr std::array<double, 16> kLatencyBucketsMs = {50,   100,  200,  350,   500,   750,   1000,  1500,
                                                      2500, 4000, 6000, 10000, 20000, 40000, 90000, 1e300};

// [start_us, end_us), unix microseconds.
struct LedgerTimeRange {
  int64_t start_us = 0;
  int64_t end_us = 0;
};

enum class StatusClass { any, ok_2xx, client_4xx, server_5xx, error };

// Keyset position in the request list: the last row of a page (newest first).
struct LogCursor {
  int64_t start_us = 0;
  int64_t id = 0;
};

struct LogFilter {
  LedgerTimeRange range;
  int64_t limit = 50;  // rows per page
  std::string model;   // exact model name; empty: any
  std::string key;     // key hash prefix or key alias; empty: any
  StatusClass status = StatusClass::any;
  std::optional<std::string> text;  // free-text search over bodies and error messages
  std::optional<LogCursor> cursor;  // continue after this row
};

struct LogRow {
  std::string request_id;
  int64_t start_us = 0, end_us = 0;
  std::string model, model_group, deployment_id, provider;
  int status = 0;
  int64_t ttft_us = 0;  // 0: unknown
  int64_t overhead_us = 0;
  int64_t prompt_tokens = 0, completion_tokens = 0, total_tokens = 0;
  std::optional<double> cost;  // unknown price
  std::string key_hash, key_alias, user;
  bool stream = false, cache_hit = false;
  std::string error_type, error_message;
};

struct LogPage {
  std::vector<LogRow> rows;
  std::optional<LogCursor> next;  // set when more rows follow
};

// One request in full (the dashboard's request view).
struct LogDetail {
  std::string request_id, endpoint;
  int64_t start_us = 0, first_byte_us = 0, end_us = 0;  // 0: unknown
  int64_t ttft_us = 0, upstream_us = 0, overhead_us = 0;
  std::string model, model_group, deployment_id, provider, upstream_model, api_base;
  std::string key_hash, key_alias, user, client_ip;
  int status = 0;
  std::string error_type, error_message;
  int64_t prompt_tokens = 0, completion_tokens = 0, total_tokens = 0, cached_tokens = 0, reasoning_tokens = 0;
  bool tokens_estimated = false;
  std::optional<double> cost;
  bool stream = false, cache_hit = false;
  int64_t retries = 0;
  std::string fallback_from, request_body, response_body;
  bool request_truncated = false, response_truncated = false;
};

// LiteLLM's /spend/logs: one request by id, or a time range with optional key and user.
struct SpendLogFilter {
  std::optional<std::string> request_id;  // set: only this request, other fields ignored
  LedgerTimeRange range;
  std::optional<std::string> key_hash;  // full hash; matches stored hashes that prefix it
  std::optional<std::string> user;
};

struct SpendLogRow {
  std::string request_id, call_type, api_key;
  std::optional<double> spend;
  int64_t total_tokens = 0, prompt_tokens = 0, completion_tokens = 0;
  int64_t start_us = 0, end_us = 0, completion_start_us = 0;  // completion start 0: unknown
  std::string model, model_id, model_group, custom_llm_provider, api_base, user;
  std::string metadata;  // the stored metadata JSON text
  bool cache_hit = false;
  std::string requester_ip_address, messages, response, status;
  int status_code = 0;
  std::string key_alias;
};

enum class UsageBucket { hour, day };
enum class UsageGroupBy { none, model, key };

struct UsageFilter {
  LedgerTimeRange range;
  UsageBucket bucket = UsageBucket::hour;
  UsageGroupBy group_by = UsageGroupBy::none;
};

// Sums over a set of requests (one rollup bucket, one model, one key, or all).
struct UsageFigures {
  int64_t requests = 0, errors = 0;
  int64_t prompt_tokens = 0, completion_tokens = 0, total_tokens = 0;
  double cost = 0;
  int64_t cache_hits = 0;
  int64_t cost_unknown_requests = 0;
  std::array<int64_t, kLatencyBucketsMs.size()> latency{};  // requests per latency bucket
};

struct UsagePoint {
  int64_t t = 0;          // bucket start, unix seconds
  std::string group;      // model group or key hash; empty: none / unknown
  std::string key_alias;  // group_by key only
  UsageFigures figures;
};

struct ModelUsage {
  std::string model_group;  // empty: unknown
  UsageFigures figures;
};

struct KeyUsage {
  std::string key_hash, key_alias;  // empty hash: requests without a key
  UsageFigures figures;
};

// Over a time range (hour granularity at its edges): per model (most requests first), per key
// (most cost first), and the totals. At most 1000 models and 1000 keys.
struct UsageSummary {
  std::vector<ModelUsage> by_model;
  std::vector<KeyUsage> by_key;
  UsageFigures totals;
};

struct LedgerTableRows {
  std::string table;
  int64_t rows = 0;
};

struct LedgerDbStats {
  std::string database_path;
  int64_t database_bytes = 0, wal_bytes = 0;
  std::vector<LedgerTableRows> rows;  // spend_logs and each rollup table
};

class LedgerReader {
 public:
  virtual ~LedgerReader() = default;
  // The request list, newest first, at most filter.limit rows.
  virtual LogPage logs(const LogFilter& filter) = 0;
  // One request; nullopt when there is none with that id.
  virtual std::optional<LogDetail> log(const std::string& request_id) = 0;
  // Newest first, at most 1000 rows.
  virtual std::vector<SpendLogRow> spend_logs(const SpendLogFilter& filter) = 0;
  // The usage rollups as a time series, ordered by bucket then group (at most 100000 points).
  virtual std::vector<UsagePoint> usage(const UsageFilter& filter) = 0;
  virtual UsageSummary summary(const LedgerTimeRange& range) = 0;
  // Total known cost of every request ever recorded (LiteLLM's /global/spend).
  virtual double total_spend() = 0;
  // Database size and row counts (the writer's counters are Ledger::stats()).
  virtual LedgerDbStats db_stats() = 0;
};

}  // namespace llmgate
