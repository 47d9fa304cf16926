#pragma once
// Routing: from a model alias and the request, the plan of deployments to try. A
// RoutingStrategy orders one alias's deployments; the Router adds the retry bound
// (router_settings.num_retries) and the fallback aliases (router_settings.fallbacks).
// Strategies are looked up by their LiteLLM name (src/router/registry.cpp). Plain data, no Asio.
#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "llmgate/config.hpp"

namespace llmgate {

// What a strategy may know about the request.
struct RouteRequest {
  std::string_view model;  // the alias the client asked for
  std::string_view user;   // the body's "user" ("" when none)
  bool stream = false;
};

// One attempt's result, told to the strategy after each try.
struct AttemptResult {
  const Deployment* deployment = nullptr;
  int status = 0;            // the HTTP status the attempt ended with (499: the client left)
  int64_t latency_us = 0;    // the attempt, from its start to its end
  int64_t total_tokens = 0;  // tokens reported (or estimated) for the attempt
};

class DeploymentRuntime;  // process-wide per-deployment state (src/router/deployment_state.hpp)

// A deployment with what a strategy may weigh: its shared state and its price.
struct Candidate {
  const Deployment* deployment = nullptr;
  DeploymentRuntime* state = nullptr;  // null: nothing known yet (idle, healthy)
  double price_per_token = -1;         // input + output USD per token (price table); < 0: unknown
};

// What a strategy's choice may depend on besides the candidates. Time is passed in (a steady
// clock in milliseconds) so that tests drive it.
struct ChooseContext {
  int64_t now_ms = 0;
  int64_t estimated_tokens = 0;              // the request's estimated prompt + output tokens
  const RouterSettings* settings = nullptr;  // null: defaults
};

class RoutingStrategy {
 public:
  virtual ~RoutingStrategy() = default;
  // Appends to `out` up to `max` distinct deployments of `group` (one alias's deployments, in
  // config order, never empty), in the order to try them.
  virtual void order(std::span<const Deployment* const> group, const RouteRequest& req, std::size_t max,
                     std::vector<const Deployment*>& out) = 0;
  // Each attempt's result (latency- and usage-based strategies, cooldowns). Worker thread only.
  virtual void on_result(const AttemptResult& r) { (void)r; }
  // Index into `eligible` (non-empty: the available deployments of one order tier, in config
  // order) of the deployment to try next. The default takes order()'s first.
  virtual std::size_t choose(std::span<const Candidate> eligible, const ChooseContext& ctx);
};

// The strategy registered under `name` (a LiteLLM routing_strategy), seeded with `seed`; null
// when no strategy has that name.
std::unique_ptr<RoutingStrategy> make_routing_strategy(std::string_view name, uint64_t seed);
// The registered names, in registry order.
std::vector<std::string_view> routing_strategy_names();
// True for a strategy the request path applies (Router::plan); the others are chosen through
// RoutingStrategy::choose (src/router/select.hpp) and not yet wired (docs/routing.md).
bool routing_strategy_applied(std::string_view name);

// The outcome of one attempt in LiteLLM's terms (classify() in src/router/retry_policy.hpp).
enum class ErrorClass : std::uint8_t {
  none,                      // success
  bad_request,               // other 4xx
  context_window_exceeded,   // 400 context_length_exceeded: never retried
  content_policy_violation,  // 400 content_policy_violation / content_filter
  authentication,            // 401: never retried
  permission_denied,         // 403: never retried
  not_found,                 // 404
  timeout,                   // 408, or the attempt's own timeout
  rate_limit,                // 429
  internal_server,           // 5xx
  connection,                // no response: connect, TLS or reset before the status line
  client_gone,               // the client left: never retried
};
const char* to_string(ErrorClass c);

struct RoutePlan {
  std::vector<const Deployment*> candidates;  // the alias's deployments, then one per fallback alias
  std::size_t first_fallback = 0;             // index of the first fallback candidate
};

// One per worker (strategies keep per-worker state and take no lock).
class Router {
 public:
  // `strategy`: a registered name; an unknown name uses simple-shuffle (the config loader
  // already warned about it).
  explicit Router(std::string_view strategy = "simple-shuffle", uint64_t seed = 0);
  ~Router();
  Router(const Router&) = delete;
  Router& operator=(const Router&) = delete;

  // The plan for `req.model` under `cfg`; false (and `out` empty) when the alias is unknown.
  bool plan(const Config& cfg, const RouteRequest& req, RoutePlan& out);
  // The same with the alias's deployments already looked up (`group` non-empty).
  void plan(const Config& cfg, const std::vector<const Deployment*>& group, const RouteRequest& req, RoutePlan& out);
  void on_result(const AttemptResult& r) { strategy_->on_result(r); }
  // Switches to the strategy named `name` (a config reload); a new strategy starts afresh.
  void use(std::string_view name);
  std::string_view strategy_name() const { return name_; }
  RoutingStrategy& strategy() { return *strategy_; }

 private:
  std::unique_ptr<RoutingStrategy> strategy_;
  std::string name_;
  uint64_t seed_;
};

}  // namespace llmgate
