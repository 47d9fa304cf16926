// The LimitStore seam and the in-memory store, without sockets.
#include <gtest/gtest.h>

#include <atomic>
#include <condition_variable>
#include <mutex>
#include <thread>
#include <vector>

#include "limits/memory_limit_store.hpp"
#include "llmgate/limit_store.hpp"

using namespace llmgate;

namespace {

constexpr int64_t kMinute = 60'000'000;
constexpr int64_t kT0 = 1'700'000'000 / 60 * kMinute;  // the start of a minute

class LimitStoreTest : public ::testing::Test {
 protected:
  AdmissionRequest request(const ScopeLimits& l, UsageEstimate est = {}, std::string_view id = "k1",
                           ScopeKind kind = ScopeKind::key) {
    AdmissionRequest r;
    LimitCheck c;
    c.kind = kind;
    c.id = id;
    c.limits = l;
    c.spend = spend_ptr_;
    r.add(c);
    r.estimate = est;
    r.now_us = now_;
    return r;
  }
  Errc admit(const AdmissionRequest& r, LimitLease& lease, AdmissionResult* res = nullptr) {
    AdmissionResult out;
    EXPECT_EQ(store_->try_admit(r, lease, out), LimitStore::Decision::decided);
    if (res) *res = out;
    return out.err;
  }
  std::unique_ptr<LimitStore> store_ = make_memory_limit_store();
  int64_t now_ = kT0;
  const std::atomic<double>* spend_ptr_ = nullptr;
};

ScopeLimits rpm(int64_t n) {
  ScopeLimits l;
  l.rpm = n;
  return l;
}

}  // namespace

TEST_F(LimitStoreTest, NoLimitsAdmitsWithoutState) {
  AdmissionRequest r = request(ScopeLimits{});
  EXPECT_TRUE(r.empty());  // a scope without limits is not even listed
  LimitLease lease;
  EXPECT_EQ(admit(r, lease), Errc::ok);
  EXPECT_FALSE(lease.held());
  EXPECT_EQ(static_cast<limits::MemoryLimitStore&>(*store_).size(), 0u);
}

TEST_F(LimitStoreTest, RpmWindowRetryAfterAndRemaining) {
  now_ = kT0 + 45 * 1'000'000 + 500'000;  // 45.5 s into the minute
  const AdmissionRequest r = request(rpm(3));
  std::vector<LimitLease> leases(3);
  for (int i = 0; i < 3; ++i) {
    AdmissionResult res;
    ASSERT_EQ(admit(r, leases[i], &res), Errc::ok);
    const LimitStatus* s = res.find(ScopeKind::key, LimitKind::requests);
    ASSERT_NE(s, nullptr);
    EXPECT_EQ(s->limit, 3);
    EXPECT_EQ(s->remaining, 2 - i);
  }
  LimitLease extra;
  AdmissionResult res;
  EXPECT_EQ(admit(r, extra, &res), Errc::rate_limited);
  EXPECT_EQ(res.message, "Rate limit exceeded: key rpm_limit 3 requests per minute");
  EXPECT_EQ(res.retry_after_s, 15);  // 14.5 s to the next minute, rounded up
  EXPECT_FALSE(extra.held());
  leases.clear();  // finished requests still count in their minute
  EXPECT_EQ(admit(r, extra), Errc::rate_limited);
  now_ = kT0 + kMinute;
  EXPECT_EQ(admit(request(rpm(3)), extra), Errc::ok);
}

TEST_F(LimitStoreTest, TpmCountsReservationsAndSettledTokens) {
  ScopeLimits l;
  l.tpm = 100;
  const AdmissionRequest r = request(l, {30, 0.5});
  std::vector<LimitLease> in_flight;
  AdmissionResult res;
  for (int i = 0; i < 10; ++i) {
    LimitLease lease;
    if (admit(r, lease, &res) != Errc::ok) break;
    EXPECT_EQ(lease.tokens(), 30);
    EXPECT_EQ(lease.nano_usd(), 0);  // no budget: no cost held
    EXPECT_EQ(res.find(ScopeKind::key, LimitKind::tokens)->remaining, 100 - 30 * (i + 1) < 0 ? 0 : 100 - 30 * (i + 1));
    in_flight.push_back(std::move(lease));
  }
  EXPECT_EQ(in_flight.size(), 4u);  // 0, 30, 60, 90 < 100
  EXPECT_EQ(res.message,
            "Rate limit exceeded: key tpm_limit 100 tokens per minute (120 reserved by requests in flight)");
  EXPECT_EQ(res.retry_after_s, 60);
  now_ += kMinute;  // reservations outlive the minute; their tokens land where they finish
  for (auto& p : in_flight) p.settle(17, 0, now_);  // 68 tokens this minute
  const AdmissionRequest r2 = request(l, {30, 0.5});
  LimitLease a, b, c;
  EXPECT_EQ(admit(r2, a), Errc::ok);
  EXPECT_EQ(admit(r2, b), Errc::ok);
  EXPECT_EQ(admit(r2, c, &res), Errc::rate_limited);
  EXPECT_EQ(res.message,
            "Rate limit exceeded: key tpm_limit 100 tokens per minute (60 reserved by requests in flight)");
}

TEST_F(LimitStoreTest, BudgetWithOwnSpendAndWithOwnersSpend) {
  ScopeLimits l;
  l.max_budget = 0.03;
  const AdmissionRequest r = request(l, {10, 0.007}, "d1", ScopeKind::deployment);
  std::vector<LimitLease> in_flight;
  AdmissionResult res;
  for (;;) {
    LimitLease lease;
    if (admit(r, lease, &res) != Errc::ok) break;
    EXPECT_EQ(lease.nano_usd(), 7'000'000);
    in_flight.push_back(std::move(lease));
    ASSERT_LT(in_flight.size(), 50u);
  }
  EXPECT_EQ(in_flight.size(), 5u);  // 0, .007, .014, .021, .028 < .03
  EXPECT_EQ(res.err, Errc::budget_exceeded);
  EXPECT_EQ(res.message,
            "Budget has been exceeded: current spend 0.000000 (plus 0.035000 reserved by requests in flight), max "
            "budget 0.030000");
  EXPECT_EQ(res.retry_after_s, 0);
  for (auto& p : in_flight) p.settle(10, 0.006, now_);  // the store keeps this scope's spend
  LimitLease x;
  EXPECT_EQ(admit(r, x, &res), Errc::budget_exceeded);
  EXPECT_EQ(res.message, "Budget has been exceeded: current spend 0.030000, max budget 0.030000");

  // A key's spend is its owner's: settling adds nothing to the store's own.
  std::atomic<double> spend{0.02};
  spend_ptr_ = &spend;
  const AdmissionRequest k = request(l, {10, 0.007}, "k1");
  LimitLease a, b;
  EXPECT_EQ(admit(k, a, &res), Errc::ok);
  EXPECT_EQ(res.find(ScopeKind::key, LimitKind::budget)->remaining, 3'000'000);  // .03 - .02 - .007
  EXPECT_EQ(admit(k, b), Errc::ok);                                              // .02 + .007 < .03
  a.settle(10, 5.0, now_);
  b.release();
  EXPECT_EQ(admit(k, a), Errc::ok);  // still .02: the owner adds its own spend
  spend = 0.03;
  EXPECT_EQ(admit(k, b), Errc::budget_exceeded);
}

TEST_F(LimitStoreTest, ConcurrentReservationsBalance) {
  ScopeLimits l;
  l.max_budget = 1e9;
  l.tpm = int64_t{1} << 40;
  l.max_parallel = 1'000'000;
  const AdmissionRequest r = request(l, {7, 0.003});
  std::vector<std::thread> threads;
  std::atomic<int> admitted{0};
  for (int t = 0; t < 4; ++t)
    threads.emplace_back([&, t] {
      for (int i = 0; i < 2000; ++i) {
        LimitLease lease;
        AdmissionResult res;
        store_->try_admit(r, lease, res);
        if (res.err == Errc::ok) ++admitted;
        if ((i + t) % 3 == 0) lease.settle(5, 0.001, now_);
        else if ((i + t) % 3 == 1) lease.release();
      }  // the rest: the destructor
    });
  for (auto& th : threads) th.join();
  EXPECT_EQ(admitted.load(), 8000);
  auto s = static_cast<limits::MemoryLimitStore&>(*store_).scope(ScopeKind::key, "k1");
  std::lock_guard lk(s->mu);
  EXPECT_EQ(s->reserved_nano_usd, 0);
  EXPECT_EQ(s->reserved_tokens, 0);
  EXPECT_EQ(s->in_flight, 0);
}

TEST_F(LimitStoreTest, BudgetAdmitsAtMostWhatFitsUnderConcurrency) {
  ScopeLimits l;
  l.max_budget = 0.1;  // ten requests of 0.01 fit, whatever the interleaving
  const AdmissionRequest r = request(l, {1, 0.01});
  std::vector<LimitLease> held(64);
  std::atomic<int> admitted{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t)
    threads.emplace_back([&, t] {
      for (int i = t; i < 64; i += 4) {
        AdmissionResult res;
        store_->try_admit(r, held[i], res);
        if (res.err == Errc::ok) ++admitted;
      }
    });
  for (auto& th : threads) th.join();
  EXPECT_EQ(admitted.load(), 10);
}

TEST_F(LimitStoreTest, ParallelSlots) {
  ScopeLimits l;
  l.max_parallel = 2;
  const AdmissionRequest r = request(l);
  LimitLease a, b, c;
  AdmissionResult res;
  ASSERT_EQ(admit(r, a, &res), Errc::ok);
  EXPECT_EQ(res.find(ScopeKind::key, LimitKind::parallel)->remaining, 1);
  ASSERT_EQ(admit(r, b, &res), Errc::ok);
  EXPECT_EQ(res.find(ScopeKind::key, LimitKind::parallel)->remaining, 0);
  EXPECT_EQ(admit(r, c, &res), Errc::rate_limited);
  EXPECT_EQ(res.message, "Rate limit exceeded: key max_parallel_requests 2 requests in flight");
  EXPECT_EQ(res.retry_after_s, 1);
  a.release();
  EXPECT_EQ(admit(r, c), Errc::ok);
}

TEST_F(LimitStoreTest, LeaseIsGivenBackExactlyOnceOnEveryPath) {
  ScopeLimits l;
  l.max_parallel = 1;
  l.tpm = 1'000'000;
  const AdmissionRequest r = request(l, {10, 0});
  auto state = static_cast<limits::MemoryLimitStore&>(*store_).scope(ScopeKind::key, "k1");
  auto in_flight = [&] {
    std::lock_guard lk(state->mu);
    EXPECT_EQ(state->reserved_tokens, state->in_flight * 10);
    return state->in_flight;
  };
  {
    LimitLease a;
    ASSERT_EQ(admit(r, a), Errc::ok);
    EXPECT_EQ(in_flight(), 1);
  }  // destructor
  EXPECT_EQ(in_flight(), 0);
  LimitLease a;
  ASSERT_EQ(admit(r, a), Errc::ok);
  a.release();
  a.release();  // nothing twice
  a.settle(5, 0, now_);
  EXPECT_EQ(in_flight(), 0);
  ASSERT_EQ(admit(r, a), Errc::ok);
  a.settle(5, 0, now_);
  a.settle(5, 0, now_);
  a.release();
  EXPECT_EQ(in_flight(), 0);
  ASSERT_EQ(admit(r, a), Errc::ok);
  LimitLease moved = std::move(a);
  EXPECT_FALSE(a.held());
  EXPECT_TRUE(moved.held());
  a.release();  // the moved-from lease gives nothing back
  EXPECT_EQ(in_flight(), 1);
  LimitLease target;
  ASSERT_EQ(admit(request(ScopeLimits{}), target), Errc::ok);
  moved = std::move(moved);  // self-move keeps it
  EXPECT_EQ(in_flight(), 1);
  target = std::move(moved);
  EXPECT_EQ(in_flight(), 1);
  // A lease reused for another request gives back its old share first: the one slot fits.
  ASSERT_EQ(admit(r, target), Errc::ok);
  EXPECT_EQ(in_flight(), 1);
  target.release();
  EXPECT_EQ(in_flight(), 0);
  std::lock_guard lk(state->mu);
  EXPECT_EQ(state->tokens_in_window, 5);  // only the settle that held something counted
}

TEST_F(LimitStoreTest, RefusalByALaterScopeTakesBackEarlierOnes) {
  AdmissionRequest r;
  r.now_us = now_;
  LimitCheck key;
  key.id = "k1";
  key.limits.rpm = 10;
  key.limits.max_parallel = 5;
  LimitCheck dep;
  dep.kind = ScopeKind::deployment;
  dep.id = "d1";
  dep.limits.max_parallel = 1;
  ASSERT_TRUE(r.add(key));
  ASSERT_TRUE(r.add(dep));
  LimitLease a, b;
  AdmissionResult res;
  ASSERT_EQ(admit(r, a, &res), Errc::ok);
  EXPECT_EQ(res.find(ScopeKind::key, LimitKind::requests)->remaining, 9);
  EXPECT_EQ(res.find(ScopeKind::deployment, LimitKind::parallel)->remaining, 0);
  EXPECT_EQ(admit(r, b, &res), Errc::rate_limited);
  EXPECT_EQ(res.message, "Rate limit exceeded: deployment max_parallel_requests 1 requests in flight");
  auto k = static_cast<limits::MemoryLimitStore&>(*store_).scope(ScopeKind::key, "k1");
  std::lock_guard lk(k->mu);
  EXPECT_EQ(k->requests_in_window, 1);  // the refused request is not counted
  EXPECT_EQ(k->in_flight, 1);
}

// A store that must ask elsewhere: try_admit defers, admit_async answers later on another thread.
namespace {
class DeferringStore final : public LimitStore {
 public:
  Decision try_admit(const AdmissionRequest&, LimitLease&, AdmissionResult&) override { return Decision::pending; }
  void admit_async(const AdmissionRequest& req, AdmitCallback done) override {
    threads_.emplace_back([this, &req, done = std::move(done)] {
      AdmissionResult r;
      LimitLease l;
      inner_->try_admit(req, l, r);  // the remote answer
      done(std::move(r), std::move(l));
    });
  }
  ~DeferringStore() override {
    for (auto& t : threads_) t.join();
  }
  std::unique_ptr<LimitStore> inner_ = make_memory_limit_store();
  std::vector<std::thread> threads_;
};
}  // namespace

TEST_F(LimitStoreTest, AsyncStoreAnswersThroughTheCallbackOnAnotherThread) {
  DeferringStore store;
  const AdmissionRequest r = request(rpm(1));
  std::mutex mu;
  std::condition_variable cv;
  std::vector<std::pair<AdmissionResult, LimitLease>> answers;
  std::vector<std::thread::id> threads;
  for (int i = 0; i < 2; ++i) {
    LimitLease lease;
    AdmissionResult res;
    ASSERT_EQ(store.try_admit(r, lease, res), LimitStore::Decision::pending);
    store.admit_async(r, [&](AdmissionResult&& res2, LimitLease&& l) {
      std::lock_guard lk(mu);
      answers.emplace_back(std::move(res2), std::move(l));
      threads.push_back(std::this_thread::get_id());
      cv.notify_all();
    });
    std::unique_lock lk(mu);
    ASSERT_TRUE(cv.wait_for(lk, std::chrono::seconds(10), [&] { return answers.size() == std::size_t(i + 1); }));
  }
  EXPECT_EQ(answers[0].first.err, Errc::ok);
  EXPECT_TRUE(answers[0].second.held());
  EXPECT_EQ(answers[1].first.err, Errc::rate_limited);
  EXPECT_FALSE(answers[1].second.held());
  EXPECT_NE(threads[0], std::this_thread::get_id());
  // The memory store's own admit_async decides inline, on the caller's thread.
  bool called = false;
  store_->admit_async(r, [&](AdmissionResult&& res, LimitLease&& l) {
    called = true;
    EXPECT_EQ(res.err, Errc::ok);
    EXPECT_TRUE(l.held());
  });
  EXPECT_TRUE(called);
}

TEST_F(LimitStoreTest, AForgottenScopeIsDroppedAndItsLeasesStillGiveBack) {
  ScopeLimits l;
  l.max_parallel = 1;
  const AdmissionRequest r = request(l);
  auto& mem = static_cast<limits::MemoryLimitStore&>(*store_);
  auto state = mem.scope(ScopeKind::key, "k1");
  LimitLease held;
  ASSERT_EQ(admit(r, held), Errc::ok);
  EXPECT_EQ(mem.size(), 1u);
  store_->forget(ScopeKind::key, "k1");
  store_->forget(ScopeKind::key, "never-seen");  // nothing to drop
  EXPECT_EQ(mem.size(), 0u);
  held.release();  // the lease kept the old state alive
  std::lock_guard lk(state->mu);
  EXPECT_EQ(state->in_flight, 0);
}
