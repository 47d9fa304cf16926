#include "llmgate/router.hpp"

#include <algorithm>

namespace llmgate {

Router::Router(std::string_view strategy, uint64_t seed) : seed_(seed) { use(strategy); }

void Router::use(std::string_view name) {
  if (strategy_ && name == name_) return;
  auto s = make_routing_strategy(name, ++seed_);
  if (!s) {
    if (strategy_ && name_ == "simple-shuffle") return;
    name = "simple-shuffle";
    s = make_routing_strategy(name, seed_);
  }
  strategy_ = std::move(s);
  name_ = std::string(name);
}

Router::~Router() = default;

bool Router::plan(const Config& cfg, const RouteRequest& req, RoutePlan& out) {
  out.candidates.clear();
  out.first_fallback = 0;
  const auto group = cfg.find(std::string(req.model));
  if (group.empty()) return false;
  plan(cfg, group, req, out);
  return true;
}

void Router::plan(const Config& cfg, const std::vector<const Deployment*>& group, const RouteRequest& req,
                  RoutePlan& out) {
  // The alias's deployments, at most 1 + num_retries of them, then one of each fallback alias.
  const std::size_t primary = std::min<std::size_t>(group.size(), 1 + std::max(0, cfg.num_retries));
  strategy_->order(group, req, primary, out.candidates);
  out.first_fallback = out.candidates.size();
  // A scan, not find(): the map's key is a std::string and the alias a view (no copy per
  // request); fallback maps are small.
  for (const auto& [alias, fallbacks] : cfg.fallbacks) {
    if (alias != req.model) continue;
    for (const auto& fb : fallbacks) {
      const auto ds = cfg.find(fb);
      if (!ds.empty()) strategy_->order(ds, req, 1, out.candidates);
    }
    break;
  }
}

}  // namespace llmgate

namespace llmgate {

std::size_t RoutingStrategy::choose(std::span<const Candidate> eligible, const ChooseContext&) {
  std::vector<const Deployment*> group, first;
  group.reserve(eligible.size());
  for (const Candidate& c : eligible) group.push_back(c.deployment);
  order(group, RouteRequest{}, 1, first);
  for (std::size_t i = 0; i < eligible.size() && !first.empty(); ++i)
    if (eligible[i].deployment == first[0]) return i;
  return 0;
}

const char* to_string(ErrorClass c) {
  switch (c) {
    case ErrorClass::none: return "none";
    case ErrorClass::bad_request: return "bad_request";
    case ErrorClass::context_window_exceeded: return "context_window_exceeded";
    case ErrorClass::content_policy_violation: return "content_policy_violation";
    case ErrorClass::authentication: return "authentication";
    case ErrorClass::permission_denied: return "permission_denied";
    case ErrorClass::not_found: return "not_found";
    case ErrorClass::timeout: return "timeout";
    case ErrorClass::rate_limit: return "rate_limit";
    case ErrorClass::internal_server: return "internal_server";
    case ErrorClass::connection: return "connection";
    case ErrorClass::client_gone: return "client_gone";
  }
  return "none";
}

}  // namespace llmgate
