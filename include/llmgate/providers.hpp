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
// A non-streaming OpenAI response body: `invalid` when it is not shaped as a JSON object (an
// HTML page, an empty or cut body; whitespace aside it must start with '{' and end with '}'),
// or when it has no usage object and does not parse; else `forward`, with its usage read into
// `u`. A body with a usage object is not validated byte by byte: a full scan cost ~3.6k
// instructions a request (8%), and a JSON server's object is forwarded as it came.
ResponseBody read_openai_response(std::string_view body, Usage& u);

}  // namespace llmgate
