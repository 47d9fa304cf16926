// The state-driven strategies by LiteLLM name (registered in registry.cpp). Each chooses among
// the available deployments of one order tier (src/router/select.hpp filters cooldowns and
// capacity first); ties are broken at random so that equal deployments share the load.
#include <limits>

#include "router/deployment_state.hpp"
#include "router/strategy_base.hpp"

namespace llmgate {

namespace {

using router_detail::StatefulStrategy;

const RouterSettings& settings_of(const ChooseContext& ctx) {
  static const RouterSettings defaults;
  return ctx.settings ? *ctx.settings : defaults;
}

DeploymentSnapshot snap(const Candidate& c, const ChooseContext& ctx) {
  return c.state ? c.state->snapshot(ctx.now_ms, settings_of(ctx)) : DeploymentSnapshot{};
}

// least-busy: the fewest attempts in flight.
class LeastBusy final : public StatefulStrategy {
 public:
  using StatefulStrategy::StatefulStrategy;
  std::size_t choose(std::span<const Candidate> c, const ChooseContext& ctx) override {
    keys_.resize(c.size());
    for (std::size_t i = 0; i < c.size(); ++i) keys_[i] = snap(c[i], ctx).in_flight;
    return pick_lowest();
  }
};

// latency-based-routing: the lowest mean latency of the recent successes within
// routing_strategy_args.ttl (per output token when known), any within lowest_latency_buffer of
// it counting as equal. A deployment without samples is tried first (it has to be measured),
// and an `exploration` share of picks go to a random deployment so that a slow one that
// recovered is noticed.
class LatencyBased final : public StatefulStrategy {
 public:
  using StatefulStrategy::StatefulStrategy;
  std::size_t choose(std::span<const Candidate> c, const ChooseContext& ctx) override {
    const RouterSettings& s = settings_of(ctx);
    keys_.resize(c.size());  // per output token
    alt_.resize(c.size());   // per attempt
    bool per_token = true;
    tied_.clear();  // the unmeasured
    for (std::size_t i = 0; i < c.size(); ++i) {
      const DeploymentSnapshot x = snap(c[i], ctx);
      keys_[i] = x.latency_per_output_token_ms;
      alt_[i] = x.latency_ms;
      if (keys_[i] < 0) per_token = false;
      if (alt_[i] < 0) tied_.push_back(i);
    }
    if (!tied_.empty()) return pick_tied();
    if (c.size() > 1 && uniform() < s.strategy_args.exploration) return rng_() % c.size();
    if (!per_token) keys_.swap(alt_);
    return pick_lowest(s.strategy_args.lowest_latency_buffer);
  }
};

// usage-based-routing (-v2): the fewest tokens this minute (select.hpp has already skipped the
// deployments at their rpm/tpm).
class UsageBased final : public StatefulStrategy {
 public:
  using StatefulStrategy::StatefulStrategy;
  std::size_t choose(std::span<const Candidate> c, const ChooseContext& ctx) override {
    keys_.resize(c.size());
    for (std::size_t i = 0; i < c.size(); ++i) keys_[i] = static_cast<double>(snap(c[i], ctx).tokens_this_minute);
    return pick_lowest();
  }
};

// cost-based-routing: the cheapest input + output price per token; an unknown price counts as
// the most expensive.
class CostBased final : public StatefulStrategy {
 public:
  using StatefulStrategy::StatefulStrategy;
  std::size_t choose(std::span<const Candidate> c, const ChooseContext&) override {
    keys_.resize(c.size());
    for (std::size_t i = 0; i < c.size(); ++i)
      keys_[i] = c[i].price_per_token < 0 ? std::numeric_limits<double>::infinity() : c[i].price_per_token;
    return pick_lowest();
  }
};

}  // namespace

std::unique_ptr<RoutingStrategy> make_least_busy(uint64_t seed) { return std::make_unique<LeastBusy>(seed); }
std::unique_ptr<RoutingStrategy> make_latency_based(uint64_t seed) { return std::make_unique<LatencyBased>(seed); }
std::unique_ptr<RoutingStrategy> make_usage_based(uint64_t seed) { return std::make_unique<UsageBased>(seed); }
std::unique_ptr<RoutingStrategy> make_cost_based(uint64_t seed) { return std::make_unique<CostBased>(seed); }

}  // namespace llmgate
