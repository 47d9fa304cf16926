#include "ledger/sqlite/sqlite_ledger.hpp"

#include <SQLiteCpp/Exception.h>
#include <SQLiteCpp/Transaction.h>
#include <spdlog/spdlog.h>
#include <sqlite3.h>

#include <algorithm>
#include <array>
#include <cstring>
#include <filesystem>
#include <stdexcept>

#include "ledger/sqlite/record_binding.hpp"
#include "ledger/sqlite/rollups.hpp"
#include "ledger/sqlite/schema.hpp"
#include "ledger/sqlite/yielding_vfs.hpp"
#include "llmgate/clock.hpp"

namespace llmgate {

std::unique_ptr<Ledger> Ledger::open(const LedgerSettings& s) { return std::make_unique<store::SqliteLedger>(s); }

namespace store {

namespace {

using Clock = std::chrono::steady_clock;

// Errors that concern the whole database (retry the batch later), as opposed to one record.
bool is_db_level_error(int code) {
  switch (code & 0xff) {
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
    case SQLITE_FULL:
    case SQLITE_IOERR:
    case SQLITE_READONLY:
    case SQLITE_CANTOPEN:
    case SQLITE_NOMEM:
    case SQLITE_CORRUPT:
    case SQLITE_NOTADB:
    case SQLITE_PERM:
    case SQLITE_PROTOCOL:
    case SQLITE_INTERRUPT:
    case SQLITE_ABORT:
    case SQLITE_SCHEMA:
    case SQLITE_MISUSE: return true;
    default: return false;
  }
}

// Errors after which the connection is reopened.
bool needs_reopen(int code) {
  switch (code & 0xff) {
    case SQLITE_CANTOPEN:
    case SQLITE_CORRUPT:
    case SQLITE_NOTADB:
    case SQLITE_IOERR:
    case SQLITE_READONLY:
    case SQLITE_PERM:
    case SQLITE_MISUSE: return true;
    default: return false;
  }
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

struct SqliteBatchWriter::WriterDb {
  SQLite::Database db;
  RawStmt insert, insert_many, fts_insert;
  SQLite::Statement meta_add, max_id, written_since;
  std::vector<std::unique_ptr<SQLite::Statement>> rollups;  // one per kRollups entry
  SQLite::Statement retention_ids, fts_delete, del;
  explicit WriterDb(const std::string& path)
      // One thread uses this connection: no SQLite mutex per call. Its file writes go through
      // the yielding VFS (store/yielding_vfs.hpp): a COMMIT or a checkpoint offers the CPU too.
      : db(path, SQLite::OPEN_READWRITE | SQLite::OPEN_CREATE | SQLite::OPEN_NOMUTEX, 0, yielding_vfs_name()),
        insert((configure_connection(db, 1000, true), migrate(db), db), insert_sql(1, true).c_str()),
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
        retention_ids(db, "SELECT id FROM spend_logs WHERE startTime < ? ORDER BY startTime LIMIT ?"),
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

SqliteBatchWriter::SqliteBatchWriter(std::string path, double retention_s)
    : path_(std::move(path)), retention_s_(retention_s) {
  // Open once synchronously so a good path is ready (and migrated) before the first request;
  // a bad one is logged and retried before each batch: the gateway keeps serving either way.
  ensure_writer_db();
}

SqliteBatchWriter::~SqliteBatchWriter() = default;

SqliteLedger::SqliteLedger(LedgerSettings s) : s_(std::move(s)) {
  path_ = resolve_database_path(s_);  // throws for postgresql:// etc.
  lock_ = lock_database_file(path_);  // throws DatabaseInUse: another process has the file
  writer_ = std::make_unique<SqliteBatchWriter>(path_, s_.retention_s);
  queue_ = std::make_unique<RecordQueue>(s_, *writer_);
}

SqliteLedger::~SqliteLedger() { shutdown(); }

bool SqliteBatchWriter::ensure_writer_db() {
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
    count_error();
    spdlog::error("ledger: cannot open database '{}': {} (will retry; requests are not affected)", path_, e.what());
    return false;
  }
}

std::optional<std::size_t> SqliteBatchWriter::write(const std::vector<RequestRecord>& batch, std::size_t begin,
                                                    std::size_t end) {
  // Fine yields inside the batch while the core has idle time, coarse ones when it is
  // saturated (store/yielding_vfs.hpp).
  const bool yields = yields_.next_batch_yields();
  set_fine_yields(yields);
  double run0 = 0, wait0 = 0, run1 = 0, wait1 = 0;
  const bool timed = thread_sched_times(run0, wait0);
  const bool was_on = yields_.on();
  auto written = write_batch(batch, begin, end);
  if (timed && thread_sched_times(run1, wait1)) yields_.observe(run1 - run0, wait1 - wait0, yields);
  if (yields_.on() != was_on)
    spdlog::debug("ledger: writer yields every {} (run-queue wait {:.1f}x its run time in the last batch)",
                  yields_.on() ? "~200 us" : "~1 ms", (wait1 - wait0) / std::max(1.0, run1 - run0));
  return written;
}

// One write_batch(): the rows go in kRecordsPerInsert to a statement, each written row is
// added to the batch's rollup cells, and those with text get their full-text row.
struct SqliteBatchWriter::BatchRun {
  BatchRun(WriterDb& db, const std::vector<RequestRecord>& records) : w(db), batch(records) {}
  WriterDb& w;
  const std::vector<RequestRecord>& batch;
  HourCells cells;
  std::vector<std::string> scratch =  // sanitized copies (rare)
      std::vector<std::string>(kRecordsPerInsert * kScratchPerRecord);
  int64_t inserted = 0;
  int64_t top = 0;  // the largest id in spend_logs (read when the transaction starts)
  using Ids = std::array<int64_t, kRecordsPerInsert>;
  using Group = std::array<std::size_t, kRecordsPerInsert>;

  // Records [b, e) in kRecordsPerInsert at a time, in the batch's order (the rowid order
  // readers page by); the last few one by one.
  void insert_range(std::size_t b, std::size_t e) {
    w.max_id.reset();
    if (w.max_id.executeStep()) top = w.max_id.getColumn(0).getInt64();
    w.max_id.reset();
    Group group;
    std::size_t grouped = 0;
    for (std::size_t i = b; i < e; ++i) {
      group[grouped++] = i;
      if (grouped < kRecordsPerInsert) continue;
      grouped = 0;
      const Ids ids = insert_group(group);
      // The rare record it skipped goes in alone, where a duplicate or a refusal is counted.
      for (std::size_t j = 0; j < kRecordsPerInsert; ++j)
        if (ids[j] == 0) one(group[j]);
      yield_point();
    }
    for (std::size_t j = 0; j < grouped; ++j) one(group[j]);
  }

  // The full-text row of a written record with text (sanitising keeps a text non-empty).
  void add_fts(int64_t id, const BoundRecord& v) {
    w.fts_insert.reset();
    w.fts_insert.i64(1, id);
    w.fts_insert.text(2, v.request_body);
    w.fts_insert.text(3, v.response_body);
    w.fts_insert.text(4, v.error_message);
    w.fts_insert.exec();
  }

  // One record, INSERT OR IGNORE; true when written. A record the database refuses is logged
  // and skipped; an error that concerns the whole database throws (the batch is retried).
  bool insert_one(const RequestRecord& r) {
    try {
      auto& st = w.insert;
      st.reset();
      const BoundRecord v = bind_record(st, 0, r, scratch.data());
      st.exec();
      if (w.db.getChanges() != 1) return false;  // duplicate request_id: the first one wins
      top = w.db.getLastInsertRowid();
      if (has_fts_text(r)) add_fts(top, v);
      add_to_rollups(cells, static_cast<uint64_t>(inserted) + 1, r, v);
      return true;
    } catch (const SQLite::Exception& ex) {
      if (is_db_level_error(ex.getErrorCode())) throw;
      // One bad record never loses the batch: skip it and keep going.
      spdlog::warn("ledger: record rejected by the database ({}); the rest of the batch is kept", ex.what());
      return false;
    }
  }

  void one(std::size_t i) {
    if (!insert_one(batch[i])) return;
    ++inserted;
    // A batch is milliseconds of CPU. Run unbroken, it kept whatever the gateway waits on (the
    // upstream, the client) off its CPU for the scheduler's whole slice: 1-connection p99 went
    // from ~0.2 ms with the ledger off to 3-7 ms with it on. Offering the CPU every ~200 us
    // bounds that wait (store/yielding_vfs.hpp; the COMMIT's writes do the same).
    if ((inserted & 7) == 0) yield_point();
  }

  // The rowids of the records v[0..kRecordsPerInsert) one statement wrote (0: not written):
  // the rows after `top`, in the order of its VALUES (a record it skipped shares its request_id
  // with an earlier row, so matching in order cannot take a later record's row for it). Moves
  // `top` past them.
  Ids written_since_top(const std::array<BoundRecord, kRecordsPerInsert>& v) {
    Ids ids{};
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
  }

  // The records batch[idx[0..kRecordsPerInsert)] in one statement, then the full-text rows of
  // those with text; the rowid of each (0: not written, a duplicate request_id is skipped).
  Ids insert_group(const Group& idx) {
    auto& st = w.insert_many;
    st.reset();
    std::array<BoundRecord, kRecordsPerInsert> v;
    Ids ids;
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
  }
};

std::optional<std::size_t> SqliteBatchWriter::write_batch(const std::vector<RequestRecord>& batch, std::size_t b,
                                                          std::size_t e) {
  if (!ensure_writer_db()) return std::nullopt;
  take_failed_io_errno();  // only this batch's failures are reported with it
  BatchRun run(*wdb_, batch);
  try {
    SQLite::Transaction tx(run.w.db, SQLite::TransactionBehavior::IMMEDIATE);
    run.insert_range(b, e);
    upsert_rollups(run.w.rollups, run.cells);
    run.w.meta_add.reset();
    run.w.meta_add.bind(1, static_cast<int64_t>(run.inserted));
    run.w.meta_add.exec();
    tx.commit();
  } catch (const std::exception& ex) {
    count_error();
    int code = 0;
    if (auto* se = dynamic_cast<const SQLite::Exception*>(&ex)) code = se->getErrorCode();
    // SQLite says "disk I/O error" for most failed writes; the OS's reason (EFBIG, EIO, EROFS)
    // tells an operator what to fix.
    std::string why = ex.what();
    if (const int os = take_failed_io_errno(); os != 0 && code != 0) why += std::string(": ") + std::strerror(os);
    spdlog::warn("ledger: batch of {} records not committed ({}); retrying with backoff", e - b, why);
    if (code == 0 || needs_reopen(code)) wdb_.reset();
    return std::nullopt;
  }
  return static_cast<std::size_t>(run.inserted);
}

// Retention: small DELETE transactions (<= 1000 rows each, <= ~50 ms per pass) so neither
// readers nor the next batch wait long. Rollups are kept.
void SqliteBatchWriter::run_retention(WriterDb& w) {
  const int64_t cutoff = now_unix_us() - static_cast<int64_t>(retention_s_ * 1e6);
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
    count_error();
    spdlog::warn("ledger: retention pass failed ({}); will retry", ex.what());
  }
}

void SqliteBatchWriter::idle(bool final) {
  if (!wdb_) return;
  const auto now = Clock::now();
  WriterDb& w = *wdb_;
  if (now - last_maintenance_ >= std::chrono::seconds(2)) {
    last_maintenance_ = now;
    // Not at shutdown: the check may take minutes.
    if (!fts_verified_ && !final && now >= fts_retry_at_) verify_fts_once();
    if (retention_s_ > 0) run_retention(w);
  }
  // Checkpoints: SQLite's auto-checkpoint runs PASSIVE ones on commit; we add a TRUNCATE one
  // when idle or at shutdown so the -wal file does not stay large.
  if (final || now - last_checkpoint_ >= std::chrono::seconds(30)) {
    last_checkpoint_ = now;
    try {
      w.db.setBusyTimeout(final ? 1000 : 0);
      w.db.exec(final ? "PRAGMA wal_checkpoint(TRUNCATE)" : "PRAGMA wal_checkpoint(PASSIVE)");
    } catch (const std::exception& ex) {
      spdlog::debug("ledger: checkpoint skipped: {}", ex.what());
    }
    try {
      w.db.setBusyTimeout(1000);
    } catch (...) {
    }
  }
  if (final) wdb_.reset();
}

// Earlier versions' retention told the full-text index to forget rows it never held, which
// lowered the index's row count and could commit that damage; retention then fails with
// "database disk image is malformed" once the count would go below zero. A database is checked
// once (ledger_meta 'fts_checked'; a database created by this version is marked at creation):
// FTS5's integrity-check (the index's own structure, ~20 s per GB of index) and its row count
// against the rows it holds; the index is rebuilt from spend_logs when either fails. On the
// writer thread: records wait in the queue meanwhile.
void SqliteBatchWriter::verify_fts_once() {
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
      const int64_t held = w.db.execAndGet("SELECT count(*) FROM spend_logs_fts_docsize").getInt64();
      if (counted != held) damage = "it counts " + std::to_string(counted) + " rows and holds " + std::to_string(held);
    }
    if (!damage.empty())
      spdlog::warn(
          "ledger: the full-text index of '{}' is damaged ({}); rebuilding it from "
          "spend_logs",
          path_, damage);
    SQLite::Transaction tx(w.db, SQLite::TransactionBehavior::IMMEDIATE);
    if (!damage.empty()) rebuild_fts(w.db);
    w.db.exec("INSERT OR REPLACE INTO ledger_meta (k, v) VALUES ('fts_checked', 1)");
    tx.commit();
    fts_verified_ = true;
    if (!damage.empty()) spdlog::warn("ledger: full-text index of '{}' rebuilt in {:.1f} s", path_, secs());
    else spdlog::info("ledger: full-text index of '{}' is sound ({:.1f} s)", path_, secs());
  } catch (const std::exception& ex) {
    count_error();
    // The check reads the whole index: a failing one is not repeated every pass.
    fts_retry_delay_ = std::min(fts_retry_delay_ * 2, std::chrono::seconds(3600));
    fts_retry_at_ = Clock::now() + fts_retry_delay_;
    spdlog::warn("ledger: full-text index check of '{}' failed ({}); retrying in {} s", path_, ex.what(),
                 fts_retry_delay_.count());
  }
}

}  // namespace store
}  // namespace llmgate
