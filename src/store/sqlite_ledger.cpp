#include "store/sqlite_ledger.hpp"

#include "llmgate/thread_name.hpp"

#include <SQLiteCpp/Exception.h>
#include <SQLiteCpp/Transaction.h>
#include <spdlog/spdlog.h>
#include <sqlite3.h>
#include <malloc.h>
#include <sys/stat.h>

#include <algorithm>
#include <array>
#include <cassert>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <map>
#include <stdexcept>
#include <tuple>

#include "store/backlog_release.hpp"
#include "store/schema.hpp"
#include "store/text_util.hpp"
#include "store/yielding_vfs.hpp"

namespace llmgate {

std::unique_ptr<Ledger> Ledger::open(const LedgerSettings& s) {
  return std::make_unique<store::SqliteLedger>(s);
}

namespace store {

namespace {

using Clock = std::chrono::steady_clock;

// Records the queue's vectors are sized for: a batch's worth, at most 4096.
std::size_t usual_queue_capacity(const LedgerSettings& s) {
  return std::min<std::size_t>(s.batch_max_records, 4096);
}

std::size_t record_bytes(const RequestRecord& r) {
  return sizeof(RequestRecord) + r.request_id.size() + r.endpoint.size() + r.model.size() +
         r.model_group.size() + r.deployment_id.size() + r.provider.size() +
         r.upstream_model.size() + r.api_base.size() + r.key_hash.size() + r.key_alias.size() +
         r.user.size() + r.client_ip.size() + r.error_type.size() + r.error_message.size() +
         r.fallback_from.size() + r.request_body.size() + r.response_body.size();
}

// Errors that concern the whole database (retry the batch later), as opposed to one record.
bool is_db_level_error(int code) {
  switch (code & 0xff) {
    case SQLITE_BUSY: case SQLITE_LOCKED: case SQLITE_FULL: case SQLITE_IOERR:
    case SQLITE_READONLY: case SQLITE_CANTOPEN: case SQLITE_NOMEM: case SQLITE_CORRUPT:
    case SQLITE_NOTADB: case SQLITE_PERM: case SQLITE_PROTOCOL: case SQLITE_INTERRUPT:
    case SQLITE_ABORT: case SQLITE_SCHEMA: case SQLITE_MISUSE:
      return true;
    default:
      return false;
  }
}

// Errors after which the connection is reopened.
bool needs_reopen(int code) {
  switch (code & 0xff) {
    case SQLITE_CANTOPEN: case SQLITE_CORRUPT: case SQLITE_NOTADB: case SQLITE_IOERR:
    case SQLITE_READONLY: case SQLITE_PERM: case SQLITE_MISUSE:
      return true;
    default:
      return false;
  }
}

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
std::string_view valid_utf8(std::string_view s, std::string& scratch) {
  if (is_clean_utf8(s)) return s;
  scratch = sanitize_utf8(s);
  return scratch;
}
struct RollupVal {
  std::string key_alias;
  int64_t requests = 0, errors = 0, prompt = 0, completion = 0, total = 0, cost_unknown = 0,
          cache_hits = 0;
  double cost = 0, latency_ms_sum = 0;
  std::array<int64_t, 16> buckets{};
  uint64_t alias_seq = 0;  // the batch's record that set key_alias (fold_rollups)
};

std::string rollup_upsert_sql(const char* table) {
  std::string cols = "t, model_group, key_hash, key_alias, requests, errors, prompt_tokens,"
                     " completion_tokens, total_tokens, cost, cost_unknown, cache_hits,"
                     " latency_ms_sum";
  std::string vals = "?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?";
  std::string upd = "key_alias = excluded.key_alias";
  for (const char* c : {"requests", "errors", "prompt_tokens", "completion_tokens", "total_tokens",
                        "cost", "cost_unknown", "cache_hits", "latency_ms_sum"})
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

struct RollupSpec {
  const char* table;
  int64_t span;     // seconds per bucket
  bool by_model, by_key;
};
constexpr RollupSpec kRollups[] = {{"usage_hourly_model", 3600, true, false},
                                   {"usage_hourly_key", 3600, false, true},
                                   {"usage_daily_model", 86400, true, false},
                                   {"usage_daily_key", 86400, false, true},
                                   {"usage_daily", 86400, true, true}};
constexpr std::size_t kNumRollups = sizeof(kRollups) / sizeof(kRollups[0]);

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
std::string insert_sql(std::size_t records, bool or_ignore) {
  std::string s = or_ignore ? "INSERT OR IGNORE INTO spend_logs (" : "INSERT INTO spend_logs (";
  s += kInsertColumns;
  s += ") VALUES ";
  for (std::size_t r = 0; r < records; ++r) {
    s += r ? ",(?" : "(?";
    for (int c = 1; c < kValuesPerRecord; ++c) s += ",?";
    s += ')';
  }
  return s;
}

// A record that fills the full-text index: bodies or an error message. Its FTS row is added
// right after the statement that wrote it, with the rowid that statement gave it.
bool has_fts_text(const RequestRecord& r) {
  return !r.request_body.empty() || !r.response_body.empty() || !r.error_message.empty();
}

// The sanitized text of a bound record that its rollups and FTS row use.
struct BoundRecord {
  std::string_view request_id, key_hash, key_alias, model_group, error_message, request_body,
      response_body;
};

// Binds r's kValuesPerRecord values to parameters k0+1 .. k0+kValuesPerRecord. Text is bound
// without a copy; invalid UTF-8 is bound as a sanitized copy kept in scratch[0..kScratchPerRecord).
BoundRecord bind_record(RawStmt& st, int k0, const RequestRecord& r, std::string* scratch) {
  int k = k0 + 1;
  std::size_t si = 0;
  auto clean = [&](const std::string& v) { return valid_utf8(v, scratch[si++]); };
  // Most text repeats from one record to the next (see RawStmt::text_kept); the request id and
  // the bodies do not.
  auto text = [&](const std::string& v) { st.text_kept(k++, clean(v)); };
  BoundRecord out;
  out.request_id = clean(r.request_id);
  st.text(k++, out.request_id);
  text(r.endpoint);
  out.key_hash = clean(r.key_hash);
  st.text_kept(k++, out.key_hash);
  out.key_alias = clean(r.key_alias);
  st.text_kept(k++, out.key_alias);
  if (r.cost_usd && std::isfinite(*r.cost_usd)) st.dbl(k++, *r.cost_usd);
  else st.null(k++);
  st.i64(k++, r.total_tokens);
  st.i64(k++, r.prompt_tokens);
  st.i64(k++, r.completion_tokens);
  st.i64(k++, r.cached_tokens);
  st.i64(k++, r.reasoning_tokens);
  st.i64(k++, r.tokens_estimated ? 1 : 0);
  st.i64(k++, r.start_us);
  st.i64(k++, r.end_us);
  st.i64(k++, r.first_byte_us);
  st.i64(k++, r.ttft_us);
  st.i64(k++, r.upstream_us);
  st.i64(k++, r.overhead_us);
  text(r.model);
  out.model_group = clean(r.model_group);
  st.text_kept(k++, out.model_group);
  text(r.deployment_id);
  text(r.provider);
  text(r.upstream_model);
  text(r.api_base);
  text(r.user);
  text(r.client_ip);
  st.i64(k++, r.status);
  st.text_kept(k++, (r.status >= 400 || !r.error_type.empty()) ? "failure" : "success");
  text(r.error_type);
  out.error_message = clean(r.error_message);
  st.text_kept(k++, out.error_message);
  st.i64(k++, r.stream ? 1 : 0);
  st.i64(k++, r.cache_hit ? 1 : 0);
  st.i64(k++, r.retries);
  text(r.fallback_from);
  out.request_body = clean(r.request_body);
  out.response_body = clean(r.response_body);
  st.text(k++, out.request_body);
  st.text(k++, out.response_body);
  st.i64(k++, r.request_truncated ? 1 : 0);
  st.i64(k++, r.response_truncated ? 1 : 0);
  // metadata: the client's own x-request-id, when it sent one (request_id is ours, unique).
  if (r.client_request_id.empty()) st.text_kept(k++, "{}");
  else st.text_kept(k++, nlohmann::json{{"client_request_id", r.client_request_id}}.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
  assert(k == k0 + 1 + kValuesPerRecord && si == kScratchPerRecord);
  return out;
}

using RollupMaps = std::array<std::map<RollupKey, RollupVal, RollupLess>, kNumRollups>;

// A batch's rows summed per (hour, model_group, key_hash): one lookup per row instead of one
// per rollup table. fold_rollups() makes the five tables' buckets from it once per batch.
using HourCells = std::map<RollupKey, RollupVal, RollupLess>;

// Adds the batch's `seq`-th written record (counted from 1) to its hour cell.
void add_to_rollups(HourCells& cells, uint64_t seq, const RequestRecord& r, const BoundRecord& v) {
  const int64_t sec = r.start_us >= 0 ? r.start_us / 1000000 : (r.start_us - 999999) / 1000000;
  const double lat_ms = std::max<double>(0, static_cast<double>(r.end_us - r.start_us) / 1000.0);
  std::size_t bucket = 0;
  while (bucket + 1 < kLatencyBucketsMs.size() && lat_ms > kLatencyBucketsMs[bucket]) ++bucket;
  const RollupKeyView key{sec - ((sec % 3600) + 3600) % 3600, v.model_group, v.key_hash};
  auto it = cells.find(key);
  if (it == cells.end())
    it = cells.emplace(RollupKey{key.t, std::string(key.model_group), std::string(key.key_hash)},
                       RollupVal{}).first;
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

// The rollup tables' buckets of a batch. A key's bucket takes the alias of the last record
// (in write order) that had one.
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
        it = m.emplace(RollupKey{t, std::string(k.model_group), std::string(k.key_hash)},
                       RollupVal{}).first;
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

}  // namespace

std::string resolve_database_path(const LedgerSettings& s) {
  if (!s.database_path.empty()) return s.database_path;
  const std::string& u = s.database_url;
  if (u.empty()) return "./data/llmgate.db";
  const std::string pfx = "sqlite:///";
  if (u.rfind(pfx, 0) == 0) {
    std::string rest = u.substr(pfx.size());  // "rel/path" or "/abs/path"
    auto q = rest.find('?');
    if (q != std::string::npos) rest.resize(q);
    if (rest.empty()) throw std::runtime_error("database_url '" + u + "' has no file path");
    return rest;
  }
  auto colon = u.find("://");
  if (colon != std::string::npos) {
    throw std::runtime_error("database_url scheme '" + u.substr(0, colon) +
                             "://' is not supported yet: use sqlite:///relative/path or "
                             "sqlite:////absolute/path");
  }
  return u;  // a plain path
}

struct SqliteLedger::WriterDb {
  SQLite::Database db;
  RawStmt insert, insert_many, fts_insert;
  SQLite::Statement meta_add, max_id, written_since;
  std::vector<std::unique_ptr<SQLite::Statement>> rollups;  // one per kRollups entry
  SQLite::Statement retention_ids, fts_delete, del;
  explicit WriterDb(const std::string& path)
      // One thread uses this connection: no SQLite mutex per call. Its file writes go through
      // the yielding VFS (store/yielding_vfs.hpp): a COMMIT or a checkpoint offers the CPU too.
      : db(path, SQLite::OPEN_READWRITE | SQLite::OPEN_CREATE | SQLite::OPEN_NOMUTEX, 0,
           yielding_vfs_name()),
        insert((configure_connection(db, 1000, true), migrate(db), db),
               insert_sql(1, true).c_str()),
        // OR IGNORE here too: a statement that cannot abort needs no statement journal (a plain
        // multi-row INSERT copied every page it touched into one; dropping it took the writer
        // bench from 63k to 49k instructions per row). A duplicate request_id is skipped;
        // write_batch finds which by id.
        insert_many(db, insert_sql(kRecordsPerInsert, true).c_str()),
        fts_insert(db,
                   "INSERT INTO spend_logs_fts (rowid, messages, response, error_message)"
                   " VALUES (?, ?, ?, ?)"),
        meta_add(db, "UPDATE ledger_meta SET v = v + ? WHERE k = 'spend_logs_rows'"),
        max_id(db, "SELECT coalesce(max(id), 0) FROM spend_logs"),
        // A new row's id is the largest one + 1: the rows after `top` are the ones written since.
        written_since(db, "SELECT id, request_id FROM spend_logs WHERE id > ? ORDER BY id"),
        retention_ids(db,
                      "SELECT id FROM spend_logs WHERE startTime < ? ORDER BY startTime LIMIT ?"),
        // Only a row the index holds is removed from it: FTS5's 'delete' of a row it never
        // indexed (no bodies, no error message) still lowers its row count, and once that count
        // would go below zero every statement on the index fails with "database disk image is
        // malformed". The docsize table has one row per indexed row.
        fts_delete(db,
                   "INSERT INTO spend_logs_fts (spend_logs_fts, rowid, messages, response,"
                   " error_message) SELECT 'delete', id, messages, response, error_message"
                   " FROM spend_logs WHERE id = ?1"
                   " AND EXISTS (SELECT 1 FROM spend_logs_fts_docsize WHERE id = ?1)"),
        del(db, "DELETE FROM spend_logs WHERE id = ?") {
    for (const auto& r : kRollups)
      rollups.push_back(std::make_unique<SQLite::Statement>(db, rollup_upsert_sql(r.table)));
  }
};

SqliteLedger::SqliteLedger(LedgerSettings s) : s_(std::move(s)) {
  path_ = resolve_database_path(s_);  // throws for postgresql:// etc.
  lock_ = lock_database_file(path_);  // throws DatabaseInUse: another process has the file
  if (s_.batch_max_records == 0) s_.batch_max_records = 1;
  if (s_.queue_max_records == 0) s_.queue_max_records = 1;
  if (!(s_.batch_write_at_s > 0)) s_.batch_write_at_s = 1;
  pending_.reserve(usual_queue_capacity(s_));
  // Open once synchronously so a good path is ready (and migrated) before the first request;
  // a bad one is logged and retried by the writer: the gateway keeps serving either way.
  ensure_writer_db();
  writer_ = std::thread([this] {
    set_thread_name("llmgate-ledger");
    writer_loop();
  });
}

SqliteLedger::~SqliteLedger() { shutdown(); }

void SqliteLedger::submit(RequestRecord&& r) {
  if (!s_.store_bodies) {
    r.request_body.clear();
    r.response_body.clear();
  } else {
    if (truncate_utf8(r.request_body, s_.max_body_log_bytes)) r.request_truncated = true;
    if (truncate_utf8(r.response_body, s_.max_body_log_bytes)) r.response_truncated = true;
  }
  const std::size_t bytes = record_bytes(r);
  bool wake = false, dropped = false;
  {
    std::lock_guard lk(mu_);
    const std::size_t n = pending_.size() + inflight_;
    if (shut_down_ || n >= s_.queue_max_records ||
        pending_bytes_ + inflight_bytes_ + bytes > s_.queue_max_bytes) {
      dropped = true;
    } else {
      pending_.push_back(std::move(r));
      pending_bytes_ += bytes;
      ++submitted_;
      wake = pending_.size() == s_.batch_max_records;
    }
  }
  if (dropped) {
    dropped_.fetch_add(1, std::memory_order_relaxed);
    warn_drop_rate_limited();
  } else if (wake) {
    cv_.notify_one();
  }
}

void SqliteLedger::warn_drop_rate_limited() {
  drops_since_warn_.fetch_add(1, std::memory_order_relaxed);
  int64_t now = now_unix_us();
  int64_t last = last_drop_warn_us_.load(std::memory_order_relaxed);
  if (now - last < 10'000'000) return;
  if (!last_drop_warn_us_.compare_exchange_strong(last, now)) return;
  uint64_t n = drops_since_warn_.exchange(0);
  spdlog::warn("ledger: queue full (max {} records / {} bytes): dropped {} log records",
               s_.queue_max_records, s_.queue_max_bytes, n);
}

LedgerStats SqliteLedger::stats() const {
  LedgerStats st;
  {
    std::lock_guard lk(mu_);
    st.queued = pending_.size() + inflight_;
    st.queued_bytes = pending_bytes_ + inflight_bytes_;
  }
  st.written = written_.load();
  st.dropped = dropped_.load();
  st.db_errors = db_errors_.load();
  st.batches = batches_.load();
  st.last_batch_seconds = last_batch_s_.load();
  return st;
}

bool SqliteLedger::ensure_writer_db() {
  if (wdb_) return true;
  try {
    std::filesystem::path p(path_);
    if (p.has_parent_path()) {
      std::error_code ec;
      std::filesystem::create_directories(p.parent_path(), ec);
    }
    wdb_ = std::make_unique<WriterDb>(path_);
    return true;
  } catch (const std::exception& e) {
    db_errors_.fetch_add(1, std::memory_order_relaxed);
    spdlog::error("ledger: cannot open database '{}': {} (will retry; requests are not affected)",
                  path_, e.what());
    return false;
  }
}

bool SqliteLedger::write_batch(std::vector<RequestRecord>& batch, std::size_t b, std::size_t e) {
  if (!ensure_writer_db()) return false;
  const auto t0 = Clock::now();
  take_failed_io_errno();  // only this batch's failures are reported with it
  WriterDb& w = *wdb_;
  HourCells cells;
  std::vector<std::string> scratch(kRecordsPerInsert * kScratchPerRecord);  // sanitized copies (rare)
  int64_t inserted = 0;
  int64_t top = 0;  // the largest id in spend_logs (read when the transaction starts)
  // The full-text row of a written record with text (sanitising keeps a text non-empty).
  auto add_fts = [&](int64_t id, const BoundRecord& v) {
    w.fts_insert.reset();
    w.fts_insert.i64(1, id);
    w.fts_insert.text(2, v.request_body);
    w.fts_insert.text(3, v.response_body);
    w.fts_insert.text(4, v.error_message);
    w.fts_insert.exec();
  };
  // One record, INSERT OR IGNORE; true when written. A record the database refuses is counted
  // and skipped; an error that concerns the whole database throws (the batch is retried).
  auto insert_record = [&](const RequestRecord& r) {
    try {
      auto& st = w.insert;
      st.reset();
      const BoundRecord v = bind_record(st, 0, r, scratch.data());
      st.exec();
      if (w.db.getChanges() != 1) {  // duplicate request_id: the first one wins
        rejected_.fetch_add(1, std::memory_order_relaxed);
        return false;
      }
      top = w.db.getLastInsertRowid();
      if (has_fts_text(r)) add_fts(top, v);
      add_to_rollups(cells, static_cast<uint64_t>(inserted) + 1, r, v);
      return true;
    } catch (const SQLite::Exception& ex) {
      if (is_db_level_error(ex.getErrorCode())) throw;
      // One bad record never loses the batch: skip it and keep going.
      rejected_.fetch_add(1, std::memory_order_relaxed);
      spdlog::warn("ledger: record rejected by the database ({}); the rest of the batch is kept",
                   ex.what());
      return false;
    }
  };
  // The rowids of the records v[0..kRecordsPerInsert) one statement wrote (0: not written):
  // the rows after `top`, in the order of its VALUES (a record it skipped shares its request_id
  // with an earlier row, so matching in order cannot take a later record's row for it). Moves
  // `top` past them.
  auto written_since_top = [&](const std::array<BoundRecord, kRecordsPerInsert>& v) {
    std::array<int64_t, kRecordsPerInsert> ids{};
    std::size_t j = 0;
    w.written_since.reset();
    w.written_since.bind(1, top);
    while (w.written_since.executeStep()) {
      top = w.written_since.getColumn(0).getInt64();
      const std::string rid = w.written_since.getColumn(1).getString();
      while (j < kRecordsPerInsert && v[j].request_id != rid) ++j;
      if (j < kRecordsPerInsert) ids[j++] = top;
    }
    w.written_since.reset();
    return ids;
  };
  // The records batch[idx[0..kRecordsPerInsert)] in one statement, then the full-text rows of
  // those with text; the rowid of each (0: not written, a duplicate request_id is skipped).
  auto insert_records = [&](const std::array<std::size_t, kRecordsPerInsert>& idx) {
    auto& st = w.insert_many;
    st.reset();
    std::array<BoundRecord, kRecordsPerInsert> v;
    std::array<int64_t, kRecordsPerInsert> ids;
    try {
      for (std::size_t j = 0; j < kRecordsPerInsert; ++j)
        v[j] = bind_record(st, static_cast<int>(j) * kValuesPerRecord, batch[idx[j]],
                           scratch.data() + j * kScratchPerRecord);
      st.exec();
      if (w.db.getChanges() == static_cast<int>(kRecordsPerInsert)) {
        // A new row's id is the largest + 1: the statement's rows are consecutive.
        top = w.db.getLastInsertRowid();
        for (std::size_t j = 0; j < kRecordsPerInsert; ++j)
          ids[j] = top - static_cast<int64_t>(kRecordsPerInsert - 1 - j);
      } else {
        ids = written_since_top(v);
      }
    } catch (const SQLite::Exception& ex) {
      if (is_db_level_error(ex.getErrorCode())) throw;
      // A value SQLite refused to bind (nothing written), or a statement that failed part way:
      // without a statement journal it keeps the rows it wrote before failing.
      ids = written_since_top(v);
    }
    for (std::size_t j = 0; j < kRecordsPerInsert; ++j)
      if (ids[j] != 0) {
        if (has_fts_text(batch[idx[j]])) add_fts(ids[j], v[j]);
        add_to_rollups(cells, static_cast<uint64_t>(inserted) + 1, batch[idx[j]], v[j]);
        ++inserted;
      }
    return ids;
  };
  auto one = [&](std::size_t i) {
    if (!insert_record(batch[i])) return;
    ++inserted;
    // A batch is milliseconds of CPU. Run unbroken, it kept whatever the gateway waits on (the
    // upstream, the client) off its CPU for the scheduler's whole slice: 1-connection p99 went
    // from ~0.2 ms with the ledger off to 3-7 ms with it on. Offering the CPU every ~200 us
    // bounds that wait (store/yielding_vfs.hpp; the COMMIT's writes do the same).
    if ((inserted & 7) == 0) yield_point();
  };
  try {
    SQLite::Transaction tx(w.db, SQLite::TransactionBehavior::IMMEDIATE);
    w.max_id.reset();
    if (w.max_id.executeStep()) top = w.max_id.getColumn(0).getInt64();
    w.max_id.reset();
    // Records go in kRecordsPerInsert at a time, in the batch's order (the rowid order readers
    // page by); the last few one by one.
    std::array<std::size_t, kRecordsPerInsert> group;
    std::size_t grouped = 0;
    for (std::size_t i = b; i < e; ++i) {
      group[grouped++] = i;
      if (grouped < kRecordsPerInsert) continue;
      grouped = 0;
      const auto ids = insert_records(group);
      // The rare record it skipped goes in alone, where a duplicate or a refusal is counted.
      for (std::size_t j = 0; j < kRecordsPerInsert; ++j)
        if (ids[j] == 0) one(group[j]);
      yield_point();
    }
    for (std::size_t j = 0; j < grouped; ++j) one(group[j]);
    const RollupMaps rollups = fold_rollups(cells);
    for (std::size_t ri = 0; ri < kNumRollups; ++ri) {
      SQLite::Statement& st = *w.rollups[ri];
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
    w.meta_add.reset();
    w.meta_add.bind(1, static_cast<int64_t>(inserted));
    w.meta_add.exec();
    tx.commit();
  } catch (const std::exception& ex) {
    db_errors_.fetch_add(1, std::memory_order_relaxed);
    int code = 0;
    if (auto* se = dynamic_cast<const SQLite::Exception*>(&ex)) code = se->getErrorCode();
    // SQLite says "disk I/O error" for most failed writes; the OS's reason (EFBIG, EIO, EROFS)
    // tells an operator what to fix.
    std::string why = ex.what();
    if (const int os = take_failed_io_errno(); os != 0 && code != 0) why += std::string(": ") + std::strerror(os);
    spdlog::warn("ledger: batch of {} records not committed ({}); retrying with backoff", e - b, why);
    if (code == 0 || needs_reopen(code)) wdb_.reset();
    return false;
  }
  const double secs = std::chrono::duration<double>(Clock::now() - t0).count();
  last_batch_s_.store(secs, std::memory_order_relaxed);
  batches_.fetch_add(1, std::memory_order_relaxed);
  written_.fetch_add(static_cast<uint64_t>(inserted), std::memory_order_relaxed);
  return true;
}

// Retention: small DELETE transactions (<= 1000 rows each, <= ~50 ms per pass) so neither
// readers nor the next batch wait long. Rollups are kept.
void SqliteLedger::run_retention(WriterDb& w) {
  const int64_t cutoff = now_unix_us() - static_cast<int64_t>(s_.retention_s * 1e6);
  const auto deadline = Clock::now() + std::chrono::milliseconds(50);
  try {
    while (Clock::now() < deadline) {
      std::vector<int64_t> ids;
      w.retention_ids.reset();
      w.retention_ids.bind(1, static_cast<int64_t>(cutoff));
      w.retention_ids.bind(2, static_cast<int64_t>(1000));
      while (w.retention_ids.executeStep()) ids.push_back(w.retention_ids.getColumn(0).getInt64());
      w.retention_ids.reset();
      if (ids.empty()) break;
      SQLite::Transaction tx(w.db, SQLite::TransactionBehavior::IMMEDIATE);
      for (int64_t id : ids) {
        w.fts_delete.reset();
        w.fts_delete.bind(1, id);
        w.fts_delete.exec();
        w.del.reset();
        w.del.bind(1, id);
        w.del.exec();
      }
      w.meta_add.reset();
      w.meta_add.bind(1, -static_cast<int64_t>(ids.size()));
      w.meta_add.exec();
      tx.commit();
      if (ids.size() < 1000) break;
    }
  } catch (const std::exception& ex) {
    db_errors_.fetch_add(1, std::memory_order_relaxed);
    spdlog::warn("ledger: retention pass failed ({}); will retry", ex.what());
  }
}

void SqliteLedger::run_maintenance(bool force_checkpoint) {
  if (!wdb_) return;
  const auto now = Clock::now();
  WriterDb& w = *wdb_;
  if (now - last_maintenance_ >= std::chrono::seconds(2)) {
    last_maintenance_ = now;
    // Not at shutdown: the check may take minutes.
    if (!fts_verified_ && !force_checkpoint && now >= fts_retry_at_) verify_fts_once();
    if (s_.retention_s > 0) run_retention(w);
  }
  // Checkpoints: SQLite's auto-checkpoint runs PASSIVE ones on commit; we add a TRUNCATE one
  // when idle or at shutdown so the -wal file does not stay large.
  if (force_checkpoint || now - last_checkpoint_ >= std::chrono::seconds(30)) {
    last_checkpoint_ = now;
    try {
      w.db.setBusyTimeout(force_checkpoint ? 1000 : 0);
      w.db.exec(force_checkpoint ? "PRAGMA wal_checkpoint(TRUNCATE)" : "PRAGMA wal_checkpoint(PASSIVE)");
    } catch (const std::exception& ex) {
      spdlog::debug("ledger: checkpoint skipped: {}", ex.what());
    }
    try { w.db.setBusyTimeout(1000); } catch (...) {}
  }
}

// Earlier versions' retention told the full-text index to forget rows it never held, which
// lowered the index's row count and could commit that damage; retention then fails with
// "database disk image is malformed" once the count would go below zero. A database is checked
// once (ledger_meta 'fts_checked'; a database created by this version is marked at creation):
// FTS5's integrity-check (the index's own structure, ~20 s per GB of index) and its row count
// against the rows it holds; the index is rebuilt from spend_logs when either fails. On the
// writer thread: records wait in the queue meanwhile.
void SqliteLedger::verify_fts_once() {
  WriterDb& w = *wdb_;
  try {
    if (w.db.execAndGet("SELECT count(*) FROM ledger_meta WHERE k = 'fts_checked'").getInt() > 0) {
      fts_verified_ = true;
      return;
    }
    spdlog::info("ledger: checking the full-text index of '{}' (once per database)", path_);
    const auto t0 = Clock::now();
    auto secs = [&] { return std::chrono::duration<double>(Clock::now() - t0).count(); };
    std::string damage;
    try {
      // Without rank = 1: that also wants every spend_logs row indexed, and rows without text
      // are not.
      w.db.exec("INSERT INTO spend_logs_fts (spend_logs_fts) VALUES ('integrity-check')");
    } catch (const SQLite::Exception& ex) {
      if ((ex.getErrorCode() & 0xff) != SQLITE_CORRUPT) throw;
      damage = ex.what();
    }
    if (damage.empty()) {
      const int64_t counted = fts_row_count(w.db);
      const int64_t held =
          w.db.execAndGet("SELECT count(*) FROM spend_logs_fts_docsize").getInt64();
      if (counted != held)
        damage = "it counts " + std::to_string(counted) + " rows and holds " + std::to_string(held);
    }
    if (!damage.empty())
      spdlog::warn("ledger: the full-text index of '{}' is damaged ({}); rebuilding it from "
                   "spend_logs",
                   path_, damage);
    SQLite::Transaction tx(w.db, SQLite::TransactionBehavior::IMMEDIATE);
    if (!damage.empty()) rebuild_fts(w.db);
    w.db.exec("INSERT OR REPLACE INTO ledger_meta (k, v) VALUES ('fts_checked', 1)");
    tx.commit();
    fts_verified_ = true;
    if (!damage.empty())
      spdlog::warn("ledger: full-text index of '{}' rebuilt in {:.1f} s", path_, secs());
    else
      spdlog::info("ledger: full-text index of '{}' is sound ({:.1f} s)", path_, secs());
  } catch (const std::exception& ex) {
    db_errors_.fetch_add(1, std::memory_order_relaxed);
    // The check reads the whole index: a failing one is not repeated every pass.
    fts_retry_delay_ = std::min(fts_retry_delay_ * 2, std::chrono::seconds(3600));
    fts_retry_at_ = Clock::now() + fts_retry_delay_;
    spdlog::warn("ledger: full-text index check of '{}' failed ({}); retrying in {} s", path_,
                 ex.what(), fts_retry_delay_.count());
  }
}

void SqliteLedger::release_free_memory() {
  const auto t0 = Clock::now();
  malloc_trim(0);  // every arena: the workers' (records are built there) and the writer's
  spdlog::debug("ledger: heap trimmed after a backlog in {} us",
                std::chrono::duration_cast<std::chrono::microseconds>(Clock::now() - t0).count());
}

void SqliteLedger::writer_loop() {
  std::vector<RequestRecord> batch;
  std::size_t batch_bytes_left = 0;
  auto backoff = std::chrono::milliseconds(100);
  int failed_attempts = 0;  // in a row; the first success after them is logged
  std::optional<Clock::time_point> stop_deadline;
  const auto flush_every = std::chrono::duration_cast<Clock::duration>(
      std::chrono::duration<double>(s_.batch_write_at_s));
  BacklogRelease release(usual_queue_capacity(s_));
  for (;;) {
    {
      std::unique_lock lk(mu_);
      if (batch.empty()) {
        cv_.wait_for(lk, flush_every,
                     [&] { return stopping_ || flush_now_ || pending_.size() >= s_.batch_max_records; });
        flush_now_ = false;
        if (pending_.empty()) {
          if (stopping_) break;
          lk.unlock();
          run_maintenance(false);
          continue;
        }
        batch.swap(pending_);
        inflight_ = batch.size();
        inflight_bytes_ = pending_bytes_;
        batch_bytes_left = pending_bytes_;
        pending_bytes_ = 0;
      }
    }
    std::size_t done = 0;
    bool ok = true;
    while (done < batch.size()) {
      std::size_t end = std::min(batch.size(), done + s_.batch_max_records);
      // Fine yields inside the batch while the core has idle time, coarse ones when it is
      // saturated (store/yielding_vfs.hpp).
      const bool yields = yields_.next_batch_yields();
      set_fine_yields(yields);
      double run0 = 0, wait0 = 0, run1 = 0, wait1 = 0;
      const bool timed = thread_sched_times(run0, wait0);
      const bool was_on = yields_.on();
      const bool written = write_batch(batch, done, end);
      if (timed && thread_sched_times(run1, wait1)) yields_.observe(run1 - run0, wait1 - wait0, yields);
      if (yields_.on() != was_on)
        spdlog::debug("ledger: writer yields every {} (run-queue wait {:.1f}x its run time in the last batch)",
                      yields_.on() ? "~200 us" : "~1 ms", (wait1 - wait0) / std::max(1.0, run1 - run0));
      if (!written) { ok = false; break; }
      std::size_t bytes = 0;
      for (std::size_t i = done; i < end; ++i) bytes += record_bytes(batch[i]);
      {
        std::lock_guard lk(mu_);
        inflight_ -= end - done;
        inflight_bytes_ -= std::min(inflight_bytes_, bytes);
        settled_ += end - done;
      }
      batch_bytes_left -= std::min(batch_bytes_left, bytes);
      idle_cv_.notify_all();
      done = end;
    }
    if (ok) {
      if (failed_attempts > 0) {
        spdlog::info("ledger: database writable again after {} failed attempt(s); writing the {} record(s) queued meanwhile",
                     failed_attempts, stats().queued);
        failed_attempts = 0;
      }
      const bool backlog = release.oversized(batch.capacity());
      batch.clear();
      if (backlog) {
        std::vector<RequestRecord> usual;
        usual.reserve(release.usual_capacity());
        batch.swap(usual);
      }
      const auto now = Clock::now();
      if (release.release_pages_now(now)) release_unused_pages(batch, BacklogRelease::kKeepRecords);
      if (release.trim_now(backlog, now)) release_free_memory();
      backoff = std::chrono::milliseconds(100);
      run_maintenance(false);
      continue;
    }
    batch.erase(batch.begin(), batch.begin() + static_cast<std::ptrdiff_t>(done));
    ++failed_attempts;
    std::unique_lock lk(mu_);
    if (stopping_) {
      if (!stop_deadline) stop_deadline = Clock::now() + std::chrono::seconds(3);
      if (Clock::now() >= *stop_deadline) {
        spdlog::error("ledger: database unavailable at shutdown; {} queued records lost",
                      batch.size() + pending_.size());
        dropped_.fetch_add(batch.size() + pending_.size());
        settled_ += batch.size() + pending_.size();
        batch.clear();
        pending_.clear();
        pending_bytes_ = 0;
        inflight_ = inflight_bytes_ = 0;
        idle_cv_.notify_all();
        break;
      }
    }
    // Wait out the backoff (shutdown shortens nothing here: we still want the data written).
    cv_.wait_for(lk, backoff, [&] { return false; });
    backoff = std::min(backoff * 2, std::chrono::milliseconds(5000));
    if (stopping_) backoff = std::min(backoff, std::chrono::milliseconds(500));
  }
  run_maintenance(true);
  wdb_.reset();
}

void SqliteLedger::shutdown() {
  {
    std::lock_guard lk(mu_);
    if (shut_down_) return;
    stopping_ = true;
  }
  cv_.notify_all();
  if (writer_.joinable()) writer_.join();
  std::lock_guard lk(mu_);
  shut_down_ = true;
}

bool SqliteLedger::flush_for_test(std::chrono::milliseconds timeout) {
  std::unique_lock lk(mu_);
  const uint64_t target = submitted_;
  flush_now_ = true;
  cv_.notify_one();
  const auto deadline = Clock::now() + timeout;
  while (settled_ < target) {
    // Nudge the writer so it does not wait for the batch timer.
    flush_now_ = true;
    lk.unlock();
    cv_.notify_one();
    lk.lock();
    if (idle_cv_.wait_until(lk, std::min(deadline, Clock::now() + std::chrono::milliseconds(20)),
                            [&] { return settled_ >= target; }))
      return true;
    if (Clock::now() >= deadline) return false;
  }
  return true;
}

}  // namespace store
}  // namespace llmgate
