// model_list: one Deployment per entry with a supported provider prefix.
#include <cctype>
#include <cstdlib>
#include <map>
#include <set>

#include "config/loader_state.hpp"
#include "llmgate/address_policy.hpp"
#include "llmgate/provider_registry.hpp"

namespace llmgate::config_detail {

namespace {

// litellm_params keys LiteLLM knows that we do not implement: "not supported yet".
const std::set<std::string> kParamsUnsupported = {
    "organization",
    "max_retries",
    "num_retries",
    "custom_llm_provider",
    "headers",
    "extra_headers",
    "extra_body",
    "drop_params",
    "tags",
    "use_in_pass_through",
    "use_litellm_proxy",
    "merge_reasoning_content_in_choices",
    "litellm_credential_name",
    "input_cost_per_second",
    "output_cost_per_second",
    "region_name",
    "aws_access_key_id",
    "aws_secret_access_key",
    "aws_region_name",
    "aws_session_token",
    "aws_role_name",
    "aws_session_name",
    "aws_profile_name",
    "aws_bedrock_runtime_endpoint",
    "vertex_project",
    "vertex_location",
    "vertex_credentials",
    "azure_ad_token_provider",
    "tenant_id",
    "client_id",
    "client_secret",
    "azure_username",
    "azure_password",
    "azure_scope",
    "temperature",
    "max_tokens",
    "max_completion_tokens",
    "top_p",
    "stop",
    "seed",
    "frequency_penalty",
    "presence_penalty",
    "response_format",
    "api_type",
    "configurable_clientside_auth_params",
    "budget_duration",
    "max_budget",
    "cache_control_injection_points",
    "auto_router_config",
    "mock_timeout",
    "litellm_trace_id",
    "stream",
    "base_model",
    "model_info",
    "additional_drop_params",
    "watsonx_region_name",
    "input_cost_per_token_above_128k_tokens",
    "cache_read_input_token_cost",
    "cache_creation_input_token_cost",
};

const char* env_or_null(const char* name) {
  if (!name) return nullptr;
  const char* v = std::getenv(name);
  return (v && *v) ? v : nullptr;
}

// The provider whose litellm_params include `key` (`self` first), or nullptr.
const ProviderEntry* param_owner(const ProviderEntry& self, const std::string& key) {
  for (const char* k : self.params)
    if (key == k) return &self;
  for (const ProviderEntry* e : provider_entries())
    for (const char* k : e->params)
      if (key == k) return e;
  return nullptr;
}

std::string strip_trailing_slashes(std::string s) {
  while (!s.empty() && s.back() == '/') s.pop_back();
  return s;
}

// A deployment's router input (weight, order, max_parallel_requests, model_info.max_input_tokens).
// Not applied by the request path yet, so an invalid value is a warning rather than fatal.
void router_param(Reader& r, const std::string& key, const YAML::Node& v, const std::string& path, Deployment& d) {
  try {
    if (key == "weight") {
      d.weight = r.non_negative(v, path);
    } else if (key == "order") {
      d.order = static_cast<int>(r.integer(v, path, 1, 1'000'000));
    } else if (key == "max_parallel_requests") {
      d.max_parallel_requests = static_cast<int>(r.integer(v, path, 0, 1'000'000'000));
    } else if (key == "max_input_tokens") {
      d.max_input_tokens = r.integer(v, path, 0, int64_t{1} << 40);
    }
  } catch (const ConfigError& e) {
    r.warn(path, std::string("invalid value ignored (") + e.what() + ")");
  }
}

// Returns false (after a warning) when the entry is skipped.
bool load_entry(Reader& r, const YAML::Node& e, const std::string& p, LoadState& st,
                std::map<std::string, int>& per_alias) {
  if (!e.IsMap()) r.fail(e, p, std::string("expected a map, got ") + node_kind(e));
  const YAML::Node name_n = e["model_name"];
  if (!Reader::present(name_n)) r.fail(e, p + ".model_name", "required key is missing");
  Deployment d;
  d.model_name = r.str(name_n, p + ".model_name");
  if (d.model_name.empty()) r.fail(name_n, p + ".model_name", "must not be empty");

  const std::string pp = p + ".litellm_params";
  const YAML::Node params = e["litellm_params"];
  if (!Reader::present(params)) r.fail(e, pp, "required key is missing");
  if (!params.IsMap()) r.fail(params, pp, std::string("expected a map, got ") + node_kind(params));
  const YAML::Node model_n = params["model"];
  if (!Reader::present(model_n)) r.fail(params, pp + ".model", "required key is missing");
  const std::string model = r.str(model_n, pp + ".model");
  if (model.empty()) r.fail(model_n, pp + ".model", "must not be empty");

  std::string prefix = "openai", upstream = model;
  if (auto slash = model.find('/'); slash != std::string::npos) {
    prefix = model.substr(0, slash);
    upstream = model.substr(slash + 1);
  }
  const ProviderEntry* entry = find_provider(prefix);
  if (!entry) {
    r.warn(pp + ".model", "provider '" + prefix + "' not supported yet, deployment skipped");
    return false;
  }
  if (upstream.empty()) r.fail(model_n, pp + ".model", "model name after '" + prefix + "/' is empty");
  const ProviderDefaults& pref = entry->defaults;
  d.provider = *entry;
  d.provider_prefix = prefix;
  d.upstream_model = upstream;

  // Deployment defaults from the settings sections.
  if (st.router_timeout) d.timeout_s = *st.router_timeout;
  else if (st.request_timeout) d.timeout_s = *st.request_timeout;
  if (st.router_stream_timeout) d.stream_timeout_s = *st.router_stream_timeout;
  if (st.ssl_verify) d.ssl_verify = *st.ssl_verify;
  d.ssl_ca_bundle = st.ssl_ca_bundle;

  const bool is_mock = entry->in_process;
  const ParamsContext ctx{r, params, pp};
  bool have_base = false, have_key = false;
  YAML::Node base_n;
  for (auto it = params.begin(); it != params.end(); ++it) {
    const std::string key = it->first.Scalar();
    const std::string path = pp + "." + key;
    const YAML::Node v = it->second;
    if (key == "model") continue;
    if (key == "api_base") {
      if (Reader::present(v)) {
        d.api_base = strip_trailing_slashes(r.str(v, path));
        have_base = !d.api_base.empty();
        base_n = v;
      }
    } else if (key == "api_key") {
      if (Reader::present(v)) {
        d.api_key = Secret(r.str(v, path));
        have_key = true;
      }
    } else if (const ProviderEntry* owner = param_owner(*entry, key)) {
      if (owner == entry) entry->read_param(ctx, key, v, d);
      else r.warn(path, std::string("only used by ") + owner->name + "/ deployments, ignored");
    } else if (key == "timeout") {
      if (Reader::present(v)) {
        d.timeout_s = r.duration(v, path);
        if (d.timeout_s <= 0) r.fail(v, path, "must be greater than 0");
      }
    } else if (key == "stream_timeout") {
      if (Reader::present(v)) d.stream_timeout_s = r.duration(v, path);
    } else if (key == "rpm") {
      if (Reader::present(v)) d.rpm = static_cast<int>(r.integer(v, path, 0, 1'000'000'000));
    } else if (key == "tpm") {
      if (Reader::present(v)) d.tpm = static_cast<int>(r.integer(v, path, 0, 2'000'000'000));
    } else if (key == "ssl_verify") {
      if (!Reader::present(v)) continue;
      // LiteLLM allows a bool or the path of a CA bundle.
      std::string s = r.str(v, path), l;
      for (char c : s) l += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      if (l == "true" || l == "false") {
        d.ssl_verify = (l == "true");
        d.ssl_ca_bundle.clear();
      } else {
        if (s.empty()) r.fail(v, path, "expected true, false or the path of a CA bundle");
        d.ssl_verify = true;
        d.ssl_ca_bundle = s;
      }
    } else if (key == "weight" || key == "order" || key == "max_parallel_requests") {
      r.not_supported(path);  // parsed for src/router/ (docs/routing.md), not applied yet
      if (Reader::present(v)) router_param(r, key, v, path, d);
    } else if (key == "input_cost_per_token") {
      if (Reader::present(v)) d.input_cost_per_token = r.non_negative(v, path);
    } else if (key == "output_cost_per_token") {
      if (Reader::present(v)) d.output_cost_per_token = r.non_negative(v, path);
    } else if (kParamsUnsupported.count(key)) {
      r.not_supported(path);
    } else {
      r.unknown(path);
    }
  }

  // api_base: configured, else LiteLLM's environment fallbacks, else the provider default.
  if (!is_mock) {
    if (!have_base) {
      const char* env = env_or_null(pref.api_base_env);
      if (!env) env = env_or_null(pref.api_base_env2);
      if (env) d.api_base = strip_trailing_slashes(env);
      else if (pref.api_base) d.api_base = pref.api_base;
      else
        r.fail(params, pp + ".api_base", "required for " + prefix + "/ deployments (e.g. api_base: https://host/v1)");
    }
    auto url = parse_url(d.api_base);
    if (!url) {
      std::string shown = d.api_base.find('@') == std::string::npos ? " (got '" + d.api_base + "')" : std::string{};
      r.fail(have_base ? base_n : params, pp + ".api_base",
             "must be an http:// or https:// URL without query or credentials" + shown);
    }
    d.url = *url;
    if (!is_url_path(d.url.base_path))
      r.fail(have_base ? base_n : params, pp + ".api_base",
             "the path may only hold letters, digits and -._~/:+,= (no '.' or '..' segment)");
    if (!have_key) {
      if (const char* k = env_or_null(pref.api_key_env)) d.api_key = Secret(k);
    }
  }
  if (entry->finish) entry->finish(ctx, d);
  d.upstream_allowlist = st.cfg.server.upstream_allowlist;  // (llmgate_settings is read before model_list)

  // model_info: id, base_model, cost overrides; everything is kept for /model/info.
  const std::string ip = p + ".model_info";
  const YAML::Node info = e["model_info"];
  bool have_id = false;
  if (Reader::present(info)) {
    if (!info.IsMap()) r.fail(info, ip, std::string("expected a map, got ") + node_kind(info));
    for (auto it = info.begin(); it != info.end(); ++it) {
      const std::string key = it->first.Scalar();
      const std::string path = ip + "." + key;
      const YAML::Node v = it->second;
      if (!Reader::present(v)) continue;
      if (key == "id") {
        d.id = r.str(v, path);
        if (d.id.empty()) r.fail(v, path, "must not be empty");
        have_id = true;
      } else if (key == "base_model") {
        d.base_model = r.str(v, path);
      } else if (key == "max_input_tokens") {
        router_param(r, key, v, path, d);
      } else if (key == "input_cost_per_token") {
        d.input_cost_per_token = r.non_negative(v, path);
      } else if (key == "output_cost_per_token") {
        d.output_cost_per_token = r.non_negative(v, path);
      }
    }
    d.model_info = r.to_json(info, ip);
    // /model/info and --check-config show model_info as it is: a credential there (a
    // mis-indented api_key, a token for a plugin) is shown masked, and said so.
    for (const std::string& at : mask_credential_members(d.model_info, ip))
      r.warn(at,
             "looks like a credential; model_info is shown by /model/info, so its value is masked"
             " there (upstream credentials belong in litellm_params)");
  }
  int& idx = per_alias[d.model_name];
  if (!have_id) d.id = d.model_name + "-" + std::to_string(idx);
  ++idx;

  for (const auto& other : st.cfg.deployments)
    if (other.id == d.id)
      r.fail(have_id ? info["id"] : e, have_id ? ip + ".id" : p,
             "duplicate deployment id '" + d.id + "' (already used by a deployment of '" + other.model_name + "')");

  for (auto it = e.begin(); it != e.end(); ++it) {
    const std::string key = it->first.Scalar();
    if (key != "model_name" && key != "litellm_params" && key != "model_info") r.unknown(p + "." + key);
  }
  st.cfg.deployments.push_back(std::move(d));
  return true;
}

}  // namespace

void load_model_list(Reader& r, const YAML::Node& n, LoadState& st) {
  if (!Reader::present(n)) return;
  if (!n.IsSequence()) r.fail(n, "model_list", std::string("expected a list, got ") + node_kind(n));
  std::map<std::string, int> per_alias;
  std::size_t i = 0;
  for (auto it = n.begin(); it != n.end(); ++it, ++i)
    load_entry(r, *it, "model_list[" + std::to_string(i) + "]", st, per_alias);
}

}  // namespace llmgate::config_detail
