#include "ledger/backlog_release.hpp"

#include <gtest/gtest.h>
#include <sys/mman.h>
#include <unistd.h>

#include <string>
#include <vector>

using llmgate::store::BacklogRelease;
using llmgate::store::release_unused_pages;
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
  EXPECT_FALSE(r.trim_now(false, t0));      // no backlog yet
  EXPECT_FALSE(r.trim_now(true, t0 + 1s));  // still writing the backlog
  EXPECT_FALSE(r.trim_now(true, t0 + 2s));
  EXPECT_TRUE(r.trim_now(false, t0 + 3s));   // written: the first trim is not delayed
  EXPECT_FALSE(r.trim_now(false, t0 + 4s));  // nothing new to give back
  EXPECT_FALSE(r.trim_now(true, t0 + 5s));
  EXPECT_FALSE(r.trim_now(false, t0 + 6s));  // due, but only 3 s since the last trim
  EXPECT_FALSE(r.trim_now(false, t0 + 12s));
  EXPECT_TRUE(r.trim_now(false, t0 + 13s));  // 10 s after the last one
  EXPECT_FALSE(r.trim_now(false, t0 + 60s));
}

TEST(BacklogRelease, GivesBackVectorPagesForTwoBatchesEveryHalfInterval) {
  BacklogRelease r(2000, 10s);
  const auto t0 = BacklogRelease::Clock::time_point{} + 1h;
  EXPECT_TRUE(r.release_pages_now(t0));         // the batch in hand
  EXPECT_TRUE(r.release_pages_now(t0 + 10ms));  // and the other vector, written next
  EXPECT_FALSE(r.release_pages_now(t0 + 1s));
  EXPECT_FALSE(r.release_pages_now(t0 + 4s));
  EXPECT_TRUE(r.release_pages_now(t0 + 5s));  // half the trim interval later
  EXPECT_TRUE(r.release_pages_now(t0 + 9s));  // the next batch, however late it comes
  EXPECT_FALSE(r.release_pages_now(t0 + 9500ms));
  EXPECT_TRUE(r.release_pages_now(t0 + 10s));
}

namespace {
// Resident pages in [p, p + n) (mincore).
std::size_t resident_pages(const void* p, std::size_t n) {
  const auto page = static_cast<std::uintptr_t>(sysconf(_SC_PAGESIZE));
  const auto from = reinterpret_cast<std::uintptr_t>(p) & ~(page - 1);
  const auto to = (reinterpret_cast<std::uintptr_t>(p) + n + page - 1) & ~(page - 1);
  std::vector<unsigned char> v((to - from) / page);
  if (mincore(reinterpret_cast<void*>(from), to - from, v.data()) != 0) return 0;
  std::size_t c = 0;
  for (unsigned char b : v) c += b & 1;
  return c;
}
struct Rec {
  std::string a, b;
  char pad[640];
};
}  // namespace

TEST(BacklogRelease, UnusedVectorPagesGoBackAndTheVectorStillWorks) {
  std::vector<Rec> v;
  v.reserve(4000);  // ~2.8 MB: mapped on its own, as the ledger's queue vectors are
  const Rec* data = v.data();
  for (int i = 0; i < 4000; ++i) v.push_back(Rec{std::string(40, 'a'), std::to_string(i), {}});
  const std::size_t bytes = v.capacity() * sizeof(Rec);
  const std::size_t touched = resident_pages(data, bytes);
  EXPECT_GT(touched, 600u);
  v.clear();
  release_unused_pages(v, 256);
  EXPECT_EQ(v.capacity(), 4000u);
  EXPECT_EQ(v.data(), data);
  // What is left: the first 256 records' pages (and the partial pages at either end).
  EXPECT_LE(resident_pages(data, bytes), 256 * sizeof(Rec) / 4096 + 3);
  for (int i = 0; i < 3000; ++i) v.push_back(Rec{std::to_string(i), std::string(30, 'b'), {}});
  for (int i = 0; i < 3000; ++i) {
    ASSERT_EQ(v[static_cast<std::size_t>(i)].a, std::to_string(i));
    ASSERT_EQ(v[static_cast<std::size_t>(i)].b, std::string(30, 'b'));
  }
  // A vector that is not empty, or no larger than what it keeps, is left alone.
  release_unused_pages(v, 256);
  EXPECT_EQ(v[2999].a, "2999");
  std::vector<Rec> small(10);
  small.clear();
  release_unused_pages(small, 256);
  EXPECT_EQ(small.capacity(), 10u);
}
