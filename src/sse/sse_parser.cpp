#include "llmgate/sse.hpp"

#include <algorithm>

namespace llmgate {

namespace {
// The first CR or LF at or after `pos` (npos if none). find_first_of("\r\n") calls memchr
// on the two-byte set once per byte scanned.
std::size_t find_eol(std::string_view s, std::size_t pos) {
  const char* p = s.data();
  for (std::size_t i = pos, n = s.size(); i < n; ++i)
    if (p[i] == '\n' || p[i] == '\r') return i;
  return std::string_view::npos;
}
}  // namespace

std::size_t SseParser::find_event_end(std::size_t start) {
  std::size_t pos = std::max(start, resume_);
  const std::size_t n = buf_.size();
  while (pos < n) {
    std::size_t idx = find_eol(buf_, pos);
    if (idx == std::string::npos) break;
    std::size_t eol = 1;
    if (buf_[idx] == '\r') {
      if (idx + 1 >= n) break;  // cannot tell CR from CRLF yet
      if (buf_[idx + 1] == '\n') eol = 2;
    }
    if (idx == pos) {  // blank line: the event ends here
      if (idx + eol - start > max_) {
        // Oversized even though complete: leave it buffered so feed() reports failure instead
        // of delivering an event beyond the cap because one read happened to hold all of it.
        resume_ = start;
        return std::string::npos;
      }
      resume_ = idx + eol;
      return idx + eol;
    }
    pos = idx + eol;
  }
  resume_ = pos;
  return std::string::npos;
}

void SseParser::parse_event(std::string_view raw, SseEvent& ev) {
  ev.raw = raw;
  bool any_field = false, any_comment = false;
  std::size_t pos = 0;
  while (pos < raw.size()) {
    std::size_t idx = find_eol(raw, pos);
    if (idx == std::string_view::npos) idx = raw.size();
    std::string_view line = raw.substr(pos, idx - pos);
    std::size_t eol = 1;
    if (idx < raw.size() && raw[idx] == '\r' && idx + 1 < raw.size() && raw[idx + 1] == '\n') eol = 2;
    pos = idx + eol;
    if (line.empty()) continue;
    if (line[0] == ':') {
      any_comment = true;
      continue;
    }
    std::string_view field = line, value;
    auto colon = line.find(':');
    if (colon != std::string_view::npos) {
      field = line.substr(0, colon);
      value = line.substr(colon + 1);
      if (!value.empty() && value[0] == ' ') value.remove_prefix(1);
    }
    any_field = true;
    if (field == "data") {
      if (ev.has_data) ev.data.push_back('\n');
      ev.data.append(value);
      ev.has_data = true;
    } else if (field == "event") {
      ev.event.assign(value);
    }
  }
  ev.comment_only = any_comment && !any_field;
}

}  // namespace llmgate
