#pragma once
// Process-wide services shared by all workers. Owned by main(); outlives every worker.
#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "llmgate/auth.hpp"
#include "llmgate/config.hpp"
#include "llmgate/http_types.hpp"
#include "llmgate/ledger.hpp"
#include "llmgate/metrics.hpp"
#include "llmgate/pricing.hpp"

namespace llmgate {

class HealthMonitor;
class ConfigReloader;

// Serialises changes to the published config: a reload (src/server/reload.cpp) and runtime
// model changes (src/admin/model_admin.cpp) each read the current snapshot, build the next one
// and publish it, so one must not publish in the middle of the other.
std::mutex& config_change_mutex();

struct App {
  // The current config snapshot. Workers load it once per request (atomic, no lock held).
  std::shared_ptr<const Config> config() const { return std::atomic_load(&config_); }
  // Bumped after every set_config(); workers compare it (one relaxed load) and reload their
  // cached snapshot only when it changed, so the request path takes no lock.
  uint64_t config_version() const { return config_version_.load(std::memory_order_acquire); }
  void set_config(std::shared_ptr<const Config> c) {
    c->index_deployments();  // before any other thread can see it
    if (metrics) metrics->reconfigure(*c);
    std::atomic_store(&config_, std::move(c));
    config_version_.fetch_add(1, std::memory_order_acq_rel);
  }

  Ledger* ledger = nullptr;  // may be null (ledger disabled in some unit tests)
  Metrics* metrics = nullptr;
  // The price table. A reload with a changed table publishes the new one before the config that
  // goes with it; a table once published is kept until exit (a worker may be reading it).
  std::atomic<const PriceTable*> prices{nullptr};
  HealthMonitor* health = nullptr;
  KeyStore* keys = nullptr;            // virtual keys; null = master key only
  LimitStore* limits = nullptr;        // rate, token, parallel and budget limits; null = none checked
  ConfigReloader* reloader = nullptr;  // POST /config/reload; null = not available
  UiSessions* ui_sessions = nullptr;   // dashboard sessions; null = no dashboard login
  std::atomic<bool> draining{false};
  std::chrono::system_clock::time_point started = std::chrono::system_clock::now();
  std::atomic<uint64_t> in_flight{0};

 private:
  std::shared_ptr<const Config> config_;
  std::atomic<uint64_t> config_version_{1};
};

// A Beast-free endpoint (admin API, spend API, dashboard, metrics). `blocking` handlers
// (database queries) run on a small reader thread pool; others run on the worker thread.
struct Route {
  std::string method;  // "GET", "POST", "DELETE", "*"
  std::string path;    // exact path, or a prefix when it ends with '*'
  bool blocking = false;
  bool needs_master_key = true;  // checked by the server before the handler runs
  bool needs_key = false;        // any valid key (master or virtual) when !needs_master_key
  std::function<HttpResponse(const HttpRequest&, App&)> handler;
};

// Whether `path` is the route's: equal, or starting with the prefix of a path ending in '*'. The
// server's dispatch and the fuzz targets match with it.
inline bool route_matches(const Route& r, std::string_view path) {
  if (!r.path.empty() && r.path.back() == '*')
    return path.starts_with(std::string_view(r.path).substr(0, r.path.size() - 1));
  return path == r.path;
}

// Each module appends its routes here (called once at startup, src/app/gateway.cpp).
void register_ledger_routes(std::vector<Route>& routes);  // src/admin/ledger_routes.cpp
void register_ui_routes(std::vector<Route>& routes);      // src/admin/ui.cpp (dashboard)
void register_key_routes(std::vector<Route>& routes);     // src/admin/key_routes.cpp (/key/*)
void register_model_routes(std::vector<Route>& routes);   // src/admin/model_admin* (/model/*)
void register_reload_routes(std::vector<Route>& routes);  // src/server/reload.cpp (POST /config/reload)

}  // namespace llmgate
