// Query parameters of the ledger routes -> LedgerReader filters. The messages name the parameter
// in quotes: the routes return it as the error's `param`.
#include <charconv>
#include <optional>
#include <stdexcept>

#include "admin/ledger_api.hpp"
#include "ledger/text_util.hpp"
#include "llmgate/clock.hpp"
#include "llmgate/digest.hpp"

namespace llmgate::admin {

namespace {

constexpr int64_t kDayUs = 86400LL * 1000000;

// An absent and an empty parameter are the same.
std::optional<std::string> param(const QueryParams& p, const char* name) {
  auto it = p.find(name);
  if (it == p.end() || it->second.empty()) return std::nullopt;
  return it->second;
}

// start/end in unix seconds (or dates). Default: the last `default_span_us` up to now.
LedgerTimeRange time_range(const QueryParams& p, const char* start_name, const char* end_name,
                           int64_t default_span_us) {
  auto parse = [&](const char* name) -> std::optional<int64_t> {
    auto v = param(p, name);
    if (!v) return std::nullopt;
    auto t = store::parse_time_us(*v);
    if (!t)
      throw std::invalid_argument(std::string("invalid '") + name +
                                  "': expected unix seconds or YYYY-MM-DD[THH:MM:SS]");
    return t;
  };
  auto s = parse(start_name);
  auto e = parse(end_name);
  LedgerTimeRange r{};
  r.end_us = e ? *e : now_unix_us() + 1;
  r.start_us = s ? *s : r.end_us - default_span_us;
  if (r.start_us > r.end_us)
    throw std::invalid_argument(std::string("'") + start_name + "' is after '" + end_name + "'");
  return r;
}

int64_t int_param(const QueryParams& p, const char* name, int64_t def, int64_t lo, int64_t hi) {
  auto v = param(p, name);
  if (!v) return def;
  int64_t x = 0;
  auto [ptr, ec] = std::from_chars(v->data(), v->data() + v->size(), x);
  if (ec != std::errc() || ptr != v->data() + v->size() || x < lo || x > hi)
    throw std::invalid_argument(std::string("invalid '") + name + "': expected an integer in [" + std::to_string(lo) +
                                ", " + std::to_string(hi) + "]");
  return x;
}

StatusClass status_class(const std::string& s) {
  if (s == "2xx") return StatusClass::ok_2xx;
  if (s == "4xx") return StatusClass::client_4xx;
  if (s == "5xx") return StatusClass::server_5xx;
  if (s == "error") return StatusClass::error;
  throw std::invalid_argument("invalid 'status_class': expected 2xx, 4xx, 5xx or error");
}

// "<start_us>_<id>", as log_page_json writes it.
LogCursor cursor(const std::string& c) {
  int64_t a = 0, b = 0;
  auto dot = c.find('_');
  bool ok = dot != std::string::npos;
  if (ok) {
    auto [p1, e1] = std::from_chars(c.data(), c.data() + dot, a);
    auto [p2, e2] = std::from_chars(c.data() + dot + 1, c.data() + c.size(), b);
    ok = e1 == std::errc() && e2 == std::errc() && p1 == c.data() + dot && p2 == c.data() + c.size();
  }
  if (!ok) throw std::invalid_argument("invalid 'cursor'");
  return LogCursor{a, b};
}

}  // namespace

LogFilter parse_log_filter(const QueryParams& p) {
  LogFilter f;
  f.range = parse_time_range(p);
  f.limit = int_param(p, "limit", 50, 1, 200);
  f.model = param(p, "model").value_or("");
  f.key = param(p, "key").value_or("");
  if (auto sc = param(p, "status_class")) f.status = status_class(*sc);
  if (auto c = param(p, "cursor")) f.cursor = cursor(*c);
  f.text = param(p, "q");
  return f;
}

LedgerTimeRange parse_time_range(const QueryParams& p) { return time_range(p, "start", "end", kDayUs); }

UsageFilter parse_usage_filter(const QueryParams& p) {
  UsageFilter f;
  f.range = parse_time_range(p);
  const std::string bucket = param(p, "bucket").value_or("hour");
  if (bucket == "hour") f.bucket = UsageBucket::hour;
  else if (bucket == "day") f.bucket = UsageBucket::day;
  else throw std::invalid_argument("invalid 'bucket': expected hour or day");
  const std::string group_by = param(p, "group_by").value_or("none");
  if (group_by == "none") f.group_by = UsageGroupBy::none;
  else if (group_by == "model") f.group_by = UsageGroupBy::model;
  else if (group_by == "key") f.group_by = UsageGroupBy::key;
  else throw std::invalid_argument("invalid 'group_by': expected none, model or key");
  return f;
}

SpendLogFilter parse_spend_log_filter(const QueryParams& p) {
  SpendLogFilter f;
  if (auto id = param(p, "request_id")) {
    f.request_id = *id;
    return f;
  }
  f.range = time_range(p, "start_date", "end_date", 30 * kDayUs);
  // end_date as a plain date means "through that day" (LiteLLM semantics).
  if (auto e = param(p, "end_date"); e && e->size() == 10) f.range.end_us += kDayUs;
  // Accept the raw key (hashed here) or a stored hash / hash prefix.
  if (auto k = param(p, "api_key")) f.key_hash = (k->rfind("sk-", 0) == 0) ? sha256_hex(*k) : *k;
  f.user = param(p, "user_id");
  return f;
}

}  // namespace llmgate::admin
