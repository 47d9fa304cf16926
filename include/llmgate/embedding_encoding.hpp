#pragma once
// Embedding encodings for providers whose upstream returns float arrays only (Ollama).
// The OpenAI SDKs (openai-node, openai-python) ask for `encoding_format: "base64"` by default
// and decode the answer; a float array answered to such a request decodes to garbage. Pure;
// any thread.
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

namespace llmgate {

// The encoding the client asked for: true when body["encoding_format"] == "base64".
bool wants_base64_embeddings(const nlohmann::json& client_body);

// Rewrites every `data[i].embedding` float array of an OpenAI embeddings response into the
// base64 of its little-endian float32 bytes (what OpenAI sends for encoding_format "base64").
// Returns false (body untouched) when `openai_body` is not an OpenAI embeddings list.
bool embeddings_floats_to_base64(std::string& openai_body);

}  // namespace llmgate
