#pragma once
// The gateway's clocks and timestamps: wall-clock time for records, keys and models (unix
// microseconds or seconds), steady-clock durations for deadlines and timers. Any thread.
#include <chrono>
#include <cstdint>
#include <string>

namespace llmgate {

// Now, as unix microseconds (the unit of every stored timestamp).
inline int64_t now_unix_us() {
  return std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// `t` as whole unix seconds (OpenAI's `created` fields).
inline int64_t unix_seconds(std::chrono::system_clock::time_point t = std::chrono::system_clock::now()) {
  return std::chrono::duration_cast<std::chrono::seconds>(t.time_since_epoch()).count();
}

// `s` seconds, fractions kept, as a steady-clock duration (config timeouts -> deadlines).
inline std::chrono::steady_clock::duration seconds_d(double s) {
  return std::chrono::duration_cast<std::chrono::steady_clock::duration>(std::chrono::duration<double>(s));
}

// Unix microseconds as UTC ISO 8601 with microseconds: "2026-11-23T16:34:53.123456Z".
std::string iso8601_us(int64_t us);

// The same with milliseconds, LiteLLM's form for key timestamps: "2026-11-23T16:34:53.123Z".
std::string iso8601_ms(int64_t us);

}  // namespace llmgate
