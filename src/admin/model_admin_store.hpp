#pragma once
// Internal to src/admin/model_admin*.cpp: the runtime-model repository and entry validation.
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "llmgate/config.hpp"
#include "llmgate/storage.hpp"

namespace llmgate::model_admin_detail {

using llmgate::StoredModel;

// The runtime models of the configured database (a repository opened per use; model changes are
// rare). Throws std::runtime_error when the database cannot be opened or read.
class ModelDb {
 public:
  explicit ModelDb(const LedgerSettings& where) : repo_(open_model_repository(where)) {}
  std::vector<StoredModel> all() { return repo_->all(); }  // oldest first
  std::optional<StoredModel> get(const std::string& id) { return repo_->get(id); }
  void insert(const StoredModel& m) { repo_->insert(m); }
  void update(const StoredModel& m) { repo_->update(m); }
  bool remove(const std::string& id) { return repo_->remove(id); }

 private:
  std::shared_ptr<ModelRepository> repo_;
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
