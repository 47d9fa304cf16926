#include "server/reload.hpp"

#include <sys/stat.h>

#include <mutex>
#include <type_traits>

#include <spdlog/fmt/fmt.h>
#include <spdlog/spdlog.h>

#include "llmgate/model_store.hpp"

namespace llmgate {

void apply_overrides(Config& c, const ConfigOverrides& o) {
  if (!o.host.empty()) c.server.host = o.host;
  if (o.port >= 0) c.server.port = o.port;
  if (o.workers >= 0) c.server.workers = o.workers;
}

namespace {

template <class T>
std::string shown(const T& v) {
  if constexpr (std::is_same_v<T, bool>) return v ? "true" : "false";
  else if constexpr (std::is_same_v<T, std::string>) return "'" + v + "'";
  else return fmt::format("{}", v);
}

struct Keeper {
  std::vector<std::string>& out;
  // Sets `next` to `running`, noting `name` when they differed. `show`: false for values that
  // may hold credentials (a database URL).
  template <class T>
  void keep(const char* name, const T& running, T& next, bool show = true) {
    if (!(running == next)) {
      out.push_back(show ? fmt::format("{}: {} needs a restart; keeping {}", name, shown(next), shown(running))
                         : fmt::format("{}: the change needs a restart; keeping the running value", name));
    }
    next = running;
  }
};

}  // namespace

std::vector<std::string> keep_restart_settings(const Config& running, Config& next) {
  std::vector<std::string> out;
  Keeper k{out};
  // Bound sockets and worker threads exist once.
  k.keep("llmgate_settings.host", running.server.host, next.server.host);
  k.keep("llmgate_settings.port", running.server.port, next.server.port);
  k.keep("llmgate_settings.workers", running.server.workers, next.server.workers);
  // Each worker's upstream pool and polling are set up when the worker starts.
  k.keep("llmgate_settings.connect_timeout_seconds", running.server.connect_timeout_s, next.server.connect_timeout_s);
  k.keep("llmgate_settings.pool_idle_seconds", running.server.pool_idle_s, next.server.pool_idle_s);
  k.keep("llmgate_settings.busy_poll_microseconds", running.server.busy_poll_us, next.server.busy_poll_us);
  // The ledger (database, writer thread, queue) is opened once with its settings.
  const LedgerSettings& rl = running.ledger;
  LedgerSettings& nl = next.ledger;
  k.keep("general_settings.database_url", rl.database_url, nl.database_url, false);
  k.keep("general_settings.store_prompts_in_spend_logs (with litellm_settings.turn_off_message_logging)",
         rl.store_bodies, nl.store_bodies);
  k.keep("general_settings.disable_spend_logs", rl.disabled, nl.disabled);
  k.keep("general_settings.proxy_batch_write_at", rl.batch_write_at_s, nl.batch_write_at_s);
  k.keep("general_settings.maximum_spend_logs_retention_period", rl.retention_s, nl.retention_s);
  k.keep("llmgate_settings.ledger.queue_max_records", rl.queue_max_records, nl.queue_max_records);
  k.keep("llmgate_settings.ledger.queue_max_bytes", rl.queue_max_bytes, nl.queue_max_bytes);
  k.keep("llmgate_settings.ledger.batch_max_records", rl.batch_max_records, nl.batch_max_records);
  k.keep("llmgate_settings.ledger.max_body_log_bytes", rl.max_body_log_bytes, nl.max_body_log_bytes);
  next.ledger = running.ledger;  // every other ledger setting too (the resolved path, ...)
  // The log format is chosen when logging starts; the health monitor's loop starts once.
  k.keep("litellm_settings.json_logs", running.json_logs, next.json_logs);
  k.keep("general_settings.background_health_checks", running.health.background_health_checks,
         next.health.background_health_checks);
  return out;
}

nlohmann::json ReloadResult::to_json(const std::string& path) const {
  return nlohmann::json{{"status", "ok"},
                        {"config", path},
                        {"deployments", deployments},
                        {"models", models},
                        {"prices_reloaded", prices_reloaded},
                        {"needs_restart", needs_restart},
                        {"warnings", warnings}};
}

ConfigReloader::ConfigReloader(App& app, std::string path, ConfigOverrides overrides,
                               std::unique_ptr<PriceTable> prices)
    : app_(app), path_(std::move(path)), overrides_(std::move(overrides)) {
  if (auto c = app_.config()) table_stamp_ = stamp(c->server.price_table);
  if (prices) {
    app_.prices.store(prices.get(), std::memory_order_release);
    tables_.push_back(std::move(prices));
  }
}

ConfigReloader::~ConfigReloader() = default;

ConfigReloader::FileStamp ConfigReloader::stamp(const std::string& path) {
  FileStamp s;
  s.path = path;
  struct stat st {};
  if (!path.empty() && ::stat(path.c_str(), &st) == 0) {
    s.mtime_ns = static_cast<int64_t>(st.st_mtim.tv_sec) * 1000000000 + st.st_mtim.tv_nsec;
    s.size = static_cast<int64_t>(st.st_size);
  }
  return s;
}

ReloadResult ConfigReloader::reload(const std::string& trigger) {
  ReloadResult res;
  auto refuse = [&](int status, std::string why) {
    res.ok = false;
    res.status = status;
    res.error = std::move(why);
    spdlog::error("config reload ({}) refused, the running configuration is kept: {}", trigger, res.error);
    return res;
  };
  std::lock_guard lk(config_change_mutex());
  try {
    const std::shared_ptr<const Config> running = app_.config();
    Config next;
    try {
      next = load_config_file(path_);
    } catch (const ConfigError& e) {
      return refuse(400, e.what());
    }
    apply_overrides(next, overrides_);
    if (running) res.needs_restart = keep_restart_settings(*running, next);

    // Everything that can fail comes before anything is published.
    std::unique_ptr<PriceTable> table;
    const FileStamp st = stamp(next.server.price_table);
    if (!(st == table_stamp_)) {
      try {
        table = std::make_unique<PriceTable>(PriceTable::load(next.server.price_table));
      } catch (const std::exception& e) {
        return refuse(400, std::string("llmgate_settings.price_table: ") + e.what());
      }
    }
    std::shared_ptr<const Config> merged;
    try {
      // Runtime models (store_model_in_db) are merged as at startup.
      merged = merge_db_models(next, next.ledger);
    } catch (const std::exception& e) {
      return refuse(500, e.what());
    }

    // The table before the config: a worker that sees the new config sees its prices.
    if (table) {
      app_.prices.store(table.get(), std::memory_order_release);
      tables_.push_back(std::move(table));
      table_stamp_ = st;
      res.prices_reloaded = true;
    }
    app_.set_config(merged);
    spdlog::set_level(merged->set_verbose ? spdlog::level::debug : spdlog::level::info);

    res.ok = true;
    res.deployments = merged->deployments.size();
    res.models = merged->model_names().size();
    res.warnings = merged->warnings;
  } catch (const std::exception& e) {
    return refuse(500, e.what());
  }
  for (const auto& w : res.warnings) spdlog::warn("config: {}", w);
  for (const auto& n : res.needs_restart) spdlog::warn("config reload: {}", n);
  spdlog::info("config reloaded ({}) from {}: {} deployment(s), {} model alias(es){}", trigger, path_, res.deployments,
               res.models, res.prices_reloaded ? ", price table reloaded" : "");
  return res;
}

namespace {

HttpResponse reload_handler(const HttpRequest&, App& app) {
  if (!app.reloader) return error_response(Errc::service_unavailable, "configuration reload is not available");
  const ReloadResult r = app.reloader->reload("POST /config/reload");
  HttpResponse out;
  if (r.ok) {
    out.body = r.to_json(app.reloader->path()).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    return out;
  }
  const Errc e = r.status == 400 ? Errc::bad_request : Errc::internal;
  out.status = map_error(e).status;
  out.body = error_json(e, "configuration not reloaded, the running configuration is kept: " + r.error, {},
                        "config_reload_failed");
  return out;
}

}  // namespace

void register_reload_routes(std::vector<Route>& routes) {
  Route r;
  r.method = "POST";
  r.path = "/config/reload";
  r.blocking = true;  // reads the file, the database and perhaps the price table
  r.needs_master_key = true;
  r.handler = reload_handler;
  routes.push_back(std::move(r));
}

}  // namespace llmgate
