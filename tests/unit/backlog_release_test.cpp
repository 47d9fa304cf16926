#include "store/backlog_release.hpp"

#include <gtest/gtest.h>

using llmgate::store::BacklogRelease;
using namespace std::chrono_literals;

TEST(BacklogRelease, OnlyAVectorThatGrewTwiceIsOversized) {
  BacklogRelease r(2000);
  EXPECT_EQ(r.usual_capacity(), 2000u);
  EXPECT_FALSE(r.oversized(2000));
  EXPECT_FALSE(r.oversized(4000));  // a few records arrived while the writer woke up
  EXPECT_TRUE(r.oversized(4001));
}

TEST(BacklogRelease, TrimsOnceTheBacklogIsWrittenAtMostOncePerInterval) {
  BacklogRelease r(2000, 10s);
  const auto t0 = BacklogRelease::Clock::time_point{} + 1h;
  EXPECT_FALSE(r.trim_now(false, t0));        // no backlog yet
  EXPECT_FALSE(r.trim_now(true, t0 + 1s));    // still writing the backlog
  EXPECT_FALSE(r.trim_now(true, t0 + 2s));
  EXPECT_TRUE(r.trim_now(false, t0 + 3s));    // written: the first trim is not delayed
  EXPECT_FALSE(r.trim_now(false, t0 + 4s));   // nothing new to give back
  EXPECT_FALSE(r.trim_now(true, t0 + 5s));
  EXPECT_FALSE(r.trim_now(false, t0 + 6s));   // due, but only 3 s since the last trim
  EXPECT_FALSE(r.trim_now(false, t0 + 12s));
  EXPECT_TRUE(r.trim_now(false, t0 + 13s));   // 10 s after the last one
  EXPECT_FALSE(r.trim_now(false, t0 + 60s));
}
