// The process-wide deployment state: capacity, cooldowns, the half-open probe, latency. Time is
// driven by the test (milliseconds of a steady clock).
#include <gtest/gtest.h>

#include <atomic>
#include <thread>
#include <vector>

#include "router/deployment_state.hpp"

namespace llmgate {
namespace {

constexpr int64_t kT0 = 1'000'000'000;  // 40 s into a minute (1e9 ms = 16,666 min + 40 s)

Deployment dep(int rpm = 0, int tpm = 0, int parallel = 0) {
  Deployment d;
  d.id = "d";
  d.rpm = rpm;
  d.tpm = tpm;
  d.max_parallel_requests = parallel;
  return d;
}

// One attempt from acquire to finish at `now`.
bool attempt(DeploymentRuntime& st, const Deployment& d, const RouterSettings& s, int64_t now, ErrorClass e,
             bool* was_probe = nullptr) {
  bool probe = false;
  EXPECT_EQ(st.acquire(now, d, 0, s, probe).availability, Availability::ok);
  if (was_probe) *was_probe = probe;
  AttemptEnd end;
  end.error = e;
  end.probe = probe;
  end.started_ms = now;
  return st.finish(now, end, s);
}

TEST(RouterState, CoolsDownAfterMoreThanAllowedFailsWithinAMinute) {
  DeploymentRuntime st;
  const Deployment d = dep();
  RouterSettings s;  // allowed_fails 3, cooldown 5 s
  for (int i = 0; i < 3; ++i) EXPECT_FALSE(attempt(st, d, s, kT0 + i, ErrorClass::internal_server)) << i;
  EXPECT_EQ(st.check(kT0 + 3, d, 0, s).availability, Availability::ok);
  EXPECT_TRUE(attempt(st, d, s, kT0 + 3, ErrorClass::internal_server));
  const AvailabilityCheck c = st.check(kT0 + 4, d, 0, s);
  EXPECT_EQ(c.availability, Availability::cooling_down);
  EXPECT_EQ(c.retry_after_ms, 5'000 - 1);
  EXPECT_EQ(st.snapshot(kT0 + 4, s).health, Health::cooling_down);
}

TEST(RouterState, FailuresSpreadOverMoreThanAMinuteDoNotCoolDown) {
  DeploymentRuntime st;
  const Deployment d = dep();
  RouterSettings s;
  for (int i = 0; i < 8; ++i) EXPECT_FALSE(attempt(st, d, s, kT0 + i * 21'000, ErrorClass::timeout)) << i;
}

TEST(RouterState, RateLimitAndConnectionFailuresCoolDownAtOnce) {
  for (ErrorClass e : {ErrorClass::rate_limit, ErrorClass::connection}) {
    DeploymentRuntime st;
    const Deployment d = dep();
    RouterSettings s;
    EXPECT_TRUE(attempt(st, d, s, kT0, e)) << to_string(e);
    EXPECT_EQ(st.check(kT0 + 1, d, 0, s).availability, Availability::cooling_down);
  }
}

TEST(RouterState, RequestErrorsDoNotCountUnlessThePolicyNamesThem) {
  DeploymentRuntime st;
  const Deployment d = dep();
  RouterSettings s;
  for (int i = 0; i < 10; ++i) EXPECT_FALSE(attempt(st, d, s, kT0 + i, ErrorClass::bad_request));
  for (int i = 0; i < 10; ++i) EXPECT_FALSE(attempt(st, d, s, kT0 + i, ErrorClass::context_window_exceeded));
  s.allowed_fails_policy[static_cast<int>(PolicyClass::bad_request)] = 1;
  EXPECT_FALSE(attempt(st, d, s, kT0 + 20, ErrorClass::bad_request));
  EXPECT_TRUE(attempt(st, d, s, kT0 + 21, ErrorClass::bad_request));
}

TEST(RouterState, AllowedFailsPolicyPerClass) {
  DeploymentRuntime st;
  const Deployment d = dep();
  RouterSettings s;
  s.allowed_fails_policy[static_cast<int>(PolicyClass::timeout)] = 0;
  EXPECT_TRUE(attempt(st, d, s, kT0, ErrorClass::timeout));
}

TEST(RouterState, HalfOpenLetsOneProbeThroughThenRecovers) {
  DeploymentRuntime st;
  const Deployment d = dep();
  RouterSettings s;
  ASSERT_TRUE(attempt(st, d, s, kT0, ErrorClass::rate_limit));
  const int64_t after = kT0 + 5'000;
  bool probe = false;
  ASSERT_EQ(st.acquire(after, d, 0, s, probe).availability, Availability::ok);
  EXPECT_TRUE(probe);
  EXPECT_EQ(st.snapshot(after, s).health, Health::half_open);
  bool second = false;
  EXPECT_EQ(st.acquire(after + 1, d, 0, s, second).availability, Availability::cooling_down);  // one probe only
  AttemptEnd ok;
  ok.probe = true;
  ok.started_ms = after;
  st.finish(after + 100, ok, s);
  EXPECT_EQ(st.snapshot(after + 100, s).health, Health::healthy);
  EXPECT_EQ(st.acquire(after + 101, d, 0, s, second).availability, Availability::ok);
  EXPECT_FALSE(second);
}

TEST(RouterState, AFailedProbeCoolsDownAgain) {
  DeploymentRuntime st;
  const Deployment d = dep();
  RouterSettings s;
  ASSERT_TRUE(attempt(st, d, s, kT0, ErrorClass::connection));
  bool probe = false;
  EXPECT_TRUE(attempt(st, d, s, kT0 + 5'000, ErrorClass::internal_server, &probe));
  EXPECT_TRUE(probe);
  EXPECT_EQ(st.check(kT0 + 5'001, d, 0, s).availability, Availability::cooling_down);
  EXPECT_EQ(st.snapshot(kT0 + 5'001, s).cooldowns, 2u);
}

TEST(RouterState, AProbeThatNeverReportsStopsHoldingAfterTheRequestTimeout) {
  DeploymentRuntime st;
  const Deployment d = dep();
  RouterSettings s;
  s.request_timeout_s = 10;
  ASSERT_TRUE(attempt(st, d, s, kT0, ErrorClass::rate_limit));
  bool probe = false;
  ASSERT_EQ(st.acquire(kT0 + 5'000, d, 0, s, probe).availability, Availability::ok);
  EXPECT_EQ(st.check(kT0 + 14'999, d, 0, s).availability, Availability::cooling_down);
  EXPECT_EQ(st.acquire(kT0 + 15'000, d, 0, s, probe).availability, Availability::ok);
  EXPECT_TRUE(probe);
}

TEST(RouterState, DisableCooldowns) {
  DeploymentRuntime st;
  const Deployment d = dep();
  RouterSettings s;
  s.disable_cooldowns = true;
  for (int i = 0; i < 20; ++i) EXPECT_FALSE(attempt(st, d, s, kT0 + i, ErrorClass::rate_limit));
  EXPECT_EQ(st.check(kT0 + 20, d, 0, s).availability, Availability::ok);
  // A cooldown started before the setting changed is ignored too.
  RouterSettings on;
  ASSERT_TRUE(attempt(st, d, on, kT0 + 30, ErrorClass::rate_limit));
  EXPECT_EQ(st.check(kT0 + 31, d, 0, s).availability, Availability::ok);
}

TEST(RouterState, ZeroCooldownTimeNeverCoolsDown) {
  DeploymentRuntime st;
  RouterSettings s;
  s.cooldown_time_s = 0;
  EXPECT_FALSE(attempt(st, dep(), s, kT0, ErrorClass::rate_limit));
}

TEST(RouterState, ClientGoneSaysNothingAboutTheDeployment) {
  DeploymentRuntime st;
  const Deployment d = dep();
  RouterSettings s;
  for (int i = 0; i < 10; ++i) EXPECT_FALSE(attempt(st, d, s, kT0 + i, ErrorClass::client_gone));
  const DeploymentSnapshot snap = st.snapshot(kT0 + 10, s);
  EXPECT_EQ(snap.failures, 0u);
  EXPECT_EQ(snap.in_flight, 0);
}

TEST(RouterState, RpmTpmAndParallelCapacityWithinTheMinute) {
  RouterSettings s;
  {
    DeploymentRuntime st;
    const Deployment d = dep(/*rpm=*/2);
    bool probe;
    EXPECT_EQ(st.acquire(kT0, d, 0, s, probe).availability, Availability::ok);
    EXPECT_EQ(st.acquire(kT0, d, 0, s, probe).availability, Availability::ok);
    const AvailabilityCheck c = st.acquire(kT0 + 1'000, d, 0, s, probe);
    EXPECT_EQ(c.availability, Availability::at_capacity);
    EXPECT_EQ(c.retry_after_ms, 60'000 - (kT0 + 1'000) % 60'000);
    const int64_t next_minute = kT0 + 1'000 + c.retry_after_ms;
    EXPECT_EQ(st.acquire(next_minute, d, 0, s, probe).availability, Availability::ok);
  }
  {
    DeploymentRuntime st;
    const Deployment d = dep(0, /*tpm=*/1000);
    bool probe;
    EXPECT_EQ(st.acquire(kT0, d, 600, s, probe).availability, Availability::ok);
    EXPECT_EQ(st.check(kT0, d, 500, s).availability, Availability::at_capacity);
    // The attempt used fewer tokens than estimated: the difference is free again.
    AttemptEnd e;
    e.reserved_tokens = 600;
    e.total_tokens = 200;
    e.started_ms = kT0;
    st.finish(kT0 + 10, e, s);
    EXPECT_EQ(st.snapshot(kT0 + 10, s).tokens_this_minute, 200);
    EXPECT_EQ(st.check(kT0 + 10, d, 500, s).availability, Availability::ok);
  }
  {
    DeploymentRuntime st;
    const Deployment d = dep(0, 0, /*parallel=*/1);
    bool probe;
    EXPECT_EQ(st.acquire(kT0, d, 0, s, probe).availability, Availability::ok);
    EXPECT_EQ(st.acquire(kT0, d, 0, s, probe).availability, Availability::at_capacity);
    st.finish(kT0 + 1, AttemptEnd{}, s);
    EXPECT_EQ(st.acquire(kT0 + 1, d, 0, s, probe).availability, Availability::ok);
  }
}

TEST(RouterState, ParallelLimitHoldsAcrossThreads) {
  DeploymentRuntime st;
  const Deployment d = dep(0, 0, 3);
  RouterSettings s;
  std::atomic<int> inside{0}, most{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t)
    threads.emplace_back([&] {
      for (int i = 0; i < 2000; ++i) {
        bool probe;
        if (st.acquire(kT0, d, 0, s, probe).availability != Availability::ok) continue;
        const int now = ++inside;
        int prev = most.load();
        while (now > prev && !most.compare_exchange_weak(prev, now)) {
        }
        --inside;
        st.finish(kT0, AttemptEnd{}, s);
      }
    });
  for (auto& t : threads) t.join();
  EXPECT_LE(most.load(), 3);
  EXPECT_EQ(st.snapshot(kT0, s).in_flight, 0);
}

TEST(RouterState, LatencyIsTheMeanOfRecentSamplesWithinTtl) {
  DeploymentRuntime st;
  RouterSettings s;
  s.strategy_args.ttl_s = 60;
  auto ok = [&](int64_t at, int64_t latency, int64_t out_tokens) {
    bool probe;
    st.acquire(at, dep(), 0, s, probe);
    AttemptEnd e;
    e.latency_ms = latency;
    e.output_tokens = out_tokens;
    e.started_ms = at;
    st.finish(at, e, s);
  };
  EXPECT_LT(st.snapshot(kT0, s).latency_ms, 0);
  ok(kT0, 100, 10);
  ok(kT0 + 30'000, 300, 10);
  DeploymentSnapshot snap = st.snapshot(kT0 + 30'000, s);
  EXPECT_DOUBLE_EQ(snap.latency_ms, 200);
  EXPECT_DOUBLE_EQ(snap.latency_per_output_token_ms, 20);
  snap = st.snapshot(kT0 + 61'000, s);  // the first sample is past the ttl
  EXPECT_DOUBLE_EQ(snap.latency_ms, 300);
  EXPECT_EQ(snap.successes, 2u);
}

TEST(RouterState, TableKeepsOneStatePerIdAcrossLookups) {
  DeploymentRuntimeTable t;
  EXPECT_EQ(t.find("a"), nullptr);
  DeploymentRuntime& a = t.get("a");
  EXPECT_EQ(&t.get("a"), &a);
  EXPECT_EQ(t.find("a"), &a);
  t.get("b");
  EXPECT_EQ(t.ids(), (std::vector<std::string>{"a", "b"}));
}

}  // namespace
}  // namespace llmgate
