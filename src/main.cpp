// llmgate: command line, config, logging, signals and staged shutdown. The only file not
// linked into the test binaries.
#include <malloc.h>
#include <unistd.h>

#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <iostream>

#include <boost/asio/signal_set.hpp>
#include <nlohmann/json.hpp>
#include <spdlog/async.h>
#include <spdlog/pattern_formatter.h>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

#include "handlers/builtin.hpp"
#include "llmgate/app.hpp"
#include "llmgate/health.hpp"
#include "llmgate/keys.hpp"
#include "llmgate/model_store.hpp"
#include "llmgate/ui.hpp"
#include "llmgate/version.hpp"
#include "server/reload.hpp"
#include "server/worker.hpp"

using namespace llmgate;

namespace {

void usage(std::FILE* f) {
  std::fprintf(f,
               "usage: llmgate --config FILE [--host H] [--port P] [--workers N] [--check-config]\n"
               "  --config FILE    LiteLLM-compatible config.yaml (default: $LLMGATE_CONFIG)\n"
               "  --host H         listen address (default 0.0.0.0, or llmgate_settings.host)\n"
               "  --port P         listen port (default 4000; 0 = any free port)\n"
               "  --workers N      worker threads (default: the CPUs the process may use)\n"
               "  --check-config   validate, print the effective model table (secrets masked), exit 0 or 2\n"
               "  --version        print the version\n");
}

struct Args {
  std::string config, host;
  int port = -1, workers = -1;
  bool check = false;
};

bool parse_int(const char* s, int& out) {
  char* end = nullptr;
  long v = std::strtol(s, &end, 10);
  if (!s[0] || *end || v < 0 || v > 65535 * 16) return false;
  out = static_cast<int>(v);
  return true;
}

// spdlog flag %*: the message as a JSON string (quoted and escaped).
class JsonEscapedPayload final : public spdlog::custom_flag_formatter {
 public:
  void format(const spdlog::details::log_msg& msg, const std::tm&, spdlog::memory_buf_t& dest) override {
    const std::string s = nlohmann::json(std::string(msg.payload.data(), msg.payload.size()))
                              .dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    dest.append(s.data(), s.data() + s.size());
  }
  std::unique_ptr<custom_flag_formatter> clone() const override { return std::make_unique<JsonEscapedPayload>(); }
};

void setup_logging(bool json) {
  // 512 slots: spdlog allocates (and touches) every slot up front, ~400 bytes each, so 8,192
  // slots were 3.2 MB of idle RSS. Nothing logs through spdlog per request (the one-line
  // request log is buffered per worker, the ledger records requests), and the logging thread
  // drains as lines come, so 512 queued lines means stdout itself is stuck; then the oldest go.
  spdlog::init_thread_pool(512, 1);
  auto sink = std::make_shared<spdlog::sinks::stdout_sink_mt>();
  auto logger = std::make_shared<spdlog::async_logger>("llmgate", sink, spdlog::thread_pool(),
                                                       spdlog::async_overflow_policy::overrun_oldest);
  // UTC timestamps in both formats; in JSON the message is escaped (%*), so every line parses.
  auto formatter = std::make_unique<spdlog::pattern_formatter>(spdlog::pattern_time_type::utc);
  formatter->add_flag<JsonEscapedPayload>('*');
  formatter->set_pattern(json ? R"({"time":"%Y-%m-%dT%H:%M:%S.%eZ","level":"%l","thread":%t,"message":%*})"
                              : "%Y-%m-%dT%H:%M:%S.%e %l [%t] %v");
  logger->set_formatter(std::move(formatter));
  logger->flush_on(spdlog::level::warn);
  spdlog::set_default_logger(logger);
  spdlog::flush_every(std::chrono::seconds(1));
}

void ignore_reload_and_user_signals() {
  std::signal(SIGHUP, SIG_IGN);
  std::signal(SIGUSR1, SIG_IGN);
  std::signal(SIGUSR2, SIG_IGN);
}

}  // namespace

int main(int argc, char** argv) {
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
  Args a;
  for (int i = 1; i < argc; ++i) {
    std::string k = argv[i];
    auto next = [&](const char* what) -> const char* {
      if (i + 1 >= argc) {
        std::fprintf(stderr, "llmgate: %s needs a value\n", what);
        std::exit(2);
      }
      return argv[++i];
    };
    if (k == "--config" || k == "-c") a.config = next("--config");
    else if (k == "--host") a.host = next("--host");
    else if (k == "--port") {
      if (!parse_int(next("--port"), a.port) || a.port > 65535) {
        std::fprintf(stderr, "llmgate: --port must be 0-65535\n");
        return 2;
      }
    } else if (k == "--workers") {
      if (!parse_int(next("--workers"), a.workers) || a.workers > 256) {
        std::fprintf(stderr, "llmgate: --workers must be 0-256\n");
        return 2;
      }
    } else if (k == "--check-config") a.check = true;
    else if (k == "--version") {
      std::printf("llmgate %s\n", kVersion);
      return 0;
    } else if (k == "--help" || k == "-h") {
      usage(stdout);
      return 0;
    } else {
      std::fprintf(stderr, "llmgate: unknown argument '%s'\n", k.c_str());
      usage(stderr);
      return 2;
    }
  }
  if (a.config.empty())
    if (const char* e = std::getenv("LLMGATE_CONFIG")) a.config = e;
  if (a.config.empty()) {
    std::fprintf(stderr, "llmgate: no config file: pass --config FILE or set LLMGATE_CONFIG\n");
    usage(stderr);
    return 2;
  }

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
  std::unique_ptr<LimitStore> limits = make_limit_store(*cfg);  // outlives the key store and workers
  std::unique_ptr<VirtualKeyStore> keys;
  try {
    prices = std::make_unique<PriceTable>(PriceTable::load(cfg->server.price_table));
    ledger = Ledger::open(cfg->ledger);
    KeyStoreOptions ko;
    ko.database_path = cfg->ledger.database_path;
    ko.limits = limits.get();
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
  app.limits = limits.get();
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
