// model_list: one Deployment per entry with a supported provider prefix.
#include <cctype>
#include <cstdlib>
#include <map>
#include <set>

#include "config/loader_state.hpp"
#include "llmgate/address_policy.hpp"

namespace llmgate::config_detail {

namespace {

// litellm_params keys LiteLLM knows that we do not implement: "not supported yet".
const std::set<std::string> kParamsUnsupported = {
    "organization", "max_retries", "num_retries", "custom_llm_provider", "headers",
    "extra_headers", "extra_body", "drop_params", "tags", "max_parallel_requests",
    "use_in_pass_through", "use_litellm_proxy", "merge_reasoning_content_in_choices",
    "litellm_credential_name", "input_cost_per_second", "output_cost_per_second",
    "region_name", "aws_access_key_id", "aws_secret_access_key", "aws_region_name",
    "aws_session_token", "aws_role_name", "aws_session_name", "aws_profile_name",
    "aws_bedrock_runtime_endpoint", "vertex_project", "vertex_location", "vertex_credentials",
    "azure_ad_token_provider", "tenant_id", "client_id", "client_secret", "azure_username",
    "azure_password", "azure_scope", "temperature", "max_tokens", "max_completion_tokens",
    "top_p", "stop", "seed", "frequency_penalty", "presence_penalty", "response_format",
    "api_type", "configurable_clientside_auth_params", "budget_duration", "max_budget",
    "cache_control_injection_points", "weight", "order", "auto_router_config",
    "mock_timeout", "litellm_trace_id", "stream", "base_model", "model_info",
    "additional_drop_params", "watsonx_region_name", "input_cost_per_token_above_128k_tokens",
    "cache_read_input_token_cost", "cache_creation_input_token_cost",
};

struct Prefix {
  ProviderKind kind;
  const char* api_base_default;  // nullptr: required (or unused for mock)
  const char* api_base_env;      // LiteLLM's environment fallbacks
  const char* api_base_env2;
  const char* api_key_env;
};

const std::map<std::string, Prefix> kPrefixes = {
    {"openai", {ProviderKind::openai, "https://api.openai.com/v1", "OPENAI_BASE_URL",
                "OPENAI_API_BASE", "OPENAI_API_KEY"}},
    {"hosted_vllm",
     {ProviderKind::hosted_vllm, nullptr, "HOSTED_VLLM_API_BASE", nullptr, "HOSTED_VLLM_API_KEY"}},
    {"mock", {ProviderKind::mock, nullptr, nullptr, nullptr, nullptr}},
    {"azure", {ProviderKind::azure, nullptr, "AZURE_API_BASE", nullptr, "AZURE_API_KEY"}},
    {"ollama", {ProviderKind::ollama, "http://localhost:11434", "OLLAMA_API_BASE", nullptr, nullptr}},
    {"ollama_chat",
     {ProviderKind::ollama_chat, "http://localhost:11434", "OLLAMA_API_BASE", nullptr, nullptr}},
};

constexpr const char* kAzureApiVersionDefault = "2024-10-21";

const char* env_or_null(const char* name) {
  if (!name) return nullptr;
  const char* v = std::getenv(name);
  return (v && *v) ? v : nullptr;
}

std::string strip_trailing_slashes(std::string s) {
  while (!s.empty() && s.back() == '/') s.pop_back();
  return s;
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
  auto pit = kPrefixes.find(prefix);
  if (pit == kPrefixes.end()) {
    r.warn(pp + ".model", "provider '" + prefix + "' not supported yet, deployment skipped");
    return false;
  }
  if (upstream.empty()) r.fail(model_n, pp + ".model", "model name after '" + prefix + "/' is empty");
  const Prefix& pref = pit->second;
  d.provider = pref.kind;
  d.provider_prefix = prefix;
  d.upstream_model = upstream;

  // Deployment defaults from the settings sections.
  if (st.router_timeout) d.timeout_s = *st.router_timeout;
  else if (st.request_timeout) d.timeout_s = *st.request_timeout;
  if (st.router_stream_timeout) d.stream_timeout_s = *st.router_stream_timeout;
  if (st.ssl_verify) d.ssl_verify = *st.ssl_verify;
  d.ssl_ca_bundle = st.ssl_ca_bundle;

  const bool is_mock = d.provider == ProviderKind::mock;
  const bool is_azure = d.provider == ProviderKind::azure;
  bool have_base = false, have_key = false, have_version = false;
  YAML::Node base_n;
  for (auto it = params.begin(); it != params.end(); ++it) {
    const std::string key = it->first.Scalar();
    const std::string path = pp + "." + key;
    const YAML::Node v = it->second;
    auto mock_only = [&] {
      if (!is_mock) r.warn(path, "only used by mock/ deployments, ignored");
      return is_mock && Reader::present(v);
    };
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
    } else if (key == "api_version") {
      if (!is_azure) r.warn(path, "only used by azure/ deployments, ignored");
      else if (Reader::present(v)) {
        d.api_version = r.str(v, path);
        have_version = !d.api_version.empty();
      }
    } else if (key == "azure_ad_token") {
      if (!is_azure) r.warn(path, "only used by azure/ deployments, ignored");
      else if (Reader::present(v)) d.azure_ad_token = Secret(r.str(v, path));
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
    } else if (key == "input_cost_per_token") {
      if (Reader::present(v)) d.input_cost_per_token = r.non_negative(v, path);
    } else if (key == "output_cost_per_token") {
      if (Reader::present(v)) d.output_cost_per_token = r.non_negative(v, path);
    } else if (key == "mock_latency_ms") {
      if (mock_only()) d.mock_latency_ms = static_cast<int>(r.integer(v, path, 0, 3'600'000));
    } else if (key == "mock_tokens_per_second") {
      if (mock_only()) d.mock_tokens_per_second = r.non_negative(v, path);
    } else if (key == "mock_response") {
      if (mock_only()) d.mock_response = r.str(v, path);
    } else if (key == "mock_stream_chunks") {
      if (mock_only()) d.mock_stream_chunks = static_cast<int>(r.integer(v, path, 0, 1'000'000));
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
      else if (pref.api_base_default) d.api_base = pref.api_base_default;
      else
        r.fail(params, pp + ".api_base",
               "required for " + prefix + "/ deployments (e.g. api_base: https://host/v1)");
    }
    auto url = parse_url(d.api_base);
    if (!url) {
      std::string shown = d.api_base.find('@') == std::string::npos ? " (got '" + d.api_base + "')"
                                                                     : std::string{};
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
  if (is_azure && !have_version) {
    const char* v = env_or_null("AZURE_API_VERSION");
    d.api_version = v ? v : kAzureApiVersionDefault;
  }
  // Both become part of the upstream URL (/openai/deployments/{name}/...?api-version={version}).
  if (is_azure && !is_url_name(d.upstream_model))
    r.fail(model_n, pp + ".model", "the Azure deployment name may only hold letters, digits, '-', '_' and '.' (no '..')");
  if (const YAML::Node vn = params["api_version"]; is_azure && !is_url_name(d.api_version))
    r.fail(Reader::present(vn) ? vn : params, pp + ".api_version", "may only hold letters, digits, '-', '_' and '.' (no '..')");
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
      r.warn(at, "looks like a credential; model_info is shown by /model/info, so its value is masked"
                 " there (upstream credentials belong in litellm_params)");
  }
  int& idx = per_alias[d.model_name];
  if (!have_id) d.id = d.model_name + "-" + std::to_string(idx);
  ++idx;

  for (const auto& other : st.cfg.deployments)
    if (other.id == d.id)
      r.fail(have_id ? info["id"] : e, have_id ? ip + ".id" : p,
             "duplicate deployment id '" + d.id + "' (already used by a deployment of '" +
                 other.model_name + "')");

  for (auto it = e.begin(); it != e.end(); ++it) {
    const std::string key = it->first.Scalar();
    if (key != "model_name" && key != "litellm_params" && key != "model_info")
      r.unknown(p + "." + key);
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
