// router_settings (and the router keys of litellm_settings) into Config::router: values,
// defaults, and the "not supported yet" warning each key keeps until the request path applies it.
#include <gtest/gtest.h>

#include <algorithm>
#include <string>

#include "llmgate/config.hpp"
#include "llmgate/router.hpp"

namespace llmgate {
namespace {

bool has(const std::vector<std::string>& w, const std::string& s) {
  return std::find(w.begin(), w.end(), s) != w.end();
}

std::string joined(const std::vector<std::string>& w) {
  std::string out;
  for (const auto& s : w) out += s + "\n";
  return out;
}

TEST(RouterConfig, DefaultsAreLiteLLMs) {
  const Config c = load_config_string("");
  const RouterSettings& r = c.router;
  EXPECT_EQ(r.routing_strategy, "simple-shuffle");
  EXPECT_FALSE(r.num_retries.has_value());  // the retry plan uses LiteLLM's 2
  EXPECT_EQ(r.allowed_fails, 3);
  EXPECT_DOUBLE_EQ(r.cooldown_time_s, 5);
  EXPECT_FALSE(r.disable_cooldowns);
  EXPECT_EQ(r.max_fallbacks, 5);
  EXPECT_FALSE(r.enable_pre_call_checks);
  EXPECT_FALSE(r.default_priority.has_value());
  EXPECT_DOUBLE_EQ(r.queue_timeout_s, 30);
  EXPECT_DOUBLE_EQ(r.request_timeout_s, 600);
  EXPECT_DOUBLE_EQ(r.retry_after_s, 0);
  EXPECT_DOUBLE_EQ(r.strategy_args.ttl_s, 3600);
  EXPECT_DOUBLE_EQ(r.strategy_args.exploration, 0.05);
  for (const auto& p : r.retry_policy) EXPECT_FALSE(p.has_value());
  for (const auto& p : r.allowed_fails_policy) EXPECT_FALSE(p.has_value());
  EXPECT_TRUE(c.warnings.empty()) << joined(c.warnings);
}

TEST(RouterConfig, ParsesEveryRouterKeyAndStillWarnsTheUnapplied) {
  const Config c = load_config_string(R"(
model_list:
  - model_name: a
    litellm_params: {model: mock/a}
  - model_name: b
    litellm_params: {model: mock/b}
router_settings:
  routing_strategy: usage-based-routing-v2
  routing_strategy_args: {ttl: 90, lowest_latency_buffer: 0.5, exploration: 0.1}
  num_retries: 4
  timeout: 45
  retry_policy: {RateLimitErrorRetries: 7, BadRequestErrorRetries: 0, InternalServerErrorRetries: 2}
  allowed_fails: 2
  allowed_fails_policy: {TimeoutErrorAllowedFails: 9, ContentPolicyViolationErrorAllowedFails: 1}
  cooldown_time: 30
  disable_cooldowns: true
  retry_after: 2
  fallbacks: [{a: [b]}]
  context_window_fallbacks: [{a: [b]}]
  content_policy_fallbacks: [{b: [a]}]
  default_fallbacks: [b]
  max_fallbacks: 2
  enable_pre_call_checks: true
  default_priority: 3
  queue_timeout_seconds: 12
)");
  const RouterSettings& r = c.router;
  EXPECT_EQ(r.routing_strategy, "usage-based-routing-v2");
  EXPECT_EQ(c.routing_strategy, "simple-shuffle");  // applied: only the wired strategies
  EXPECT_DOUBLE_EQ(r.strategy_args.ttl_s, 90);
  EXPECT_DOUBLE_EQ(r.strategy_args.lowest_latency_buffer, 0.5);
  EXPECT_DOUBLE_EQ(r.strategy_args.exploration, 0.1);
  EXPECT_EQ(r.num_retries, 4);
  EXPECT_EQ(c.num_retries, 4);
  EXPECT_DOUBLE_EQ(r.request_timeout_s, 45);
  EXPECT_EQ(r.retry_policy[static_cast<int>(PolicyClass::rate_limit)], 7);
  EXPECT_EQ(r.retry_policy[static_cast<int>(PolicyClass::bad_request)], 0);
  EXPECT_EQ(r.retry_policy[static_cast<int>(PolicyClass::internal_server)], 2);
  EXPECT_FALSE(r.retry_policy[static_cast<int>(PolicyClass::timeout)].has_value());
  EXPECT_EQ(r.allowed_fails, 2);
  EXPECT_EQ(r.allowed_fails_policy[static_cast<int>(PolicyClass::timeout)], 9);
  EXPECT_EQ(r.allowed_fails_policy[static_cast<int>(PolicyClass::content_policy_violation)], 1);
  EXPECT_DOUBLE_EQ(r.cooldown_time_s, 30);
  EXPECT_TRUE(r.disable_cooldowns);
  EXPECT_DOUBLE_EQ(r.retry_after_s, 2);
  EXPECT_EQ(c.fallbacks.at("a"), std::vector<std::string>{"b"});
  EXPECT_EQ(r.context_window_fallbacks.at("a"), std::vector<std::string>{"b"});
  EXPECT_EQ(r.content_policy_fallbacks.at("b"), std::vector<std::string>{"a"});
  EXPECT_EQ(r.default_fallbacks, std::vector<std::string>{"b"});
  EXPECT_EQ(r.max_fallbacks, 2);
  EXPECT_TRUE(r.enable_pre_call_checks);
  EXPECT_EQ(r.default_priority, 3);
  EXPECT_DOUBLE_EQ(r.queue_timeout_s, 12);
  for (const char* key :
       {"routing_strategy_args", "retry_policy", "allowed_fails", "allowed_fails_policy", "cooldown_time",
        "disable_cooldowns", "retry_after", "context_window_fallbacks", "content_policy_fallbacks", "default_fallbacks",
        "max_fallbacks", "enable_pre_call_checks", "default_priority", "queue_timeout_seconds"})
    EXPECT_TRUE(has(c.warnings, std::string("router_settings.") + key + ": not supported yet, ignored"))
        << key << "\n"
        << joined(c.warnings);
  EXPECT_TRUE(has(c.warnings,
                  "router_settings.routing_strategy: 'usage-based-routing-v2' not supported yet, using "
                  "simple-shuffle"))
      << joined(c.warnings);
  // The applied keys are not warned.
  for (const char* key : {"num_retries", "timeout", "fallbacks"})
    for (const auto& w : c.warnings) EXPECT_NE(w.rfind(std::string("router_settings.") + key + ":", 0), 0u) << w;
}

TEST(RouterConfig, LitellmSettingsKeysAndRouterSettingsWins) {
  const Config c = load_config_string(R"(
litellm_settings:
  num_retries: 1
  request_timeout: 20
  allowed_fails: 7
  cooldown_time: 11
  max_fallbacks: 1
  context_window_fallbacks: [{a: [b]}]
  priority_reservation: {"0": 0.25, "1": 0.5}
  retry_policy: {TimeoutErrorRetries: 5}
router_settings:
  cooldown_time: 13
)");
  EXPECT_EQ(c.router.num_retries, 1);
  EXPECT_DOUBLE_EQ(c.router.request_timeout_s, 20);
  EXPECT_EQ(c.router.allowed_fails, 7);
  EXPECT_DOUBLE_EQ(c.router.cooldown_time_s, 13);  // router_settings wins
  EXPECT_EQ(c.router.max_fallbacks, 1);
  EXPECT_EQ(c.router.context_window_fallbacks.at("a"), std::vector<std::string>{"b"});
  EXPECT_DOUBLE_EQ(c.router.priority_reservation.at("0"), 0.25);
  EXPECT_DOUBLE_EQ(c.router.priority_reservation.at("1"), 0.5);
  EXPECT_EQ(c.router.retry_policy[static_cast<int>(PolicyClass::timeout)], 5);
  for (const char* key : {"allowed_fails", "cooldown_time", "max_fallbacks", "context_window_fallbacks",
                          "priority_reservation", "retry_policy"})
    EXPECT_TRUE(has(c.warnings, std::string("litellm_settings.") + key + ": not supported yet, ignored"))
        << key << "\n"
        << joined(c.warnings);
}

TEST(RouterConfig, AnInvalidUnappliedValueIsAWarningAndKeepsTheDefault) {
  const Config c = load_config_string(R"(
router_settings:
  cooldown_time: soon
  allowed_fails: -1
  retry_policy: {RateLimitErrorRetries: many, NoSuchErrorRetries: 1}
litellm_settings:
  priority_reservation: {"0": 0.75, "1": 0.5}
)");
  EXPECT_DOUBLE_EQ(c.router.cooldown_time_s, 5);
  EXPECT_EQ(c.router.allowed_fails, 3);
  EXPECT_FALSE(c.router.retry_policy[static_cast<int>(PolicyClass::rate_limit)].has_value());
  EXPECT_TRUE(c.router.priority_reservation.empty());
  int invalid = 0;
  for (const auto& w : c.warnings) invalid += w.find("invalid value ignored") != std::string::npos;
  EXPECT_EQ(invalid, 4) << joined(c.warnings);
}

TEST(RouterConfig, DeploymentRouterInputs) {
  const Config c = load_config_string(R"(
model_list:
  - model_name: a
    litellm_params: {model: mock/a, weight: 2.5, order: 2, max_parallel_requests: 8, rpm: 60, tpm: 1000,
                     timeout: 9, stream_timeout: 4}
    model_info: {max_input_tokens: 128000}
  - model_name: a
    litellm_params: {model: mock/b, order: zero}
)");
  ASSERT_EQ(c.deployments.size(), 2u);
  const Deployment& d = c.deployments[0];
  EXPECT_DOUBLE_EQ(d.weight, 2.5);
  EXPECT_EQ(d.order, 2);
  EXPECT_EQ(d.max_parallel_requests, 8);
  EXPECT_EQ(d.rpm, 60);
  EXPECT_EQ(d.tpm, 1000);
  EXPECT_DOUBLE_EQ(d.timeout_s, 9);
  EXPECT_DOUBLE_EQ(d.stream_timeout_s, 4);
  EXPECT_EQ(d.max_input_tokens, 128000);
  EXPECT_EQ(c.deployments[1].order, 0);  // invalid: unset, with a warning
  for (const char* key : {"weight", "order", "max_parallel_requests"})
    EXPECT_TRUE(has(c.warnings, std::string("model_list[0].litellm_params.") + key + ": not supported yet, ignored"))
        << key << "\n"
        << joined(c.warnings);
  EXPECT_TRUE(std::any_of(c.warnings.begin(), c.warnings.end(), [](const std::string& w) {
    return w.rfind("model_list[1].litellm_params.order: invalid value ignored", 0) == 0;
  })) << joined(c.warnings);
}

TEST(RouterConfig, EveryStrategyIsRegisteredAndOnlySimpleShuffleApplied) {
  for (const char* name : {"simple-shuffle", "least-busy", "latency-based-routing", "usage-based-routing",
                           "usage-based-routing-v2", "cost-based-routing"}) {
    EXPECT_NE(make_routing_strategy(name, 1), nullptr) << name;
    EXPECT_EQ(routing_strategy_applied(name), std::string(name) == "simple-shuffle") << name;
    const Config c = load_config_string(std::string("router_settings:\n  routing_strategy: ") + name + "\n");
    EXPECT_EQ(c.router.routing_strategy, name);
    EXPECT_EQ(c.routing_strategy, "simple-shuffle");
  }
  const Config c = load_config_string("router_settings:\n  routing_strategy: no-such-strategy\n");
  EXPECT_EQ(c.router.routing_strategy, "simple-shuffle");
}

}  // namespace
}  // namespace llmgate
