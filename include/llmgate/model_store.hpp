#pragma once
// Runtime models (LiteLLM's store_model_in_db): deployments added through /model/new are kept as
// JSON rows in the database's model repository (llmgate/storage.hpp) and merged into the config
// snapshot. Implemented in
// src/admin/model_admin*.cpp. No Asio here.
#include <memory>
#include <string>

#include "llmgate/config.hpp"

namespace llmgate {

// Returns `file_config` plus every model stored in the database `db` names (its database_url,
// or database_path as the config loader resolved it; appended after the file's deployments,
// oldest first; their model_info carries "db_model": true). Deployments of `file_config` already
// marked db_model are dropped first, so passing the current snapshot rebuilds it. A stored row
// that no longer validates (e.g. an environment variable it names is gone) is skipped with a
// line in Config::warnings; it does not stop startup. No database (both empty) returns a copy of
// `file_config`. Creates and migrates the schema when needed. Throws std::runtime_error when the
// database cannot be opened. Blocking (database I/O): call at startup or on the reader pool.
std::shared_ptr<const Config> merge_db_models(const Config& file_config, const LedgerSettings& db);
// The same for the SQLite file `db_path` ("" = no database).
std::shared_ptr<const Config> merge_db_models(const Config& file_config, const std::string& db_path);

}  // namespace llmgate
