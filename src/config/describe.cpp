// describe_config: the effective configuration as JSON, secrets masked.
#include "llmgate/config.hpp"
#include "llmgate/provider_registry.hpp"

namespace llmgate {

namespace {

nlohmann::json masked_or_null(const Secret& s) {
  return s.empty() ? nlohmann::json(nullptr) : nlohmann::json(s.masked());
}

template <class T>
nlohmann::json opt(const std::optional<T>& v) {
  return v ? nlohmann::json(*v) : nlohmann::json(nullptr);
}

nlohmann::json describe_deployment(const Deployment& d) {
  nlohmann::json j = {
      {"id", d.id},
      {"model_name", d.model_name},
      {"provider", to_string(d.provider)},
      {"upstream_model", d.upstream_model},
      {"api_base", d.provider->in_process ? nlohmann::json(nullptr) : nlohmann::json(d.api_base)},
      {"api_key", masked_or_null(d.api_key)},
      {"timeout_seconds", d.timeout_s},
      {"stream_timeout_seconds", d.stream_timeout_s},
      {"ssl_verify", d.ssl_verify},
      {"rpm", d.rpm},
      {"tpm", d.tpm},
      {"input_cost_per_token", opt(d.input_cost_per_token)},
      {"output_cost_per_token", opt(d.output_cost_per_token)},
      {"base_model", d.base_model.empty() ? nlohmann::json(nullptr) : nlohmann::json(d.base_model)},
      {"model_info", d.model_info},
  };
  if (!d.ssl_ca_bundle.empty()) j["ssl_ca_bundle"] = d.ssl_ca_bundle;
  if (d.provider->describe_effective) d.provider->describe_effective(d, j);
  return j;
}

}  // namespace

nlohmann::json describe_config(const Config& c) {
  nlohmann::json deps = nlohmann::json::array();
  for (const auto& d : c.deployments) deps.push_back(describe_deployment(d));
  const auto& s = c.server;
  const auto& l = s.limits;
  nlohmann::json fallbacks = nlohmann::json::object();
  for (const auto& [k, v] : c.fallbacks) fallbacks[k] = v;
  return {
      {"source", c.source_path},
      {"deployments", std::move(deps)},
      {"settings",
       {
           {"master_key", masked_or_null(c.master_key)},
           {"auth", c.master_key.empty() ? "open (no master_key)" : "master_key required"},
           {"json_logs", c.json_logs},
           {"set_verbose", c.set_verbose},
           {"store_model_in_db", c.store_model_in_db},
           {"require_auth_for_metrics_endpoint", c.require_auth_for_metrics},
           {"num_retries", c.num_retries},
           {"fallbacks", std::move(fallbacks)},
           {"server",
            {{"host", s.host},
             {"port", s.port},
             {"workers", s.workers},
             {"drain_seconds", s.drain_seconds},
             {"shutdown_grace_seconds", s.shutdown_grace_seconds},
             {"stream_keepalive_seconds", s.stream_keepalive_s},
             {"connect_timeout_seconds", s.connect_timeout_s},
             {"pool_idle_seconds", s.pool_idle_s},
             {"busy_poll_microseconds", s.busy_poll_us},
             {"price_table", s.price_table},
             {"limits",
              {{"max_request_line", l.max_request_line},
               {"max_header_bytes", l.max_header_bytes},
               {"max_header_fields", l.max_header_fields},
               {"max_body_bytes", l.max_body_bytes},
               {"header_timeout_seconds", l.header_timeout_s},
               {"body_idle_timeout_seconds", l.body_idle_timeout_s},
               {"body_timeout_seconds", l.body_timeout_s},
               {"keepalive_idle_seconds", l.keepalive_idle_s},
               {"max_connections_per_worker", l.max_connections_per_worker},
               {"max_sse_event_bytes", l.max_sse_event_bytes}}}}},
           {"ledger",
            {{"database_path", c.ledger.database_path},
             {"store_bodies", c.ledger.store_bodies},
             {"max_body_log_bytes", c.ledger.max_body_log_bytes},
             {"batch_write_at_seconds", c.ledger.batch_write_at_s},
             {"queue_max_records", c.ledger.queue_max_records},
             {"queue_max_bytes", c.ledger.queue_max_bytes},
             {"batch_max_records", c.ledger.batch_max_records},
             {"retention_seconds", c.ledger.retention_s}}},
           {"health",
            {{"background_health_checks", c.health.background_health_checks},
             {"health_check_interval_seconds", c.health.health_check_interval_s}}},
       }},
      {"warnings", c.warnings},
  };
}

}  // namespace llmgate
