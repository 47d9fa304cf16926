#pragma once
// Incremental Server-Sent Events parser (no Asio). Feed bytes as they arrive; complete events
// are reported with their exact raw bytes so a proxy can forward them unchanged.
#include <cstddef>
#include <string>
#include <string_view>

namespace llmgate {

struct SseEvent {
  std::string_view raw;       // the whole event including its terminating blank line
  std::string data;           // data lines joined by '\n' (no trailing newline)
  std::string event;          // "event:" field, "" when absent
  bool has_data = false;      // at least one data: line
  bool comment_only = false;  // only ':' comment lines (e.g. ": keep-alive")
  bool is_done() const { return has_data && data == "[DONE]"; }
};

class SseParser {
 public:
  explicit SseParser(std::size_t max_event_bytes = 4 * 1024 * 1024) : max_(max_event_bytes) {}
  // Appends bytes; calls on_event(const SseEvent&) for every complete event, in order.
  // Returns false when a single event grows beyond max_event_bytes (the stream is unusable).
  template <class F>
  bool feed(std::string_view bytes, F&& on_event) {
    buf_.append(bytes.data(), bytes.size());
    std::size_t start = 0;
    for (;;) {
      std::size_t end = find_event_end(start);
      if (end == std::string::npos) break;
      SseEvent ev;
      parse_event(std::string_view(buf_).substr(start, end - start), ev);
      on_event(static_cast<const SseEvent&>(ev));
      start = end;
    }
    if (start > 0) {
      buf_.erase(0, start);
      resume_ -= start;
    }
    return buf_.size() <= max_;
  }
  // Bytes of an incomplete event still buffered.
  std::size_t pending() const { return buf_.size(); }
  const std::string& pending_bytes() const { return buf_; }

 private:
  // Index one past the blank line ending the event that begins at `start`, or npos.
  std::size_t find_event_end(std::size_t start);
  static void parse_event(std::string_view raw, SseEvent& ev);
  std::string buf_;
  std::size_t resume_ = 0;  // first line start not yet examined
  std::size_t max_;
};

}  // namespace llmgate
