#pragma once
// Plain configuration structs, loaded from a LiteLLM-compatible config.yaml (src/config/).
// No Asio here: config is shared read-only between threads as shared_ptr<const Config>.
#include <array>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include <nlohmann/json.hpp>

namespace llmgate {

struct UpstreamAllowlist;  // llmgate/address_policy.hpp

// A credential. Never printed: use masked() for anything a human or a log sees.
class Secret {
 public:
  Secret() = default;
  explicit Secret(std::string v) : v_(std::move(v)) {}
  bool empty() const { return v_.empty(); }
  const std::string& reveal() const { return v_; }
  // "sk-1****" style: at most the first 4 characters (fewer for short secrets), then ****.
  std::string masked() const;

 private:
  std::string v_;
};

// True for a member name that holds a credential by its name (api_key, *_key, *_token without
// "cost", *secret*, *password*, *credential*, authorization): free-form maps that the gateway
// shows (model_info) keep such values masked.
bool looks_like_credential_name(std::string_view name);
// Masks (Secret::masked) every non-empty string and every number under a credential-like member
// of `j`, at any depth; returns the paths masked, `path` + ".member" (+ "[i]" in arrays).
std::vector<std::string> mask_credential_members(nlohmann::json& j, const std::string& path);

// A parsed http(s) URL. `base_path` has no trailing '/'.
struct Url {
  bool tls = false;
  std::string host;
  std::string port;       // always set ("80"/"443" by default)
  std::string base_path;  // e.g. "/v1" or ""
  std::string origin() const { return (tls ? "https://" : "http://") + host + ":" + port; }
};
// Parses "http(s)://host[:port][/path]". Returns nullopt on anything else.
std::optional<Url> parse_url(const std::string& s);

struct ProviderEntry;  // one provider of the registry (llmgate/provider_registry.hpp)
// Which provider a deployment uses: a handle on its registry entry, resolved when the config is
// loaded (never null), so the request path follows a pointer instead of looking a name up. The
// built-in entries are named ProviderKind::openai, ... (defined in src/providers/*_entry.cpp).
class ProviderKind {
 public:
  static const ProviderEntry openai, hosted_vllm, mock, azure, ollama, ollama_chat;
  ProviderKind(const ProviderEntry& e) : e_(&e) {}  // NOLINT: implicit, as an enum value would be
  const ProviderEntry& operator*() const { return *e_; }
  const ProviderEntry* operator->() const { return e_; }
  friend bool operator==(ProviderKind a, ProviderKind b) { return a.e_ == b.e_; }

 private:
  const ProviderEntry* e_;
};
const char* to_string(ProviderKind p);  // the LiteLLM prefix: "openai", "azure", ...

struct Deployment {
  std::string id;          // model_info.id, or "<model_name>-<index>" when absent
  std::string model_name;  // the alias clients ask for
  ProviderKind provider = ProviderKind::openai;
  std::string provider_prefix;  // as written: "openai", "hosted_vllm", ...
  std::string upstream_model;   // litellm_params.model without the provider prefix
  std::string api_base;         // resolved, as configured (no trailing '/')
  Url url;                      // parsed api_base (unset for mock)
  Secret api_key;
  std::string api_version;      // azure
  Secret azure_ad_token;        // azure
  double timeout_s = 600;       // time to response headers (litellm_params.timeout)
  double stream_timeout_s = 0;  // max gap between stream chunks; 0 = use timeout_s
  bool ssl_verify = true;
  std::string ssl_ca_bundle;  // custom CA file for internal CAs
  int rpm = 0, tpm = 0;       // 0 = unlimited
  // Router inputs (docs/routing.md says which the request path applies yet).
  double weight = 0;              // litellm_params.weight; 0 = unset
  int order = 0;                  // litellm_params.order: tier, 1 first; 0 = unset (last tier)
  int max_parallel_requests = 0;  // litellm_params.max_parallel_requests; 0 = unlimited
  int64_t max_input_tokens = 0;   // model_info.max_input_tokens; 0 = unknown
  // mock provider
  int mock_latency_ms = 0;            // time to first byte
  double mock_tokens_per_second = 0;  // stream pacing; 0 = as fast as possible
  std::string mock_response;          // fixed reply text; empty = deterministic echo
  int mock_stream_chunks = 0;         // 0 = one chunk per word
  // pricing overrides (USD per token)
  std::optional<double> input_cost_per_token;
  std::optional<double> output_cost_per_token;
  std::string base_model;  // model_info.base_model
  nlohmann::json model_info = nlohmann::json::object();
  // Upstream address policy (llmgate/address_policy.hpp): added through the API (stricter), and
  // llmgate_settings.upstream_allowlist (shared by all deployments of a snapshot; null = empty).
  bool from_api = false;
  std::shared_ptr<const UpstreamAllowlist> upstream_allowlist;
};

// LiteLLM's error classes for retry_policy / allowed_fails_policy, in that order.
enum class PolicyClass : std::uint8_t {
  bad_request,
  authentication,
  timeout,
  rate_limit,
  content_policy_violation,
  internal_server
};
inline constexpr std::size_t kPolicyClasses = 6;

// router_settings (and the router keys LiteLLM also reads from litellm_settings, where
// router_settings wins). Parsed in full; docs/routing.md says which keys the request path
// applies yet (the rest are warned as "not supported yet").
struct RouterSettings {
  std::string routing_strategy = "simple-shuffle";  // as configured (Config has the applied one)
  struct StrategyArgs {
    double ttl_s = 3600;               // latency samples older than this are forgotten
    double lowest_latency_buffer = 0;  // within (1 + buffer) x the fastest counts as fastest
    double exploration = 0.05;         // share of picks that try a random deployment
  } strategy_args;
  std::optional<int> num_retries;  // unset: Config::num_retries is 0, retry_policy.hpp uses 2
  std::array<std::optional<int>, kPolicyClasses> retry_policy{};  // *ErrorRetries
  int allowed_fails = 3;  // failures of a class within a minute; one more cools down
  std::array<std::optional<int>, kPolicyClasses> allowed_fails_policy{};  // *ErrorAllowedFails
  double cooldown_time_s = 5;                                             // 0: no cooldowns
  bool disable_cooldowns = false;
  double retry_after_s = 0;  // minimum wait before a retry
  std::map<std::string, std::vector<std::string>> context_window_fallbacks, content_policy_fallbacks;
  std::vector<std::string> default_fallbacks;
  int max_fallbacks = 5;
  bool enable_pre_call_checks = false;
  std::optional<int> default_priority;
  double queue_timeout_s = 30;                         // router_settings.queue_timeout_seconds (llmgate's)
  std::map<std::string, double> priority_reservation;  // priority -> share of capacity
  double request_timeout_s = 600;                      // router_settings.timeout, else litellm_settings.request_timeout
};

struct Limits {
  std::size_t max_request_line = 8 * 1024;        // 414
  std::size_t max_header_bytes = 16 * 1024;       // 431
  std::size_t max_header_fields = 100;            // 431
  std::size_t max_body_bytes = 32 * 1024 * 1024;  // 413
  double header_timeout_s = 10;                   // 408
  double body_idle_timeout_s = 20;                // 408
  double body_timeout_s = 30;                     // 408: the whole body, from the end of the headers
  double keepalive_idle_s = 75;
  std::size_t max_connections_per_worker = 10000;
  std::size_t max_sse_event_bytes = 4 * 1024 * 1024;
};

struct ServerSettings {  // llmgate_settings (our own section) + command line
  std::string host = "0.0.0.0";
  int port = 4000;
  int workers = 0;                     // 0 = the CPUs the process may use (affinity, cgroup cpu.max)
  double drain_seconds = 5;            // keep accepting after SIGTERM while endpoints are removed
  double shutdown_grace_seconds = 30;  // in-flight requests may finish within this
  double stream_keepalive_s = 15;      // ": keep-alive" comment after this much silence
  double connect_timeout_s = 5;
  double pool_idle_s = 2;   // pooled upstream connections dropped after this idle time
  int busy_poll_us = 0;     // > 0: a worker polls instead of sleeping this long after a request starts or ends
  std::string price_table;  // optional path overriding the embedded price table
  std::shared_ptr<const UpstreamAllowlist> upstream_allowlist;  // null = empty
  Limits limits;
};

struct LedgerSettings {
  std::string database_url;   // as configured
  std::string database_path;  // resolved path of the SQLite file
  bool store_bodies =
      true;  // loader: store_prompts_in_spend_logs (default false, as LiteLLM) && !turn_off_message_logging
  std::size_t max_body_log_bytes = 64 * 1024;  // stored bodies are capped; truncation flagged
  double batch_write_at_s = 1;                 // general_settings.proxy_batch_write_at
  std::size_t queue_max_records = 50000;
  std::size_t queue_max_bytes = 256 * 1024 * 1024;
  std::size_t batch_max_records = 2000;
  bool disabled = false;   // general_settings.disable_spend_logs: no per-request records
  double retention_s = 0;  // maximum_spend_logs_retention_period; 0 = keep forever
};

struct HealthSettings {
  bool background_health_checks = true;
  double health_check_interval_s = 300;
};

// Alias -> its deployments, for a Config that no longer changes. Built by
// Config::index_deployments() when App::set_config() publishes a snapshot. A copy starts empty,
// since the copy's deployments may then change; a move takes it along (the deployments' storage
// moves with it) and leaves the source unindexed.
class DeploymentIndex {
 public:
  DeploymentIndex() = default;
  DeploymentIndex(const DeploymentIndex&) {}
  DeploymentIndex& operator=(const DeploymentIndex&) {
    clear();
    return *this;
  }
  DeploymentIndex(DeploymentIndex&& o) noexcept : by_alias_(std::move(o.by_alias_)), built_(o.built_) { o.clear(); }
  DeploymentIndex& operator=(DeploymentIndex&& o) noexcept {
    by_alias_ = std::move(o.by_alias_);
    built_ = o.built_;
    o.clear();
    return *this;
  }
  ~DeploymentIndex() = default;

  void build(const std::vector<Deployment>& deployments);
  void clear() {
    by_alias_.clear();
    built_ = false;
  }
  bool built() const { return built_; }
  // Null when the alias is unknown (only meaningful when built()).
  const std::vector<const Deployment*>* find(std::string_view alias) const;

 private:
  struct Hash {
    using is_transparent = void;
    std::size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };
  std::unordered_map<std::string, std::vector<const Deployment*>, Hash, std::equal_to<>> by_alias_;
  bool built_ = false;
};

struct Config {
  std::string source_path;
  std::vector<Deployment> deployments;
  Secret master_key;
  bool json_logs = false;
  bool require_auth_for_metrics = false;
  std::map<std::string, std::vector<std::string>> fallbacks;  // router_settings.fallbacks
  int num_retries = 0;
  std::string routing_strategy = "simple-shuffle";  // router_settings.routing_strategy (applied)
  RouterSettings router;                            // router_settings as parsed (docs/routing.md)
  ServerSettings server;
  LedgerSettings ledger;
  HealthSettings health;
  std::vector<std::string> warnings;  // one per unsupported key, "path: message"
  bool set_verbose = false;           // litellm_settings.set_verbose: debug-level logging
  bool store_model_in_db = false;     // general_settings.store_model_in_db (runtime /model/new)

  // Deployments for an alias (in config order); empty when unknown. A hash lookup once indexed
  // (published snapshots), a scan of the deployments otherwise.
  std::vector<const Deployment*> find(const std::string& model_name) const;
  // Builds the alias index. Only before the Config is shared between threads (App::set_config
  // calls it before publishing); the deployments must not change afterwards.
  void index_deployments() const { index_.build(deployments); }

 private:
  mutable DeploymentIndex index_;

 public:
  // Distinct aliases in config order.
  std::vector<std::string> model_names() const;
};

// Thrown by the loader for fatal errors. what() names file, line and YAML path.
class ConfigError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Loads and validates a config file. Env placeholders (os.environ/VAR, ${VAR}) are resolved
// with getenv. Throws ConfigError. Pure apart from reading the file and the environment.
Config load_config_file(const std::string& path);
Config load_config_string(const std::string& yaml, const std::string& source_name = "<string>");

// The effective model table with secrets masked (for --check-config and the dashboard).
nlohmann::json describe_config(const Config& cfg);

}  // namespace llmgate
