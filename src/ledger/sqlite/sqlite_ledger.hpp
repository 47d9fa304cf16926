#pragma once
// The SQLite implementation of llmgate::Ledger (private to src/store).
//
// Threads: submit() runs on worker threads and only takes `mu_` long enough to move a record
// into `pending_` (Envoy access-log style). The writer thread swaps `pending_` out, writes it in
// transactions of at most batch_max_records, and between batches runs retention and checkpoints.
// query() runs on reader threads with connections from a small pool (never the writer's).
#include <SQLiteCpp/Database.h>
#include <SQLiteCpp/Statement.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "llmgate/ledger.hpp"
#include "store/db_lock.hpp"
#include "store/yielding_vfs.hpp"

namespace llmgate::store {

// Resolves general_settings.database_url to a file path. Throws std::runtime_error for an
// unsupported scheme (postgresql://...). "" -> "./data/llmgate.db".
std::string resolve_database_path(const LedgerSettings& s);

class SqliteLedger final : public Ledger {
 public:
  explicit SqliteLedger(LedgerSettings s);
  ~SqliteLedger() override;

  void submit(RequestRecord&& r) override;
  void shutdown() override;
  LedgerStats stats() const override;
  nlohmann::json query(const std::string& name,
                       const std::multimap<std::string, std::string>& params) override;
  std::string database_path() const override { return path_; }

  // Test/bench hooks: wait until everything submitted so far is committed (or dropped).
  // Returns false on timeout.
  bool flush_for_test(std::chrono::milliseconds timeout);
  // Test hook: each statement query(name, params) runs (with its values) followed by its
  // EXPLAIN QUERY PLAN lines, one string per statement.
  std::vector<std::string> query_plans_for_test(
      const std::string& name, const std::multimap<std::string, std::string>& params);

 private:
  struct WriterDb;  // writer connection + prepared statements
  void writer_loop();
  static void release_free_memory();  // glibc malloc_trim(0), as main.cpp uses glibc's mallopt
  bool write_batch(std::vector<RequestRecord>& batch, std::size_t begin, std::size_t end);
  bool ensure_writer_db();
  void run_maintenance(bool force_checkpoint);
  void run_retention(WriterDb& w);
  void verify_fts_once();
  void warn_drop_rate_limited();

  // Readers.
  struct ReadConn;
  nlohmann::json run_query(SQLite::Database& db, const std::string& name,
                           const std::multimap<std::string, std::string>& params);
  std::unique_ptr<SQLite::Database> acquire_reader();
  void release_reader(std::unique_ptr<SQLite::Database> db);
  nlohmann::json q_logs(SQLite::Database& db, const std::multimap<std::string, std::string>& p);
  nlohmann::json q_log(SQLite::Database& db, const std::multimap<std::string, std::string>& p);
  nlohmann::json q_usage(SQLite::Database& db, const std::multimap<std::string, std::string>& p);
  nlohmann::json q_summary(SQLite::Database& db, const std::multimap<std::string, std::string>& p);
  nlohmann::json q_stats(SQLite::Database& db);
  nlohmann::json q_spend_logs(SQLite::Database& db,
                              const std::multimap<std::string, std::string>& p);
  nlohmann::json q_global_spend(SQLite::Database& db,
                                const std::multimap<std::string, std::string>& p);

  LedgerSettings s_;
  std::string path_;
  std::shared_ptr<const DbFileLock> lock_;  // one process per database file (store/db_lock.hpp)

  // Queue (guarded by mu_).
  mutable std::mutex mu_;
  std::condition_variable cv_;          // wakes the writer
  std::condition_variable idle_cv_;     // signals flush_for_test waiters
  std::vector<RequestRecord> pending_;
  std::size_t pending_bytes_ = 0;
  bool stopping_ = false;
  bool flush_now_ = false;              // flush_for_test(): do not wait for the timer
  uint64_t submitted_ = 0;              // accepted into the queue
  uint64_t settled_ = 0;                // committed, rejected or given up (writer)
  std::size_t inflight_ = 0, inflight_bytes_ = 0;  // swapped out, not yet committed

  // Counters (relaxed atomics, read by stats()).
  std::atomic<uint64_t> written_{0}, dropped_{0}, db_errors_{0}, batches_{0}, rejected_{0};
  std::atomic<double> last_batch_s_{0};
  std::atomic<int64_t> last_drop_warn_us_{0};
  std::atomic<uint64_t> drops_since_warn_{0};

  std::unique_ptr<WriterDb> wdb_;  // writer thread only
  YieldGovernor yields_;           // writer thread only: yield inside batches or not
  std::chrono::steady_clock::time_point last_maintenance_{};
  std::chrono::steady_clock::time_point last_checkpoint_{};
  int64_t retention_cursor_ = 0;  // writer thread only
  bool fts_verified_ = false;     // writer thread only: verify_fts_once() is done
  std::chrono::steady_clock::time_point fts_retry_at_{};  // writer thread only
  std::chrono::seconds fts_retry_delay_{15};              // doubled before each retry
  std::thread writer_;
  bool shut_down_ = false;

  std::mutex readers_mu_;
  std::vector<std::unique_ptr<SQLite::Database>> readers_;
};

}  // namespace llmgate::store
