#pragma once
// When the ledger writer gives memory back after a backlog (the policy only; the writer thread
// in record_queue.cpp does the work).
//
// A backlog (the writer held up by a checkpoint's fsync or a busy core) grows the queue's
// vectors and the records' strings to its peak, and glibc keeps freed memory for reuse, so RSS
// would step up to every new peak and stay there. After a batch whose vector grew past twice
// its usual capacity, the writer replaces that vector by one of the usual capacity, and once a
// batch of normal size follows (the backlog is written) it trims the heap, at most once per
// interval. Vectors of 256 KiB and more are mapped by the allocator (main.cpp), so freeing them
// returns their pages at once; the trim returns the pages of the freed record strings.
//
// The two usual vectors are kept (they swap between the workers and the writer at every batch),
// so the pages a queue peak touched in them would stay resident: RSS would ratchet up to the
// highest queue seen, within twice the usual capacity (~5.6 MB at 2,000 records of 712 B). Every
// half interval the writer gives back the pages of the cleared vector beyond its first
// `kKeepRecords` records, for the batch in hand and the next one, so both vectors are covered.
#include <sys/mman.h>
#include <unistd.h>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <vector>

namespace llmgate::store {

class BacklogRelease {
 public:
  using Clock = std::chrono::steady_clock;

  explicit BacklogRelease(std::size_t usual_capacity, Clock::duration min_interval = std::chrono::seconds(10))
      : usual_(usual_capacity), min_interval_(min_interval) {}

  std::size_t usual_capacity() const { return usual_; }

  // The capacity a written batch's vector had: true when it grew for a backlog (more than the
  // few records that arrive while the writer wakes up, which double it once).
  bool oversized(std::size_t capacity) const { return capacity > 2 * usual_; }

  // Records whose pages a cleared vector always keeps (a quiet gateway's batches fit in them,
  // so it never faults them in again).
  static constexpr std::size_t kKeepRecords = 256;

  // After every written batch, its vector cleared; true when that vector's pages beyond the
  // first kKeepRecords records should be given back now.
  bool release_pages_now(Clock::time_point now) {
    if (pages_left_ == 0 && (!paged_ || now - last_pages_ >= min_interval_ / 2)) {
      pages_left_ = 2;  // this vector and the other one, written next
      paged_ = true;
      last_pages_ = now;
    }
    if (pages_left_ == 0) return false;
    --pages_left_;
    return true;
  }

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
  int pages_left_ = 0;
  bool paged_ = false;
  Clock::time_point last_pages_{};
};

// Gives the kernel back the whole pages of an empty vector's storage beyond its first `keep`
// elements; the vector keeps its capacity. Those pages read as zeros when touched again, which
// a vector does not notice: it constructs every element it adds. Only pages wholly inside the
// storage are released, so an allocator's bookkeeping next to it is never touched.
template <class T>
void release_unused_pages(std::vector<T>& v, std::size_t keep) {
  if (!v.empty() || v.capacity() <= keep) return;
  const auto page = static_cast<std::uintptr_t>(sysconf(_SC_PAGESIZE));
  const auto base = reinterpret_cast<std::uintptr_t>(v.data());
  const std::uintptr_t from = (base + keep * sizeof(T) + page - 1) & ~(page - 1);
  const std::uintptr_t to = (base + v.capacity() * sizeof(T)) & ~(page - 1);
  if (to > from) madvise(reinterpret_cast<void*>(from), to - from, MADV_DONTNEED);
}

}  // namespace llmgate::store
