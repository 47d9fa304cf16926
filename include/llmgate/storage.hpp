#pragma once
// Storage: everything the gateway persists, behind one open_storage(). A backend (SQLite today)
// returns the request ledger (sink and reader), the virtual-key repository and the runtime-model
// repository for one database_url; it owns the schema of all of them. Backends register by URL
// scheme (src/ledger/registry.cpp); SQLite is in src/ledger/sqlite/. No database types here.
//
// Threads: the repositories are blocking and thread-safe (calls are serialised inside); call
// them at startup, from the reader pool or from background threads, never on a worker.
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "llmgate/config.hpp"
#include "llmgate/ledger.hpp"

namespace llmgate {

// One virtual key as stored: its SHA-256 (never the key itself) and its management fields.
struct StoredKey {
  std::string hash;                  // SHA-256 hex of the key
  std::string key_name;              // "sk-...abcd"
  std::string key_alias;             // "" = none; unique when set
  double spend = 0;                  // USD
  std::optional<double> max_budget;  // nullopt = unlimited
  std::vector<std::string> models;   // allowed aliases; empty = all
  std::optional<int64_t> rpm_limit;
  std::optional<int64_t> tpm_limit;
  int64_t expires_us = 0;  // 0 = never
  bool blocked = false;
  nlohmann::json metadata = nlohmann::json::object();
  std::string user_id, team_id;
  int64_t created_us = 0;
  int64_t updated_us = 0;
};

// Every method throws std::runtime_error when the database fails; nothing is half-written then.
class KeyRepository {
 public:
  virtual ~KeyRepository() = default;
  virtual std::vector<StoredKey> load_all() = 0;
  virtual void insert(const StoredKey& k) = 0;
  // Replaces every field of the key `k.hash` (spend included).
  virtual void update(const StoredKey& k) = 0;
  // Deletes the keys in one transaction; unknown hashes are ignored.
  virtual void remove(const std::vector<std::string>& hashes) = 0;
  // Sets the spend of each (hash, USD) in one transaction.
  virtual void write_spend(const std::vector<std::pair<std::string, double>>& spend) = 0;
};

// One runtime model (LiteLLM's store_model_in_db): `body` is the model entry {model_name,
// litellm_params, model_info} exactly as accepted, credentials included.
struct StoredModel {
  std::string id;
  std::string model_name;
  nlohmann::json body;
  int64_t created_us = 0;
  int64_t updated_us = 0;
};

class ModelRepository {
 public:
  virtual ~ModelRepository() = default;
  virtual std::vector<StoredModel> all() = 0;  // oldest first
  virtual std::optional<StoredModel> get(const std::string& id) = 0;
  virtual void insert(const StoredModel& m) = 0;
  virtual void update(const StoredModel& m) = 0;   // model_name, body, updated_us by id
  virtual bool remove(const std::string& id) = 0;  // false when there was no such model
};

// What open_storage() returns. The ledger and the repositories share the backend's database.
struct Storage {
  std::string backend;     // "sqlite"
  int schema_version = 0;  // the database's schema version after migration
  // Record sink (queue + writer thread), stats, and the ledger's read queries.
  std::unique_ptr<Ledger> ledger;
  std::shared_ptr<KeyRepository> keys;
  std::shared_ptr<ModelRepository> models;
};

// Opens the backend named by `s.database_url`'s scheme ("" or a plain path = SQLite), creating
// and migrating its schema, and starts the ledger's writer. Throws std::runtime_error with a
// clear message for a URL no registered backend takes.
std::unique_ptr<Storage> open_storage(const LedgerSettings& s);

// Only one repository of a database, without the ledger's writer (config reloads, tools, tests).
// Creates and migrates the schema like open_storage(), with the same errors.
std::shared_ptr<KeyRepository> open_key_repository(const LedgerSettings& s);
std::shared_ptr<ModelRepository> open_model_repository(const LedgerSettings& s);

// A backend: opens everything for a URL of its scheme.
struct StorageBackend {
  std::string name;                  // "sqlite"
  std::vector<std::string> schemes;  // "sqlite" (the part before "://")
  std::function<std::unique_ptr<Storage>(const LedgerSettings&)> open;
  std::function<std::shared_ptr<KeyRepository>(const LedgerSettings&)> open_keys;
  std::function<std::shared_ptr<ModelRepository>(const LedgerSettings&)> open_models;
};

// The backend for a database_url: "" and plain paths are SQLite. nullptr with `error` set when no
// backend takes the URL's scheme.
const StorageBackend* find_storage_backend(std::string_view database_url, std::string& error);

}  // namespace llmgate
