#include "router/strategy_base.hpp"

#include <algorithm>

namespace llmgate::router_detail {

void StatefulStrategy::order(std::span<const Deployment* const> group, const RouteRequest&, std::size_t max,
                             std::vector<const Deployment*>& out) {
  std::vector<Candidate> left;
  left.reserve(group.size());
  for (const Deployment* d : group) left.push_back(Candidate{d, nullptr, -1});
  const ChooseContext ctx;
  while (!left.empty() && max-- > 0) {
    const std::size_t i = choose(left, ctx);
    out.push_back(left[i].deployment);
    left.erase(left.begin() + static_cast<std::ptrdiff_t>(i));
  }
}

}  // namespace llmgate::router_detail
