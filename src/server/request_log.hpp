#pragma once
// The one-line-per-request log, buffered per worker (the shape of Envoy's access log): lines are
// appended to a buffer on the worker thread and written to stdout in whole lines, at most
// PIPE_BUF bytes per write(2) (atomic even on a pipe shared with other writers), when the
// buffer fills or every 100 ms. No lock, no thread wake-up and no syscall per request.
// Worker thread only.
#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

namespace llmgate {

class RequestLog {
 public:
  explicit RequestLog(int fd = 1) : fd_(fd) {}
  ~RequestLog() { flush(); }
  // "2026-11-23T17:00:00.123" for now (UTC), cached per second.
  std::string_view timestamp();
  // Appends one line (no trailing newline); flushes when the buffer is large.
  void append(std::string_view line);
  void flush();
  std::size_t pending() const { return buf_.size(); }

 private:
  int fd_;
  std::string buf_;
  int64_t cached_sec_ = -1;
  char ts_[32] = {};
};

}  // namespace llmgate
