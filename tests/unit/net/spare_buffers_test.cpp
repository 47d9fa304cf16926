// SpareBuffers (net/spare_buffers.hpp) keeps bodies' buffers per thread for the next request:
// a buffer comes back empty with its capacity, and the cache stays bounded in count and size.
#include "net/spare_buffers.hpp"

#include <gtest/gtest.h>

#include <thread>

using llmgate::SpareBuffers;

namespace {

// Empties this thread's cache (buffers taken until one comes back without capacity).
void drain() {
  while (SpareBuffers::take().capacity() > 15) {
  }
}

}  // namespace

TEST(SpareBuffers, AGivenBufferIsTakenBackEmptyWithItsCapacity) {
  drain();
  std::string s(2000, 'x');
  const char* data = s.data();
  const std::size_t cap = s.capacity();
  SpareBuffers::give(s);
  EXPECT_TRUE(s.empty());
  std::string t = SpareBuffers::take();
  EXPECT_TRUE(t.empty());
  EXPECT_EQ(t.capacity(), cap);
  EXPECT_EQ(t.data(), data);                        // the same buffer, not a copy
  EXPECT_LE(SpareBuffers::take().capacity(), 15u);  // nothing else was kept
}

TEST(SpareBuffers, SmallAndLargeBuffersAreNotKept) {
  drain();
  std::string small = "short";
  SpareBuffers::give(small);
  EXPECT_EQ(small, "short");  // left to its owner
  std::string large(SpareBuffers::kMaxCapacity + 1, 'y');
  SpareBuffers::give(large);
  EXPECT_EQ(large.size(), SpareBuffers::kMaxCapacity + 1);  // freed by its owner, not kept
  EXPECT_LE(SpareBuffers::take().capacity(), 15u);
}

TEST(SpareBuffers, AtMostKMaxAreKeptAndEachThreadHasItsOwn) {
  drain();
  for (int i = 0; i < SpareBuffers::kMax + 5; ++i) {
    std::string s(100, 'z');
    SpareBuffers::give(s);
  }
  std::thread([] { EXPECT_LE(SpareBuffers::take().capacity(), 15u); }).join();
  int kept = 0;
  while (SpareBuffers::take().capacity() > 15) ++kept;
  EXPECT_EQ(kept, SpareBuffers::kMax);
}
