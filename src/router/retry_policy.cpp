#include "router/retry_policy.hpp"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <string>

namespace llmgate {

namespace {

bool contains(std::string_view hay, std::string_view needle) {
  if (needle.size() > hay.size()) return false;
  for (std::size_t i = 0; i + needle.size() <= hay.size(); ++i) {
    bool eq = true;
    for (std::size_t k = 0; k < needle.size() && eq; ++k)
      eq = std::tolower(static_cast<unsigned char>(hay[i + k])) == needle[k];
    if (eq) return true;
  }
  return false;
}

int month_index(const char* m) {
  static const char* kMonths[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  for (int i = 0; i < 12; ++i)
    if (std::strncmp(m, kMonths[i], 3) == 0) return i;
  return -1;
}

// The three HTTP-date forms of RFC 9110 (IMF-fixdate, RFC 850, asctime), as Unix seconds.
std::optional<int64_t> http_date(std::string_view v) {
  if (v.size() > 64) return std::nullopt;
  const std::string s(v);
  char mon[4] = {};
  int day = 0, year = 0, h = 0, mi = 0, sec = 0;
  bool ok = std::sscanf(s.c_str(), "%*[A-Za-z], %d %3s %d %d:%d:%d GMT", &day, mon, &year, &h, &mi, &sec) == 6;
  if (!ok && std::sscanf(s.c_str(), "%*[A-Za-z], %d-%3s-%d %d:%d:%d GMT", &day, mon, &year, &h, &mi, &sec) == 6) {
    ok = true;
    if (year < 100) year += year < 70 ? 2000 : 1900;
  }
  if (!ok) ok = std::sscanf(s.c_str(), "%*3s %3s %d %d:%d:%d %d", mon, &day, &h, &mi, &sec, &year) == 6;
  const int m = ok ? month_index(mon) : -1;
  if (m < 0 || day < 1 || day > 31 || h > 23 || mi > 59 || sec > 60 || year < 1970) return std::nullopt;
  std::tm tm{};
  tm.tm_year = year - 1900;
  tm.tm_mon = m;
  tm.tm_mday = day;
  tm.tm_hour = h;
  tm.tm_min = mi;
  tm.tm_sec = sec;
  return static_cast<int64_t>(timegm(&tm));
}

}  // namespace

ErrorClass classify(int status, std::string_view code, std::string_view message, bool timed_out) {
  if (status >= 200 && status < 400) return ErrorClass::none;
  if (status == 0) return timed_out ? ErrorClass::timeout : ErrorClass::connection;
  if (status == 499) return ErrorClass::client_gone;
  if (status == 401) return ErrorClass::authentication;
  if (status == 403) return ErrorClass::permission_denied;
  if (status == 404) return ErrorClass::not_found;
  if (status == 408 || status == 504) return ErrorClass::timeout;
  if (status == 429) return ErrorClass::rate_limit;
  if (status >= 500) return ErrorClass::internal_server;
  // 400 and the other 4xx: the request's own fault, unless the body says which kind.
  if (contains(code, "context_length_exceeded") || contains(message, "maximum context length") ||
      contains(message, "context window") || contains(message, "context length"))
    return ErrorClass::context_window_exceeded;
  if (contains(code, "content_policy_violation") || contains(code, "content_filter") ||
      contains(message, "content management policy"))
    return ErrorClass::content_policy_violation;
  return ErrorClass::bad_request;
}

bool never_retried(ErrorClass e) {
  return e == ErrorClass::context_window_exceeded || e == ErrorClass::authentication ||
         e == ErrorClass::permission_denied || e == ErrorClass::client_gone || e == ErrorClass::none;
}

int retries_for(ErrorClass e, const RouterSettings& s) {
  if (never_retried(e)) return 0;
  const auto& policy = s.retry_policy[static_cast<std::size_t>(policy_class(e))];
  return policy.value_or(s.num_retries.value_or(kDefaultNumRetries));
}

int64_t backoff_ms(int retry, double u01, const RetryLimits& lim) {
  const int shift = std::clamp(retry, 0, 30);
  const double bound = std::min(static_cast<double>(lim.backoff_max_ms),
                                static_cast<double>(lim.backoff_base_ms) * std::ldexp(1.0, shift));
  return static_cast<int64_t>(std::clamp(u01, 0.0, 1.0) * bound);
}

std::optional<int64_t> parse_retry_after(std::string_view v, int64_t now_unix_ms) {
  while (!v.empty() && (v.front() == ' ' || v.front() == '\t')) v.remove_prefix(1);
  while (!v.empty() && (v.back() == ' ' || v.back() == '\t')) v.remove_suffix(1);
  if (v.empty()) return std::nullopt;
  if (std::all_of(v.begin(), v.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    if (v.size() > 9) return int64_t{999'999'999} * 1000;  // absurdly long: beyond any cap
    int64_t seconds = 0;
    for (char c : v) seconds = seconds * 10 + (c - '0');
    return seconds * 1000;
  }
  const auto at = http_date(v);
  if (!at) return std::nullopt;
  return std::max<int64_t>(0, *at * 1000 - now_unix_ms);
}

const char* to_string(NextStep n) {
  switch (n) {
    case NextStep::done: return "done";
    case NextStep::retry: return "retry";
    case NextStep::fallback: return "fallback";
    case NextStep::fail: return "fail";
  }
  return "fail";
}

Decision next_step(const AttemptOutcome& a, RetryState& st, int64_t now_ms, const RouterSettings& s, double u01,
                   const RetryLimits& lim) {
  ++st.attempts;
  if (a.error == ErrorClass::none) return {NextStep::done, 0};
  // Nothing is replayed once the client has part of an answer, nor for a client that left.
  if (a.first_byte_sent || a.error == ErrorClass::client_gone) return {NextStep::fail, 0};
  const int64_t deadline = st.started_ms + static_cast<int64_t>(s.request_timeout_s * 1000.0);
  if (st.attempts >= lim.max_attempts || now_ms >= deadline) return {NextStep::fail, 0};
  if (st.group_retries >= retries_for(a.error, s)) return {NextStep::fallback, 0};
  if (a.retry_after_ms && *a.retry_after_ms > lim.retry_after_cap_ms) return {NextStep::fail, 0};
  int64_t delay = std::max(backoff_ms(st.group_retries, u01, lim), static_cast<int64_t>(s.retry_after_s * 1000.0));
  if (a.retry_after_ms) delay = std::max(delay, *a.retry_after_ms);
  if (now_ms + delay >= deadline) return {NextStep::fail, 0};
  ++st.group_retries;
  return {NextStep::retry, delay};
}

namespace {

const std::vector<std::string>* targets(const std::map<std::string, std::vector<std::string>>& m,
                                        std::string_view model) {
  for (const auto& [alias, t] : m)
    if (alias == model) return &t;
  return nullptr;
}

}  // namespace

void fallback_groups(const Config& cfg, std::string_view model, ErrorClass e, std::vector<std::string_view>& out) {
  out.clear();
  if (e == ErrorClass::client_gone || e == ErrorClass::none) return;
  const RouterSettings& s = cfg.router;
  const std::vector<std::string>* list = nullptr;
  if (e == ErrorClass::context_window_exceeded) list = targets(s.context_window_fallbacks, model);
  else if (e == ErrorClass::content_policy_violation) list = targets(s.content_policy_fallbacks, model);
  else {
    list = targets(cfg.fallbacks, model);
    if (!list) list = targets(cfg.fallbacks, "*");  // LiteLLM's wildcard entry
    if (!list && !s.default_fallbacks.empty()) list = &s.default_fallbacks;
  }
  if (!list) return;
  for (const std::string& g : *list) {
    if (out.size() >= static_cast<std::size_t>(std::max(0, s.max_fallbacks))) break;
    if (g == model || std::find(out.begin(), out.end(), g) != out.end()) continue;
    out.push_back(g);
  }
}

}  // namespace llmgate
