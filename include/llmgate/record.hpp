#pragma once
// One record per request that reached a handler. Filled on the worker thread, then moved
// into the ledger queue (store/) and the metrics (metrics/). Plain data, no Asio.
#include <cstdint>
#include <optional>
#include <string>

namespace llmgate {

struct RequestRecord {
  std::string request_id;
  std::string endpoint;          // "/v1/chat/completions", "/v1/embeddings", ...
  int64_t start_us = 0;          // unix epoch microseconds
  int64_t first_byte_us = 0;     // first byte written to the client (0 = none)
  int64_t end_us = 0;
  int64_t ttft_us = 0;           // streams: first content event written to client - start (0 = n/a)
  int64_t upstream_us = 0;       // upstream call: request sent -> response complete
  int64_t overhead_us = 0;       // latency - upstream time: the gateway's own cost
  std::string model;             // requested alias (as the client sent it; may be unknown)
  std::string model_group;       // the configured alias when known, else "" (safe as a metric label)
  std::string deployment_id;
  std::string provider;          // "openai", "azure", ...
  std::string upstream_model;
  std::string api_base;          // never the key
  std::string key_hash;          // sha256 hex prefix of the caller's key ("" = none / master)
  std::string key_alias;
  std::string user;              // the request's "user" field
  std::string client_ip;
  int status = 0;                // HTTP status sent (499 = client closed)
  std::string error_type;        // OpenAI error.type, "" on success
  std::string error_message;
  int64_t prompt_tokens = 0;
  int64_t completion_tokens = 0;
  int64_t total_tokens = 0;
  int64_t cached_tokens = 0;
  int64_t reasoning_tokens = 0;
  bool tokens_estimated = false;
  std::optional<double> cost_usd;  // nullopt when the price is unknown
  bool stream = false;
  bool cache_hit = false;
  int retries = 0;
  std::string fallback_from;     // alias we fell back from, if any
  std::string request_body;      // "" when body logging is off
  std::string response_body;     // for streams: the assembled text or the raw events (capped)
  bool request_truncated = false;
  bool response_truncated = false;
};

// Where finished records go. submit() never blocks and never throws; it may drop (and count).
class RecordSink {
 public:
  virtual ~RecordSink() = default;
  virtual void submit(RequestRecord&& r) = 0;
};

}  // namespace llmgate
