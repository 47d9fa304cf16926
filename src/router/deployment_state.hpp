#pragma once
// Process-wide state of each deployment, shared by every worker thread: in flight, requests
// and tokens this minute, recent latency, failures this minute, cooldown and the half-open
// probe. One small mutex per deployment (no global lock on the hot path; the table's own lock
// is taken only to look an id up, which callers do once per config snapshot). Time is passed
// in as steady-clock milliseconds so that tests drive it.
#include <array>
#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "llmgate/config.hpp"
#include "llmgate/router.hpp"

namespace llmgate {

enum class Health : std::uint8_t { healthy, cooling_down, half_open };
const char* to_string(Health h);

// Whether a deployment may take an attempt now, and if not, when to ask again.
enum class Availability : std::uint8_t { ok, cooling_down, at_capacity };
struct AvailabilityCheck {
  Availability availability = Availability::ok;
  int64_t retry_after_ms = 0;  // cooling_down: until the cooldown ends; at_capacity: a hint
};

// A copy of one deployment's state, for /health, metrics and the strategies.
struct DeploymentSnapshot {
  Health health = Health::healthy;
  int64_t cooldown_until_ms = 0;  // cooling_down: when the half-open probe may start
  int in_flight = 0;
  int64_t requests_this_minute = 0, tokens_this_minute = 0;
  int failures_this_minute = 0;  // the ones that count toward a cooldown
  double latency_ms = -1;        // mean of the recent samples within ttl; < 0: none
  double latency_per_output_token_ms = -1;
  uint64_t successes = 0, failures = 0, cooldowns = 0;
};

// One attempt's end, as the state table records it.
struct AttemptEnd {
  ErrorClass error = ErrorClass::none;
  bool probe = false;      // the attempt was the half-open probe (acquire() said so)
  int64_t latency_ms = 0;  // start of the attempt to its end
  int64_t output_tokens = 0;
  int64_t total_tokens = 0;     // replaces the estimate acquire() reserved
  int64_t reserved_tokens = 0;  // what acquire() was given
  int64_t started_ms = 0;       // when acquire() took the slot
};

class DeploymentRuntime {
 public:
  static constexpr std::size_t kLatencySamples = 10;  // LiteLLM's max_latency_list_size

  // Whether `d` may take an attempt of `tokens` now (rpm, tpm, max_parallel_requests, cooldown).
  AvailabilityCheck check(int64_t now_ms, const Deployment& d, int64_t tokens, const RouterSettings& s) const;
  // check(), and when ok takes the slot: in flight, one request and `tokens` this minute.
  // `probe` is set when the attempt is the single half-open probe.
  AvailabilityCheck acquire(int64_t now_ms, const Deployment& d, int64_t tokens, const RouterSettings& s, bool& probe);
  // The attempt acquired ends. A failure may start a cooldown (true when it did).
  bool finish(int64_t now_ms, const AttemptEnd& e, const RouterSettings& s);
  // Starts a cooldown now (an operator action, or a 429 with a long Retry-After).
  void cool_down(int64_t now_ms, int64_t duration_ms);
  DeploymentSnapshot snapshot(int64_t now_ms, const RouterSettings& s) const;

 private:
  struct Sample {
    int64_t at_ms = 0;
    double latency_ms = 0, per_token_ms = -1;
  };
  void roll_minute(int64_t now_ms) const;
  void settle_cooldown(int64_t now_ms) const;
  AvailabilityCheck check_locked(int64_t now_ms, const Deployment& d, int64_t tokens, const RouterSettings& s) const;
  bool on_failure_locked(int64_t now_ms, ErrorClass e, bool probe, const RouterSettings& s);
  void cool_down_locked(int64_t now_ms, int64_t duration_ms);

  mutable std::mutex mu_;
  // Mutable: reading rolls the minute and ends an expired cooldown, both idempotent.
  mutable int64_t minute_ = -1;
  mutable int64_t requests_minute_ = 0, tokens_minute_ = 0;
  mutable Health health_ = Health::healthy;
  int64_t cooldown_until_ms_ = 0;
  bool probe_in_flight_ = false;
  int64_t probe_started_ms_ = 0;
  int in_flight_ = 0;
  // Failures per policy class, each in a one-minute window from its first failure (LiteLLM's
  // TTL counter).
  std::array<int, kPolicyClasses> fails_{};
  std::array<int64_t, kPolicyClasses> fails_since_ms_{};
  std::array<Sample, kLatencySamples> samples_{};
  std::size_t next_sample_ = 0, sample_count_ = 0;
  uint64_t successes_ = 0, failures_ = 0, cooldowns_ = 0;
};

// Deployment id -> state, kept for the life of the process, so that a config reload (same
// ids) keeps the counters and cooldowns. Addresses are stable.
class DeploymentRuntimeTable {
 public:
  DeploymentRuntime& get(std::string_view id);         // created on first use
  DeploymentRuntime* find(std::string_view id) const;  // null when never used
  std::vector<std::string> ids() const;

 private:
  struct Hash {
    using is_transparent = void;
    std::size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };
  mutable std::shared_mutex mu_;
  std::unordered_map<std::string, std::unique_ptr<DeploymentRuntime>, Hash, std::equal_to<>> states_;
};

// The policy class an error counts under (retry_policy, allowed_fails_policy).
PolicyClass policy_class(ErrorClass e);
// Whether an error counts toward a deployment's cooldown: the deployment's fault (401, 404,
// timeouts, 5xx, connection), not the request's (400, content policy), unless
// allowed_fails_policy names the class.
bool counts_toward_cooldown(ErrorClass e, const RouterSettings& s);
// The failures of one class a deployment may have within a minute before it cools down.
int allowed_fails_for(ErrorClass e, const RouterSettings& s);

}  // namespace llmgate
