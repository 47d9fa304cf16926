#pragma once
// How a RequestRecord becomes spend_logs values: the multi-row INSERT's SQL and the binding of
// one record's values on a raw prepared statement (private to src/ledger/sqlite).
#include <SQLiteCpp/Database.h>
#include <SQLiteCpp/Exception.h>
#include <sqlite3.h>

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "llmgate/ledger.hpp"

namespace llmgate::store {

// A prepared statement on the raw API: SQLiteCpp's bind() copies text and its handle is private,
// and the insert binds ~38 values per row. Errors throw SQLite::Exception like SQLiteCpp's.
class RawStmt {
 public:
  RawStmt(SQLite::Database& db, const char* sql) : db_(db.getHandle()) {
    const int rc = sqlite3_prepare_v3(db_, sql, -1, SQLITE_PREPARE_PERSISTENT, &st_, nullptr);
    if (rc != SQLITE_OK) throw SQLite::Exception(db_, rc);
    held_.resize(static_cast<std::size_t>(sqlite3_bind_parameter_count(st_)) + 1);
  }
  ~RawStmt() { sqlite3_finalize(st_); }
  RawStmt(const RawStmt&) = delete;
  RawStmt& operator=(const RawStmt&) = delete;
  void reset() { sqlite3_reset(st_); }
  // Text is bound without a copy: the buffer must outlive exec().
  void text(int k, std::string_view v) {
    held_[static_cast<std::size_t>(k)].kind = Held::none;
    check(sqlite3_bind_text(st_, k, v.data(), static_cast<int>(v.size()), SQLITE_STATIC));
  }
  // For a value that is usually the one this parameter had last time (a model, an api_base, an
  // empty error): a binding survives sqlite3_reset, so an equal value is not bound again (a
  // bind call is ~170 instructions, ~20 per record). A new value is bound as SQLite's copy.
  void text_kept(int k, std::string_view v) {
    Held& h = held_[static_cast<std::size_t>(k)];
    if (h.kind == Held::text && h.s == v) return;
    h.kind = Held::none;
    check(sqlite3_bind_text(st_, k, v.data(), static_cast<int>(v.size()), SQLITE_TRANSIENT));
    h.s.assign(v);
    h.kind = Held::text;
  }
  void i64(int k, int64_t v) {
    Held& h = held_[static_cast<std::size_t>(k)];
    if (h.kind == Held::integer && h.i == v) return;
    h.kind = Held::none;
    check(sqlite3_bind_int64(st_, k, v));
    h.i = v;
    h.kind = Held::integer;
  }
  void dbl(int k, double v) {
    held_[static_cast<std::size_t>(k)].kind = Held::none;
    check(sqlite3_bind_double(st_, k, v));
  }
  void null(int k) {
    held_[static_cast<std::size_t>(k)].kind = Held::none;
    check(sqlite3_bind_null(st_, k));
  }
  void exec() {
    const int rc = sqlite3_step(st_);
    if (rc != SQLITE_DONE && rc != SQLITE_ROW) {
      sqlite3_reset(st_);
      throw SQLite::Exception(db_, rc);
    }
  }

 private:
  void check(int rc) {
    if (rc != SQLITE_OK) throw SQLite::Exception(db_, rc);
  }
  // What parameter k holds, when text_kept() or i64() bound it.
  struct Held {
    enum Kind : uint8_t { none, integer, text } kind = none;
    int64_t i = 0;
    std::string s;
  };
  sqlite3* db_;
  sqlite3_stmt* st_ = nullptr;
  std::vector<Held> held_;  // by parameter index (1-based)
};

// `s` when it is valid UTF-8 (the usual case: no copy), else its sanitized copy in `scratch`.
std::string_view valid_utf8(std::string_view s, std::string& scratch);

constexpr const char* kInsertColumns =
    "request_id, call_type, api_key, key_alias, spend, total_tokens, prompt_tokens,"
    " completion_tokens, cached_tokens, reasoning_tokens, tokens_estimated, startTime, endTime,"
    " completionStartTime, ttft_us, upstream_us, overhead_us, model, model_group, model_id,"
    " custom_llm_provider, upstream_model, api_base, \"user\", requester_ip_address, status_code,"
    " status, error_type, error_message, stream, cache_hit, retries, fallback_from, messages,"
    " response, request_truncated, response_truncated, metadata";
constexpr int kValuesPerRecord = 38;
// Records per multi-row INSERT. One statement keeps its table and index cursors open from row
// to row, so a key that lands after the last one (time-ordered request ids, start times, the
// model/key indexes of one model or key) is appended without a descent from the index's root.
// Instructions per row in a 40k-row test of this schema: ~49k -> ~31k when the rows share one
// model, key and user (8 rows: 32k, 32 rows: 30k); ~54k -> ~44k spread over 10 models, 50 keys
// and 500 users.
constexpr std::size_t kRecordsPerInsert = 16;
// Sanitized copies one record may need (one per text value bound through clean()).
constexpr std::size_t kScratchPerRecord = 17;

// "INSERT [OR IGNORE] INTO spend_logs (...) VALUES (?,..),(?,..)..." for `records` records.
std::string insert_sql(std::size_t records, bool or_ignore);

// A record that fills the full-text index: bodies or an error message. Its FTS row is added
// right after the statement that wrote it, with the rowid that statement gave it.
inline bool has_fts_text(const RequestRecord& r) {
  return !r.request_body.empty() || !r.response_body.empty() || !r.error_message.empty();
}

// The sanitized text of a bound record that its rollups and FTS row use.
struct BoundRecord {
  std::string_view request_id, key_hash, key_alias, model_group, error_message, request_body, response_body;
};

// Binds r's kValuesPerRecord values to parameters k0+1 .. k0+kValuesPerRecord. Text is bound
// without a copy; invalid UTF-8 is bound as a sanitized copy kept in scratch[0..kScratchPerRecord).
BoundRecord bind_record(RawStmt& st, int k0, const RequestRecord& r, std::string* scratch);

}  // namespace llmgate::store
