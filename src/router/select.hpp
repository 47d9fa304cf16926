#pragma once
// One pick from a deployment group: skip what is cooling down or at capacity, keep the lowest
// `order` tier that has an available deployment, let the strategy choose in it, and take the
// chosen deployment's slot (DeploymentRuntime::acquire). Not wired into the request path yet.
#include <limits>
#include <span>
#include <vector>

#include "llmgate/router.hpp"
#include "router/deployment_state.hpp"

namespace llmgate {

enum class SelectStatus : std::uint8_t {
  ok,            // `index` is taken: finish() it with its state
  cooling_down,  // every deployment of the group is cooling down (answer fast, name the cooldown)
  at_capacity,   // none has capacity now (rpm, tpm, max_parallel_requests): queue or 429
  empty,         // no deployment left to try (all excluded)
};
const char* to_string(SelectStatus s);

struct Selection {
  SelectStatus status = SelectStatus::empty;
  std::size_t index = 0;       // into the group
  bool probe = false;          // the half-open probe of its deployment
  int64_t retry_after_ms = 0;  // cooling_down / at_capacity: the soonest any may take traffic
};

// Buffers select_deployment reuses (one per worker: no allocation per request).
struct SelectScratch {
  std::vector<Candidate> tier;
  std::vector<bool> skip;
  std::vector<std::size_t> in_tier;
};

// `exclude[i]` true skips group[i] (already tried by this request).
Selection select_deployment(RoutingStrategy& strategy, std::span<const Candidate> group,
                            const std::vector<bool>& exclude, const ChooseContext& ctx, SelectScratch& scratch);

// The tier of a deployment: `order` (1 first), unset last.
inline int order_tier(const Deployment& d) { return d.order > 0 ? d.order : std::numeric_limits<int>::max(); }

}  // namespace llmgate
