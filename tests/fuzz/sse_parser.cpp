// The upstream SSE parser (src/sse/sse_parser.cpp): events are the same however the bytes are
// split across reads, their raw bytes are exactly the stream's bytes (the proxy forwards them
// unchanged), and the size limit holds.
#include <vector>

#include "fuzz_support.hpp"

using namespace llmgate;
using namespace llmgate::fuzz;

namespace {

struct Event {
  std::string raw, data, event;
  bool has_data, comment_only;
  bool operator==(const Event&) const = default;
};

std::vector<Event> parse(std::string_view text, std::size_t chunk_seed, std::size_t& pending) {
  SseParser p;
  std::vector<Event> out;
  std::size_t i = 0, n = 0;
  while (i < text.size()) {
    std::size_t len = chunk_seed == 0 ? text.size() : (n++ * 7 + chunk_seed) % 13 + 1;
    len = std::min(len, text.size() - i);
    bool ok = p.feed(text.substr(i, len), [&](const SseEvent& e) {
      check(!e.raw.empty(), "an event with no bytes");
      check(!(e.has_data && e.comment_only), "an event both with data and comment-only", e.raw);
      out.push_back({std::string(e.raw), e.data, e.event, e.has_data, e.comment_only});
    });
    check(ok == (p.pending() <= 4 * 1024 * 1024), "feed's result disagrees with the limit");
    i += len;
  }
  pending = p.pending();
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text = as_text(data, size);
  std::size_t pending_whole = 0, pending_split = 0;
  const auto whole = parse(text, 0, pending_whole);
  const auto split = parse(text, size ? data[0] : 1, pending_split);
  check(whole == split, "events depend on how the bytes were split", text);
  check(pending_whole == pending_split, "pending bytes depend on the split", text);
  std::string raw;
  for (const auto& e : whole) raw += e.raw;
  check(raw.size() + pending_whole == text.size() && text.substr(0, raw.size()) == raw,
        "events' raw bytes are not the stream's bytes", text);

  // A small limit: feed reports false exactly when an unfinished event outgrows it.
  SseParser small(16);
  bool ok = small.feed(text, [](const SseEvent&) {});
  check(ok == (small.pending() <= 16), "feed ignores its size limit", text);
  return 0;
}
