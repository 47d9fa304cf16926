#pragma once
// A stream's relay state, shared by the upstream relay (stream_relay.cpp) and the in-process
// mock (mock_reply.cpp). Internal to src/proxy/.
#include <chrono>
#include <string>

#include "llmgate/error.hpp"
#include "llmgate/provider.hpp"
#include "llmgate/sse.hpp"

namespace llmgate::proxy {

// One stream's relay state: the decoders (ProxyExchange::decode_*) read `in` and append what
// the client gets to `out`; end_error (with end_message) ends the stream.
struct StreamRelay {
  explicit StreamRelay(std::size_t max_event) : parser(max_event), max_event(max_event) {}
  // passthrough: OpenAI's SSE, forwarded event by event; sse, ndjson: a dialect translates.
  enum class Format { passthrough, sse, ndjson };
  Format format = Format::passthrough;
  std::chrono::steady_clock::duration keepalive{}, gap_limit{};  // comment after, end after (silence)
  SseParser parser;
  StreamState st;
  Usage usage;
  int64_t data_events = 0;
  std::string in, out, ndjson_pending;
  Errc end_error = Errc::ok;
  std::string end_message;
  const std::size_t max_event;  // largest SSE event or NDJSON line accepted
};

}  // namespace llmgate::proxy
