// simple-shuffle (LiteLLM's default). order() (Router::plan): start at a random deployment,
// then the next ones in config order. choose(): at random weighted by `weight` when any
// deployment sets one, else by `rpm`, else by `tpm`, else uniform; as in LiteLLM a deployment
// without the weight the others have gets none. Ignores attempt results.
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

  std::size_t choose(std::span<const Candidate> c, const ChooseContext&) override {
    if (c.size() == 1) return 0;
    auto weight_of = [&](auto field) {
      double total = 0;
      for (const Candidate& x : c) total += static_cast<double>(field(*x.deployment));
      return total;
    };
    const auto by_weight = [](const Deployment& d) { return d.weight; };
    const auto by_rpm = [](const Deployment& d) { return d.rpm; };
    const auto by_tpm = [](const Deployment& d) { return d.tpm; };
    double total = weight_of(by_weight);
    int which = 0;
    if (total <= 0) total = weight_of(by_rpm), which = 1;
    if (total <= 0) total = weight_of(by_tpm), which = 2;
    if (total <= 0) return rng_() % c.size();
    double r = std::uniform_real_distribution<double>(0.0, total)(rng_);
    std::size_t last = 0;
    for (std::size_t i = 0; i < c.size(); ++i) {
      const Deployment& d = *c[i].deployment;
      const double w = which == 0 ? d.weight : which == 1 ? d.rpm : d.tpm;
      if (w <= 0) continue;
      if (r < w) return i;
      r -= w;
      last = i;
    }
    return last;  // rounding at the top end
  }

 private:
  std::mt19937_64 rng_;
};

}  // namespace

std::unique_ptr<RoutingStrategy> make_simple_shuffle(uint64_t seed) { return std::make_unique<SimpleShuffle>(seed); }

}  // namespace llmgate
