#pragma once
// Spare string buffers, per thread, for a request's bodies: the client's, the copy sent upstream
// and the upstream's answer. A chat body is usually a little over glibc's per-thread cache
// size (1,032 bytes), so each of the three was a malloc and a free through glibc's bins,
// ~400 instructions apiece. A buffer given back here is taken by the next request on the thread.
#include <string>

namespace llmgate {

class SpareBuffers {
 public:
  static constexpr int kMax = 64;                         // buffers kept per thread
  static constexpr std::size_t kMaxCapacity = 16 * 1024;  // larger ones are freed

  // An empty string with a spare buffer's capacity, when there is one.
  static std::string take() {
    Cache& c = cache();
    if (c.n == 0) return {};
    return std::move(c.slot[--c.n]);
  }
  // Keeps s's buffer (emptied) for a later take(); s is left empty (without a buffer) when kept.
  static void give(std::string& s) {
    if (s.capacity() <= kSmall || s.capacity() > kMaxCapacity) return;
    Cache& c = cache();
    if (c.n == kMax) return;
    s.clear();
    c.slot[c.n++] = std::move(s);
  }

 private:
  static constexpr std::size_t kSmall = 15;  // libstdc++'s in-place capacity: no buffer
  struct Cache {
    std::string slot[kMax];
    int n = 0;
  };
  static Cache& cache() {
    thread_local Cache c;
    return c;
  }
};

}  // namespace llmgate
