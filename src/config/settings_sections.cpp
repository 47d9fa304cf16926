// general_settings, litellm_settings, router_settings, environment_variables, llmgate_settings.
#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <set>
#include <stdexcept>

#include "config/loader_state.hpp"
#include "llmgate/address_policy.hpp"
#include "llmgate/router.hpp"

namespace llmgate::config_detail {

namespace {

using Keys = std::set<std::string>;

// LiteLLM keys we recognise but do not implement yet: one "not supported yet" warning each.
const Keys kGeneralUnsupported = {
    "alerting",
    "alerting_threshold",
    "alerting_args",
    "alert_types",
    "alert_to_webhook_url",
    "allow_requests_on_db_unavailable",
    "allowed_ips",
    "allowed_routes",
    "admin_only_routes",
    "public_routes",
    "custom_auth",
    "custom_auth_settings",
    "custom_key_generate",
    "custom_sso",
    "database_connection_pool_limit",
    "database_connection_timeout",
    "database_args",
    "disable_master_key_return",
    "disable_reset_budget",
    "disable_retry_on_max_parallel_request_limit_error",
    "disable_adding_master_key_hash_to_db",
    "disable_prisma_schema_update",
    "disable_error_logs",
    "enable_jwt_auth",
    "enable_oauth2_auth",
    "enforce_user_param",
    "enforced_params",
    "forward_openai_org_id",
    "forward_client_headers_to_llm_api",
    "global_max_parallel_requests",
    "max_parallel_requests",
    "health_check_details",
    "infer_model_from_keys",
    "key_management_system",
    "key_management_settings",
    "litellm_jwtauth",
    "litellm_key_header_name",
    "max_request_size_mb",
    "max_response_size_mb",
    "maximum_spend_logs_retention_interval",
    "moderation_model",
    "otel",
    "pass_through_endpoints",
    "proxy_budget_rescheduler_min_time",
    "proxy_budget_rescheduler_max_time",
    "service_account_settings",
    "spend_report_frequency",
    "store_audit_logs",
    "supported_db_objects",
    "ui_access_mode",
    "use_client_credentials_pass_through_routes",
    "use_redis_transaction_buffer",
    "use_shared_health_check",
    "user_header_name",
    "user_api_key_cache_ttl",
    "embedding_model",
    "allowed_origins",
    "disable_spend_updates",
    "mcp_client_side_auth_header_name",
    "allow_client_side_credentials",
    "control_plane_url",
};

const Keys kLitellmUnsupported = {
    "cache",
    "cache_params",
    "success_callback",
    "failure_callback",
    "callbacks",
    "service_callback",
    "callback_settings",
    "drop_params",
    "modify_params",
    "context_window_fallbacks",
    "content_policy_fallbacks",
    "default_fallbacks",
    "allowed_fails",
    "cooldown_time",
    "max_budget",
    "budget_duration",
    "default_team_settings",
    "default_key_generate_params",
    "upperbound_key_generate_params",
    "key_generation_settings",
    "default_internal_user_params",
    "default_max_internal_user_budget",
    "max_internal_user_budget",
    "internal_user_budget_duration",
    "max_end_user_budget",
    "enable_preview_features",
    "redact_user_api_key_info",
    "redact_messages_in_exceptions",
    "langfuse_default_tags",
    "disable_end_user_cost_tracking",
    "disable_end_user_cost_tracking_prometheus_only",
    "force_ipv4",
    "guardrails",
    "telemetry",
    "return_response_headers",
    "enable_json_schema_validation",
    "cache_responses",
    "prometheus_initialize_budget_metrics",
    "public_model_groups",
    "public_model_groups_links",
    "mcp_aliases",
    "add_function_to_prompt",
    "extra_spend_tag_headers",
    "default_redis_batch_cache_expiry",
    "disable_token_counter",
    "max_fallbacks",
    "enable_loadbalancing_on_batch_endpoints",
    "disable_add_transform_inline_image_block",
    "use_litellm_proxy",
    "disable_hf_tokenizer_download",
    "custom_prometheus_metadata_labels",
    "prometheus_metrics_config",
    "logging",
    "store_audit_logs",
    "global_disable_no_log_param",
    "default_in_memory_ttl",
    "default_redis_ttl",
    "check_provider_endpoint",
    "model_group_settings",
    "disable_copilot_system_to_assistant",
    "priority_reservation",
    "retry_policy",
    "num_retries_per_request",
    "token_counter",
    "disable_streaming_logging",
    "log_raw_request_response",
    "cost_tracking",
    "ssl_certificate",
    "turn_off_message_logging_for",
    "default_tags",
};

const Keys kRouterUnsupported = {
    "redis_host",
    "redis_port",
    "redis_password",
    "redis_url",
    "redis_db",
    "allowed_fails",
    "allowed_fails_policy",
    "cooldown_time",
    "disable_cooldowns",
    "retry_after",
    "retry_policy",
    "model_group_retry_policy",
    "context_window_fallbacks",
    "content_policy_fallbacks",
    "default_fallbacks",
    "max_fallbacks",
    "enable_pre_call_checks",
    "optional_pre_call_checks",
    "model_group_alias",
    "routing_strategy_args",
    "provider_budget_config",
    "enable_tag_filtering",
    "tag_filtering_match_any",
    "cache_responses",
    "cache_kwargs",
    "caching_groups",
    "client_ttl",
    "polling_interval",
    "default_litellm_params",
    "default_max_parallel_requests",
    "default_priority",
    "enable_loadbalancing_on_batch_endpoints",
    "set_verbose",
    "debug_level",
    "assistants_config",
    "deployment_affinity",
    "alerting_config",
    "router_general_settings",
    "search_tools",
    "ignore_invalid_deployments",
    "model_group_affinity",
};

double positive(Reader& r, const YAML::Node& v, const std::string& path) {
  double d = r.duration(v, path);
  if (d <= 0) r.fail(v, path, "must be greater than 0");
  return d;
}

// A size (bytes or a count) that must be greater than 0.
std::size_t positive_size(Reader& r, const YAML::Node& v, const std::string& path) {
  std::size_t s = r.size(v, path);
  if (s == 0) r.fail(v, path, "must be greater than 0");
  return s;
}

// A strategy registered in src/router/registry.cpp, else simple-shuffle with a warning.
void routing_strategy(Reader& r, const YAML::Node& v, const std::string& path, Config& c) {
  if (!Reader::present(v)) return;
  std::string s = r.str(v, path);
  const auto names = routing_strategy_names();
  if (std::find(names.begin(), names.end(), s) != names.end()) c.router.routing_strategy = s;
  // Only the strategies the request path applies become the applied one (the others are
  // parsed for src/router/ and warned).
  if (routing_strategy_applied(s)) c.routing_strategy = std::move(s);
  else r.warn(path, "'" + s + "' not supported yet, using simple-shuffle");
}

}  // namespace

// LiteLLM's form: a list of single-key maps, [{"gpt-4": ["gpt-3.5"]}]. A plain map and a
// single string target are accepted too.
void load_fallbacks(Reader& r, const YAML::Node& n, const std::string& path,
                    std::map<std::string, std::vector<std::string>>& out) {
  if (!Reader::present(n)) return;
  auto add = [&](const YAML::Node& key, const YAML::Node& val, const std::string& p) {
    std::string alias = r.str(key, p);
    std::string ep = p + "." + alias;
    std::vector<std::string> targets;
    if (val.IsSequence()) {
      std::size_t j = 0;
      for (auto t = val.begin(); t != val.end(); ++t, ++j)
        targets.push_back(r.str(*t, ep + "[" + std::to_string(j) + "]"));
    } else if (Reader::present(val)) {
      targets.push_back(r.str(val, ep));
    }
    out[alias] = std::move(targets);
  };
  if (n.IsSequence()) {
    std::size_t i = 0;
    for (auto it = n.begin(); it != n.end(); ++it, ++i) {
      std::string p = path + "[" + std::to_string(i) + "]";
      if (!it->IsMap()) r.fail(*it, p, std::string("expected a map {model: [fallbacks]}, got ") + node_kind(*it));
      for (auto kv = it->begin(); kv != it->end(); ++kv) add(kv->first, kv->second, p);
    }
  } else if (n.IsMap()) {
    for (auto kv = n.begin(); kv != n.end(); ++kv) add(kv->first, kv->second, path);
  } else {
    r.fail(n, path, std::string("expected a list like [{\"gpt-4\": [\"gpt-3.5\"]}], got ") + node_kind(n));
  }
}

void load_environment_variables(Reader& r, const YAML::Node& n) {
  const std::string sec = "environment_variables";
  r.expect_map(n, sec);
  if (!n.IsMap()) return;
  for (auto it = n.begin(); it != n.end(); ++it) {
    std::string name = it->first.Scalar();
    std::string path = sec + "." + name;
    bool ok = !name.empty() && !std::isdigit(static_cast<unsigned char>(name[0]));
    for (char c : name)
      if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '_')) ok = false;
    if (!ok) r.fail(it->first, path, "not a valid environment variable name");
    std::string value = Reader::present(it->second) ? r.str(it->second, path) : std::string{};
    ::setenv(name.c_str(), value.c_str(), 1);  // LiteLLM semantics: the file wins
  }
}

void load_general_settings(Reader& r, const YAML::Node& n, LoadState& st) {
  const std::string sec = "general_settings";
  r.expect_map(n, sec);
  Config& c = st.cfg;
  bool have_master = false, have_db = false;
  if (n.IsMap()) {
    for (auto it = n.begin(); it != n.end(); ++it) {
      const std::string key = it->first.Scalar();
      const std::string path = sec + "." + key;
      const YAML::Node v = it->second;
      if (key == "master_key") {
        if (Reader::present(v)) {
          c.master_key = Secret(r.str(v, path));
          have_master = !c.master_key.empty();
        }
      } else if (key == "database_url") {
        if (!Reader::present(v)) continue;
        std::string url = r.str(v, path);
        try {
          c.ledger.database_path = sqlite_path_from_url(url);
        } catch (const std::invalid_argument& e) {
          r.fail(v, path, e.what());
        }
        c.ledger.database_url = url;
        have_db = true;
      } else if (key == "proxy_batch_write_at") {
        if (Reader::present(v)) c.ledger.batch_write_at_s = positive(r, v, path);
      } else if (key == "store_prompts_in_spend_logs") {
        if (Reader::present(v)) st.store_prompts = r.boolean(v, path);
      } else if (key == "maximum_spend_logs_retention_period") {
        if (Reader::present(v)) c.ledger.retention_s = r.duration(v, path);
      } else if (key == "health_check_interval") {
        if (Reader::present(v)) c.health.health_check_interval_s = positive(r, v, path);
      } else if (key == "background_health_checks") {
        if (Reader::present(v)) c.health.background_health_checks = r.boolean(v, path);
      } else if (key == "disable_spend_logs") {
        // No per-request records in the ledger (metrics, keys and the dashboard still work).
        if (Reader::present(v)) c.ledger.disabled = r.boolean(v, path);
      } else if (key == "store_model_in_db") {
        // Runtime models (/model/new) kept in the ledger database (src/admin/model_admin*).
        if (Reader::present(v)) c.store_model_in_db = r.boolean(v, path);
      } else if (kGeneralUnsupported.count(key)) {
        r.not_supported(path);
      } else {
        r.unknown(path);
      }
    }
  }
  if (!have_master) {
    if (const char* mk = std::getenv("LITELLM_MASTER_KEY"); mk && *mk) c.master_key = Secret(mk);
  }
  if (!have_db) {
    if (const char* du = std::getenv("DATABASE_URL"); du && *du) {
      try {
        c.ledger.database_path = sqlite_path_from_url(du);
      } catch (const std::invalid_argument& e) {
        r.fail(YAML::Mark::null_mark(), "DATABASE_URL (environment, no general_settings.database_url)", e.what());
      }
      c.ledger.database_url = du;
    }
  }
}

void load_litellm_settings(Reader& r, const YAML::Node& n, LoadState& st) {
  const std::string sec = "litellm_settings";
  r.expect_map(n, sec);
  if (!n.IsMap()) return;
  Config& c = st.cfg;
  for (auto it = n.begin(); it != n.end(); ++it) {
    const std::string key = it->first.Scalar();
    const std::string path = sec + "." + key;
    const YAML::Node v = it->second;
    if (key == "json_logs") {
      if (Reader::present(v)) c.json_logs = r.boolean(v, path);
    } else if (key == "turn_off_message_logging") {
      if (Reader::present(v)) st.turn_off_message_logging = r.boolean(v, path);
    } else if (key == "request_timeout") {
      if (Reader::present(v)) st.request_timeout = positive(r, v, path);
    } else if (key == "require_auth_for_metrics_endpoint") {
      if (Reader::present(v)) c.require_auth_for_metrics = r.boolean(v, path);
    } else if (key == "num_retries") {
      if (Reader::present(v)) st.litellm_num_retries = static_cast<int>(r.integer(v, path, 0, 100));
    } else if (key == "set_verbose") {
      if (Reader::present(v)) c.set_verbose = r.boolean(v, path);
    } else if (key == "fallbacks") {
      load_fallbacks(r, v, path, st.litellm_fallbacks);
    } else if (key == "ssl_verify") {
      if (!Reader::present(v)) continue;
      std::string s = r.str(v, path);
      std::string l;
      for (char ch : s) l += static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
      if (l == "true" || l == "false") {
        st.ssl_verify = (l == "true");
      } else {
        st.ssl_verify = true;
        st.ssl_ca_bundle = s;
      }
    } else if (key == "routing_strategy") {
      routing_strategy(r, v, path, st.cfg);
    } else if (load_router_key(r, key, path, v, false, st)) {
    } else if (kLitellmUnsupported.count(key)) {
      r.not_supported(path);
    } else {
      r.unknown(path);
    }
  }
}

void load_router_settings(Reader& r, const YAML::Node& n, LoadState& st) {
  const std::string sec = "router_settings";
  r.expect_map(n, sec);
  if (!n.IsMap()) return;
  for (auto it = n.begin(); it != n.end(); ++it) {
    const std::string key = it->first.Scalar();
    const std::string path = sec + "." + key;
    const YAML::Node v = it->second;
    if (key == "num_retries") {
      if (Reader::present(v)) st.router_num_retries = static_cast<int>(r.integer(v, path, 0, 100));
    } else if (key == "timeout") {
      if (Reader::present(v)) st.router_timeout = positive(r, v, path);
    } else if (key == "stream_timeout") {
      if (Reader::present(v)) st.router_stream_timeout = r.duration(v, path);
    } else if (key == "fallbacks") {
      load_fallbacks(r, v, path, st.router_fallbacks);
    } else if (key == "routing_strategy") {
      routing_strategy(r, v, path, st.cfg);
    } else if (load_router_key(r, key, path, v, true, st)) {
    } else if (kRouterUnsupported.count(key)) {
      r.not_supported(path);
    } else {
      r.unknown(path);
    }
  }
}

namespace {

void load_limits(Reader& r, const YAML::Node& n, const std::string& sec, Limits& l) {
  r.expect_map(n, sec);
  if (!n.IsMap()) return;
  for (auto it = n.begin(); it != n.end(); ++it) {
    const std::string key = it->first.Scalar();
    const std::string path = sec + "." + key;
    const YAML::Node v = it->second;
    if (!Reader::present(v)) continue;
    if (key == "max_request_line") l.max_request_line = positive_size(r, v, path);
    else if (key == "max_header_bytes") l.max_header_bytes = positive_size(r, v, path);
    else if (key == "max_header_fields") l.max_header_fields = positive_size(r, v, path);
    else if (key == "max_body_bytes") l.max_body_bytes = positive_size(r, v, path);
    else if (key == "header_timeout_seconds") l.header_timeout_s = positive(r, v, path);
    else if (key == "body_idle_timeout_seconds") l.body_idle_timeout_s = positive(r, v, path);
    else if (key == "body_timeout_seconds") l.body_timeout_s = positive(r, v, path);
    else if (key == "keepalive_idle_seconds") l.keepalive_idle_s = positive(r, v, path);
    else if (key == "max_connections_per_worker") l.max_connections_per_worker = positive_size(r, v, path);
    else if (key == "max_sse_event_bytes") l.max_sse_event_bytes = positive_size(r, v, path);
    else r.unknown(path);
  }
}

void load_ledger(Reader& r, const YAML::Node& n, const std::string& sec, LedgerSettings& l) {
  r.expect_map(n, sec);
  if (!n.IsMap()) return;
  for (auto it = n.begin(); it != n.end(); ++it) {
    const std::string key = it->first.Scalar();
    const std::string path = sec + "." + key;
    const YAML::Node v = it->second;
    if (!Reader::present(v)) continue;
    if (key == "queue_max_records") l.queue_max_records = positive_size(r, v, path);
    else if (key == "queue_max_bytes") l.queue_max_bytes = positive_size(r, v, path);
    else if (key == "batch_max_records") l.batch_max_records = positive_size(r, v, path);
    else if (key == "max_body_log_bytes") l.max_body_log_bytes = r.size(v, path);
    else r.unknown(path);
  }
}

// upstream_allowlist: [CIDR, address or host name, ...] (llmgate/address_policy.hpp).
void load_upstream_allowlist(Reader& r, const YAML::Node& n, const std::string& path, ServerSettings& s) {
  if (!n.IsSequence()) r.fail(n, path, std::string("expected a list of CIDRs or host names, got ") + node_kind(n));
  auto l = std::make_shared<UpstreamAllowlist>();
  std::size_t i = 0;
  for (auto it = n.begin(); it != n.end(); ++it, ++i) {
    const std::string p = path + "[" + std::to_string(i) + "]";
    if (!add_allowlist_entry(*l, r.str(*it, p)))
      r.fail(*it, p, "expected an address range (10.0.0.0/8, fd00::/8), an address or a host name");
  }
  s.upstream_allowlist = std::move(l);
}

}  // namespace

void load_llmgate_settings(Reader& r, const YAML::Node& n, LoadState& st) {
  const std::string sec = "llmgate_settings";
  r.expect_map(n, sec);
  if (!n.IsMap()) return;
  ServerSettings& s = st.cfg.server;
  for (auto it = n.begin(); it != n.end(); ++it) {
    const std::string key = it->first.Scalar();
    const std::string path = sec + "." + key;
    const YAML::Node v = it->second;
    if (key == "limits") {
      load_limits(r, v, path, s.limits);
      continue;
    }
    if (key == "ledger") {
      load_ledger(r, v, path, st.cfg.ledger);
      continue;
    }
    if (!Reader::present(v)) continue;
    if (key == "host") s.host = r.str(v, path);
    else if (key == "port") s.port = static_cast<int>(r.integer(v, path, 0, 65535));
    else if (key == "workers") s.workers = static_cast<int>(r.integer(v, path, 0, 1024));
    else if (key == "drain_seconds") s.drain_seconds = r.duration(v, path);
    else if (key == "shutdown_grace_seconds") s.shutdown_grace_seconds = r.duration(v, path);
    else if (key == "stream_keepalive_seconds") s.stream_keepalive_s = r.duration(v, path);
    else if (key == "connect_timeout_seconds") s.connect_timeout_s = positive(r, v, path);
    else if (key == "pool_idle_seconds") s.pool_idle_s = r.duration(v, path);
    else if (key == "busy_poll_microseconds") s.busy_poll_us = static_cast<int>(r.integer(v, path, 0, 1000000));
    else if (key == "price_table") s.price_table = r.str(v, path);
    else if (key == "upstream_allowlist") load_upstream_allowlist(r, v, path, s);
    else r.unknown(path);
  }
  if (s.host.empty()) r.fail(n, sec + ".host", "must not be empty");
}

}  // namespace llmgate::config_detail
