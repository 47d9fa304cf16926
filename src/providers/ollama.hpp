#pragma once
// Shared by the two halves of the Ollama dialects (private to src/providers): ollama_request.cpp
// builds the upstream request, ollama.cpp translates the answers. Pure, any thread.
#include <string>

#include <nlohmann/json.hpp>

#include "llmgate/provider.hpp"

namespace llmgate::ollama {

using json = nlohmann::json;

inline std::string dump(const json& j) { return j.dump(-1, ' ', false, json::error_handler_t::replace); }

// The deployment's base path without a trailing /api/chat or /api/generate.
std::string ollama_base(const Deployment& d);

// Provider::build_request for /api/chat (`chat_api`) or /api/generate; /v1/embeddings goes to
// /api/embed either way.
Errc build_request(bool chat_api, Endpoint ep, const Deployment& d, json& body, bool stream, UpstreamRequest& out,
                   std::string& err);

}  // namespace llmgate::ollama
