#pragma once
// Internal to src/config: what the section parsers share while one document is loaded.
#include <optional>
#include <string>

#include "config/yaml_reader.hpp"
#include "llmgate/config.hpp"

namespace llmgate::config_detail {

struct LoadState {
  Config cfg;
  // Defaults for deployments that do not set their own.
  std::optional<double> request_timeout;        // litellm_settings.request_timeout
  std::optional<double> router_timeout;         // router_settings.timeout (wins over request_timeout)
  std::optional<double> router_stream_timeout;  // router_settings.stream_timeout
  std::optional<bool> ssl_verify;               // litellm_settings.ssl_verify
  std::string ssl_ca_bundle;                    // litellm_settings.ssl_verify: "/path/ca.pem"
  bool store_prompts = false;                   // general_settings.store_prompts_in_spend_logs
  bool turn_off_message_logging = false;        // litellm_settings.turn_off_message_logging
  std::optional<int> litellm_num_retries, router_num_retries;
  std::map<std::string, std::vector<std::string>> litellm_fallbacks, router_fallbacks;
  YAML::Mark fallbacks_mark = YAML::Mark::null_mark();
};

// LiteLLM's fallbacks form, [{"gpt-4": ["gpt-3.5"]}] (a plain map too), into `out`.
void load_fallbacks(Reader& r, const YAML::Node& n, const std::string& path,
                    std::map<std::string, std::vector<std::string>>& out);
// A router key of router_settings (`router_section`) or litellm_settings other than the
// applied ones, into st.cfg.router; false when `key` is none of them (src/config/router_settings.cpp).
bool load_router_key(Reader& r, const std::string& key, const std::string& path, const YAML::Node& v,
                     bool router_section, LoadState& st);

void load_environment_variables(Reader& r, const YAML::Node& n);
void load_general_settings(Reader& r, const YAML::Node& n, LoadState& st);
void load_litellm_settings(Reader& r, const YAML::Node& n, LoadState& st);
void load_router_settings(Reader& r, const YAML::Node& n, LoadState& st);
void load_llmgate_settings(Reader& r, const YAML::Node& n, LoadState& st);
void load_model_list(Reader& r, const YAML::Node& n, LoadState& st);

}  // namespace llmgate::config_detail
