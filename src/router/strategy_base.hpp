#pragma once
// Shared by the strategies that choose from deployment state (src/router/*.cpp).
#include <random>
#include <vector>

#include "llmgate/router.hpp"

namespace llmgate::router_detail {

// A strategy whose choice depends on state. order() (Router::plan, which has no state) ranks
// by repeated choose() over stateless candidates.
class StatefulStrategy : public RoutingStrategy {
 public:
  explicit StatefulStrategy(uint64_t seed) : rng_(seed) {}
  void order(std::span<const Deployment* const> group, const RouteRequest& req, std::size_t max,
             std::vector<const Deployment*>& out) override;

 protected:
  // Uniform among `tied` (indices into the candidates; non-empty).
  std::size_t pick(const std::vector<std::size_t>& tied) {
    return tied.size() == 1 ? tied[0] : tied[rng_() % tied.size()];
  }
  double uniform() { return std::uniform_real_distribution<double>(0.0, 1.0)(rng_); }
  // The indices whose key is lowest (within `slack` as a ratio, 0 = equal), ties kept.
  template <class Key>
  std::vector<std::size_t> lowest(std::size_t n, Key key, double slack = 0) {
    double best = 0;
    for (std::size_t i = 0; i < n; ++i)
      if (i == 0 || key(i) < best) best = key(i);
    std::vector<std::size_t> out;
    const double limit = best >= 0 ? best * (1 + slack) : best;
    for (std::size_t i = 0; i < n; ++i)
      if (key(i) <= limit) out.push_back(i);
    return out;
  }
  std::mt19937_64 rng_;
};

}  // namespace llmgate::router_detail
