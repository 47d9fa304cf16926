// Registry entries of the OpenAI-compatible providers: openai/ (the default when a model has
// no prefix) and hosted_vllm/. Both use the OpenAI dialect and read no provider-specific params.
#include "llmgate/provider_registry.hpp"
#include "llmgate/providers.hpp"

namespace llmgate {

const ProviderEntry ProviderKind::openai{
    .name = "openai",
    .defaults = {.api_base = "https://api.openai.com/v1",
                 .api_base_env = "OPENAI_BASE_URL",
                 .api_base_env2 = "OPENAI_API_BASE",
                 .api_key_env = "OPENAI_API_KEY"},
    .dialect = openai_compatible_provider,
};

const ProviderEntry ProviderKind::hosted_vllm{
    .name = "hosted_vllm",
    .defaults = {.api_base_env = "HOSTED_VLLM_API_BASE", .api_key_env = "HOSTED_VLLM_API_KEY"},
    .dialect = openai_compatible_provider,
};

}  // namespace llmgate
