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
    std::vector<double> busy(c.size());
    for (std::size_t i = 0; i < c.size(); ++i) busy[i] = snap(c[i], ctx).in_flight;
    return pick(lowest(c.size(), [&](std::size_t i) { return busy[i]; }));
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
    std::vector<double> latency(c.size());
    bool per_token = true;
    std::vector<DeploymentSnapshot> snaps(c.size());
    for (std::size_t i = 0; i < c.size(); ++i) {
      snaps[i] = snap(c[i], ctx);
      if (snaps[i].latency_per_output_token_ms < 0) per_token = false;
    }
    std::vector<std::size_t> unmeasured;
    for (std::size_t i = 0; i < c.size(); ++i) {
      latency[i] = per_token ? snaps[i].latency_per_output_token_ms : snaps[i].latency_ms;
      if (latency[i] < 0) unmeasured.push_back(i);
    }
    if (!unmeasured.empty()) return pick(unmeasured);
    if (c.size() > 1 && uniform() < s.strategy_args.exploration) return rng_() % c.size();
    return pick(lowest(c.size(), [&](std::size_t i) { return latency[i]; }, s.strategy_args.lowest_latency_buffer));
  }
};

// usage-based-routing (-v2): the fewest tokens this minute (select.hpp has already skipped the
// deployments at their rpm/tpm).
class UsageBased final : public StatefulStrategy {
 public:
  using StatefulStrategy::StatefulStrategy;
  std::size_t choose(std::span<const Candidate> c, const ChooseContext& ctx) override {
    std::vector<double> tokens(c.size());
    for (std::size_t i = 0; i < c.size(); ++i) tokens[i] = static_cast<double>(snap(c[i], ctx).tokens_this_minute);
    return pick(lowest(c.size(), [&](std::size_t i) { return tokens[i]; }));
  }
};

// cost-based-routing: the cheapest input + output price per token; an unknown price counts as
// the most expensive.
class CostBased final : public StatefulStrategy {
 public:
  using StatefulStrategy::StatefulStrategy;
  std::size_t choose(std::span<const Candidate> c, const ChooseContext&) override {
    return pick(lowest(c.size(), [&](std::size_t i) {
      return c[i].price_per_token < 0 ? std::numeric_limits<double>::infinity() : c[i].price_per_token;
    }));
  }
};

}  // namespace

std::unique_ptr<RoutingStrategy> make_least_busy(uint64_t seed) { return std::make_unique<LeastBusy>(seed); }
std::unique_ptr<RoutingStrategy> make_latency_based(uint64_t seed) { return std::make_unique<LatencyBased>(seed); }
std::unique_ptr<RoutingStrategy> make_usage_based(uint64_t seed) { return std::make_unique<UsageBased>(seed); }
std::unique_ptr<RoutingStrategy> make_cost_based(uint64_t seed) { return std::make_unique<CostBased>(seed); }

}  // namespace llmgate
