#pragma once
// Provider dialects: pure request/response translation between the OpenAI API the clients
// speak and what each upstream speaks. No I/O; called on worker threads; stateless objects
// (per-stream state lives in StreamState).
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "llmgate/config.hpp"
#include "llmgate/error.hpp"
#include "llmgate/provider_registry.hpp"

namespace llmgate {

enum class Endpoint { chat, completions, embeddings };
const char* to_string(Endpoint e);  // "/v1/chat/completions", ...

struct UpstreamRequest {
  std::string method = "POST";
  std::string target;  // path + query on the deployment's origin, e.g. "/v1/chat/completions"
  std::vector<std::pair<std::string, std::string>> headers;  // besides Host/Content-Length
  std::string body;
};

struct Usage {
  int64_t prompt_tokens = 0;
  int64_t completion_tokens = 0;
  int64_t total_tokens = 0;
  int64_t cached_tokens = 0;
  int64_t reasoning_tokens = 0;
  bool present = false;  // the upstream reported usage
};
// Reads an OpenAI "usage" object (prompt_tokens_details.cached_tokens,
// completion_tokens_details.reasoning_tokens included). Leaves `u` untouched when absent.
void read_openai_usage(const nlohmann::json& usage, Usage& u);
// Token counts an upstream reports are taken when 0 <= n <= kMaxTokenCount, else read as 0: a
// negative or absurd count (a broken upstream) must not turn into negative cost or overflow sums.
inline constexpr int64_t kMaxTokenCount = 1'000'000'000'000;
int64_t sane_token_count(int64_t n);

enum class StreamFormat { sse, ndjson };
enum class ResponseBody { forward, translated, invalid };

// What the proxy learned by scanning the client's body without building a document
// (json_scan.hpp). Dialects that only replace "model" (and may add stream_options) build the
// upstream body by splicing these bytes instead of parsing and re-serialising the whole body.
struct BodyFacts {
  std::string_view text;       // the client's body: a valid JSON object, top-level keys unique
  std::string_view model;      // the raw "model" value inside `text` (quotes included)
  bool has_forbidden = false;  // a field that is never forwarded (is_forbidden_body_field)
  bool has_stream_options = false;
  bool include_usage = false;  // stream_options.include_usage is true
};
// stream_options.include_usage is the boolean true.
bool include_usage_requested(const nlohmann::json& stream_options);
class JsonObjectScan;
// The facts above from a body the scan accepted as an object.
void read_body_facts(const JsonObjectScan& scan, BodyFacts& f);
// Body fields that would redirect the request or carry credentials: never honoured, never sent.
bool is_forbidden_body_field(std::string_view key);
inline constexpr const char* kForbiddenBodyFields[] = {
    "api_base", "base_url", "api_key", "extra_headers", "azure_ad_token", "api_version", "custom_llm_provider"};
// Appends to `out` the client's body with the "model" value replaced by `upstream_model` and,
// when `add_usage`, "stream_options":{"include_usage":true} inserted first.
void splice_body(const BodyFacts& f, std::string_view upstream_model, bool add_usage, std::string& out);

// Per-stream translation state (one per streamed request).
struct StreamState {
  std::string id;     // chat.completion.chunk id to emit
  std::string model;  // model name to report
  int64_t created = 0;
  bool include_usage = false;  // the client asked for stream_options.include_usage
  bool sent_role = false;
  bool finished = false;        // a final chunk (finish_reason) was seen
  bool done = false;            // the stream's end ([DONE]) went to the client: nothing follows it
  Usage usage;                  // accumulated usage
  std::string text;             // assembled completion text (for the ledger / estimates)
  std::string error;            // an upstream error reported inside the stream (a plain message)
  bool saw_tool_calls = false;  // a tool call was streamed (finish_reason "tool_calls")
};

class Provider {
 public:
  virtual ~Provider() = default;
  // Translates the client's parsed OpenAI body (already validated: has "model") into the
  // upstream request. May modify `body`. Returns Errc::ok or an error with `err` set.
  virtual Errc build_request(Endpoint ep, const Deployment& d, nlohmann::json& body, bool stream, UpstreamRequest& out,
                             std::string& err) const = 0;
  // The same from the scanned bytes, without a document; false when this dialect (or this
  // body) needs build_request. Must produce what build_request would send.
  virtual bool build_request_spliced(Endpoint ep, const Deployment& d, const BodyFacts& body, bool stream,
                                     UpstreamRequest& out) const {
    return false;
  }
  virtual StreamFormat stream_format(Endpoint ep) const { return StreamFormat::sse; }
  // Non-streaming success body -> OpenAI JSON body: `translated` (in `out`), `forward` when the
  // upstream body is already OpenAI JSON and goes to the client unchanged (only `usage` is
  // filled), `invalid` when it is not a JSON object at all (the proxy answers 502 instead).
  virtual ResponseBody translate_response(Endpoint ep, const Deployment& d, std::string_view upstream_body,
                                          std::string& out, Usage& usage) const = 0;
  // Streaming: one upstream unit (an SSE event's data, or one NDJSON line) -> zero or more
  // complete OpenAI SSE events appended to `out` ("data: {...}\n\n"; "data: [DONE]\n\n" at the
  // end). Providers speaking OpenAI SSE natively are not called per event (see passthrough()).
  virtual void translate_stream_unit(Endpoint ep, const Deployment& d, StreamState& st, std::string_view unit,
                                     std::string& out) const {}
  // True when the upstream speaks OpenAI SSE and events are forwarded byte for byte.
  virtual bool passthrough_stream() const { return true; }
  // Upstream error (non-2xx) -> OpenAI-shaped error body for the client.
  virtual std::string translate_error(int status, std::string_view upstream_body) const;
  // A health probe that never spends tokens (GET), or nullopt when none applies.
  virtual std::optional<UpstreamRequest> health_probe(const Deployment& d) const { return std::nullopt; }
  // Interprets the probe's answer; `detail` explains a failure (never contains a secret).
  virtual bool health_ok(const Deployment& d, int status, std::string_view body, std::string& detail) const {
    return status >= 200 && status < 300;
  }
};

// The dialect of a deployment's provider (a static instance). mock is served in-process but
// still has a Provider for symmetry.
inline const Provider& provider_for(ProviderKind p) { return p->dialect(); }

}  // namespace llmgate
