// The provider registry: one line per provider. Each entry is defined in its provider's file
// (src/providers/*_entry.cpp); one that no other code names (as ProviderKind::<name>) is declared
// here, `extern const ProviderEntry kFooProvider;`, next to its line.
#include "llmgate/provider_registry.hpp"

namespace llmgate {

namespace {

const ProviderEntry* const kEntries[] = {
    &ProviderKind::openai, &ProviderKind::hosted_vllm, &ProviderKind::mock,
    &ProviderKind::azure,  &ProviderKind::ollama,      &ProviderKind::ollama_chat,
};

}  // namespace

std::span<const ProviderEntry* const> provider_entries() { return kEntries; }

const ProviderEntry* find_provider(std::string_view prefix) {
  for (const ProviderEntry* e : kEntries)
    if (prefix == e->name) return e;
  return nullptr;
}

const char* to_string(ProviderKind p) { return p->name; }

}  // namespace llmgate
