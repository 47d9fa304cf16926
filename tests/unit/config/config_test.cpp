// Config loader: LiteLLM config.yaml files load unchanged; errors name file, line and YAML path.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <string>

#include "llmgate/config.hpp"

using namespace llmgate;

namespace {

// Sets an environment variable for the lifetime of the object, restoring the old value after.
class ScopedEnv {
 public:
  ScopedEnv(const char* name, const char* value) : name_(name) {
    if (const char* old = std::getenv(name)) old_ = old;
    if (value) ::setenv(name, value, 1);
    else ::unsetenv(name);
  }
  ~ScopedEnv() {
    if (old_) ::setenv(name_.c_str(), old_->c_str(), 1);
    else ::unsetenv(name_.c_str());
  }

 private:
  std::string name_;
  std::optional<std::string> old_;
};

std::string load_error(const std::string& yaml, const std::string& source = "config.yaml") {
  try {
    load_config_string(yaml, source);
  } catch (const ConfigError& e) {
    return e.what();
  }
  return "(no error)";
}

int count(const std::vector<std::string>& v, const std::string& s) {
  return static_cast<int>(std::count(v.begin(), v.end(), s));
}

std::string join(const std::vector<std::string>& v) {
  std::string out;
  for (const auto& s : v) out += s + "\n";
  return out;
}

const char* kLiteLLMExample = R"(model_list:
  - model_name: custom-llm
    litellm_params:
      model: openai/gpt-3.5-turbo
      api_base: os.environ/LLM_API_BASE
      api_key: os.environ/LLM_API_KEY
litellm_settings:
  success_callback: []
  cache: true
  set_verbose: true
general_settings:
  master_key: os.environ/PROXY_MASTER_KEY
  database_url: "sqlite:////app/data/litellm.db"
)";

class ConfigEnv : public ::testing::Test {
 protected:
  ScopedEnv base_{"LLM_API_BASE", "http://10.1.2.3:8000/v1/"};
  ScopedEnv key_{"LLM_API_KEY", "sk-upstream-secret-123456"};
  ScopedEnv master_{"PROXY_MASTER_KEY", "sk-master-secret-abcdef"};
  // Keep LiteLLM's fallbacks from the test machine out of the way.
  ScopedEnv no_openai_key_{"OPENAI_API_KEY", nullptr};
  ScopedEnv no_openai_base_{"OPENAI_BASE_URL", nullptr};
  ScopedEnv no_openai_base2_{"OPENAI_API_BASE", nullptr};
  ScopedEnv no_db_{"DATABASE_URL", nullptr};
  ScopedEnv no_master_{"LITELLM_MASTER_KEY", nullptr};
  ScopedEnv no_azure_base_{"AZURE_API_BASE", nullptr};
  ScopedEnv no_azure_ver_{"AZURE_API_VERSION", nullptr};
  ScopedEnv no_ollama_{"OLLAMA_API_BASE", nullptr};
  ScopedEnv no_vllm_{"HOSTED_VLLM_API_BASE", nullptr};
};

}  // namespace

TEST_F(ConfigEnv, VerbatimLiteLLMExampleLoads) {
  Config c = load_config_string(kLiteLLMExample, "config.yaml");
  ASSERT_EQ(c.deployments.size(), 1u);
  const Deployment& d = c.deployments[0];
  EXPECT_EQ(d.model_name, "custom-llm");
  EXPECT_EQ(d.provider, ProviderKind::openai);
  EXPECT_EQ(d.provider_prefix, "openai");
  EXPECT_EQ(d.upstream_model, "gpt-3.5-turbo");
  EXPECT_EQ(d.api_base, "http://10.1.2.3:8000/v1");  // trailing '/' stripped
  EXPECT_EQ(d.url.host, "10.1.2.3");
  EXPECT_EQ(d.url.port, "8000");
  EXPECT_EQ(d.url.base_path, "/v1");
  EXPECT_FALSE(d.url.tls);
  EXPECT_EQ(d.api_key.reveal(), "sk-upstream-secret-123456");
  EXPECT_EQ(d.id, "custom-llm-0");
  EXPECT_EQ(d.timeout_s, 600);
  EXPECT_EQ(c.master_key.reveal(), "sk-master-secret-abcdef");
  EXPECT_EQ(c.ledger.database_path, "/app/data/litellm.db");
  EXPECT_TRUE(c.set_verbose);
  EXPECT_EQ(c.find("custom-llm").size(), 1u);
  EXPECT_TRUE(c.find("gpt-4").empty());
  // success_callback (even as an empty list) and cache: one warning each, nothing else.
  EXPECT_EQ(c.warnings.size(), 2u) << join(c.warnings);
  EXPECT_EQ(count(c.warnings, "litellm_settings.success_callback: not supported yet, ignored"), 1);
  EXPECT_EQ(count(c.warnings, "litellm_settings.cache: not supported yet, ignored"), 1);
}

TEST_F(ConfigEnv, DollarBracePlaceholdersLoadToo) {
  ScopedEnv az("AZURE_API_BASE_T", "https://example.openai.azure.com/");
  ScopedEnv host("UPSTREAM_HOST", "vllm.internal");
  Config c = load_config_string(R"(model_list:
  - model_name: custom-llm
    litellm_params:
      model: openai/gpt-3.5-turbo
      api_base: ${LLM_API_BASE}
      api_key: ${LLM_API_KEY}
  - model_name: inline
    litellm_params:
      model: hosted_vllm/meta-llama/Llama-3-8B
      api_base: "http://${UPSTREAM_HOST}:8000/v1"
  - model_name: az
    litellm_params:
      model: azure/my-deployment
      api_base: ${AZURE_API_BASE_T}
      api_key: ${LLM_API_KEY}
litellm_settings:
  success_callback: []
general_settings:
  master_key: ${PROXY_MASTER_KEY}
  database_url: "sqlite:////app/data/litellm.db"
)");
  ASSERT_EQ(c.deployments.size(), 3u);
  EXPECT_EQ(c.deployments[0].api_base, "http://10.1.2.3:8000/v1");
  EXPECT_EQ(c.deployments[0].api_key.reveal(), "sk-upstream-secret-123456");
  EXPECT_EQ(c.deployments[1].api_base, "http://vllm.internal:8000/v1");
  EXPECT_EQ(c.deployments[1].upstream_model, "meta-llama/Llama-3-8B");
  EXPECT_EQ(c.deployments[1].provider, ProviderKind::hosted_vllm);
  EXPECT_EQ(c.deployments[2].api_base, "https://example.openai.azure.com");
  EXPECT_EQ(c.deployments[2].url.port, "443");
  EXPECT_EQ(c.master_key.reveal(), "sk-master-secret-abcdef");
}

TEST_F(ConfigEnv, MissingVariableNamesVariableFileLineAndPath) {
  ScopedEnv unset("LLM_API_BASE", nullptr);
  EXPECT_EQ(load_error(kLiteLLMExample),
            "config.yaml:5: model_list[0].litellm_params.api_base: environment variable "
            "LLM_API_BASE is not set");
  std::string e = load_error("general_settings:\n  master_key: \"x-${NOPE_NOT_SET_42}\"\n");
  EXPECT_EQ(e,
            "config.yaml:2: general_settings.master_key: environment variable "
            "NOPE_NOT_SET_42 is not set");
}

TEST_F(ConfigEnv, EnvironmentVariablesSectionIsAppliedFirst) {
  ScopedEnv cleanup("LLMGATE_TEST_SET_BY_FILE", nullptr);
  Config c = load_config_string(R"(model_list:
  - model_name: m
    litellm_params:
      model: openai/x
      api_base: os.environ/LLMGATE_TEST_SET_BY_FILE
environment_variables:
  LLMGATE_TEST_SET_BY_FILE: "http://127.0.0.1:9999"
)");
  ASSERT_EQ(c.deployments.size(), 1u);
  EXPECT_EQ(c.deployments[0].url.port, "9999");
  EXPECT_TRUE(c.warnings.empty()) << join(c.warnings);
}

TEST_F(ConfigEnv, LiteralDollarTextIsKept) {
  Config c = load_config_string(
      "model_list:\n  - model_name: m\n    litellm_params:\n      model: mock/x\n"
      "      mock_response: \"costs $5 ${not a var} ${\"\n");
  EXPECT_EQ(c.deployments.at(0).mock_response, "costs $5 ${not a var} ${");
}

TEST_F(ConfigEnv, TextThatIsNotUtf8IsRefusedWithItsPosition) {
  // A Latin-1 file from an old editor: refused with file, line, column and byte (no JSON
  // output could carry these bytes; --check-config used to abort on them).
  std::string e = load_error("model_list: []\ngeneral_settings:\n  master_key: caf\xe9\n", "l1.yaml");
  EXPECT_EQ(e, "l1.yaml:3:18: not valid UTF-8 (byte 0xE9); save the file as UTF-8");
  const std::string nul = load_error(std::string("model_list: []\n#") + '\0' + "\n");
  EXPECT_NE(nul.find(":2:2: not valid UTF-8 (byte 0x00)"), std::string::npos) << nul;
  for (const char* bad :
       {"\xc0\xaf", "\xed\xa0\x80", "\xf4\x90\x80\x80", "\xe2\x82"})  // overlong, surrogate, > U+10FFFF, cut
    EXPECT_NE(load_error(std::string("model_list: []\n# ") + bad + "\n").find("not valid UTF-8"), std::string::npos)
        << bad;
  // UTF-8, a byte order mark included, is fine.
  EXPECT_EQ(
      load_error(
          "\xef\xbb\xbfmodel_list:\n  - model_name: caf\xc3\xa9-\xf0\x9f\x98\x80\n    litellm_params:\n      model: mock/x\n"),
      "(no error)");
}

TEST_F(ConfigEnv, MalformedYamlNamesFileAndLine) {
  std::string e = load_error("model_list:\n  - model_name: a\n    litellm_params: [unclosed\n", "bad.yaml");
  EXPECT_EQ(e.rfind("bad.yaml:", 0), 0u) << e;
  EXPECT_NE(e.find("invalid YAML"), std::string::npos) << e;
  // The line number is the one yaml-cpp reports for the broken construct (3 or 4 here).
  EXPECT_TRUE(e.rfind("bad.yaml:3:", 0) == 0 || e.rfind("bad.yaml:4:", 0) == 0) << e;

  std::string tab = load_error("general_settings:\n  master_key: a\n   bad: : [\n", "x.yaml");
  EXPECT_EQ(tab.rfind("x.yaml:3:", 0), 0u) << tab;
}

TEST_F(ConfigEnv, WrongTypesNamePathAndLine) {
  EXPECT_EQ(load_error("llmgate_settings:\n  port: abc\n"),
            "config.yaml:2: llmgate_settings.port: expected an integer, got 'abc'");
  EXPECT_EQ(load_error("llmgate_settings:\n  workers:\n    a: 1\n"),
            "config.yaml:3: llmgate_settings.workers: expected an integer, got a map");
  EXPECT_EQ(load_error("model_list:\n  - model_name: m\n    litellm_params:\n      model: mock/x\n"
                       "      mock_latency_ms: [1, 2]\n"),
            "config.yaml:5: model_list[0].litellm_params.mock_latency_ms: expected an integer, "
            "got a list");
  EXPECT_EQ(load_error("litellm_settings:\n  json_logs: maybe\n"),
            "config.yaml:2: litellm_settings.json_logs: expected true or false, got 'maybe'");
  EXPECT_EQ(load_error("model_list: {a: 1}\n"), "config.yaml:1: model_list: expected a list, got a map");
  EXPECT_EQ(load_error("general_settings: 5\n"), "config.yaml:1: general_settings: expected a map, got a scalar");
  EXPECT_EQ(load_error("llmgate_settings:\n  port: 70000\n"),
            "config.yaml:2: llmgate_settings.port: must be between 0 and 65535, got 70000");
  EXPECT_EQ(load_error("llmgate_settings:\n  busy_poll_microseconds: -1\n"),
            "config.yaml:2: llmgate_settings.busy_poll_microseconds: must be between 0 and 1000000, got -1");
  EXPECT_EQ(load_error("- a\n- b\n"), "config.yaml:1: the top level must be a map of sections, got a list");
}

TEST_F(ConfigEnv, MissingRequiredKeys) {
  EXPECT_EQ(load_error("model_list:\n  - litellm_params:\n      model: mock/x\n"),
            "config.yaml:2: model_list[0].model_name: required key is missing");
  EXPECT_EQ(load_error("model_list:\n  - model_name: a\n"),
            "config.yaml:2: model_list[0].litellm_params: required key is missing");
  EXPECT_EQ(load_error("model_list:\n  - model_name: a\n    litellm_params:\n      api_key: k\n"),
            "config.yaml:4: model_list[0].litellm_params.model: required key is missing");
}

TEST_F(ConfigEnv, NumbersAndBooleansAsStrings) {
  Config c = load_config_string(R"(model_list:
  - model_name: m
    litellm_params:
      model: openai/gpt-4o
      api_base: http://127.0.0.1:1234
      timeout: "30"
      stream_timeout: "5.5"
      rpm: "100"
      tpm: 2000
      ssl_verify: "false"
      input_cost_per_token: "0.000001"
litellm_settings:
  json_logs: "true"
llmgate_settings:
  port: "8080"
  workers: 3
  busy_poll_microseconds: "250"
)");
  const Deployment& d = c.deployments.at(0);
  EXPECT_EQ(d.timeout_s, 30);
  EXPECT_EQ(d.stream_timeout_s, 5.5);
  EXPECT_EQ(d.rpm, 100);
  EXPECT_EQ(d.tpm, 2000);
  EXPECT_FALSE(d.ssl_verify);
  ASSERT_TRUE(d.input_cost_per_token);
  EXPECT_DOUBLE_EQ(*d.input_cost_per_token, 0.000001);
  EXPECT_TRUE(c.json_logs);
  EXPECT_EQ(c.server.port, 8080);
  EXPECT_EQ(c.server.workers, 3);
  EXPECT_EQ(c.server.busy_poll_us, 250);
}

TEST_F(ConfigEnv, UnsupportedAndUnknownKeysWarnOncePerPath) {
  Config c = load_config_string(R"(model_list:
  - model_name: m
    litellm_params:
      model: openai/gpt-4o
      api_base: http://127.0.0.1:1234
      organization: org-1
      frobnicate: 1
    extra_entry_key: 1
  - model_name: m
    litellm_params:
      model: openai/gpt-4o
      api_base: http://127.0.0.1:1235
      organization: org-1
litellm_settings:
  success_callback: []
  failure_callback: ["langfuse"]
  drop_params: true
  totally_made_up: 1
router_settings:
  routing_strategy: latency-based-routing
  redis_host: localhost
  allowed_fails: 3
general_settings:
  alerting: ["slack"]
  store_model_in_db: false
my_own_section: {}
llmgate_settings:
  nonsense: 1
  limits:
    max_bdy_bytes: 1
)");
  const std::vector<std::string> expected = {
      "model_list[0].litellm_params.organization: not supported yet, ignored",
      "model_list[0].litellm_params.frobnicate: unknown key, ignored",
      "model_list[0].extra_entry_key: unknown key, ignored",
      "model_list[1].litellm_params.organization: not supported yet, ignored",
      "litellm_settings.success_callback: not supported yet, ignored",
      "litellm_settings.failure_callback: not supported yet, ignored",
      "litellm_settings.drop_params: not supported yet, ignored",
      "litellm_settings.totally_made_up: unknown key, ignored",
      "router_settings.routing_strategy: 'latency-based-routing' not supported yet, using "
      "simple-shuffle",
      "router_settings.redis_host: not supported yet, ignored",
      "router_settings.allowed_fails: not supported yet, ignored",
      "general_settings.alerting: not supported yet, ignored",
      "my_own_section: unknown key, ignored",
      "llmgate_settings.nonsense: unknown key, ignored",
      "llmgate_settings.limits.max_bdy_bytes: unknown key, ignored",
  };
  for (const auto& w : expected) EXPECT_EQ(count(c.warnings, w), 1) << w << "\n" << join(c.warnings);
  EXPECT_EQ(c.warnings.size(), expected.size()) << join(c.warnings);
  EXPECT_EQ(c.deployments.size(), 2u);
  EXPECT_EQ(c.deployments[0].id, "m-0");
  EXPECT_EQ(c.deployments[1].id, "m-1");
}

TEST_F(ConfigEnv, SimpleShuffleIsSupported) {
  Config c = load_config_string("router_settings:\n  routing_strategy: simple-shuffle\n");
  EXPECT_TRUE(c.warnings.empty()) << join(c.warnings);
}

TEST_F(ConfigEnv, ProviderPrefixes) {
  Config c = load_config_string(R"(model_list:
  - model_name: a
    litellm_params: {model: openai/gpt-4o}
  - model_name: b
    litellm_params: {model: gpt-4o-mini}
  - model_name: c
    litellm_params: {model: hosted_vllm/Qwen/Qwen2.5-7B, api_base: "https://vllm.example:8443/v1/"}
  - model_name: d
    litellm_params: {model: mock/fake, mock_latency_ms: 7, mock_tokens_per_second: 50,
                     mock_response: hi, mock_stream_chunks: 3}
  - model_name: e
    litellm_params: {model: azure/gpt4-deploy, api_base: "https://r.openai.azure.com", api_key: k,
                     azure_ad_token: "eyJ0eXAiOiJKV1QiLCJhbGciOi"}
  - model_name: f
    litellm_params: {model: ollama/llama3}
  - model_name: g
    litellm_params: {model: ollama_chat/llama3, api_base: "http://gpu-box:11434"}
  - model_name: h
    litellm_params: {model: azure/x, api_base: "https://r.openai.azure.com", api_version: "2024-02-01"}
)");
  ASSERT_EQ(c.deployments.size(), 8u) << join(c.warnings);
  const auto& d = c.deployments;
  EXPECT_EQ(d[0].provider, ProviderKind::openai);
  EXPECT_EQ(d[0].api_base, "https://api.openai.com/v1");
  EXPECT_TRUE(d[0].url.tls);
  EXPECT_EQ(d[0].url.host, "api.openai.com");
  EXPECT_EQ(d[0].url.base_path, "/v1");
  EXPECT_EQ(d[1].provider, ProviderKind::openai);  // no prefix: OpenAI
  EXPECT_EQ(d[1].upstream_model, "gpt-4o-mini");
  EXPECT_EQ(d[2].provider, ProviderKind::hosted_vllm);
  EXPECT_EQ(d[2].upstream_model, "Qwen/Qwen2.5-7B");
  EXPECT_EQ(d[2].api_base, "https://vllm.example:8443/v1");
  EXPECT_EQ(d[2].url.port, "8443");
  EXPECT_EQ(d[3].provider, ProviderKind::mock);
  EXPECT_EQ(d[3].mock_latency_ms, 7);
  EXPECT_EQ(d[3].mock_tokens_per_second, 50);
  EXPECT_EQ(d[3].mock_response, "hi");
  EXPECT_EQ(d[3].mock_stream_chunks, 3);
  EXPECT_EQ(d[4].provider, ProviderKind::azure);
  EXPECT_EQ(d[4].api_version, "2024-10-21");
  EXPECT_EQ(d[4].azure_ad_token.reveal(), "eyJ0eXAiOiJKV1QiLCJhbGciOi");
  EXPECT_EQ(d[5].provider, ProviderKind::ollama);
  EXPECT_EQ(d[5].api_base, "http://localhost:11434");
  EXPECT_EQ(d[5].url.port, "11434");
  EXPECT_EQ(d[6].provider, ProviderKind::ollama_chat);
  EXPECT_EQ(d[6].url.host, "gpu-box");
  EXPECT_EQ(d[7].api_version, "2024-02-01");
  EXPECT_TRUE(c.warnings.empty()) << join(c.warnings);
  EXPECT_EQ(c.model_names(), (std::vector<std::string>{"a", "b", "c", "d", "e", "f", "g", "h"}));
}

TEST_F(ConfigEnv, ProvidersThatNeedApiBase) {
  EXPECT_EQ(load_error("model_list:\n  - model_name: v\n    litellm_params:\n      model: hosted_vllm/x\n"),
            "config.yaml:4: model_list[0].litellm_params.api_base: required for hosted_vllm/ "
            "deployments (e.g. api_base: https://host/v1)");
  EXPECT_NE(load_error("model_list:\n  - model_name: v\n    litellm_params:\n      model: azure/x\n")
                .find("model_list[0].litellm_params.api_base: required for azure/"),
            std::string::npos);
  EXPECT_EQ(load_error("model_list:\n  - model_name: v\n    litellm_params:\n      model: openai/x\n"
                       "      api_base: ftp://host/v1\n"),
            "config.yaml:5: model_list[0].litellm_params.api_base: must be an http:// or https:// "
            "URL without query or credentials (got 'ftp://host/v1')");
}

TEST_F(ConfigEnv, UnsupportedProviderIsSkippedWithWarning) {
  Config c = load_config_string(R"(model_list:
  - model_name: claude
    litellm_params:
      model: anthropic/claude-3-5-sonnet
      api_key: os.environ/ANTHROPIC_KEY_THAT_IS_NOT_SET
  - model_name: b
    litellm_params:
      model: bedrock/anthropic.claude-v2
  - model_name: ok
    litellm_params:
      model: mock/ok
)");
  ASSERT_EQ(c.deployments.size(), 1u);
  EXPECT_EQ(c.deployments[0].model_name, "ok");
  EXPECT_EQ(c.warnings,
            (std::vector<std::string>{"model_list[0].litellm_params.model: provider 'anthropic' not supported yet, "
                                      "deployment skipped",
                                      "model_list[1].litellm_params.model: provider 'bedrock' not supported yet, "
                                      "deployment skipped"}));
}

TEST_F(ConfigEnv, ModelInfoIdsAndOverrides) {
  Config c = load_config_string(R"(model_list:
  - model_name: m
    litellm_params: {model: mock/a, input_cost_per_token: 0.5}
    model_info: {id: primary, base_model: gpt-4o, input_cost_per_token: 0.25, mode: chat,
                 output_cost_per_token: 0.75}
  - model_name: m
    litellm_params: {model: mock/b}
)");
  ASSERT_EQ(c.deployments.size(), 2u);
  EXPECT_EQ(c.deployments[0].id, "primary");
  EXPECT_EQ(c.deployments[0].base_model, "gpt-4o");
  EXPECT_EQ(*c.deployments[0].input_cost_per_token, 0.25);  // model_info wins
  EXPECT_EQ(*c.deployments[0].output_cost_per_token, 0.75);
  EXPECT_EQ(c.deployments[0].model_info.value("mode", ""), "chat");
  EXPECT_EQ(c.deployments[1].id, "m-1");
  EXPECT_EQ(c.find("m").size(), 2u);

  std::string e = load_error(R"(model_list:
  - model_name: a
    litellm_params: {model: mock/a}
    model_info: {id: same}
  - model_name: b
    litellm_params: {model: mock/b}
    model_info: {id: same}
)");
  EXPECT_EQ(e.rfind("config.yaml:7: model_list[1].model_info.id: duplicate deployment id 'same'", 0), 0u) << e;
}

TEST_F(ConfigEnv, SslVerifyAcceptsBoolOrCaBundlePath) {
  Config c = load_config_string(R"(model_list:
  - model_name: a
    litellm_params: {model: openai/x, api_base: "https://in.corp/v1", ssl_verify: /etc/ssl/corp-ca.pem}
  - model_name: b
    litellm_params: {model: openai/x, api_base: "https://in.corp/v1", ssl_verify: false}
  - model_name: c
    litellm_params: {model: openai/x, api_base: "https://in.corp/v1"}
)");
  EXPECT_TRUE(c.deployments[0].ssl_verify);
  EXPECT_EQ(c.deployments[0].ssl_ca_bundle, "/etc/ssl/corp-ca.pem");
  EXPECT_FALSE(c.deployments[1].ssl_verify);
  EXPECT_TRUE(c.deployments[2].ssl_verify);
  EXPECT_TRUE(c.deployments[2].ssl_ca_bundle.empty());
}

TEST_F(ConfigEnv, TimeoutDefaultsAndPrecedence) {
  const char* models = R"(model_list:
  - model_name: a
    litellm_params: {model: mock/a}
  - model_name: b
    litellm_params: {model: mock/b, timeout: 12}
)";
  Config c1 = load_config_string(std::string(models) + "litellm_settings:\n  request_timeout: 45\n");
  EXPECT_EQ(c1.deployments[0].timeout_s, 45);
  EXPECT_EQ(c1.deployments[1].timeout_s, 12);
  Config c2 = load_config_string(std::string(models) +
                                 "litellm_settings:\n  request_timeout: 45\n"
                                 "router_settings:\n  timeout: 30\n  num_retries: 2\n");
  EXPECT_EQ(c2.deployments[0].timeout_s, 30);
  EXPECT_EQ(c2.deployments[1].timeout_s, 12);
  EXPECT_EQ(c2.num_retries, 2);
}

TEST_F(ConfigEnv, FallbacksInLiteLLMForm) {
  Config c = load_config_string(R"(model_list:
  - model_name: gpt-4
    litellm_params: {model: mock/a}
  - model_name: gpt-3.5
    litellm_params: {model: mock/b}
router_settings:
  fallbacks: [{"gpt-4": ["gpt-3.5"]}, {"gpt-3.5": ["gpt-4", "nowhere"]}]
)");
  ASSERT_EQ(c.fallbacks.size(), 2u);
  EXPECT_EQ(c.fallbacks.at("gpt-4"), (std::vector<std::string>{"gpt-3.5"}));
  EXPECT_EQ(c.fallbacks.at("gpt-3.5"), (std::vector<std::string>{"gpt-4", "nowhere"}));
  EXPECT_EQ(count(c.warnings, "fallbacks.gpt-3.5: fallback model 'nowhere' is not in model_list"), 1)
      << join(c.warnings);
}

TEST_F(ConfigEnv, DatabaseUrlForms) {
  auto path = [](const std::string& url) {
    return load_config_string("general_settings:\n  database_url: \"" + url + "\"\n").ledger.database_path;
  };
  EXPECT_EQ(path("sqlite:///rel/path.db"), "rel/path.db");
  EXPECT_EQ(path("sqlite:////abs/path.db"), "/abs/path.db");
  EXPECT_EQ(load_config_string("{}").ledger.database_path, "./data/llmgate.db");
  EXPECT_EQ(load_error("general_settings:\n  database_url: postgresql://u:p@db/litellm\n"),
            "config.yaml:2: general_settings.database_url: PostgreSQL is not supported yet; use "
            "sqlite:///path");
  EXPECT_NE(load_error("general_settings:\n  database_url: postgres://db\n").find("PostgreSQL"), std::string::npos);
  {
    ScopedEnv db("DATABASE_URL", "sqlite:////from/env.db");
    EXPECT_EQ(load_config_string("{}").ledger.database_path, "/from/env.db");
    // The file wins over the environment.
    EXPECT_EQ(path("sqlite:///file.db"), "file.db");
  }
  {
    ScopedEnv mk("LITELLM_MASTER_KEY", "sk-from-env-1234");
    EXPECT_EQ(load_config_string("{}").master_key.reveal(), "sk-from-env-1234");
  }
}

TEST_F(ConfigEnv, DurationsAndLedgerSettings) {
  auto retention = [](const std::string& v) {
    return load_config_string("general_settings:\n  maximum_spend_logs_retention_period: " + v + "\n")
        .ledger.retention_s;
  };
  EXPECT_EQ(retention("30d"), 30 * 86400);
  EXPECT_EQ(retention("12h"), 12 * 3600);
  EXPECT_EQ(retention("90m"), 90 * 60);
  EXPECT_EQ(retention("1w"), 7 * 86400);
  EXPECT_EQ(retention("3600"), 3600);
  EXPECT_EQ(retention("\"45s\""), 45);
  EXPECT_EQ(load_config_string("{}").ledger.retention_s, 0);
  EXPECT_NE(load_error("general_settings:\n  maximum_spend_logs_retention_period: 3 days\n")
                .find("config.yaml:2: general_settings.maximum_spend_logs_retention_period: "
                      "expected a duration"),
            std::string::npos);

  Config c = load_config_string(R"(general_settings:
  proxy_batch_write_at: 0.5
  store_prompts_in_spend_logs: true
  health_check_interval: 60
  background_health_checks: false
llmgate_settings:
  limits: {max_body_bytes: 1MiB, header_timeout_seconds: 3, max_sse_event_bytes: 65536}
  ledger: {queue_max_records: 10, queue_max_bytes: 64KiB, batch_max_records: 5, max_body_log_bytes: 100}
  drain_seconds: 0
)");
  EXPECT_EQ(c.ledger.batch_write_at_s, 0.5);
  EXPECT_FALSE(c.store_model_in_db);
  EXPECT_TRUE(load_config_string("general_settings: {store_model_in_db: true}").store_model_in_db);
  EXPECT_TRUE(c.ledger.store_bodies);
  EXPECT_EQ(c.health.health_check_interval_s, 60);
  EXPECT_FALSE(c.health.background_health_checks);
  EXPECT_EQ(c.server.limits.max_body_bytes, 1024u * 1024u);
  EXPECT_EQ(c.server.limits.header_timeout_s, 3);
  EXPECT_EQ(c.server.limits.max_sse_event_bytes, 65536u);
  EXPECT_EQ(c.ledger.queue_max_records, 10u);
  EXPECT_EQ(c.ledger.queue_max_bytes, 65536u);
  EXPECT_EQ(c.ledger.batch_max_records, 5u);
  EXPECT_EQ(c.ledger.max_body_log_bytes, 100u);
  EXPECT_EQ(c.server.drain_seconds, 0);
}

TEST_F(ConfigEnv, BodyLoggingFollowsLiteLLMSwitches) {
  EXPECT_FALSE(load_config_string("{}").ledger.store_bodies);  // LiteLLM default: off
  EXPECT_TRUE(load_config_string("general_settings: {store_prompts_in_spend_logs: true}").ledger.store_bodies);
  EXPECT_FALSE(load_config_string("general_settings: {store_prompts_in_spend_logs: true}\n"
                                  "litellm_settings: {turn_off_message_logging: true}")
                   .ledger.store_bodies);
}

TEST_F(ConfigEnv, EmptySectionsAndEmptyFileAreFine) {
  Config c = load_config_string("");
  EXPECT_TRUE(c.deployments.empty());
  EXPECT_EQ(c.server.port, 4000);
  Config c2 = load_config_string("model_list:\nlitellm_settings:\ngeneral_settings:\n");
  EXPECT_TRUE(c2.warnings.empty()) << join(c2.warnings);
}

TEST_F(ConfigEnv, LoadConfigFileSetsSourcePathAndReportsMissingFile) {
  const std::string dir = LLMGATE_SOURCE_DIR "/tests/fixtures/config/";
  Config c = load_config_file(dir + "litellm_example.yaml");
  EXPECT_EQ(c.source_path, dir + "litellm_example.yaml");
  EXPECT_EQ(c.deployments.size(), 1u);
  try {
    load_config_file(dir + "does-not-exist.yaml");
    FAIL() << "expected ConfigError";
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("does-not-exist.yaml: cannot open"), std::string::npos);
  }
  try {
    load_config_file(dir + "bad_type.yaml");
    FAIL() << "expected ConfigError";
  } catch (const ConfigError& e) {
    EXPECT_EQ(std::string(e.what()), dir +
                                         "bad_type.yaml:6: model_list[0].litellm_params.timeout: expected a duration "
                                         "(seconds, or a number followed by ms, s, m, h, d or w), got 'soon'");
  }
}

TEST_F(ConfigEnv, DemoConfigLoadsWithoutWarnings) {
  Config c = load_config_file(LLMGATE_SOURCE_DIR "/config/demo.yaml");
  EXPECT_FALSE(c.deployments.empty());
  EXPECT_TRUE(c.warnings.empty()) << join(c.warnings);
}

TEST(Secret, MaskingNeverRevealsMoreThanFourCharacters) {
  EXPECT_EQ(Secret("sk-1234567890abcdef").masked(), "sk-1****");
  EXPECT_EQ(Secret("abcdefgh").masked(), "abcd****");
  EXPECT_EQ(Secret("abcdefg").masked(), "****");  // short: nothing revealed
  EXPECT_EQ(Secret("a").masked(), "****");
  EXPECT_EQ(Secret("").masked(), "");
  for (std::size_t n = 1; n < 64; ++n) {
    std::string s(n, 'x');
    for (std::size_t i = 0; i < n; ++i) s[i] = static_cast<char>('a' + i % 26);
    std::string m = Secret(s).masked();
    ASSERT_EQ(m.substr(m.size() - 4), "****");
    std::string shown = m.substr(0, m.size() - 4);
    EXPECT_LE(shown.size(), 4u);
    EXPECT_LE(shown.size() * 2, n);  // never half or more of the secret
  }
}

TEST_F(ConfigEnv, DescribeConfigContainsNoSecret) {
  // Random-looking secrets, so a 5-character piece of one cannot occur by chance in the output.
  const char* up = "sk-Qz7XwP9vLk2RtY8nB4";
  const char* master = "sk-Jh3KmW8pZr5TqV1x";
  const char* token = "eyJq9ZkW2vX7pL4mR8tN.Yb6Hc3Fd";
  ScopedEnv k("LLM_API_KEY", up);
  ScopedEnv m("PROXY_MASTER_KEY", master);
  ScopedEnv tok("AZ_TOKEN_T", token);
  Config c = load_config_string(kLiteLLMExample);
  Config c2 = load_config_string(R"(model_list:
  - model_name: az
    litellm_params: {model: azure/d, api_base: "https://r.openai.azure.com", api_key: os.environ/LLM_API_KEY,
                     azure_ad_token: os.environ/AZ_TOKEN_T}
general_settings:
  master_key: os.environ/PROXY_MASTER_KEY
)");
  for (const Config* cfg : {&c, &c2}) {
    const std::string out = describe_config(*cfg).dump();
    for (const std::string s : {up, master, token})
      for (std::size_t i = 0; i + 5 <= s.size(); ++i)
        EXPECT_EQ(out.find(s.substr(i, 5)), std::string::npos)
            << "piece '" << s.substr(i, 5) << "' of a secret leaked: " << out;
  }
  auto j = describe_config(c);
  ASSERT_EQ(j["deployments"].size(), 1u);
  EXPECT_EQ(j["deployments"][0]["id"], "custom-llm-0");
  EXPECT_EQ(j["deployments"][0]["model_name"], "custom-llm");
  EXPECT_EQ(j["deployments"][0]["provider"], "openai");
  EXPECT_EQ(j["deployments"][0]["upstream_model"], "gpt-3.5-turbo");
  EXPECT_EQ(j["deployments"][0]["api_base"], "http://10.1.2.3:8000/v1");
  EXPECT_EQ(j["deployments"][0]["api_key"], "sk-Q****");
  EXPECT_EQ(j["deployments"][0]["timeout_seconds"], 600);
  EXPECT_EQ(j["settings"]["master_key"], "sk-J****");
  EXPECT_EQ(j["settings"]["ledger"]["database_path"], "/app/data/litellm.db");
  EXPECT_EQ(j["settings"]["server"]["port"], 4000);
  EXPECT_EQ(describe_config(c2)["deployments"][0]["azure_ad_token"], "eyJq****");
}

// Found by the config robustness test: an unclosed quote made a mis-indented api_key part of
// model_info, which --check-config and /model/info show as written.
TEST(ConfigLoad, CredentialsInModelInfoAreShownMaskedAndWarnedAbout) {
  ScopedEnv t("PLUGIN_TOKEN_MI", "tok-9f8e7d6c5b4a3210");
  Config c = load_config_string(R"(model_list:
  - model_name: gpt-4o
    litellm_params: {model: openai/gpt-4o, api_key: sk-real-upstream-key-123}
    model_info:
      id: dep-1
      input_cost_per_token: 0.0000025
      max_tokens: 4096
      api_key: sk-misplaced-secret-456
      plugin: {auth_token: os.environ/PLUGIN_TOKEN_MI, hosts: [a, b], Client_Secret: [s3cret-one-xyz], password: 73914682055}
)");
  const std::string out = describe_config(c).dump();
  for (const std::string s :
       {"sk-real-upstream-key-123", "sk-misplaced-secret-456", "tok-9f8e7d6c5b4a3210", "s3cret-one-xyz", "73914682055"})
    EXPECT_EQ(out.find(s), std::string::npos) << s << " leaked: " << out;
  const auto& mi = c.deployments.at(0).model_info;
  EXPECT_EQ(mi["api_key"], "sk-m****");
  EXPECT_EQ(mi["plugin"]["auth_token"], "tok-****");
  EXPECT_EQ(mi["plugin"]["Client_Secret"][0], "s3cr****");
  EXPECT_EQ(mi["plugin"]["password"], "7391****");
  EXPECT_EQ(mi["plugin"]["hosts"], nlohmann::json::array({"a", "b"}));
  EXPECT_EQ(mi["input_cost_per_token"], 0.0000025);
  EXPECT_EQ(mi["max_tokens"], 4096);
  const std::string why =
      ": looks like a credential; model_info is shown by /model/info, so its value is masked"
      " there (upstream credentials belong in litellm_params)";
  for (const std::string at :
       {"model_list[0].model_info.api_key", "model_list[0].model_info.plugin.auth_token",
        "model_list[0].model_info.plugin.Client_Secret[0]", "model_list[0].model_info.plugin.password"})
    EXPECT_EQ(count(c.warnings, at + why), 1) << join(c.warnings);
  EXPECT_EQ(c.warnings.size(), 4u) << join(c.warnings);
}

TEST(ConfigLoad, CredentialNamesAreToldFromTokenCountsAndPrices) {
  for (const char* n :
       {"api_key", "API_KEY", "x-api-key", "access_key", "aws_secret_access_key", "key", "openai_apikey", "auth_token",
        "token", "azure_ad_token", "client_secret", "password", "vertex_credentials", "Authorization"})
    EXPECT_TRUE(looks_like_credential_name(n)) << n;
  for (const char* n : {"id", "base_model", "input_cost_per_token", "output_cost_per_reasoning_token", "max_tokens",
                        "max_input_tokens", "max_token", "tokenizer", "key_alias", "mode", "access_groups", "db_model"})
    EXPECT_FALSE(looks_like_credential_name(n)) << n;
}

TEST(ParseUrl, AcceptsHttpAndHttpsOnly) {
  auto u = parse_url("https://api.example.com");
  ASSERT_TRUE(u);
  EXPECT_EQ(u->port, "443");
  EXPECT_EQ(u->base_path, "");
  EXPECT_EQ(u->origin(), "https://api.example.com:443");
  u = parse_url("HTTP://Host:8080/a/b///");
  ASSERT_TRUE(u);
  EXPECT_FALSE(u->tls);
  EXPECT_EQ(u->port, "8080");
  EXPECT_EQ(u->base_path, "/a/b");
  u = parse_url("http://[::1]:9000/v1");
  ASSERT_TRUE(u);
  EXPECT_EQ(u->host, "::1");
  EXPECT_EQ(u->port, "9000");
  for (const char* bad : {"ftp://h", "h:80", "http://", "http://:80", "http://h:0", "http://h:65536", "http://h:x",
                          "http://u:p@h/", "http://h/v1?x=1", "http://h#f", "http://h:", "http://a b", ""})
    EXPECT_FALSE(parse_url(bad)) << bad;
}

TEST(ProviderKindNames, MatchLiteLLMPrefixes) {
  EXPECT_STREQ(to_string(ProviderKind::openai), "openai");
  EXPECT_STREQ(to_string(ProviderKind::hosted_vllm), "hosted_vllm");
  EXPECT_STREQ(to_string(ProviderKind::mock), "mock");
  EXPECT_STREQ(to_string(ProviderKind::azure), "azure");
  EXPECT_STREQ(to_string(ProviderKind::ollama), "ollama");
  EXPECT_STREQ(to_string(ProviderKind::ollama_chat), "ollama_chat");
}

TEST_F(ConfigEnv, DuplicateKeysAreFatal) {
  // yaml-cpp and PyYAML silently keep one of the two: a second section would vanish unnoticed.
  EXPECT_EQ(load_error("general_settings:\n  master_key: a\nlitellm_settings: {}\n"
                       "general_settings:\n  master_key: b\n"),
            "config.yaml:4: general_settings: duplicate key");
  EXPECT_EQ(load_error("model_list:\n  - model_name: a\n    litellm_params: {model: mock/a, model: mock/b}\n"),
            "config.yaml:3: model_list[0].litellm_params.model: duplicate key");
}

// The alias index (built when a snapshot is published) answers as the scan does; a copy starts
// unindexed, so changing the copy's deployments cannot leave it stale.
TEST(ConfigFind, IndexedLookupMatchesTheScanAndCopiesStartUnindexed) {
  Config c = load_config_string(R"(
model_list:
  - model_name: a
    litellm_params: {model: openai/x, api_base: "http://127.0.0.1:1/v1"}
  - model_name: b
    litellm_params: {model: openai/y, api_base: "http://127.0.0.1:2/v1"}
  - model_name: a
    litellm_params: {model: openai/z, api_base: "http://127.0.0.1:3/v1"}
)");
  const auto scanned_a = c.find("a");
  ASSERT_EQ(scanned_a.size(), 2u);
  c.index_deployments();
  EXPECT_EQ(c.find("a"), scanned_a);  // same deployments, config order
  ASSERT_EQ(c.find("b").size(), 1u);
  EXPECT_EQ(c.find("b")[0]->upstream_model, "y");
  EXPECT_TRUE(c.find("c").empty());
  EXPECT_TRUE(c.find("").empty());

  Config copy = c;
  copy.deployments[1].model_name = "c";
  copy.deployments.pop_back();
  ASSERT_EQ(copy.find("c").size(), 1u);
  EXPECT_EQ(copy.find("c")[0], &copy.deployments[1]);
  EXPECT_EQ(copy.find("a").size(), 1u);
  EXPECT_TRUE(copy.find("b").empty());
  copy.index_deployments();
  EXPECT_EQ(copy.find("c").size(), 1u);
  EXPECT_EQ(c.find("a"), scanned_a);  // the original is untouched

  Config moved = std::move(c);  // the deployments' storage moves with the index
  EXPECT_EQ(moved.find("a"), scanned_a);
  c.deployments.clear();  // a moved-from Config reused: unindexed, it scans what it holds now
  c.deployments.push_back(moved.deployments[1]);
  ASSERT_EQ(c.find("b").size(), 1u);
  EXPECT_EQ(c.find("b")[0], &c.deployments[0]);
}
