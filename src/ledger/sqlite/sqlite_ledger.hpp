#pragma once
// The SQLite implementation of llmgate::Ledger (private to src/ledger/sqlite).
//
// Records go through the backend-neutral RecordQueue (ledger/record_queue.hpp), whose writer
// thread hands them to SqliteBatchWriter: a batch in one transaction, retention and checkpoints
// between batches. The LedgerReader queries run on reader threads with connections from a small
// pool (never the writer's).
#include <SQLiteCpp/Database.h>
#include <SQLiteCpp/Exception.h>
#include <SQLiteCpp/Statement.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "ledger/record_queue.hpp"
#include "ledger/sqlite/db_lock.hpp"
#include "ledger/sqlite/yielding_vfs.hpp"
#include "llmgate/ledger.hpp"

namespace llmgate::store {

// Resolves general_settings.database_url to a file path. Throws std::runtime_error for an
// unsupported scheme (postgresql://...). "" -> "./data/llmgate.db".
std::string resolve_database_path(const LedgerSettings& s);

// Writes the queue's batches to the SQLite file at `path` (spend_logs, its full-text rows and
// the rollups in one transaction). Opens (creating and migrating) the database at construction;
// a failed open is logged, counted and retried before each batch.
class SqliteBatchWriter final : public BatchWriter {
 public:
  SqliteBatchWriter(std::string path, double retention_s);
  ~SqliteBatchWriter() override;
  std::optional<std::size_t> write(const std::vector<RequestRecord>& batch, std::size_t begin,
                                   std::size_t end) override;
  void idle(bool final) override;

 private:
  struct WriterDb;  // writer connection + prepared statements
  struct BatchRun;  // one write_batch()
  std::optional<std::size_t> write_batch(const std::vector<RequestRecord>& batch, std::size_t b, std::size_t e);
  bool ensure_writer_db();
  void run_retention(WriterDb& w);
  void verify_fts_once();

  std::string path_;
  double retention_s_;
  std::unique_ptr<WriterDb> wdb_;
  YieldGovernor yields_;  // yield inside batches or not
  std::chrono::steady_clock::time_point last_maintenance_{};
  std::chrono::steady_clock::time_point last_checkpoint_{};
  bool fts_verified_ = false;  // verify_fts_once() is done
  std::chrono::steady_clock::time_point fts_retry_at_{};
  std::chrono::seconds fts_retry_delay_{15};  // doubled before each retry
};

class SqliteLedger final : public Ledger, private LedgerReader {
 public:
  explicit SqliteLedger(LedgerSettings s);
  ~SqliteLedger() override;

  void submit(RequestRecord&& r) override { queue_->submit(std::move(r)); }
  void shutdown() override { queue_->shutdown(); }
  LedgerStats stats() const override { return queue_->stats(); }
  std::string database_path() const override { return path_; }
  LedgerReader& reader() override { return *this; }

  // Test/bench hooks: wait until everything submitted so far is committed (or dropped).
  // Returns false on timeout.
  bool flush_for_test(std::chrono::milliseconds timeout) { return queue_->flush_for_test(timeout); }
  // Test hook: each statement `run` makes this ledger run (with its values) followed by its
  // EXPLAIN QUERY PLAN lines, one string per statement. Single-threaded use only.
  std::vector<std::string> query_plans_for_test(const std::function<void()>& run);

 private:
  // Readers.
  struct ReadConn;
  std::unique_ptr<SQLite::Database> acquire_reader();
  void release_reader(std::unique_ptr<SQLite::Database> db);
  void trace_plans(SQLite::Database& db, bool on);
  // LedgerReader (ledger_queries_logs.cpp, ledger_queries_usage.cpp, ledger_queries.cpp).
  LogPage logs(const LogFilter& f) override;
  std::optional<LogDetail> log(const std::string& request_id) override;
  std::vector<SpendLogRow> spend_logs(const SpendLogFilter& f) override;
  LogPage q_logs(SQLite::Database& db, const LogFilter& f);
  std::optional<LogDetail> q_log(SQLite::Database& db, const std::string& request_id);
  std::vector<SpendLogRow> q_spend_logs(SQLite::Database& db, const SpendLogFilter& f);
  std::vector<UsagePoint> usage(const UsageFilter& f) override;
  UsageSummary summary(const LedgerTimeRange& r) override;
  double total_spend() override;
  LedgerDbStats db_stats() override;
  std::vector<UsagePoint> q_usage(SQLite::Database& db, const UsageFilter& f);
  UsageSummary q_summary(SQLite::Database& db, const LedgerTimeRange& r);
  // Runs fn(connection) on a pooled reader connection; SQLite errors become runtime_error.
  template <class Fn>
  auto with_reader(Fn&& fn);

  LedgerSettings s_;
  std::string path_;
  std::shared_ptr<const DbFileLock> lock_;  // one process per database file (store/db_lock.hpp)

  std::unique_ptr<SqliteBatchWriter> writer_;
  std::unique_ptr<RecordQueue> queue_;  // after writer_: stops (and writes) before it closes

  std::mutex readers_mu_;
  std::vector<std::unique_ptr<SQLite::Database>> readers_;
  std::vector<std::string>* plan_trace_ = nullptr;  // query_plans_for_test's statement sink
};

template <class Fn>
auto SqliteLedger::with_reader(Fn&& fn) {
  try {
    auto db = acquire_reader();
    if (plan_trace_) trace_plans(*db, true);
    auto out = fn(*db);
    if (plan_trace_) trace_plans(*db, false);
    release_reader(std::move(db));
    return out;
  } catch (const SQLite::Exception& e) {
    // A broken connection is not returned to the pool.
    throw std::runtime_error(std::string("ledger database unavailable: ") + e.what());
  }
}

}  // namespace llmgate::store
