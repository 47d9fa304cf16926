#include "router/select.hpp"

#include <algorithm>
#include <limits>

namespace llmgate {

const char* to_string(SelectStatus s) {
  switch (s) {
    case SelectStatus::ok: return "ok";
    case SelectStatus::cooling_down: return "cooling_down";
    case SelectStatus::at_capacity: return "at_capacity";
    case SelectStatus::empty: return "empty";
  }
  return "empty";
}

namespace {

const RouterSettings& settings_of(const ChooseContext& ctx) {
  static const RouterSettings defaults;
  return ctx.settings ? *ctx.settings : defaults;
}

}  // namespace

Selection select_deployment(RoutingStrategy& strategy, std::span<const Candidate> group,
                            const std::vector<bool>& exclude, const ChooseContext& ctx, SelectScratch& scratch) {
  const RouterSettings& s = settings_of(ctx);
  std::vector<bool>& skip = scratch.skip;
  std::vector<std::size_t>& in_tier = scratch.in_tier;
  skip.assign(group.size(), false);
  for (std::size_t i = 0; i < group.size(); ++i) skip[i] = i < exclude.size() && exclude[i];
  bool any_capacity = false, any_left = false;
  int64_t soonest = std::numeric_limits<int64_t>::max();
  // Each pass: the lowest tier with an available deployment; a deployment that loses a race for
  // its slot (another worker took it) is skipped and the pass repeats.
  for (;;) {
    int tier = std::numeric_limits<int>::max();
    bool found = false;
    in_tier.clear();
    for (std::size_t i = 0; i < group.size(); ++i) {
      if (skip[i]) continue;
      any_left = true;
      const Deployment& d = *group[i].deployment;
      const AvailabilityCheck c = group[i].state ? group[i].state->check(ctx.now_ms, d, ctx.estimated_tokens, s)
                                                 : AvailabilityCheck{};
      if (c.availability != Availability::ok) {
        skip[i] = true;
        if (c.availability == Availability::at_capacity) any_capacity = true;
        soonest = std::min(soonest, c.retry_after_ms);
        continue;
      }
      const int t = order_tier(d);
      if (!found || t < tier) {
        tier = t;
        in_tier.clear();
      }
      found = true;
      if (t == tier) in_tier.push_back(i);
    }
    if (!found) break;
    scratch.tier.clear();
    for (std::size_t i : in_tier) scratch.tier.push_back(group[i]);
    const std::size_t chosen = in_tier[std::min(strategy.choose(scratch.tier, ctx), in_tier.size() - 1)];
    Selection out;
    out.status = SelectStatus::ok;
    out.index = chosen;
    if (!group[chosen].state) return out;
    const AvailabilityCheck c = group[chosen].state->acquire(ctx.now_ms, *group[chosen].deployment,
                                                             ctx.estimated_tokens, s, out.probe);
    if (c.availability == Availability::ok) return out;
    skip[chosen] = true;
    if (c.availability == Availability::at_capacity) any_capacity = true;
    soonest = std::min(soonest, c.retry_after_ms);
  }
  if (!any_left) return {};
  Selection out;
  out.status = any_capacity ? SelectStatus::at_capacity : SelectStatus::cooling_down;
  out.retry_after_ms = soonest == std::numeric_limits<int64_t>::max() ? 0 : std::max<int64_t>(0, soonest);
  return out;
}

}  // namespace llmgate
