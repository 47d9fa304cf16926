// The router keys of router_settings and litellm_settings (LiteLLM reads most of them from
// either; router_settings is loaded second, so it wins). Keys the request path does not apply
// yet are still warned as "not supported yet" and parsed into Config::router; an invalid value
// of such a key is a warning, not a fatal error, since the key has no effect yet.
#include <cmath>

#include "config/loader_state.hpp"

namespace llmgate::config_detail {

namespace {

constexpr const char* kPolicyNames[kPolicyClasses] = {
    "BadRequestError", "AuthenticationError",         "TimeoutError",
    "RateLimitError",  "ContentPolicyViolationError", "InternalServerError"};

// retry_policy: {RateLimitErrorRetries: 3, ...}; allowed_fails_policy: {...AllowedFails: n}.
void load_policy(Reader& r, const YAML::Node& v, const std::string& path, std::string_view suffix,
                 std::array<std::optional<int>, kPolicyClasses>& out) {
  r.expect_map(v, path);
  if (!v.IsMap()) return;
  for (auto it = v.begin(); it != v.end(); ++it) {
    const std::string key = it->first.Scalar();
    const std::string p = path + "." + key;
    std::size_t i = 0;
    while (i < kPolicyClasses && key != std::string(kPolicyNames[i]) + std::string(suffix)) ++i;
    if (i == kPolicyClasses) {
      r.unknown(p);
      continue;
    }
    if (Reader::present(it->second)) out[i] = static_cast<int>(r.integer(it->second, p, 0, 100));
  }
}

std::vector<std::string> load_model_names(Reader& r, const YAML::Node& v, const std::string& path) {
  std::vector<std::string> out;
  if (v.IsSequence()) {
    std::size_t i = 0;
    for (auto it = v.begin(); it != v.end(); ++it, ++i) out.push_back(r.str(*it, path + "[" + std::to_string(i) + "]"));
  } else {
    out.push_back(r.str(v, path));
  }
  return out;
}

// priority_reservation: {priority: share of capacity in [0, 1]}; the shares add up to at most 1.
void load_reservation(Reader& r, const YAML::Node& v, const std::string& path, std::map<std::string, double>& out) {
  r.expect_map(v, path);
  if (!v.IsMap()) return;
  double sum = 0;
  for (auto it = v.begin(); it != v.end(); ++it) {
    const std::string p = path + "." + it->first.Scalar();
    const double share = r.non_negative(it->second, p);
    if (share > 1) r.fail(it->second, p, "must be a share of capacity between 0 and 1");
    out[it->first.Scalar()] = share;
    sum += share;
  }
  if (sum > 1 + 1e-9) r.fail(v, path, "the shares add up to more than 1");
}

void load_strategy_args(Reader& r, const YAML::Node& v, const std::string& path, RouterSettings::StrategyArgs& a) {
  r.expect_map(v, path);
  if (!v.IsMap()) return;
  for (auto it = v.begin(); it != v.end(); ++it) {
    const std::string key = it->first.Scalar();
    const std::string p = path + "." + key;
    if (!Reader::present(it->second)) continue;
    if (key == "ttl") a.ttl_s = r.duration(it->second, p);
    else if (key == "lowest_latency_buffer") a.lowest_latency_buffer = r.non_negative(it->second, p);
    else if (key == "exploration") {
      a.exploration = r.non_negative(it->second, p);
      if (a.exploration > 1) r.fail(it->second, p, "must be a share between 0 and 1");
    } else r.unknown(p);
  }
}

// Parses one key; false when `key` is not a router key of `section`.
bool parse_key(Reader& r, const std::string& key, const std::string& path, const YAML::Node& v, bool router_section,
               RouterSettings& s) {
  const bool present = Reader::present(v);
  if (key == "retry_policy") {
    if (present) load_policy(r, v, path, "Retries", s.retry_policy);
  } else if (key == "allowed_fails") {
    if (present) s.allowed_fails = static_cast<int>(r.integer(v, path, 0, 1'000'000));
  } else if (key == "cooldown_time") {
    if (present) s.cooldown_time_s = r.duration(v, path);
  } else if (key == "context_window_fallbacks") {
    load_fallbacks(r, v, path, s.context_window_fallbacks);
  } else if (key == "content_policy_fallbacks") {
    load_fallbacks(r, v, path, s.content_policy_fallbacks);
  } else if (key == "default_fallbacks") {
    if (present) s.default_fallbacks = load_model_names(r, v, path);
  } else if (key == "max_fallbacks") {
    if (present) s.max_fallbacks = static_cast<int>(r.integer(v, path, 0, 100));
  } else if (key == "priority_reservation") {
    if (present) load_reservation(r, v, path, s.priority_reservation);
  } else if (!router_section) {
    return false;
  } else if (key == "allowed_fails_policy") {
    if (present) load_policy(r, v, path, "AllowedFails", s.allowed_fails_policy);
  } else if (key == "disable_cooldowns") {
    if (present) s.disable_cooldowns = r.boolean(v, path);
  } else if (key == "retry_after") {
    if (present) s.retry_after_s = r.duration(v, path);
  } else if (key == "enable_pre_call_checks") {
    if (present) s.enable_pre_call_checks = r.boolean(v, path);
  } else if (key == "default_priority") {
    if (present) s.default_priority = static_cast<int>(r.integer(v, path, 0, 1'000'000));
  } else if (key == "queue_timeout_seconds") {
    if (present) {
      s.queue_timeout_s = r.duration(v, path);
      if (s.queue_timeout_s <= 0) r.fail(v, path, "must be greater than 0");
    }
  } else if (key == "routing_strategy_args") {
    if (present) load_strategy_args(r, v, path, s.strategy_args);
  } else {
    return false;
  }
  return true;
}

}  // namespace

bool load_router_key(Reader& r, const std::string& key, const std::string& path, const YAML::Node& v,
                     bool router_section, LoadState& st) {
  // Parsed into a copy so that an invalid value leaves the settings as they were.
  RouterSettings parsed = st.cfg.router;
  try {
    if (!parse_key(r, key, path, v, router_section, parsed)) return false;
  } catch (const ConfigError& e) {
    r.not_supported(path);
    r.warn(path, std::string("invalid value ignored (") + e.what() + ")");
    return true;
  }
  st.cfg.router = std::move(parsed);
  r.not_supported(path);
  return true;
}

}  // namespace llmgate::config_detail
