#pragma once
// Shared by the strategies that choose from deployment state (src/router/*.cpp).
#include <algorithm>
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
  // Uniform among `tied_` (indices into the candidates; non-empty).
  std::size_t pick_tied() { return tied_.size() == 1 ? tied_[0] : tied_[rng_() % tied_.size()]; }
  double uniform() { return std::uniform_real_distribution<double>(0.0, 1.0)(rng_); }
  // Uniform among the indices whose `keys_` value is lowest (within `slack` as a ratio, 0 =
  // equal); `keys_` holds one value per candidate.
  std::size_t pick_lowest(double slack = 0) {
    double best = keys_[0];
    for (double k : keys_) best = std::min(best, k);
    const double limit = best >= 0 ? best * (1 + slack) : best;
    tied_.clear();
    for (std::size_t i = 0; i < keys_.size(); ++i)
      if (keys_[i] <= limit) tied_.push_back(i);
    return pick_tied();
  }
  // Reused from pick to pick (a strategy belongs to one worker): no allocation per request.
  std::vector<double> keys_, alt_;
  std::vector<std::size_t> tied_;
  std::mt19937_64 rng_;
};

}  // namespace llmgate::router_detail
