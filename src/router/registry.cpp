// The routing strategies by LiteLLM name. Adding one: its file in src/router/ defining
// `std::unique_ptr<RoutingStrategy> make_<id>(uint64_t seed)`, and its line here.
#include "llmgate/router.hpp"

#define LLMGATE_ROUTING_STRATEGIES(X) \
  X("simple-shuffle", make_simple_shuffle)

namespace llmgate {

#define LLMGATE_DECLARE_STRATEGY(name, factory) std::unique_ptr<RoutingStrategy> factory(uint64_t seed);
LLMGATE_ROUTING_STRATEGIES(LLMGATE_DECLARE_STRATEGY)
#undef LLMGATE_DECLARE_STRATEGY

namespace {

struct Entry {
  std::string_view name;
  std::unique_ptr<RoutingStrategy> (*make)(uint64_t);
};

#define LLMGATE_STRATEGY_ENTRY(name, factory) Entry{name, &factory},
constexpr Entry kStrategies[] = {LLMGATE_ROUTING_STRATEGIES(LLMGATE_STRATEGY_ENTRY)};
#undef LLMGATE_STRATEGY_ENTRY

}  // namespace

std::unique_ptr<RoutingStrategy> make_routing_strategy(std::string_view name, uint64_t seed) {
  for (const Entry& e : kStrategies)
    if (e.name == name) return e.make(seed);
  return nullptr;
}

std::vector<std::string_view> routing_strategy_names() {
  std::vector<std::string_view> names;
  for (const Entry& e : kStrategies) names.push_back(e.name);
  return names;
}

}  // namespace llmgate
