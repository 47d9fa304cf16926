// Registry entry of azure/: api_version and azure_ad_token, and the checks that keep the
// deployment name and version safe inside the upstream URL.
#include <cstdlib>

#include "config/yaml_reader.hpp"
#include "llmgate/address_policy.hpp"
#include "llmgate/provider_registry.hpp"
#include "llmgate/providers.hpp"

namespace llmgate {

namespace {

using config_detail::Reader;

constexpr const char* kParams[] = {"api_version", "azure_ad_token"};
constexpr const char* kApiVersionDefault = "2024-10-21";

void read_param(const ParamsContext& c, const std::string& key, const YAML::Node& v, Deployment& d) {
  if (!Reader::present(v)) return;
  const std::string path = c.path + "." + key;
  if (key == "api_version") d.api_version = c.reader.str(v, path);
  else if (key == "azure_ad_token") d.azure_ad_token = Secret(c.reader.str(v, path));
}

void finish(const ParamsContext& c, Deployment& d) {
  if (d.api_version.empty()) {
    const char* v = std::getenv("AZURE_API_VERSION");
    d.api_version = (v && *v) ? v : kApiVersionDefault;
  }
  // Both become part of the upstream URL (/openai/deployments/{name}/...?api-version={version}).
  if (!is_url_name(d.upstream_model))
    c.reader.fail(c.params["model"], c.path + ".model",
                  "the Azure deployment name may only hold letters, digits, '-', '_' and '.' (no '..')");
  if (const YAML::Node vn = c.params["api_version"]; !is_url_name(d.api_version))
    c.reader.fail(Reader::present(vn) ? vn : c.params, c.path + ".api_version",
                  "may only hold letters, digits, '-', '_' and '.' (no '..')");
}

void describe_effective(const Deployment& d, nlohmann::json& j) {
  j["api_version"] = d.api_version;
  j["azure_ad_token"] = d.azure_ad_token.empty() ? nlohmann::json(nullptr) : nlohmann::json(d.azure_ad_token.masked());
}

void describe_params(const Deployment& d, nlohmann::json& p) {
  p["api_version"] = d.api_version;
  if (!d.azure_ad_token.empty()) p["azure_ad_token"] = "****";
}

}  // namespace

const ProviderEntry ProviderKind::azure{
    .name = "azure",
    .defaults = {.api_base_env = "AZURE_API_BASE", .api_key_env = "AZURE_API_KEY"},
    .params = kParams,
    .read_param = read_param,
    .finish = finish,
    .describe_effective = describe_effective,
    .describe_params = describe_params,
    .dialect = azure_provider,
};

}  // namespace llmgate
