#pragma once
// The ledger's bounded record queue and its writer thread, apart from any database: a storage
// backend implements BatchWriter (one batch in one transaction, plus its idle work) and gets the
// bounds, drop counting, batching, retries with backoff and the flush at shutdown from here.
//
// Threads: submit() runs on worker threads and only takes `mu_` long enough to move a record
// into `pending_` (Envoy access-log style). The writer thread swaps `pending_` out, hands it to
// the BatchWriter in slices of at most batch_max_records, and between batches calls idle().
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

#include "llmgate/ledger.hpp"

namespace llmgate::store {

// What a storage backend writes. write() and idle() run on the queue's writer thread only.
class BatchWriter {
 public:
  virtual ~BatchWriter() = default;
  // Writes batch[begin, end) in one transaction and returns the rows written (a record the
  // database refuses, or a repeated request_id, is skipped and not counted), or nullopt when
  // nothing was committed: the queue retries the same records with backoff (100 ms doubling
  // to 5 s), so a failed attempt must leave nothing of them behind.
  virtual std::optional<std::size_t> write(const std::vector<RequestRecord>& batch, std::size_t begin,
                                           std::size_t end) = 0;
  // Between batches and when the queue is empty: retention, checkpoints. `final` once at
  // shutdown, after the last batch (a last checkpoint, close the connection).
  virtual void idle(bool final) = 0;
  // Failed database operations (llmgate_log_db_errors_total): failed batches, failed opens,
  // failed retention passes.
  uint64_t errors() const { return errors_.load(std::memory_order_relaxed); }

 protected:
  void count_error() { errors_.fetch_add(1, std::memory_order_relaxed); }

 private:
  std::atomic<uint64_t> errors_{0};
};

class RecordQueue {
 public:
  // Starts the writer thread ("llmgate-ledger"). `writer` must outlive the queue's shutdown().
  RecordQueue(const LedgerSettings& s, BatchWriter& writer);
  ~RecordQueue();
  RecordQueue(const RecordQueue&) = delete;
  RecordQueue& operator=(const RecordQueue&) = delete;

  // Caps the bodies (or drops them when body logging is off), then queues the record, or drops
  // and counts it when the queue is full. Never blocks on the database.
  void submit(RequestRecord&& r);
  // Writes everything queued (retrying a failing database for up to 3 s, then counting the
  // loss), runs the writer's final idle work and joins the thread. Idempotent.
  void shutdown();
  // queued, written, dropped, batches, last batch time; db_errors from the writer.
  LedgerStats stats() const;
  // Waits until everything submitted so far is committed, refused or given up; false on
  // timeout.
  bool flush_for_test(std::chrono::milliseconds timeout);

  // Bytes a record counts against queue_max_bytes.
  static std::size_t record_bytes(const RequestRecord& r);

 private:
  using Clock = std::chrono::steady_clock;
  void writer_loop();
  // Writes batch[done..) in slices; returns how far it got (batch.size() when all committed).
  std::size_t write_slices(std::vector<RequestRecord>& batch, std::size_t& bytes_left);
  bool give_up_at_shutdown(std::vector<RequestRecord>& batch, std::optional<Clock::time_point>& deadline);
  void warn_drop_rate_limited();
  static void release_free_memory();  // glibc malloc_trim(0), as main.cpp uses glibc's mallopt

  LedgerSettings s_;
  BatchWriter& writer_;

  // Queue (guarded by mu_).
  mutable std::mutex mu_;
  std::condition_variable cv_;       // wakes the writer
  std::condition_variable idle_cv_;  // signals flush_for_test waiters
  std::vector<RequestRecord> pending_;
  std::size_t pending_bytes_ = 0;
  bool stopping_ = false;
  bool flush_now_ = false;                         // flush_for_test(): do not wait for the timer
  uint64_t submitted_ = 0;                         // accepted into the queue
  uint64_t settled_ = 0;                           // committed, rejected or given up (writer)
  std::size_t inflight_ = 0, inflight_bytes_ = 0;  // swapped out, not yet committed
  bool shut_down_ = false;

  // Counters (relaxed atomics, read by stats()).
  std::atomic<uint64_t> written_{0}, dropped_{0}, batches_{0};
  std::atomic<double> last_batch_s_{0};
  std::atomic<int64_t> last_drop_warn_us_{0};
  std::atomic<uint64_t> drops_since_warn_{0};

  std::thread thread_;
};

}  // namespace llmgate::store
