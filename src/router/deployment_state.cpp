#include "router/deployment_state.hpp"

#include <algorithm>

namespace llmgate {

namespace {

constexpr int64_t kMinuteMs = 60'000;
// How long a caller is told to wait for a half-open probe or a free parallel slot.
constexpr int64_t kShortWaitMs = 1'000;

int64_t ms(double seconds) { return static_cast<int64_t>(seconds * 1000.0); }

}  // namespace

const char* to_string(Health h) {
  switch (h) {
    case Health::healthy: return "healthy";
    case Health::cooling_down: return "cooling_down";
    case Health::half_open: return "half_open";
  }
  return "healthy";
}

PolicyClass policy_class(ErrorClass e) {
  switch (e) {
    case ErrorClass::authentication:
    case ErrorClass::permission_denied: return PolicyClass::authentication;
    case ErrorClass::timeout: return PolicyClass::timeout;
    case ErrorClass::rate_limit: return PolicyClass::rate_limit;
    case ErrorClass::content_policy_violation: return PolicyClass::content_policy_violation;
    case ErrorClass::internal_server:
    case ErrorClass::connection: return PolicyClass::internal_server;
    default: return PolicyClass::bad_request;
  }
}

bool counts_toward_cooldown(ErrorClass e, const RouterSettings& s) {
  switch (e) {
    case ErrorClass::authentication:
    case ErrorClass::not_found:
    case ErrorClass::timeout:
    case ErrorClass::rate_limit:
    case ErrorClass::internal_server:
    case ErrorClass::connection: return true;
    case ErrorClass::bad_request:
    case ErrorClass::context_window_exceeded:
    case ErrorClass::content_policy_violation:
    case ErrorClass::permission_denied:
      return s.allowed_fails_policy[static_cast<std::size_t>(policy_class(e))].has_value();
    default: return false;
  }
}

int allowed_fails_for(ErrorClass e, const RouterSettings& s) {
  return s.allowed_fails_policy[static_cast<std::size_t>(policy_class(e))].value_or(s.allowed_fails);
}

void DeploymentRuntime::roll_minute(int64_t now_ms) const {
  const int64_t m = now_ms / kMinuteMs;
  if (m == minute_) return;
  minute_ = m;
  requests_minute_ = 0;
  tokens_minute_ = 0;
}

void DeploymentRuntime::settle_cooldown(int64_t now_ms) const {
  if (health_ == Health::cooling_down && now_ms >= cooldown_until_ms_) health_ = Health::half_open;
}

AvailabilityCheck DeploymentRuntime::check_locked(int64_t now_ms, const Deployment& d, int64_t tokens,
                                                  const RouterSettings& s) const {
  if (!s.disable_cooldowns) {
    settle_cooldown(now_ms);
    if (health_ == Health::cooling_down) return {Availability::cooling_down, cooldown_until_ms_ - now_ms};
    // Half-open: one probe at a time. A probe that never reported (longer than a whole request
    // may take) no longer holds the deployment.
    if (health_ == Health::half_open && probe_in_flight_ && now_ms - probe_started_ms_ < ms(s.request_timeout_s))
      return {Availability::cooling_down, kShortWaitMs};
  }
  roll_minute(now_ms);
  const int64_t to_next_minute = kMinuteMs - now_ms % kMinuteMs;
  if (d.max_parallel_requests > 0 && in_flight_ >= d.max_parallel_requests)
    return {Availability::at_capacity, kShortWaitMs};
  if (d.rpm > 0 && requests_minute_ >= d.rpm) return {Availability::at_capacity, to_next_minute};
  if (d.tpm > 0 && tokens_minute_ + tokens > d.tpm) return {Availability::at_capacity, to_next_minute};
  return {};
}

AvailabilityCheck DeploymentRuntime::check(int64_t now_ms, const Deployment& d, int64_t tokens,
                                           const RouterSettings& s) const {
  std::lock_guard lk(mu_);
  return check_locked(now_ms, d, tokens, s);
}

AvailabilityCheck DeploymentRuntime::acquire(int64_t now_ms, const Deployment& d, int64_t tokens,
                                             const RouterSettings& s, bool& probe) {
  std::lock_guard lk(mu_);
  probe = false;
  const AvailabilityCheck c = check_locked(now_ms, d, tokens, s);
  if (c.availability != Availability::ok) return c;
  ++in_flight_;
  ++requests_minute_;
  tokens_minute_ += tokens;
  if (health_ == Health::half_open && !s.disable_cooldowns) {
    probe = true;
    probe_in_flight_ = true;
    probe_started_ms_ = now_ms;
  }
  return c;
}

void DeploymentRuntime::cool_down_locked(int64_t now_ms, int64_t duration_ms) {
  health_ = Health::cooling_down;
  cooldown_until_ms_ = std::max(cooldown_until_ms_, now_ms + duration_ms);
  probe_in_flight_ = false;
  fails_.fill(0);
  ++cooldowns_;
}

void DeploymentRuntime::cool_down(int64_t now_ms, int64_t duration_ms) {
  std::lock_guard lk(mu_);
  if (duration_ms > 0) cool_down_locked(now_ms, duration_ms);
}

bool DeploymentRuntime::on_failure_locked(int64_t now_ms, ErrorClass e, bool probe, const RouterSettings& s) {
  const int64_t cooldown_ms = ms(s.cooldown_time_s);
  if (s.disable_cooldowns || cooldown_ms <= 0) return false;
  if (!counts_toward_cooldown(e, s)) return false;  // a half-open deployment probes again
  if (probe || e == ErrorClass::rate_limit || e == ErrorClass::connection) {
    cool_down_locked(now_ms, cooldown_ms);
    return true;
  }
  const auto c = static_cast<std::size_t>(policy_class(e));
  if (fails_[c] == 0 || now_ms - fails_since_ms_[c] >= kMinuteMs) {
    fails_[c] = 0;
    fails_since_ms_[c] = now_ms;
  }
  if (++fails_[c] <= allowed_fails_for(e, s)) return false;
  cool_down_locked(now_ms, cooldown_ms);
  return true;
}

bool DeploymentRuntime::finish(int64_t now_ms, const AttemptEnd& e, const RouterSettings& s) {
  std::lock_guard lk(mu_);
  if (in_flight_ > 0) --in_flight_;
  if (e.probe) probe_in_flight_ = false;
  roll_minute(now_ms);
  // The estimate was reserved in the minute the attempt started; the actual count replaces it
  // when that is still this minute.
  const bool same_minute = e.started_ms / kMinuteMs == minute_;
  tokens_minute_ = std::max<int64_t>(0, tokens_minute_ + e.total_tokens - (same_minute ? e.reserved_tokens : 0));
  if (e.error == ErrorClass::client_gone) return false;  // says nothing about the deployment
  if (e.error != ErrorClass::none) {
    ++failures_;
    return on_failure_locked(now_ms, e.error, e.probe, s);
  }
  ++successes_;
  Sample& x = samples_[next_sample_];
  x.at_ms = now_ms;
  x.latency_ms = static_cast<double>(e.latency_ms);
  x.per_token_ms = e.output_tokens > 0 ? x.latency_ms / static_cast<double>(e.output_tokens) : -1;
  next_sample_ = (next_sample_ + 1) % kLatencySamples;
  sample_count_ = std::min(sample_count_ + 1, kLatencySamples);
  if (e.probe || health_ == Health::half_open) {
    health_ = Health::healthy;
    fails_.fill(0);
  }
  return false;
}

DeploymentSnapshot DeploymentRuntime::snapshot(int64_t now_ms, const RouterSettings& s) const {
  std::lock_guard lk(mu_);
  settle_cooldown(now_ms);
  roll_minute(now_ms);
  DeploymentSnapshot out;
  out.health = health_;
  out.cooldown_until_ms = health_ == Health::cooling_down ? cooldown_until_ms_ : 0;
  out.in_flight = in_flight_;
  out.requests_this_minute = requests_minute_;
  out.tokens_this_minute = tokens_minute_;
  for (std::size_t c = 0; c < kPolicyClasses; ++c)
    if (fails_[c] > 0 && now_ms - fails_since_ms_[c] < kMinuteMs) out.failures_this_minute += fails_[c];
  double sum = 0, per_token = 0;
  int n = 0, n_per_token = 0;
  const int64_t ttl = ms(s.strategy_args.ttl_s);
  for (std::size_t i = 0; i < sample_count_; ++i) {
    const Sample& x = samples_[i];
    if (now_ms - x.at_ms > ttl) continue;
    sum += x.latency_ms;
    ++n;
    if (x.per_token_ms >= 0) {
      per_token += x.per_token_ms;
      ++n_per_token;
    }
  }
  if (n > 0) out.latency_ms = sum / n;
  if (n_per_token > 0) out.latency_per_output_token_ms = per_token / n_per_token;
  out.successes = successes_;
  out.failures = failures_;
  out.cooldowns = cooldowns_;
  return out;
}

DeploymentRuntime& DeploymentRuntimeTable::get(std::string_view id) {
  {
    std::shared_lock lk(mu_);
    if (auto it = states_.find(id); it != states_.end()) return *it->second;
  }
  std::unique_lock lk(mu_);
  auto [it, inserted] = states_.try_emplace(std::string(id));
  if (inserted) it->second = std::make_unique<DeploymentRuntime>();
  return *it->second;
}

DeploymentRuntime* DeploymentRuntimeTable::find(std::string_view id) const {
  std::shared_lock lk(mu_);
  auto it = states_.find(id);
  return it == states_.end() ? nullptr : it->second.get();
}

std::vector<std::string> DeploymentRuntimeTable::ids() const {
  std::shared_lock lk(mu_);
  std::vector<std::string> out;
  out.reserve(states_.size());
  for (const auto& [id, st] : states_) out.push_back(id);
  std::sort(out.begin(), out.end());
  return out;
}

}  // namespace llmgate
