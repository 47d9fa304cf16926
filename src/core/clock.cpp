#include "llmgate/clock.hpp"

#include <cstdio>
#include <ctime>

namespace llmgate {

namespace {

// `digits` fractional digits (3 or 6); times before 1970 round down to the earlier second.
std::string iso8601(int64_t us, int digits) {
  std::time_t secs = static_cast<std::time_t>(us / 1'000'000);
  int64_t frac = us % 1'000'000;
  if (frac < 0) {
    frac += 1'000'000;
    --secs;
  }
  if (digits == 3) frac /= 1000;
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[96];  // room for any int in each field (GCC checks the widest case)
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%0*lldZ", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
                tm.tm_hour, tm.tm_min, tm.tm_sec, digits, static_cast<long long>(frac));
  return buf;
}

}  // namespace

std::string iso8601_us(int64_t us) { return iso8601(us, 6); }
std::string iso8601_ms(int64_t us) { return iso8601(us, 3); }

}  // namespace llmgate
