// Built-in endpoints that need no Beast: models, health, readiness, metrics, effective config.
#include <nlohmann/json.hpp>

#include "admin/builtin.hpp"
#include "llmgate/app.hpp"
#include "llmgate/auth.hpp"
#include "llmgate/clock.hpp"
#include "llmgate/health.hpp"
#include "llmgate/version.hpp"

namespace llmgate {

namespace {
HttpResponse json_response(int status, const nlohmann::json& j) {
  return HttpResponse{status, "application/json", j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace), {}};
}

HttpResponse models(const HttpRequest& req, App& app) {
  auto cfg = app.config();
  nlohmann::json data = nlohmann::json::array();
  const int64_t created = unix_seconds(app.started);
  for (const auto& name : cfg->model_names()) {
    if (!req.allowed_models.empty() &&
        std::find(req.allowed_models.begin(), req.allowed_models.end(), name) == req.allowed_models.end())
      continue;
    data.push_back({{"id", name}, {"object", "model"}, {"created", created}, {"owned_by", "llmgate"}});
  }
  return json_response(200, {{"object", "list"}, {"data", data}});
}

HttpResponse liveliness(const HttpRequest&, App&) { return json_response(200, "I'm alive!"); }

HttpResponse readiness(const HttpRequest&, App& app) {
  const bool draining = app.draining.load();
  nlohmann::json j = {{"status", draining ? "draining" : "healthy"},
                      {"version", kVersion},
                      {"db", app.ledger ? "connected" : "Not connected"},
                      {"in_flight_requests", app.in_flight.load()}};
  return json_response(draining ? 503 : 200, j);
}

// The master key (or an admin dashboard session, or an open gateway): authenticate()'s rule.
// A virtual key or a wrong one is not refused here, just not the master.
bool presents_master(const HttpRequest& req, const Config& cfg, App& app) {
  if (cfg.master_key.empty()) return true;
  const std::string_view key = presented_key(req);
  if (!key.empty()) return constant_time_equals(key, cfg.master_key.reveal());
  Errc ignored = Errc::ok;
  return app.ui_sessions && !req.header("cookie").empty() && app.ui_sessions->authorize(req, ignored);
}

// Probes call /health without a key: they get status and counts from the last known state.
// Addresses, models and upstream errors are for the master key, and only it may start an
// on-demand round of checks (those call the upstreams).
HttpResponse health(const HttpRequest& req, App& app) {
  auto cfg = app.config();
  const bool details = presents_master(req, *cfg, app);
  if (details && app.health && !cfg->health.background_health_checks) app.health->check_now();
  std::vector<DeploymentHealth> snap = app.health ? app.health->snapshot() : std::vector<DeploymentHealth>{};
  nlohmann::json healthy = nlohmann::json::array(), unhealthy = nlohmann::json::array();
  for (const auto& h : snap) {
    nlohmann::json e = {{"model", h.provider + "/" + h.upstream_model},
                        {"model_name", h.model_name},
                        {"model_id", h.id},
                        {"api_base", h.api_base.empty() ? nlohmann::json(nullptr) : nlohmann::json(h.api_base)},
                        {"probed", h.probed}};
    if (h.checked_at) e["last_checked"] = h.checked_at;
    if (h.probed) e["latency_ms"] = h.latency_ms;
    if (h.healthy) {
      healthy.push_back(e);
    } else {
      e["error"] = h.error;
      unhealthy.push_back(e);
    }
  }
  // Deployments added since the last round count as healthy until probed.
  if (snap.size() < cfg->deployments.size()) {
    for (const auto& d : cfg->deployments) {
      bool seen = std::any_of(snap.begin(), snap.end(), [&](const DeploymentHealth& h) { return h.id == d.id; });
      if (!seen)
        healthy.push_back({{"model", std::string(to_string(d.provider)) + "/" + d.upstream_model},
                           {"model_name", d.model_name},
                           {"model_id", d.id},
                           {"probed", false}});
    }
  }
  if (!details) {
    const char* status = unhealthy.empty() ? "healthy" : healthy.empty() ? "unhealthy" : "degraded";
    return json_response(
        200, {{"status", status}, {"healthy_count", healthy.size()}, {"unhealthy_count", unhealthy.size()}});
  }
  nlohmann::json j = {{"healthy_endpoints", healthy},
                      {"unhealthy_endpoints", unhealthy},
                      {"healthy_count", healthy.size()},
                      {"unhealthy_count", unhealthy.size()}};
  return json_response(200, j);
}

HttpResponse metrics(const HttpRequest& req, App& app) {
  auto cfg = app.config();
  if (cfg->require_auth_for_metrics && !cfg->master_key.empty()) {
    std::string_view key = presented_key(req);
    if (key.empty() || !constant_time_equals(key, cfg->master_key.reveal()))
      return error_response(Errc::unauthorized, "The metrics endpoint needs the master key.");
  }
  if (!app.metrics) return HttpResponse{200, "text/plain; version=0.0.4; charset=utf-8", "", {}};
  LedgerStats st;
  if (app.ledger) st = app.ledger->stats();
  return HttpResponse{
      200, "text/plain; version=0.0.4; charset=utf-8", app.metrics->serialize(app.ledger ? &st : nullptr), {}};
}

HttpResponse effective_config(const HttpRequest&, App& app) {
  auto cfg = app.config();
  nlohmann::json j = describe_config(*cfg);
  j["version"] = kVersion;
  j["started_at"] = unix_seconds(app.started);
  j["uptime_seconds"] = unix_seconds(std::chrono::system_clock::now()) - unix_seconds(app.started);
  j["in_flight_requests"] = app.in_flight.load();
  j["draining"] = app.draining.load();
  return json_response(200, j);
}

Route route(std::string method, std::string path, bool blocking, bool master, bool any_key,
            std::function<HttpResponse(const HttpRequest&, App&)> h) {
  Route r;
  r.method = std::move(method);
  r.path = std::move(path);
  r.blocking = blocking;
  r.needs_master_key = master;
  r.needs_key = any_key;
  r.handler = std::move(h);
  return r;
}
}  // namespace

void register_builtin_routes(std::vector<Route>& routes) {
  routes.push_back(route("GET", "/v1/models", false, false, true, models));
  routes.push_back(route("GET", "/models", false, false, true, models));
  routes.push_back(route("GET", "/health/liveliness", false, false, false, liveliness));
  routes.push_back(route("GET", "/health/liveness", false, false, false, liveliness));
  routes.push_back(route("GET", "/health/readiness", false, false, false, readiness));
  routes.push_back(route("GET", "/health", true, false, false, health));
  routes.push_back(route("GET", "/metrics", false, false, false, metrics));
  routes.push_back(route("GET", "/llmgate/api/config", false, true, false, effective_config));
}

}  // namespace llmgate
