#pragma once
// Internal to src/handlers/model_admin*.cpp: the runtime-model table and entry validation.
#include <SQLiteCpp/SQLiteCpp.h>

#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "llmgate/config.hpp"
#include "store/db_lock.hpp"

namespace llmgate::model_admin_detail {

// One row: `body` is the LiteLLM model entry {model_name, litellm_params, model_info} exactly as
// accepted (credentials included: the file must be protected like the config file).
struct StoredModel {
  std::string id;
  std::string model_name;
  nlohmann::json body;
  int64_t created_us = 0;
  int64_t updated_us = 0;
};

// A short-lived connection to the models table (opened per call; model changes are rare).
class ModelDb {
 public:
  // Opens (creating the table when missing). Throws std::runtime_error.
  explicit ModelDb(const std::string& path);
  std::vector<StoredModel> all();  // oldest first
  std::optional<StoredModel> get(const std::string& id);
  void insert(const StoredModel& m);
  void update(const StoredModel& m);
  bool remove(const std::string& id);

 private:
  std::shared_ptr<const store::DbFileLock> lock_;  // the ledger's, when it has the file open
  SQLite::Database db_;
};

// Runs one model entry through the config loader (the same rules as config.yaml). Returns the
// deployment, or nullopt with `error` set (the loader's message, or why it was skipped).
// `warnings` receives the loader's non-fatal warnings for the entry.
std::optional<Deployment> validate_entry(const nlohmann::json& entry, std::string& error,
                                         std::vector<std::string>& warnings);

// The upstream address policy for a model added through the API, before any lookup (addresses
// in any spelling, localhost): "" when allowed, else "litellm_params.api_base: why".
std::string refused_api_base(const Deployment& d, const UpstreamAllowlist* allow);

}  // namespace llmgate::model_admin_detail
