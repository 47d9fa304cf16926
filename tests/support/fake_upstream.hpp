#pragma once
// A fast fake LLM upstream on loopback speaking the OpenAI, Azure OpenAI and Ollama dialects.
// Used in-process by the integration tests and, through tests/support/fake_upstream_main.cpp,
// as the standalone binary `llmgate-fake-upstream` (end-to-end tests, benchmark).
//
// Behaviour is chosen per request by the request's "model" value (Azure: the deployment name
// in the path), so one instance serves every test. See docs/providers/ and the table below.
//
//   model               behaviour
//   (any other)         success: chat.completion / text_completion / embeddings; streams with
//                       `stream_events` chunks (x-fake-stream-events header overrides), paced
//                       `stream_interval_ms` apart (x-fake-interval-ms overrides)
//   error-500           500 {"error":{"message":"fake upstream failure","type":"server_error",...}}
//   error-429           429 OpenAI rate-limit body, Retry-After: 1
//   error-400           400 invalid_request_error
//   hang                reads the request, never answers (until the peer closes)
//   stream-cut          streams 2 events, then closes the TCP connection (no final chunk/[DONE])
//   slow-first          OpenAI: the stream's head at once, its first event 600 ms later
//   stream-cut-early    OpenAI: sends the stream's head, then closes before any event
//   stream-error        streams 2 events, then an in-stream error event and the end of the body
//   stream-malformed    streams 2 events, then one whose data is cut JSON and the usual rest
//                       (final chunk, usage, [DONE]; Ollama: a cut line, then the done line),
//                       all in one HTTP chunk
//   slow-stream         50 events, 200 ms apart (x-fake-interval-ms overrides)
//   stale-once          second and later requests on one keep-alive connection: closed unanswered
//   no-usage            success without any usage (also in streams)
//   echo                reply content = the raw request body it received
//   finish-content-filter  success with finish_reason "content_filter"
//   content-filter      Azure: 400 content_filter error (with innererror)
//   missing-*           Ollama: 404 model not found
//
// Constants a test can assert on: kContent (non-streaming reply text), stream_text(n)
// (assembled text of a stream with n events), kPromptTokens, kCompletionTokens.
#include <chrono>
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace llmgate::test {

struct FakeUpstreamOptions {
  std::string host = "127.0.0.1";
  unsigned short port = 0;  // 0 = ephemeral
  int threads = 1;
  int stream_events = 5;
  int stream_interval_ms = 0;  // 0 = no pacing (the whole stream in one write)
  // Models GET /api/tags reports as pulled.
  std::vector<std::string> ollama_models = {"llama3.2:latest", "qwen2.5:0.5b"};
  // Record last_body/last_headers/last_target (a mutex per request; off in the benchmark).
  bool record_requests = true;
};

class FakeUpstream {
 public:
  static constexpr const char* kContent = "Hello from fake upstream";
  static constexpr int kPromptTokens = 12;
  static constexpr int kCompletionTokens = 5;  // non-streaming; a stream reports n events
  // Text assembled from a stream of `events` content events.
  static std::string stream_text(int events);
  // Content piece of stream event i (0-based).
  static std::string stream_piece(int i);

  // Listens at construction (throws on bind failure), serves on its own thread(s).
  explicit FakeUpstream(FakeUpstreamOptions opts = {});
  // Stops accepting, closes every connection (including hanging ones) and joins the threads.
  ~FakeUpstream();
  FakeUpstream(const FakeUpstream&) = delete;
  FakeUpstream& operator=(const FakeUpstream&) = delete;

  unsigned short port() const;
  std::string base_url() const;  // "http://127.0.0.1:<port>/v1"
  std::string origin() const;    // "http://127.0.0.1:<port>" (Azure / Ollama api_base)

  // Observations; thread-safe.
  int connections_accepted() const;
  int connections_open() const;
  int requests() const;
  std::string last_body() const;
  std::map<std::string, std::string> last_headers() const;  // lower-case names
  std::string last_target() const;
  // Blocks up to `timeout` until at most n connections are open; returns whether that happened.
  bool wait_open_connections_at_most(int n, std::chrono::milliseconds timeout) const;
  // Blocks up to `timeout` until at least n requests were received.
  bool wait_requests_at_least(int n, std::chrono::milliseconds timeout) const;

  struct Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace llmgate::test

namespace llmgate {
using test::FakeUpstream;
using test::FakeUpstreamOptions;
}  // namespace llmgate
