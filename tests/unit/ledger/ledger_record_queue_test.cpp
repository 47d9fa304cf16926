// The ledger's record queue and writer thread (src/ledger/record_queue.hpp) with a fake
// BatchWriter: no database, no sockets.
#include "ledger/record_queue.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

using namespace llmgate;
using namespace std::chrono_literals;
using llmgate::store::BatchWriter;
using llmgate::store::RecordQueue;

namespace {

RequestRecord rec(int i) {
  RequestRecord r;
  r.request_id = "req-" + std::to_string(i);
  r.model = "gpt-4o";
  r.status = 200;
  return r;
}

// Records what it was given; fails the next `fail_next` attempts; can be held (write() waits
// until released) so the test controls when the writer thread gets past a batch.
class FakeWriter final : public BatchWriter {
 public:
  std::optional<std::size_t> write(const std::vector<RequestRecord>& batch, std::size_t begin,
                                   std::size_t end) override {
    std::unique_lock lk(mu);
    ++attempts;
    entered_cv.notify_all();
    cv.wait(lk, [&] { return !held; });
    if (fail_next > 0) {
      --fail_next;
      count_error();
      return std::nullopt;
    }
    slices.push_back(end - begin);
    std::size_t n = 0;
    for (std::size_t i = begin; i < end; ++i) {
      ids.push_back(batch[i].request_id);
      bodies.push_back(batch[i].request_body);
      if (batch[i].request_id != refuse) ++n;
    }
    return n;
  }
  void idle(bool final) override {
    {
      std::lock_guard lk(mu);
      if (final) ++finals;
      else ++idles;
    }
    entered_cv.notify_all();
  }
  void hold() {
    std::lock_guard lk(mu);
    held = true;
  }
  void release() {
    {
      std::lock_guard lk(mu);
      held = false;
    }
    cv.notify_all();
  }
  // Waits (bounded) until write() has been entered at least n times.
  bool wait_attempts(int n) {
    std::unique_lock lk(mu);
    return entered_cv.wait_for(lk, 10s, [&] { return attempts >= n; });
  }

  std::mutex mu;
  std::condition_variable cv, entered_cv;
  bool held = false;
  int attempts = 0, fail_next = 0, idles = 0, finals = 0;
  std::string refuse;  // a request id the "database" refuses (written but not counted)
  std::vector<std::size_t> slices;
  std::vector<std::string> ids, bodies;
};

LedgerSettings quiet_settings() {
  LedgerSettings s;
  s.batch_write_at_s = 600;  // the timer never fires in a test: only size, flush and stop do
  s.batch_max_records = 1000;
  return s;
}

}  // namespace

TEST(RecordQueue, BoundedByCountDropsAreCountedAndSubmitNeverBlocks) {
  FakeWriter w;
  auto s = quiet_settings();
  s.queue_max_records = 10;
  RecordQueue q(s, w);
  for (int i = 0; i < 25; ++i) q.submit(rec(i));
  LedgerStats st = q.stats();
  EXPECT_EQ(st.queued, 10u);
  EXPECT_EQ(st.dropped, 15u);
  q.shutdown();
  EXPECT_EQ(w.ids.size(), 10u);
  EXPECT_EQ(w.ids.front(), "req-0");  // the first ones are kept, in order
  EXPECT_EQ(w.ids.back(), "req-9");
  EXPECT_EQ(q.stats().written, 10u);
  EXPECT_EQ(q.stats().queued, 0u);
}

TEST(RecordQueue, BoundedByBytesCountingRecordsInFlight) {
  FakeWriter w;
  auto s = quiet_settings();
  s.batch_max_records = 2;
  const std::size_t one = RecordQueue::record_bytes(rec(0));
  s.queue_max_bytes = 3 * one + 1;
  w.hold();
  RecordQueue q(s, w);
  q.submit(rec(0));
  q.submit(rec(1));  // a full batch: the writer takes both and is held inside write()
  ASSERT_TRUE(w.wait_attempts(1));
  q.submit(rec(2));
  q.submit(rec(3));  // over the bytes bound: the two in flight still count
  LedgerStats st = q.stats();
  EXPECT_EQ(st.queued, 3u);
  EXPECT_EQ(st.dropped, 1u);
  EXPECT_LE(st.queued_bytes, s.queue_max_bytes);
  w.release();
  q.shutdown();
  EXPECT_EQ(w.ids, (std::vector<std::string>{"req-0", "req-1", "req-2"}));
}

TEST(RecordQueue, BatchesAreSlicedAtBatchMaxRecords) {
  FakeWriter w;
  auto s = quiet_settings();
  s.batch_max_records = 4;
  w.hold();
  RecordQueue q(s, w);
  for (int i = 0; i < 4; ++i) q.submit(rec(i));  // wakes the writer, which is then held
  ASSERT_TRUE(w.wait_attempts(1));
  for (int i = 4; i < 14; ++i) q.submit(rec(i));  // piles up meanwhile
  w.release();
  ASSERT_TRUE(q.flush_for_test(10s));
  {
    std::lock_guard lk(w.mu);
    EXPECT_EQ(w.slices, (std::vector<std::size_t>{4, 4, 4, 2}));
    ASSERT_EQ(w.ids.size(), 14u);
    for (int i = 0; i < 14; ++i) EXPECT_EQ(w.ids[static_cast<std::size_t>(i)], "req-" + std::to_string(i));
  }
  EXPECT_EQ(q.stats().batches, 4u);
  EXPECT_EQ(q.stats().written, 14u);
}

TEST(RecordQueue, ShutdownDrainsEverythingThenRunsTheFinalIdleOnce) {
  FakeWriter w;
  RecordQueue q(quiet_settings(), w);
  for (int i = 0; i < 2500; ++i) q.submit(rec(i));
  q.shutdown();
  q.shutdown();  // idempotent
  EXPECT_EQ(w.ids.size(), 2500u);
  EXPECT_EQ(w.finals, 1);
  EXPECT_EQ(q.stats().written, 2500u);
  q.submit(rec(99999));  // after shutdown: dropped, never blocks
  EXPECT_EQ(q.stats().dropped, 1u);
}

TEST(RecordQueue, FailedWritesAreRetriedWithTheSameRecordsAndCounted) {
  FakeWriter w;
  w.fail_next = 2;
  RecordQueue q(quiet_settings(), w);
  for (int i = 0; i < 5; ++i) q.submit(rec(i));
  ASSERT_TRUE(q.flush_for_test(10s));  // two failures: 100 ms + 200 ms of backoff
  EXPECT_EQ(q.stats().db_errors, 2u);
  EXPECT_EQ(q.stats().written, 5u);
  EXPECT_EQ(q.stats().dropped, 0u);
  std::lock_guard lk(w.mu);
  EXPECT_EQ(w.attempts, 3);
  EXPECT_EQ(w.ids.size(), 5u);  // committed once
}

TEST(RecordQueue, RefusedRecordsAreSettledButNotCountedAsWritten) {
  FakeWriter w;
  w.refuse = "req-2";
  RecordQueue q(quiet_settings(), w);
  for (int i = 0; i < 5; ++i) q.submit(rec(i));
  ASSERT_TRUE(q.flush_for_test(10s));
  EXPECT_EQ(q.stats().written, 4u);
  EXPECT_EQ(q.stats().queued, 0u);
}

TEST(RecordQueue, DatabaseDownAtShutdownGivesUpAfterABoundedTimeAndCountsTheLoss) {
  FakeWriter w;
  w.fail_next = 1 << 30;
  RecordQueue q(quiet_settings(), w);
  for (int i = 0; i < 7; ++i) q.submit(rec(i));
  const auto t0 = std::chrono::steady_clock::now();
  q.shutdown();
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 10s);  // ~3 s of retries
  EXPECT_EQ(q.stats().dropped, 7u);
  EXPECT_EQ(q.stats().queued, 0u);
  EXPECT_EQ(q.stats().written, 0u);
  EXPECT_GE(q.stats().db_errors, 2u);
}

TEST(RecordQueue, BodiesAreCappedOrDroppedBeforeQueueing) {
  FakeWriter w;
  auto s = quiet_settings();
  s.store_bodies = true;
  s.max_body_log_bytes = 8;
  {
    RecordQueue q(s, w);
    RequestRecord r = rec(0);
    r.request_body = "0123456789abcdef";
    q.submit(std::move(r));
  }
  ASSERT_EQ(w.bodies.size(), 1u);
  EXPECT_EQ(w.bodies[0], "01234567");
  FakeWriter w2;
  s.store_bodies = false;
  {
    RecordQueue q(s, w2);
    RequestRecord r = rec(0);
    r.request_body = "secret prompt";
    q.submit(std::move(r));
  }
  ASSERT_EQ(w2.bodies.size(), 1u);
  EXPECT_EQ(w2.bodies[0], "");
}

TEST(RecordQueue, IdleWorkRunsWhileTheQueueIsEmpty) {
  FakeWriter w;
  auto s = quiet_settings();
  s.batch_write_at_s = 0.01;
  RecordQueue q(s, w);
  {
    std::unique_lock lk(w.mu);
    ASSERT_TRUE(w.entered_cv.wait_for(lk, 10s, [&] { return w.idles >= 3; }));
  }
  q.shutdown();
  EXPECT_EQ(w.finals, 1);
}
