// The daemon once its command line is read: config, stores, workers, signals, staged shutdown.
#include <unistd.h>

#include <csignal>
#include <cstdio>
#include <cstdlib>

#include <boost/asio/signal_set.hpp>
#include <malloc.h>
#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include "app/gateway.hpp"
#include "app/logging.hpp"
#include "handlers/builtin.hpp"
#include "llmgate/app.hpp"
#include "llmgate/health.hpp"
#include "llmgate/keys.hpp"
#include "llmgate/model_store.hpp"
#include "llmgate/ui.hpp"
#include "llmgate/version.hpp"
#include "server/reload.hpp"
#include "server/worker.hpp"

namespace llmgate {

void ignore_reload_and_user_signals() {
  std::signal(SIGHUP, SIG_IGN);
  std::signal(SIGUSR1, SIG_IGN);
  std::signal(SIGUSR2, SIG_IGN);
}

int run_gateway(const GatewayArgs& a) {
  std::shared_ptr<Config> cfg;
  try {
    cfg = std::make_shared<Config>(load_config_file(a.config));
  } catch (const ConfigError& e) {
    std::fprintf(stderr, "llmgate: config error: %s\n", e.what());
    return 2;
  }
  const ConfigOverrides overrides{a.host, a.port, a.workers};
  apply_overrides(*cfg, overrides);

  if (a.check) {
    for (const auto& w : cfg->warnings) std::fprintf(stderr, "warning: %s\n", w.c_str());
    std::printf("%s\n", describe_config(*cfg).dump(2, ' ', false, nlohmann::json::error_handler_t::replace).c_str());
    std::printf("config OK: %zu deployment(s), %zu model alias(es)\n", cfg->deployments.size(),
                cfg->model_names().size());
    return 0;
  }

  setup_logging(cfg->json_logs);
  if (cfg->set_verbose) spdlog::set_level(spdlog::level::debug);
  for (const auto& w : cfg->warnings) spdlog::warn("config: {}", w);
  spdlog::info("llmgate {} starting with {} ({} deployment(s))", kVersion, a.config, cfg->deployments.size());
  if (cfg->master_key.empty())
    spdlog::warn("NO MASTER KEY CONFIGURED: the gateway accepts requests from anyone. "
                 "Set general_settings.master_key (e.g. os.environ/PROXY_MASTER_KEY).");

  App app;
  app.set_config(cfg);
  std::unique_ptr<PriceTable> prices;
  std::unique_ptr<ConfigReloader> reloader;
  std::unique_ptr<Ledger> ledger;
  std::unique_ptr<VirtualKeyStore> keys;
  try {
    prices = std::make_unique<PriceTable>(PriceTable::load(cfg->server.price_table));
    ledger = Ledger::open(cfg->ledger);
    KeyStoreOptions ko;
    ko.database_path = cfg->ledger.database_path;
    keys = VirtualKeyStore::open(ko);
    // Models added at runtime (/model/new, store_model_in_db) live in the same database.
    auto merged = merge_db_models(*cfg, cfg->ledger.database_path);
    for (std::size_t i = cfg->warnings.size(); i < merged->warnings.size(); ++i)
      spdlog::warn("stored model: {}", merged->warnings[i]);
    app.set_config(merged);
  } catch (const std::exception& e) {
    spdlog::error("startup failed: {}", e.what());
    spdlog::shutdown();
    std::fprintf(stderr, "llmgate: %s\n", e.what());
    return 2;
  }
  Metrics metrics(*app.config());
  reloader = std::make_unique<ConfigReloader>(app, a.config, overrides, std::move(prices));  // publishes the table
  app.reloader = reloader.get();
  app.ledger = ledger.get();
  app.metrics = &metrics;
  app.keys = keys.get();
  auto ui_sessions = make_ui_sessions(*cfg);
  app.ui_sessions = ui_sessions.get();
  HealthMonitor health(app);
  app.health = &health;

  std::vector<Route> routes;
  register_builtin_routes(routes);
  register_ledger_routes(routes);
  register_key_routes(routes);
  register_model_routes(routes);
  register_ui_routes(routes);
  register_reload_routes(routes);

  int exit_code = 0;
  {
    // Signals are caught before the port opens: a SIGTERM sent as soon as the gateway answers
    // (an orchestrator, a test) is queued for the handler below instead of killing the process.
    net::io_context sig_ctx(1);
    net::signal_set signals(sig_ctx, SIGINT, SIGTERM, SIGHUP);
    signals.add(SIGUSR1);
    signals.add(SIGUSR2);
    Runtime rt(app, std::move(routes), cfg->server.workers);
    try {
      rt.listen(cfg->server.host, cfg->server.port);
    } catch (const std::exception& e) {
      spdlog::error("{}", e.what());
      spdlog::shutdown();
      std::fprintf(stderr, "llmgate: %s\n", e.what());
      return 2;
    }
    rt.start();
    health.start();
    spdlog::info("listening on http://{}:{} with {} worker(s)", cfg->server.host, rt.port(), rt.worker_count());
    spdlog::default_logger()->flush();
    // Startup parsed the config, the price table and the stored models; give the freed heap
    // back to the kernel so the idle daemon holds only what it uses.
    malloc_trim(0);

    // Staged shutdown: SIGTERM/SIGINT -> readiness 503 at once, keep accepting for the drain
    // window (endpoints are removed concurrently), then stop accepting, let in-flight requests
    // finish within the grace period, flush the ledger, exit 0. A second signal exits at once.
    net::steady_timer timer(sig_ctx);
    int signals_seen = 0;
    std::chrono::steady_clock::time_point grace_end;
    std::function<void()> wait_in_flight;
    wait_in_flight = [&] {
      if (app.in_flight.load() == 0 || std::chrono::steady_clock::now() >= grace_end) {
        if (app.in_flight.load() != 0)
          spdlog::warn("shutdown grace period over with {} request(s) in flight", app.in_flight.load());
        sig_ctx.stop();
        return;
      }
      timer.expires_after(std::chrono::milliseconds(20));
      timer.async_wait([&](boost::system::error_code ec) {
        if (!ec) wait_in_flight();
      });
    };
    std::function<void()> wait_signal;
    wait_signal = [&] {
      signals.async_wait([&](boost::system::error_code ec, int sig) {
        if (ec) return;
        if (sig == SIGHUP) {
          reloader->reload("SIGHUP");  // logs the outcome; a refused file changes nothing
          wait_signal();
          return;
        }
        if (sig == SIGUSR1 || sig == SIGUSR2) {
          spdlog::info("signal {} ignored (SIGHUP reloads the configuration, SIGTERM or SIGINT stops the gateway)",
                       sig == SIGUSR1 ? "SIGUSR1" : "SIGUSR2");
          wait_signal();
          return;
        }
        if (++signals_seen > 1) {
          spdlog::warn("second signal: exiting now");
          spdlog::default_logger()->flush();
          std::_Exit(1);
        }
        auto c = app.config();
        spdlog::info("signal {}: draining (readiness 503), accepting for {} s more, then finishing in-flight requests",
                     sig, c->server.drain_seconds);
        app.draining = true;
        timer.expires_after(seconds_d(c->server.drain_seconds));
        timer.async_wait([&, c](boost::system::error_code ec2) {
          if (ec2) return;
          rt.stop_accepting();
          grace_end = std::chrono::steady_clock::now() + seconds_d(c->server.shutdown_grace_seconds);
          wait_in_flight();
        });
        wait_signal();
      });
    };
    wait_signal();
    sig_ctx.run();
    spdlog::info("stopping workers");
    rt.stop();
  }
  // The signal set restored the default actions as it went.
  ignore_reload_and_user_signals();
  health.stop();
  if (keys) keys->shutdown();
  if (ledger) {
    ledger->shutdown();
    auto st = ledger->stats();
    spdlog::info("ledger flushed: {} record(s) written, {} dropped", st.written, st.dropped);
  }
  spdlog::info("bye");
  spdlog::shutdown();
  return exit_code;
}

}  // namespace llmgate
