// The composition root: the config, the stores, the process-wide App and its services, the
// routes, the workers and the signals, wired once at startup and taken down in order at exit.
#include <malloc.h>

#include <csignal>
#include <cstdio>
#include <cstdlib>

#include <spdlog/spdlog.h>
#include <nlohmann/json.hpp>

#include "admin/builtin.hpp"
#include "app/gateway.hpp"
#include "app/logging.hpp"
#include "app/signals.hpp"
#include "app/stores.hpp"
#include "llmgate/app.hpp"
#include "llmgate/health.hpp"
#include "llmgate/ui.hpp"
#include "llmgate/version.hpp"
#include "server/reload.hpp"
#include "server/worker.hpp"

namespace llmgate {

namespace {

void ignore_reload_and_user_signals() {
  std::signal(SIGHUP, SIG_IGN);
  std::signal(SIGUSR1, SIG_IGN);
  std::signal(SIGUSR2, SIG_IGN);
}

// The config file with the command line's overrides; null (the error printed) when refused.
std::shared_ptr<Config> load_config(const GatewayArgs& a, const ConfigOverrides& overrides) {
  std::shared_ptr<Config> cfg;
  try {
    cfg = std::make_shared<Config>(load_config_file(a.config));
  } catch (const ConfigError& e) {
    std::fprintf(stderr, "llmgate: config error: %s\n", e.what());
    return nullptr;
  }
  apply_overrides(*cfg, overrides);
  return cfg;
}

// --check-config: the warnings, the effective config (secrets masked) and a summary.
void print_config(const Config& cfg) {
  for (const auto& w : cfg.warnings) std::fprintf(stderr, "warning: %s\n", w.c_str());
  std::printf("%s\n", describe_config(cfg).dump(2, ' ', false, nlohmann::json::error_handler_t::replace).c_str());
  std::printf("config OK: %zu deployment(s), %zu model alias(es)\n", cfg.deployments.size(), cfg.model_names().size());
}

void log_startup(const Config& cfg, const std::string& path) {
  setup_logging(cfg.json_logs);
  if (cfg.set_verbose) spdlog::set_level(spdlog::level::debug);
  for (const auto& w : cfg.warnings) spdlog::warn("config: {}", w);
  spdlog::info("llmgate {} starting with {} ({} deployment(s))", kVersion, path, cfg.deployments.size());
  if (cfg.master_key.empty())
    spdlog::warn(
        "NO MASTER KEY CONFIGURED: the gateway accepts requests from anyone. "
        "Set general_settings.master_key (e.g. os.environ/PROXY_MASTER_KEY).");
}

// A startup error: logged, flushed and printed; the exit code.
int startup_failed(const std::string& what, const char* log_prefix) {
  spdlog::error("{}{}", log_prefix, what);
  spdlog::shutdown();
  std::fprintf(stderr, "llmgate: %s\n", what.c_str());
  return 2;
}

std::vector<Route> all_routes() {
  std::vector<Route> routes;
  register_builtin_routes(routes);
  register_ledger_routes(routes);
  register_key_routes(routes);
  register_model_routes(routes);
  register_ui_routes(routes);
  register_reload_routes(routes);
  return routes;
}

// Opens the port, runs the workers until the staged shutdown is over, stops them. 2 when the
// port cannot be opened, else 0.
int serve(App& app, const Config& cfg, ConfigReloader& reloader, HealthMonitor& health) {
  SignalLoop signals(app, reloader);
  Runtime rt(app, all_routes(), cfg.server.workers);
  try {
    rt.listen(cfg.server.host, cfg.server.port);
  } catch (const std::exception& e) {
    return startup_failed(e.what(), "");
  }
  rt.start();
  health.start();
  spdlog::info("listening on http://{}:{} with {} worker(s)", cfg.server.host, rt.port(), rt.worker_count());
  spdlog::default_logger()->flush();
  // Startup parsed the config, the price table and the stored models; give the freed heap
  // back to the kernel so the idle daemon holds only what it uses.
  malloc_trim(0);
  signals.run(rt);
  spdlog::info("stopping workers");
  rt.stop();
  return 0;
}

}  // namespace

void prepare_process() {
  // Allocations of 256 KiB and more are mapped and unmapped. The ledger queue's vectors grow to
  // a backlog's peak (records pile up while the writer waits for a checkpoint's fsync); with
  // glibc's default threshold, which rises to the size of the largest block freed (up to
  // 32 MiB), they came from the heap after the first backlog and RSS kept every new peak.
  mallopt(M_MMAP_THRESHOLD, 256 * 1024);
  // Signals whose default action would end the gateway over an I/O error it handles anyway.
  // SIGXFSZ: a write past the file-size limit (`ulimit -f`, systemd's LimitFSIZE) killed the
  // process as the ledger's database or WAL reached it; ignored, the write fails with EFBIG and
  // the ledger keeps its queue and retries, as on a full disk. SIGPIPE: a log pipe whose reader
  // went away (sockets already write with MSG_NOSIGNAL); the lines are lost, not the gateway.
  std::signal(SIGXFSZ, SIG_IGN);
  std::signal(SIGPIPE, SIG_IGN);
  // SIGHUP reloads the configuration and SIGUSR1/SIGUSR2 are ignored (logged) once the gateway
  // runs; until then, and while the ledger flushes at exit, they are ignored outright: their
  // default action would end the process and lose the queued ledger records.
  ignore_reload_and_user_signals();
}

int run_gateway(const GatewayArgs& a) {
  const ConfigOverrides overrides{a.host, a.port, a.workers};
  std::shared_ptr<Config> cfg = load_config(a, overrides);
  if (!cfg) return 2;
  if (a.check) {
    print_config(*cfg);
    return 0;
  }
  log_startup(*cfg, a.config);

  App app;
  app.set_config(cfg);
  std::unique_ptr<PriceTable> prices;
  Stores stores;
  try {
    prices = std::make_unique<PriceTable>(PriceTable::load(cfg->server.price_table));
    std::shared_ptr<const Config> merged;
    stores = open_stores(*cfg, merged);
    app.set_config(merged);
  } catch (const std::exception& e) {
    return startup_failed(e.what(), "startup failed: ");
  }
  Metrics metrics(*app.config());
  ConfigReloader reloader(app, a.config, overrides, std::move(prices));  // publishes the table
  app.reloader = &reloader;
  app.ledger = stores.ledger.get();
  app.metrics = &metrics;
  app.keys = stores.keys.get();
  app.limits = stores.limits.get();
  auto ui_sessions = make_ui_sessions(*cfg);
  app.ui_sessions = ui_sessions.get();
  HealthMonitor health(app);
  app.health = &health;

  if (int rc = serve(app, *cfg, reloader, health); rc != 0) return rc;
  // The signal set restored the default actions as it went.
  ignore_reload_and_user_signals();
  health.stop();
  close_stores(stores);
  spdlog::info("bye");
  spdlog::shutdown();
  return 0;
}

}  // namespace llmgate
