// Registry entries of Ollama: ollama/ (the /api/generate dialect) and ollama_chat/ (/api/chat).
#include "llmgate/provider_registry.hpp"
#include "llmgate/providers.hpp"

namespace llmgate {

const ProviderEntry ProviderKind::ollama{
    .name = "ollama",
    .defaults = {.api_base = "http://localhost:11434", .api_base_env = "OLLAMA_API_BASE"},
    .dialect = ollama_generate_provider,
};

const ProviderEntry ProviderKind::ollama_chat{
    .name = "ollama_chat",
    .defaults = {.api_base = "http://localhost:11434", .api_base_env = "OLLAMA_API_BASE"},
    .dialect = ollama_chat_provider,
};

}  // namespace llmgate
