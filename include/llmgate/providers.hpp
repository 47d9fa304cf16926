#pragma once
// Concrete providers (factories) and shared helpers. See provider.hpp for the interface.
#include <optional>
#include <string_view>
#include <utility>

#include "llmgate/provider.hpp"

namespace llmgate {

const Provider& openai_compatible_provider();
const Provider& mock_provider();
// Implemented by the providers work (src/providers/azure.cpp, ollama.cpp).
const Provider& azure_provider();
const Provider& ollama_chat_provider();
const Provider& ollama_generate_provider();

// Finds the last `"usage": {...}` object in an OpenAI JSON document and reads it without
// parsing the whole document. Returns false when there is none.
bool extract_usage_fast(std::string_view body, Usage& u);

}  // namespace llmgate
