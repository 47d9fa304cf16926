#pragma once
// When the ledger writer gives memory back after a backlog (the policy only; the writer in
// sqlite_ledger.cpp does the work).
//
// A backlog (the writer held up by a checkpoint's fsync or a busy core) grows the queue's
// vectors and the records' strings to its peak, and glibc keeps freed memory for reuse, so RSS
// would step up to every new peak and stay there. After a batch whose vector grew past twice
// its usual capacity, the writer replaces that vector by one of the usual capacity, and once a
// batch of normal size follows (the backlog is written) it trims the heap, at most once per
// interval. Vectors of 256 KiB and more are mapped by the allocator (main.cpp), so freeing them
// returns their pages at once; the trim returns the pages of the freed record strings.
#include <chrono>
#include <cstddef>

namespace llmgate::store {

class BacklogRelease {
 public:
  using Clock = std::chrono::steady_clock;

  explicit BacklogRelease(std::size_t usual_capacity,
                          Clock::duration min_interval = std::chrono::seconds(10))
      : usual_(usual_capacity), min_interval_(min_interval) {}

  std::size_t usual_capacity() const { return usual_; }

  // The capacity a written batch's vector had: true when it grew for a backlog (more than the
  // few records that arrive while the writer wakes up, which double it once).
  bool oversized(std::size_t capacity) const { return capacity > 2 * usual_; }

  // After every written batch; true when the heap should be trimmed now.
  bool trim_now(bool backlog_batch, Clock::time_point now) {
    due_ = due_ || backlog_batch;
    if (!due_ || backlog_batch) return false;
    if (trimmed_ && now - last_trim_ < min_interval_) return false;
    due_ = false;
    trimmed_ = true;
    last_trim_ = now;
    return true;
  }

 private:
  std::size_t usual_;
  Clock::duration min_interval_;
  bool due_ = false;
  bool trimmed_ = false;
  Clock::time_point last_trim_{};
};

}  // namespace llmgate::store
