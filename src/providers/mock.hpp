#pragma once
// The built-in mock provider: deterministic replies with usage, generated in-process (no I/O),
// as the bytes an OpenAI-compatible upstream would send (src/proxy/mock_reply.cpp hands them
// to the same response and stream handling as a real upstream's). For demos, tests and
// benchmarks.
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "llmgate/config.hpp"
#include "llmgate/provider.hpp"

namespace llmgate {

struct MockReply {
  std::string content;
  std::vector<std::string> pieces;  // stream chunks; concatenated == content
  Usage usage;
};

// What the mock answers to this (already parsed) request.
MockReply mock_reply(const Deployment& d, const nlohmann::json& body, Endpoint ep);
// Full non-streaming OpenAI response body (embeddings in base64 when the client asks).
std::string mock_response_body(const Deployment& d, const MockReply& r, Endpoint ep, const std::string& id,
                               int64_t created, const nlohmann::json& body);
// One SSE event ("data: {...}\n\n") for piece i (role on the first), the finish chunk
// (i == pieces.size()), or the usage chunk (usage_chunk = true).
std::string mock_stream_event(const Deployment& d, const MockReply& r, Endpoint ep, const std::string& id,
                              int64_t created, std::size_t i, bool usage_chunk);

}  // namespace llmgate
