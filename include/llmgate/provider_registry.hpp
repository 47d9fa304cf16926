#pragma once
// The provider registry: one entry per provider (LiteLLM prefix, defaults, litellm_params hooks,
// describers, dialect). The config loader resolves a deployment's entry once and stores it in
// Deployment::provider; everything else asks the entry. A new provider is a file in
// src/providers/ defining its entry, plus its line in src/providers/registry.cpp.
#include <span>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "llmgate/config.hpp"

namespace YAML {
class Node;
}

namespace llmgate {

class Provider;  // llmgate/provider.hpp

namespace config_detail {
class Reader;  // src/config/yaml_reader.hpp
}

// Where a deployment's upstream is when litellm_params does not say.
struct ProviderDefaults {
  const char* api_base = nullptr;      // nullptr: api_base is required
  const char* api_base_env = nullptr;  // LiteLLM's environment fallbacks, tried in order
  const char* api_base_env2 = nullptr;
  const char* api_key_env = nullptr;
};

// One model_list entry's litellm_params while the loader reads it (src/config/model_list.cpp).
struct ParamsContext {
  config_detail::Reader& reader;
  const YAML::Node& params;  // the litellm_params map
  const std::string& path;   // "model_list[0].litellm_params"
};

struct ProviderEntry {
  const char* name = nullptr;  // the LiteLLM prefix: "azure" in "azure/my-deployment"
  ProviderDefaults defaults{};
  // Served by the gateway itself (mock): no api_base, no upstream, no health probe.
  bool in_process = false;
  // litellm_params keys only this provider reads; for another provider's deployment the loader
  // warns "only used by <name>/ deployments, ignored".
  std::span<const char* const> params{};
  // Reads one of `params` (the value may be null: then it is absent).
  void (*read_param)(const ParamsContext& c, const std::string& key, const YAML::Node& v, Deployment& d) = nullptr;
  // After every key and the api_base are read: provider defaults and checks (may fail).
  void (*finish)(const ParamsContext& c, Deployment& d) = nullptr;
  // Adds this provider's fields to the effective-config view (secrets masked).
  void (*describe_effective)(const Deployment& d, nlohmann::json& j) = nullptr;
  // Adds this provider's litellm_params to /model/info (a set credential shows as "****").
  void (*describe_params)(const Deployment& d, nlohmann::json& p) = nullptr;
  // The request/response translation (a static instance).
  const Provider& (*dialect)() = nullptr;
};

// Every registered provider, in registry order.
std::span<const ProviderEntry* const> provider_entries();
// The entry for a LiteLLM prefix, or nullptr when no provider has it.
const ProviderEntry* find_provider(std::string_view prefix);

}  // namespace llmgate
