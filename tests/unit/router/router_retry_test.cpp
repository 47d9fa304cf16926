// Retry policy as pure functions: error classes, retries per class, backoff, Retry-After, the
// request's attempt and time bounds, and the fallback plan.
#include <gtest/gtest.h>

#include "router/retry_policy.hpp"

namespace llmgate {
namespace {

TEST(RouterRetry, ClassifiesIntoLiteLLMsErrorClasses) {
  EXPECT_EQ(classify(200, "", ""), ErrorClass::none);
  EXPECT_EQ(classify(0, "", ""), ErrorClass::connection);
  EXPECT_EQ(classify(0, "", "", true), ErrorClass::timeout);
  EXPECT_EQ(classify(400, "context_length_exceeded", ""), ErrorClass::context_window_exceeded);
  EXPECT_EQ(classify(400, "", "This model's maximum context length is 8192 tokens"),
            ErrorClass::context_window_exceeded);
  EXPECT_EQ(classify(400, "content_filter", ""), ErrorClass::content_policy_violation);
  EXPECT_EQ(classify(400, "content_policy_violation", ""), ErrorClass::content_policy_violation);
  EXPECT_EQ(classify(400, "invalid_request_error", "bad"), ErrorClass::bad_request);
  EXPECT_EQ(classify(422, "", ""), ErrorClass::bad_request);
  EXPECT_EQ(classify(401, "", ""), ErrorClass::authentication);
  EXPECT_EQ(classify(403, "", ""), ErrorClass::permission_denied);
  EXPECT_EQ(classify(404, "", ""), ErrorClass::not_found);
  EXPECT_EQ(classify(408, "", ""), ErrorClass::timeout);
  EXPECT_EQ(classify(504, "", ""), ErrorClass::timeout);
  EXPECT_EQ(classify(429, "", ""), ErrorClass::rate_limit);
  EXPECT_EQ(classify(500, "", ""), ErrorClass::internal_server);
  EXPECT_EQ(classify(503, "", ""), ErrorClass::internal_server);
  EXPECT_EQ(classify(499, "", ""), ErrorClass::client_gone);
}

TEST(RouterRetry, RetriesPerClassDefaultAndNeverRetried) {
  RouterSettings s;
  EXPECT_EQ(retries_for(ErrorClass::internal_server, s), kDefaultNumRetries);
  s.num_retries = 4;
  EXPECT_EQ(retries_for(ErrorClass::internal_server, s), 4);
  s.retry_policy[static_cast<int>(PolicyClass::rate_limit)] = 9;
  s.retry_policy[static_cast<int>(PolicyClass::bad_request)] = 0;
  EXPECT_EQ(retries_for(ErrorClass::rate_limit, s), 9);
  EXPECT_EQ(retries_for(ErrorClass::bad_request, s), 0);
  EXPECT_EQ(retries_for(ErrorClass::timeout, s), 4);
  s.retry_policy[static_cast<int>(PolicyClass::authentication)] = 5;  // still never
  for (ErrorClass e : {ErrorClass::context_window_exceeded, ErrorClass::authentication, ErrorClass::permission_denied,
                       ErrorClass::client_gone}) {
    EXPECT_TRUE(never_retried(e)) << to_string(e);
    EXPECT_EQ(retries_for(e, s), 0) << to_string(e);
  }
}

TEST(RouterRetry, NeverRetriedClassesGoStraightToTheFallbacks) {
  RouterSettings s;
  s.num_retries = 5;
  for (ErrorClass e :
       {ErrorClass::context_window_exceeded, ErrorClass::authentication, ErrorClass::permission_denied}) {
    RetryState st;
    const Decision d = next_step(AttemptOutcome{e, false, std::nullopt}, st, 0, s, 0.5);
    EXPECT_EQ(d.step, NextStep::fallback) << to_string(e);
    EXPECT_EQ(st.group_retries, 0);
  }
}

TEST(RouterRetry, NothingAfterTheFirstByteNorForAClientThatLeft) {
  RouterSettings s;
  RetryState st;
  EXPECT_EQ(next_step(AttemptOutcome{ErrorClass::internal_server, true, std::nullopt}, st, 0, s, 0.5).step,
            NextStep::fail);
  EXPECT_EQ(next_step(AttemptOutcome{ErrorClass::client_gone, false, std::nullopt}, st, 0, s, 0.5).step,
            NextStep::fail);
  EXPECT_EQ(next_step(AttemptOutcome{ErrorClass::none, false, std::nullopt}, st, 0, s, 0.5).step, NextStep::done);
}

TEST(RouterRetry, RetriesUpToTheGroupsCountThenFallsBack) {
  RouterSettings s;
  s.num_retries = 2;
  RetryState st;
  const AttemptOutcome fail{ErrorClass::internal_server, false, std::nullopt};
  EXPECT_EQ(next_step(fail, st, 0, s, 0.5).step, NextStep::retry);
  EXPECT_EQ(next_step(fail, st, 0, s, 0.5).step, NextStep::retry);
  EXPECT_EQ(next_step(fail, st, 0, s, 0.5).step, NextStep::fallback);
  EXPECT_EQ(st.attempts, 3);
}

TEST(RouterRetry, BackoffIsFullJitterWithinExponentialBounds) {
  const RetryLimits lim;
  for (int retry = 0; retry < 8; ++retry) {
    const int64_t bound = std::min<int64_t>(lim.backoff_max_ms, lim.backoff_base_ms << retry);
    EXPECT_EQ(backoff_ms(retry, 0.0), 0) << retry;
    EXPECT_EQ(backoff_ms(retry, 0.5), bound / 2) << retry;
    EXPECT_LT(backoff_ms(retry, 0.999999), bound) << retry;
    EXPECT_GE(backoff_ms(retry, 0.999999), bound * 99 / 100) << retry;
  }
  EXPECT_EQ(backoff_ms(1000, 0.5), lim.backoff_max_ms / 2);  // no overflow
}

TEST(RouterRetry, RetryDelayIsTheBackoffOrTheMinimumRetryAfter) {
  RouterSettings s;
  RetryState st;
  const AttemptOutcome fail{ErrorClass::internal_server, false, std::nullopt};
  EXPECT_EQ(next_step(fail, st, 0, s, 0.5).delay_ms, 250);  // retry 0: up to 500 ms
  EXPECT_EQ(next_step(fail, st, 0, s, 0.5).delay_ms, 500);  // retry 1: up to 1 s
  s.retry_after_s = 3;
  RetryState st2;
  EXPECT_EQ(next_step(fail, st2, 0, s, 0.5).delay_ms, 3000);
}

TEST(RouterRetry, ParsesRetryAfterSecondsAndDates) {
  const int64_t now = 1445412480'000;  // Wed, 21 Oct 2015 07:28:00 GMT
  EXPECT_EQ(parse_retry_after("120", now), 120'000);
  EXPECT_EQ(parse_retry_after(" 0 ", now), 0);
  EXPECT_EQ(parse_retry_after("Wed, 21 Oct 2015 07:28:30 GMT", now), 30'000);
  EXPECT_EQ(parse_retry_after("Wednesday, 21-Oct-15 07:29:00 GMT", now), 60'000);
  EXPECT_EQ(parse_retry_after("Wed Oct 21 07:28:05 2015", now), 5'000);
  EXPECT_EQ(parse_retry_after("Wed, 21 Oct 2015 07:00:00 GMT", now), 0);  // past
  EXPECT_EQ(parse_retry_after("99999999999999", now), int64_t{999'999'999} * 1000);
  EXPECT_FALSE(parse_retry_after("", now));
  EXPECT_FALSE(parse_retry_after("-5", now));
  EXPECT_FALSE(parse_retry_after("soon", now));
  EXPECT_FALSE(parse_retry_after("Wed, 21 Foo 2015 07:28:30 GMT", now));
}

TEST(RouterRetry, RetryAfterIsHonouredUpToTheCapThenGoesToTheClient) {
  RouterSettings s;
  const RetryLimits lim;
  RetryState st;
  Decision d = next_step(AttemptOutcome{ErrorClass::rate_limit, false, 7'000}, st, 0, s, 0.1, lim);
  EXPECT_EQ(d.step, NextStep::retry);
  EXPECT_EQ(d.delay_ms, 7'000);
  d = next_step(AttemptOutcome{ErrorClass::rate_limit, false, lim.retry_after_cap_ms + 1}, st, 0, s, 0.1, lim);
  EXPECT_EQ(d.step, NextStep::fail);
}

TEST(RouterRetry, TheWholeRequestIsBoundedInTimeAndAttempts) {
  RouterSettings s;
  s.request_timeout_s = 10;
  s.num_retries = 100;
  RetryState st;
  st.started_ms = 1'000;
  const AttemptOutcome fail{ErrorClass::internal_server, false, std::nullopt};
  // A wait that would end past the deadline is not started.
  EXPECT_EQ(next_step(AttemptOutcome{ErrorClass::rate_limit, false, 9'500}, st, 2'000, s, 0.5).step, NextStep::fail);
  EXPECT_EQ(next_step(fail, st, 11'000, s, 0.5).step, NextStep::fail);
  RetryState many;
  RetryLimits lim;
  lim.max_attempts = 5;
  int retries = 0;
  while (next_step(fail, many, 0, s, 0.0, lim).step == NextStep::retry) ++retries;
  EXPECT_EQ(retries, 4);
  EXPECT_EQ(many.attempts, 5);
}

Config fallback_config() {
  Config c;
  c.fallbacks["a"] = {"b", "a", "c", "b", "d"};
  c.fallbacks["*"] = {"z"};
  c.router.context_window_fallbacks["a"] = {"big"};
  c.router.content_policy_fallbacks["a"] = {"lenient"};
  c.router.default_fallbacks = {"dflt"};
  return c;
}

TEST(RouterRetry, FallbackGroupsByErrorBoundedByMaxFallbacks) {
  Config c = fallback_config();
  std::vector<std::string_view> out;
  fallback_groups(c, "a", ErrorClass::internal_server, out);
  EXPECT_EQ(out, (std::vector<std::string_view>{"b", "c", "d"}));  // self and repeats dropped
  c.router.max_fallbacks = 2;
  fallback_groups(c, "a", ErrorClass::rate_limit, out);
  EXPECT_EQ(out, (std::vector<std::string_view>{"b", "c"}));
  c.router.max_fallbacks = 0;
  fallback_groups(c, "a", ErrorClass::rate_limit, out);
  EXPECT_TRUE(out.empty());
  c.router.max_fallbacks = 5;
  fallback_groups(c, "a", ErrorClass::context_window_exceeded, out);
  EXPECT_EQ(out, (std::vector<std::string_view>{"big"}));
  fallback_groups(c, "a", ErrorClass::content_policy_violation, out);
  EXPECT_EQ(out, (std::vector<std::string_view>{"lenient"}));
  fallback_groups(c, "q", ErrorClass::context_window_exceeded, out);
  EXPECT_TRUE(out.empty());
  fallback_groups(c, "q", ErrorClass::timeout, out);
  EXPECT_EQ(out, (std::vector<std::string_view>{"z"}));  // the wildcard entry
  c.fallbacks.erase("*");
  fallback_groups(c, "q", ErrorClass::timeout, out);
  EXPECT_EQ(out, (std::vector<std::string_view>{"dflt"}));
  fallback_groups(c, "q", ErrorClass::client_gone, out);
  EXPECT_TRUE(out.empty());
}

}  // namespace
}  // namespace llmgate
