#pragma once
// Retries and fallbacks as pure functions: classify an attempt into LiteLLM's error classes,
// decide whether and when to try again (exponential backoff with full jitter, Retry-After up to
// a cap, the whole request bounded by request_timeout), and which groups to fall back to.
// Randomness and time are passed in. Not wired into the request path yet.
#include <cstdint>
#include <optional>
#include <string_view>
#include <vector>

#include "llmgate/config.hpp"
#include "llmgate/router.hpp"
#include "router/deployment_state.hpp"

namespace llmgate {

// LiteLLM's num_retries when neither router_settings nor litellm_settings sets it.
inline constexpr int kDefaultNumRetries = 2;

struct RetryLimits {
  int64_t backoff_base_ms = 500;        // the first retry waits up to this (LiteLLM's initial delay)
  int64_t backoff_max_ms = 8'000;       // the exponential bound stops growing here
  int64_t retry_after_cap_ms = 60'000;  // a longer upstream Retry-After goes to the client
  int max_attempts = 30;                // every attempt of a request, fallbacks included
};

// The class of an attempt's outcome. `status` 0: no response (`timed_out` tells a timeout
// from a connection failure). `code` / `message`: the upstream error body's code (or type)
// and message, when there is one.
ErrorClass classify(int status, std::string_view code, std::string_view message, bool timed_out = false);

// Classes never retried (nor fallen back from, for client_gone): 400 context window, 401, 403.
bool never_retried(ErrorClass e);
// The retries a group allows for `e`: retry_policy's count for its class, else num_retries
// (unset: kDefaultNumRetries); 0 for classes never retried.
int retries_for(ErrorClass e, const RouterSettings& s);

// Full jitter: uniform in [0, min(max, base * 2^retry)). `u01` is a uniform draw in [0, 1).
int64_t backoff_ms(int retry, double u01, const RetryLimits& lim = {});

// Retry-After: delta-seconds ("120") or an HTTP-date ("Wed, 21 Oct 2015 07:28:00 GMT", also
// RFC 850 and asctime forms), as milliseconds from `now_unix_ms`; a date in the past is 0.
// nullopt when the value is neither.
std::optional<int64_t> parse_retry_after(std::string_view value, int64_t now_unix_ms);

// Where a request stands in its retry budget.
struct RetryState {
  int64_t started_ms = 0;  // when the request started (steady clock)
  int attempts = 0;        // attempts made, every group
  int group_retries = 0;   // retries made in the current group
};

// One attempt's end, as the retry decision sees it.
struct AttemptOutcome {
  ErrorClass error = ErrorClass::none;
  bool first_byte_sent = false;           // some of the answer already went to the client
  std::optional<int64_t> retry_after_ms;  // the upstream's Retry-After, parsed
};

enum class NextStep : std::uint8_t {
  done,      // success
  retry,     // the same group again after `delay_ms`
  fallback,  // this group is finished; the next group of the plan, if any
  fail,      // answer the client with this attempt's error now
};
const char* to_string(NextStep n);

struct Decision {
  NextStep step = NextStep::done;
  int64_t delay_ms = 0;
};

// What to do after an attempt ends at `now_ms`. Updates `st` (attempt counted, retries).
// `u01`: a uniform draw in [0, 1) for the jitter.
Decision next_step(const AttemptOutcome& a, RetryState& st, int64_t now_ms, const RouterSettings& s, double u01,
                   const RetryLimits& lim = {});

// The groups to fall back to from `model` after an error of class `e`, in order, at most
// max_fallbacks, without `model` itself or repeats: context_window_fallbacks for a context
// window error, content_policy_fallbacks for a content policy one (each else nothing, as in
// LiteLLM), otherwise `fallbacks` for the model, else default_fallbacks. `out` is cleared.
void fallback_groups(const Config& cfg, std::string_view model, ErrorClass e, std::vector<std::string_view>& out);

}  // namespace llmgate
