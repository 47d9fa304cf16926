// simple-shuffle (LiteLLM's default): start at a random deployment, then the next ones in
// config order. Ignores attempt results.
#include <algorithm>
#include <random>

#include "llmgate/router.hpp"

namespace llmgate {

namespace {

class SimpleShuffle final : public RoutingStrategy {
 public:
  explicit SimpleShuffle(uint64_t seed) : rng_(seed) {}
  void order(std::span<const Deployment* const> group, const RouteRequest&, std::size_t max,
             std::vector<const Deployment*>& out) override {
    const std::size_t n = group.size();
    const std::size_t start = n > 1 ? rng_() % n : 0;
    for (std::size_t i = 0; i < std::min(max, n); ++i) out.push_back(group[(start + i) % n]);
  }

 private:
  std::mt19937_64 rng_;
};

}  // namespace

std::unique_ptr<RoutingStrategy> make_simple_shuffle(uint64_t seed) { return std::make_unique<SimpleShuffle>(seed); }

}  // namespace llmgate
