// The routing strategies by LiteLLM name. Adding one: its file in src/router/ defining
// `std::unique_ptr<RoutingStrategy> make_<id>(uint64_t seed)`, and its line here.
#include "llmgate/router.hpp"

// X(LiteLLM name, factory, applied by the request path yet)
#define LLMGATE_ROUTING_STRATEGIES(X)                   \
  X("simple-shuffle", make_simple_shuffle, true)        \
  X("least-busy", make_least_busy, false)               \
  X("latency-based-routing", make_latency_based, false) \
  X("usage-based-routing", make_usage_based, false)     \
  X("usage-based-routing-v2", make_usage_based, false)  \
  X("cost-based-routing", make_cost_based, false)

namespace llmgate {

#define LLMGATE_DECLARE_STRATEGY(name, factory, applied) std::unique_ptr<RoutingStrategy> factory(uint64_t seed);
LLMGATE_ROUTING_STRATEGIES(LLMGATE_DECLARE_STRATEGY)
#undef LLMGATE_DECLARE_STRATEGY

namespace {

struct Entry {
  std::string_view name;
  std::unique_ptr<RoutingStrategy> (*make)(uint64_t);
  bool applied;
};

#define LLMGATE_STRATEGY_ENTRY(name, factory, applied) Entry{name, &factory, applied},
constexpr Entry kStrategies[] = {LLMGATE_ROUTING_STRATEGIES(LLMGATE_STRATEGY_ENTRY)};
#undef LLMGATE_STRATEGY_ENTRY

}  // namespace

std::unique_ptr<RoutingStrategy> make_routing_strategy(std::string_view name, uint64_t seed) {
  for (const Entry& e : kStrategies)
    if (e.name == name) return e.make(seed);
  return nullptr;
}

bool routing_strategy_applied(std::string_view name) {
  for (const Entry& e : kStrategies)
    if (e.name == name) return e.applied;
  return false;
}

std::vector<std::string_view> routing_strategy_names() {
  std::vector<std::string_view> names;
  for (const Entry& e : kStrategies) names.push_back(e.name);
  return names;
}

}  // namespace llmgate
