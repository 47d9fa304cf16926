#include "ledger/record_queue.hpp"

#include <malloc.h>
#include <spdlog/spdlog.h>

#include <algorithm>

#include "ledger/backlog_release.hpp"
#include "ledger/text_util.hpp"
#include "llmgate/clock.hpp"
#include "llmgate/thread_name.hpp"

namespace llmgate::store {

namespace {

// Records the queue's vectors are sized for: a batch's worth, at most 4096.
std::size_t usual_queue_capacity(const LedgerSettings& s) { return std::min<std::size_t>(s.batch_max_records, 4096); }

}  // namespace

std::size_t RecordQueue::record_bytes(const RequestRecord& r) {
  return sizeof(RequestRecord) + r.request_id.size() + r.endpoint.size() + r.model.size() + r.model_group.size() +
         r.deployment_id.size() + r.provider.size() + r.upstream_model.size() + r.api_base.size() + r.key_hash.size() +
         r.key_alias.size() + r.user.size() + r.client_ip.size() + r.error_type.size() + r.error_message.size() +
         r.fallback_from.size() + r.request_body.size() + r.response_body.size();
}

RecordQueue::RecordQueue(const LedgerSettings& s, BatchWriter& writer) : s_(s), writer_(writer) {
  if (s_.batch_max_records == 0) s_.batch_max_records = 1;
  if (s_.queue_max_records == 0) s_.queue_max_records = 1;
  if (!(s_.batch_write_at_s > 0)) s_.batch_write_at_s = 1;
  pending_.reserve(usual_queue_capacity(s_));
  thread_ = std::thread([this] {
    set_thread_name("llmgate-ledger");
    writer_loop();
  });
}

RecordQueue::~RecordQueue() { shutdown(); }

void RecordQueue::submit(RequestRecord&& r) {
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
    if (shut_down_ || n >= s_.queue_max_records || pending_bytes_ + inflight_bytes_ + bytes > s_.queue_max_bytes) {
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

void RecordQueue::warn_drop_rate_limited() {
  drops_since_warn_.fetch_add(1, std::memory_order_relaxed);
  int64_t now = now_unix_us();
  int64_t last = last_drop_warn_us_.load(std::memory_order_relaxed);
  if (now - last < 10'000'000) return;
  if (!last_drop_warn_us_.compare_exchange_strong(last, now)) return;
  uint64_t n = drops_since_warn_.exchange(0);
  spdlog::warn("ledger: queue full (max {} records / {} bytes): dropped {} log records", s_.queue_max_records,
               s_.queue_max_bytes, n);
}

LedgerStats RecordQueue::stats() const {
  LedgerStats st;
  {
    std::lock_guard lk(mu_);
    st.queued = pending_.size() + inflight_;
    st.queued_bytes = pending_bytes_ + inflight_bytes_;
  }
  st.written = written_.load();
  st.dropped = dropped_.load();
  st.db_errors = writer_.errors();
  st.batches = batches_.load();
  st.last_batch_seconds = last_batch_s_.load();
  return st;
}

void RecordQueue::release_free_memory() {
  const auto t0 = Clock::now();
  malloc_trim(0);  // every arena: the workers' (records are built there) and the writer's
  spdlog::debug("ledger: heap trimmed after a backlog in {} us",
                std::chrono::duration_cast<std::chrono::microseconds>(Clock::now() - t0).count());
}

std::size_t RecordQueue::write_slices(std::vector<RequestRecord>& batch, std::size_t& bytes_left) {
  std::size_t done = 0;
  while (done < batch.size()) {
    const std::size_t end = std::min(batch.size(), done + s_.batch_max_records);
    const auto t0 = Clock::now();
    const std::optional<std::size_t> written = writer_.write(batch, done, end);
    if (!written) break;
    last_batch_s_.store(std::chrono::duration<double>(Clock::now() - t0).count(), std::memory_order_relaxed);
    batches_.fetch_add(1, std::memory_order_relaxed);
    written_.fetch_add(*written, std::memory_order_relaxed);
    std::size_t bytes = 0;
    for (std::size_t i = done; i < end; ++i) bytes += record_bytes(batch[i]);
    {
      std::lock_guard lk(mu_);
      inflight_ -= end - done;
      inflight_bytes_ -= std::min(inflight_bytes_, bytes);
      settled_ += end - done;
    }
    bytes_left -= std::min(bytes_left, bytes);
    idle_cv_.notify_all();
    done = end;
  }
  return done;
}

// After a failed attempt while stopping: true (the records counted as lost) once the database
// has failed for 3 s. Called with mu_ held.
bool RecordQueue::give_up_at_shutdown(std::vector<RequestRecord>& batch, std::optional<Clock::time_point>& deadline) {
  if (!deadline) deadline = Clock::now() + std::chrono::seconds(3);
  if (Clock::now() < *deadline) return false;
  spdlog::error("ledger: database unavailable at shutdown; {} queued records lost", batch.size() + pending_.size());
  dropped_.fetch_add(batch.size() + pending_.size());
  settled_ += batch.size() + pending_.size();
  batch.clear();
  pending_.clear();
  pending_bytes_ = 0;
  inflight_ = inflight_bytes_ = 0;
  idle_cv_.notify_all();
  return true;
}

void RecordQueue::writer_loop() {
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
          writer_.idle(false);
          continue;
        }
        batch.swap(pending_);
        inflight_ = batch.size();
        inflight_bytes_ = pending_bytes_;
        batch_bytes_left = pending_bytes_;
        pending_bytes_ = 0;
      }
    }
    const std::size_t done = write_slices(batch, batch_bytes_left);
    if (done == batch.size()) {
      if (failed_attempts > 0) {
        spdlog::info(
            "ledger: database writable again after {} failed attempt(s); writing the {} record(s) queued meanwhile",
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
      writer_.idle(false);
      continue;
    }
    batch.erase(batch.begin(), batch.begin() + static_cast<std::ptrdiff_t>(done));
    ++failed_attempts;
    std::unique_lock lk(mu_);
    if (stopping_ && give_up_at_shutdown(batch, stop_deadline)) break;
    // Wait out the backoff (shutdown shortens nothing here: we still want the data written).
    cv_.wait_for(lk, backoff, [&] { return false; });
    backoff = std::min(backoff * 2, std::chrono::milliseconds(5000));
    if (stopping_) backoff = std::min(backoff, std::chrono::milliseconds(500));
  }
  writer_.idle(true);
}

void RecordQueue::shutdown() {
  {
    std::lock_guard lk(mu_);
    if (shut_down_) return;
    stopping_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
  std::lock_guard lk(mu_);
  shut_down_ = true;
}

bool RecordQueue::flush_for_test(std::chrono::milliseconds timeout) {
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

}  // namespace llmgate::store
