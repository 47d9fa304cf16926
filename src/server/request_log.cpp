#include "server/request_log.hpp"

#include <limits.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <ctime>

namespace llmgate {

namespace {
constexpr std::size_t kFlushAt = 32 * 1024;
constexpr std::size_t kMaxWrite = PIPE_BUF;  // 4096 on Linux: atomic on pipes
}  // namespace

std::string_view RequestLog::timestamp() {
  const auto now = std::chrono::system_clock::now().time_since_epoch();
  const int64_t ms = std::chrono::duration_cast<std::chrono::milliseconds>(now).count();
  const int64_t sec = ms / 1000;
  if (sec != cached_sec_) {
    cached_sec_ = sec;
    std::time_t t = static_cast<std::time_t>(sec);
    std::tm tm{};
    gmtime_r(&t, &tm);
    std::strftime(ts_, sizeof ts_, "%Y-%m-%dT%H:%M:%S", &tm);
  }
  const int frac = static_cast<int>(ms % 1000);
  ts_[19] = '.';
  ts_[20] = static_cast<char>('0' + frac / 100);
  ts_[21] = static_cast<char>('0' + frac / 10 % 10);
  ts_[22] = static_cast<char>('0' + frac % 10);
  ts_[23] = '\0';
  return {ts_, 23};
}

void RequestLog::append(std::string_view line) {
  buf_.append(line);
  buf_.push_back('\n');
  if (buf_.size() >= kFlushAt) flush();
}

void RequestLog::flush() {
  std::size_t off = 0;
  while (off < buf_.size()) {
    std::size_t len = std::min(kMaxWrite, buf_.size() - off);
    if (off + len < buf_.size()) {  // cut after the last whole line that fits
      std::size_t nl = buf_.rfind('\n', off + len - 1);
      if (nl != std::string::npos && nl >= off) len = nl + 1 - off;
    }
    ssize_t n = ::write(fd_, buf_.data() + off, len);
    if (n < 0) {
      if (errno == EINTR) continue;
      break;  // stdout gone: drop (never block or fail a request over logging)
    }
    off += static_cast<std::size_t>(n);
  }
  buf_.clear();
}

}  // namespace llmgate
