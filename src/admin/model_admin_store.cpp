// Runtime models: the repository of LiteLLM model entries, their validation through the config
// loader, and merge_db_models (file config + stored models -> one snapshot).
#include <spdlog/spdlog.h>

#include <chrono>

#include "admin/model_admin_store.hpp"
#include "llmgate/address_policy.hpp"
#include "llmgate/json_limits.hpp"
#include "llmgate/model_store.hpp"
#include "llmgate/provider_registry.hpp"

namespace llmgate {

namespace model_admin_detail {

using json = nlohmann::json;

namespace {

// "request:1: model_list[0].litellm_params.api_base: msg" -> "litellm_params.api_base: msg"
std::string tidy(std::string msg) {
  static const std::string kSource = "request:";
  if (msg.rfind(kSource, 0) == 0) {
    std::size_t i = kSource.size();
    while (i < msg.size() && std::isdigit(static_cast<unsigned char>(msg[i]))) ++i;
    if (i + 1 < msg.size() && msg[i] == ':' && msg[i + 1] == ' ') msg.erase(0, i + 2);
    else if (i < msg.size() && msg[i] == ' ') msg.erase(0, i + 1);
  }
  for (std::size_t pos; (pos = msg.find("model_list[0].")) != std::string::npos;) msg.erase(pos, 14);
  for (std::size_t pos; (pos = msg.find("model_list[0]")) != std::string::npos;) msg.replace(pos, 13, "model");
  return msg;
}

}  // namespace

std::string refused_api_base(const Deployment& d, const UpstreamAllowlist* allow) {
  if (d.provider->in_process) return {};
  const auto c = refused_upstream_host(d.url.host, true, allow);
  if (!c) return {};
  const auto addr = parse_ip_literal(d.url.host);
  return "litellm_params.api_base: " + address_refusal_message(d.url.host, addr ? &*addr : nullptr, *c, true);
}

std::optional<Deployment> validate_entry(const json& entry, std::string& error, std::vector<std::string>& warnings) {
  // JSON is YAML: the loader sees exactly what a config.yaml with this one entry would hold.
  const std::string doc = json{{"model_list", json::array({entry})}}.dump(-1, ' ', false,
                                                                          json::error_handler_t::replace);
  Config cfg;
  try {
    cfg = load_config_string(doc, "request");
  } catch (const ConfigError& e) {
    error = tidy(e.what());
    return std::nullopt;
  } catch (const std::exception& e) {
    error = tidy(e.what());
    return std::nullopt;
  }
  for (auto& w : cfg.warnings) warnings.push_back(tidy(w));
  if (cfg.deployments.size() != 1) {
    error = "the model was not accepted";
    for (const auto& w : warnings)
      if (w.find("skipped") != std::string::npos) error = w;
    return std::nullopt;
  }
  return std::move(cfg.deployments.front());
}

}  // namespace model_admin_detail

std::shared_ptr<const Config> merge_db_models(const Config& file_config, const std::string& db_path) {
  LedgerSettings where;
  where.database_path = db_path;
  return merge_db_models(file_config, where);
}

std::shared_ptr<const Config> merge_db_models(const Config& file_config, const LedgerSettings& db) {
  using namespace model_admin_detail;
  auto cfg = std::make_shared<Config>(file_config);
  std::erase_if(cfg->deployments, [](const Deployment& d) {
    auto it = d.model_info.find("db_model");
    return it != d.model_info.end() && it->is_boolean() && it->get<bool>();
  });
  if (db.database_path.empty() && db.database_url.empty()) return cfg;
  ModelDb models(db);
  std::vector<StoredModel> rows;
  try {
    rows = models.all();
  } catch (const std::exception& e) {
    throw std::runtime_error(std::string("runtime models: cannot read the database: ") + e.what());
  }
  if (!file_config.store_model_in_db) {
    // As in LiteLLM, stored models are used only with store_model_in_db; never silently.
    if (!rows.empty())
      cfg->warnings.push_back(std::to_string(rows.size()) +
                              " runtime model(s) stored in the database are not loaded: "
                              "general_settings.store_model_in_db is false");
    return cfg;
  }
  for (const auto& row : rows) {
    const std::string where = "database model '" + row.id + "' (" + row.model_name + ")";
    if (!row.body.is_object()) {
      cfg->warnings.push_back(where + ": stored entry is not valid JSON, skipped");
      continue;
    }
    std::string error;
    std::vector<std::string> warnings;
    auto d = validate_entry(row.body, error, warnings);
    if (!d) {
      cfg->warnings.push_back(where + ": " + error + "; skipped");
      spdlog::warn("{}: {}; skipped", where, error);
      continue;
    }
    bool dup = false;
    for (const auto& other : cfg->deployments) dup = dup || other.id == d->id;
    if (dup) {
      cfg->warnings.push_back(where + ": id already used by a config-file deployment; skipped");
      continue;
    }
    d->model_info["db_model"] = true;
    d->from_api = true;
    d->upstream_allowlist = file_config.server.upstream_allowlist;
    // Kept (the allowlist may change), but every connection to it is refused until then.
    if (std::string why = refused_api_base(*d, d->upstream_allowlist.get()); !why.empty())
      cfg->warnings.push_back(where + ": " + why);
    cfg->deployments.push_back(std::move(*d));
  }
  return cfg;
}

}  // namespace llmgate
