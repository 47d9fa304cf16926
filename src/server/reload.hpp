#pragma once
// Reloading the configuration (SIGHUP, POST /config/reload): the file is read and validated
// completely, settings that need a restart keep their running values, runtime models from the
// database are merged as at startup, and the price table and then the config are published for
// new requests. Requests in flight finish on the snapshot they started with. A file that does not
// validate changes nothing. No Asio here.
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "llmgate/app.hpp"
#include "llmgate/config.hpp"
#include "llmgate/pricing.hpp"

namespace llmgate {

// Command-line values that override the file, at startup and on every reload.
struct ConfigOverrides {
  std::string host;  // empty = the file's
  int port = -1;     // < 0 = the file's
  int workers = -1;
};
void apply_overrides(Config& c, const ConfigOverrides& o);

// Copies every setting that takes effect only at startup (listen address, workers, upstream
// pool, the ledger's database and writer, JSON logs, background health checks) from `running`
// into `next`. Returns one line per setting whose value differed, naming it by its YAML path:
// "llmgate_settings.port: 4001 needs a restart; keeping 4000". Pure.
std::vector<std::string> keep_restart_settings(const Config& running, Config& next);

struct ReloadResult {
  bool ok = false;
  int status = 200;                        // HTTP status for POST /config/reload: 400 file refused, 500 database
  std::string error;                       // why nothing changed (the loader's "file:line: yaml.path: message")
  std::vector<std::string> needs_restart;  // from keep_restart_settings
  std::vector<std::string> warnings;       // the loader's and the stored models' warnings
  std::size_t deployments = 0;
  std::size_t models = 0;  // aliases
  bool prices_reloaded = false;
  // {"status":"ok", "config", "deployments", "models", "prices_reloaded", "needs_restart",
  // "warnings"}; failures are answered as an OpenAI-shaped error instead (see reload.cpp).
  nlohmann::json to_json(const std::string& path) const;
};

class ConfigReloader {
 public:
  // `prices` is the table published at startup (from the running config's price_table).
  ConfigReloader(App& app, std::string path, ConfigOverrides overrides, std::unique_ptr<PriceTable> prices);
  ~ConfigReloader();
  ConfigReloader(const ConfigReloader&) = delete;
  ConfigReloader& operator=(const ConfigReloader&) = delete;

  // Reads `path` again and publishes it, or keeps everything as it is when it does not validate.
  // Logs the outcome (`trigger` names the cause: "SIGHUP", "POST /config/reload"). Blocking
  // (file, database, price table): call from the signal thread or the reader pool. Thread-safe:
  // holds config_change_mutex().
  ReloadResult reload(const std::string& trigger);

  const std::string& path() const { return path_; }

 private:
  struct FileStamp {
    std::string path;
    int64_t mtime_ns = -1;
    int64_t size = -1;
    bool operator==(const FileStamp&) const = default;
  };
  static FileStamp stamp(const std::string& path);

  App& app_;
  const std::string path_;
  const ConfigOverrides overrides_;
  // Every table ever published: a worker may still be reading an older one.
  std::vector<std::unique_ptr<PriceTable>> tables_;
  FileStamp table_stamp_;
};

}  // namespace llmgate
