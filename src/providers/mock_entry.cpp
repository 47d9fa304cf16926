// Registry entry of mock/: answered by the gateway itself (no upstream), shaped by its
// mock_* litellm_params.
#include "config/yaml_reader.hpp"
#include "llmgate/provider_registry.hpp"
#include "llmgate/providers.hpp"

namespace llmgate {

namespace {

using config_detail::Reader;

constexpr const char* kParams[] = {"mock_latency_ms", "mock_tokens_per_second", "mock_response", "mock_stream_chunks"};

void read_param(const ParamsContext& c, const std::string& key, const YAML::Node& v, Deployment& d) {
  if (!Reader::present(v)) return;
  const std::string path = c.path + "." + key;
  Reader& r = c.reader;
  if (key == "mock_latency_ms") d.mock_latency_ms = static_cast<int>(r.integer(v, path, 0, 3'600'000));
  else if (key == "mock_tokens_per_second") d.mock_tokens_per_second = r.non_negative(v, path);
  else if (key == "mock_response") d.mock_response = r.str(v, path);
  else if (key == "mock_stream_chunks") d.mock_stream_chunks = static_cast<int>(r.integer(v, path, 0, 1'000'000));
}

void describe_effective(const Deployment& d, nlohmann::json& j) {
  j["mock_latency_ms"] = d.mock_latency_ms;
  j["mock_tokens_per_second"] = d.mock_tokens_per_second;
  j["mock_stream_chunks"] = d.mock_stream_chunks;
  if (!d.mock_response.empty()) j["mock_response"] = d.mock_response;
}

void describe_params(const Deployment& d, nlohmann::json& p) {
  if (d.mock_latency_ms) p["mock_latency_ms"] = d.mock_latency_ms;
  if (d.mock_tokens_per_second > 0) p["mock_tokens_per_second"] = d.mock_tokens_per_second;
  if (!d.mock_response.empty()) p["mock_response"] = d.mock_response;
  if (d.mock_stream_chunks) p["mock_stream_chunks"] = d.mock_stream_chunks;
}

}  // namespace

const ProviderEntry ProviderKind::mock{
    .name = "mock",
    .in_process = true,
    .params = kParams,
    .read_param = read_param,
    .describe_effective = describe_effective,
    .describe_params = describe_params,
    .dialect = mock_provider,
};

}  // namespace llmgate
