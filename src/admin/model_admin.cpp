// LiteLLM-compatible model management: GET /model/info, /v2/model/info, POST /model/new,
// /model/update, /model/delete. Master key only. Runtime models are validated by the config
// loader, stored in the database (model_admin_store.cpp) and published as a new config snapshot.
#include <openssl/rand.h>

#include <mutex>

#include "admin/model_admin_store.hpp"
#include "llmgate/app.hpp"
#include "llmgate/clock.hpp"
#include "llmgate/json_limits.hpp"
#include "llmgate/model_store.hpp"
#include "llmgate/provider_registry.hpp"

namespace llmgate {

namespace {

using json = nlohmann::json;
using namespace model_admin_detail;

constexpr const char* kMasked = "****";
constexpr const char* kCredentialParams[] = {"api_key", "azure_ad_token"};

// Serialises model changes (read-modify-write of the table and the snapshot rebuild) with each
// other and with configuration reloads.
std::mutex& change_mutex() { return config_change_mutex(); }

HttpResponse json_response(const json& j) {
  HttpResponse r;
  r.body = j.dump(-1, ' ', false, json::error_handler_t::replace);
  return r;
}

bool is_db_model(const Deployment& d) {
  auto it = d.model_info.find("db_model");
  return it != d.model_info.end() && it->is_boolean() && it->get<bool>();
}

// LiteLLM's /model/info shape. Credentials are never returned: "****" says one is set.
json describe(const Deployment& d) {
  json p = {{"model", d.provider_prefix + "/" + d.upstream_model}};
  if (!d.provider->in_process) p["api_base"] = d.api_base;
  if (!d.api_key.empty()) p["api_key"] = kMasked;
  p["timeout"] = d.timeout_s;
  if (d.stream_timeout_s > 0) p["stream_timeout"] = d.stream_timeout_s;
  if (d.rpm > 0) p["rpm"] = d.rpm;
  if (d.tpm > 0) p["tpm"] = d.tpm;
  if (!d.ssl_verify) p["ssl_verify"] = false;
  if (!d.ssl_ca_bundle.empty()) p["ssl_verify"] = d.ssl_ca_bundle;
  if (d.input_cost_per_token) p["input_cost_per_token"] = *d.input_cost_per_token;
  if (d.output_cost_per_token) p["output_cost_per_token"] = *d.output_cost_per_token;
  if (d.provider->describe_params) d.provider->describe_params(d, p);
  json info = d.model_info.is_object() ? d.model_info : json::object();
  info["id"] = d.id;
  info["db_model"] = is_db_model(d);
  if (!d.base_model.empty()) info["base_model"] = d.base_model;
  return json{{"model_name", d.model_name}, {"litellm_params", std::move(p)}, {"model_info", std::move(info)}};
}

std::string new_id() {
  unsigned char b[16];
  if (RAND_bytes(b, sizeof b) != 1) return {};
  b[6] = (b[6] & 0x0f) | 0x40;  // UUID version 4
  b[8] = (b[8] & 0x3f) | 0x80;
  static constexpr char kHex[] = "0123456789abcdef";
  std::string s;
  for (int i = 0; i < 16; ++i) {
    if (i == 4 || i == 6 || i == 8 || i == 10) s.push_back('-');
    s.push_back(kHex[b[i] >> 4]);
    s.push_back(kHex[b[i] & 15]);
  }
  return s;
}

bool is_credential(const std::string& key) {
  for (const char* c : kCredentialParams)
    if (key == c) return true;
  return false;
}

// Environment references would let an API caller read the gateway's environment (through an
// error message or a mock reply): only credentials may name a variable (os.environ/AZURE_KEY).
bool has_env_reference(const json& j) {
  if (j.is_string()) {
    const auto& s = j.get_ref<const std::string&>();
    return s.rfind("os.environ/", 0) == 0 || s.find("${") != std::string::npos;
  }
  if (j.is_array())
    for (const auto& v : j)
      if (has_env_reference(v)) return true;
  if (j.is_object())
    for (auto it = j.begin(); it != j.end(); ++it)
      if (has_env_reference(it.value()) || it.key().find("${") != std::string::npos) return true;
  return false;
}

std::string check_env_references(const json& entry) {
  for (auto it = entry.begin(); it != entry.end(); ++it) {
    if (it.key() == "litellm_params" && it->is_object()) {
      for (auto p = it->begin(); p != it->end(); ++p)
        if (!is_credential(p.key()) && has_env_reference(p.value()))
          return "litellm_params." + p.key() +
                 ": environment references (os.environ/, ${...}) are only accepted in api_key and "
                 "azure_ad_token through the API";
    } else if (has_env_reference(it.value())) {
      return it.key() +
             ": environment references (os.environ/, ${...}) are only accepted in "
             "api_key and azure_ad_token through the API";
    }
  }
  return {};
}

bool parse_object(const HttpRequest& req, json& out, HttpResponse& err) {
  bool too_deep = false;
  out = parse_json_bounded(req.body, &too_deep);
  if (out.is_discarded() || !out.is_object()) {
    err = error_response(Errc::invalid_json, too_deep ? kJsonTooDeepMessage : "request body must be a JSON object");
    return false;
  }
  return true;
}

std::string model_info_id(const json& body) {
  if (auto mi = body.find("model_info"); mi != body.end() && mi->is_object())
    if (auto id = mi->find("id"); id != mi->end() && id->is_string()) return id->get<std::string>();
  if (auto id = body.find("id"); id != body.end() && id->is_string()) return id->get<std::string>();
  return {};
}

const Deployment* find_deployment(const Config& c, const std::string& id) {
  for (const auto& d : c.deployments)
    if (d.id == id) return &d;
  return nullptr;
}

HttpResponse config_file_model(const Config& c, const std::string& id, const char* verb) {
  return error_response(Errc::bad_request, "model '" + id + "' is defined in the config file" +
                                               (c.source_path.empty() ? std::string() : " (" + c.source_path + ")") +
                                               " and cannot be " + verb + " through the API; edit the config file");
}

// /model/new, /update and /delete need general_settings.store_model_in_db (as in LiteLLM).
bool runtime_models_disabled(const Config& c, HttpResponse& err) {
  if (c.store_model_in_db) return false;
  err = error_response(Errc::bad_request,
                       "runtime models are disabled: set general_settings.store_model_in_db: true "
                       "in the config file to add, change or delete models through the API");
  return true;
}

// Publishes config file + stored models as the new snapshot. Caller holds change_mutex().
void republish(App& app, const Config& current, const LedgerSettings& db_path) {
  app.set_config(merge_db_models(current, db_path));
}

HttpResponse model_info_handler(const HttpRequest& req, App& app) {
  auto cfg = app.config();
  json data = json::array();
  const std::string only = req.query_param("litellm_model_id");
  if (cfg)
    for (const auto& d : cfg->deployments)
      if (only.empty() || d.id == only) data.push_back(describe(d));
  return json_response(json{{"data", std::move(data)}});
}

HttpResponse model_new_handler(const HttpRequest& req, App& app) {
  json body;
  HttpResponse err;
  if (!parse_object(req, body, err)) return err;
  if (auto c = app.config(); c && runtime_models_disabled(*c, err)) return err;
  auto mn = body.find("model_name");
  if (mn == body.end() || !mn->is_string() || mn->get_ref<const std::string&>().empty())
    return error_response(Errc::bad_request, "'model_name' (a non-empty string) is required");
  auto lp = body.find("litellm_params");
  if (lp == body.end() || !lp->is_object())
    return error_response(Errc::bad_request, "'litellm_params' (an object) is required");
  auto mi = body.find("model_info");
  if (mi != body.end() && !mi->is_null() && !mi->is_object())
    return error_response(Errc::bad_request, "'model_info' must be an object");

  json entry = {{"model_name", *mn},
                {"litellm_params", *lp},
                {"model_info", (mi == body.end() || mi->is_null()) ? json::object() : *mi}};
  entry["model_info"].erase("db_model");
  if (std::string e = check_env_references(entry); !e.empty()) return error_response(Errc::bad_request, e);
  std::string id = model_info_id(entry);
  if (id.empty()) {
    id = new_id();
    if (id.empty()) return error_response(Errc::internal, "could not generate a model id");
    entry["model_info"]["id"] = id;
  }

  std::string error;
  std::vector<std::string> warnings;
  auto d = validate_entry(entry, error, warnings);
  if (!d) return error_response(Errc::bad_request, error);

  std::lock_guard lk(change_mutex());
  auto cfg = app.config();
  if (!cfg) return error_response(Errc::internal, "no configuration loaded");
  if (runtime_models_disabled(*cfg, err)) return err;
  if (find_deployment(*cfg, id))
    return error_response(Errc::bad_request, "a model with id '" + id + "' already exists");
  if (std::string why = refused_api_base(*d, cfg->server.upstream_allowlist.get()); !why.empty())
    return error_response(Errc::bad_request, why, "litellm_params.api_base");
  const LedgerSettings& db_path = cfg->ledger;  // the database, by database_url
  try {
    ModelDb db(db_path);
    if (db.get(id)) return error_response(Errc::bad_request, "a model with id '" + id + "' already exists");
    StoredModel row{id, d->model_name, entry, now_unix_us(), 0};
    row.updated_us = row.created_us;
    db.insert(row);
    republish(app, *cfg, db_path);
  } catch (const std::exception& e) {
    return error_response(Errc::internal, std::string("could not store the model: ") + e.what());
  }
  d->model_info["db_model"] = true;
  json out = describe(*d);
  out["warnings"] = warnings;
  return json_response(out);
}

HttpResponse model_update_handler(const HttpRequest& req, App& app) {
  json body;
  HttpResponse err;
  if (!parse_object(req, body, err)) return err;
  const std::string id = model_info_id(body);
  if (id.empty()) return error_response(Errc::bad_request, "'model_info.id' is required");
  auto lp = body.find("litellm_params");
  if (lp != body.end() && !lp->is_null() && !lp->is_object())
    return error_response(Errc::bad_request, "'litellm_params' must be an object");
  auto mi = body.find("model_info");
  auto mn = body.find("model_name");
  if (mn != body.end() && !mn->is_null() && (!mn->is_string() || mn->get_ref<const std::string&>().empty()))
    return error_response(Errc::bad_request, "'model_name' must be a non-empty string");

  std::lock_guard lk(change_mutex());
  auto cfg = app.config();
  if (!cfg) return error_response(Errc::internal, "no configuration loaded");
  if (runtime_models_disabled(*cfg, err)) return err;
  const LedgerSettings& db_path = cfg->ledger;  // the database, by database_url
  try {
    ModelDb db(db_path);
    auto row = db.get(id);
    if (!row) {
      if (find_deployment(*cfg, id)) return config_file_model(*cfg, id, "changed");
      return error_response(Errc::not_found, "model '" + id + "' not found");
    }
    json entry = row->body;
    // Only the request's own fields are checked for environment references: stored credentials
    // may legitimately name one.
    json changes = json::object();
    if (mn != body.end() && !mn->is_null()) {
      entry["model_name"] = *mn;
      changes["model_name"] = *mn;
    }
    if (lp != body.end() && lp->is_object()) {
      json& params = entry["litellm_params"];
      for (auto it = lp->begin(); it != lp->end(); ++it) {
        if (it->is_null()) {
          params.erase(it.key());
        } else if (is_credential(it.key()) && it->is_string() && it->get_ref<const std::string&>() == kMasked) {
          // "****" is what /model/info shows: keep the stored credential.
        } else {
          params[it.key()] = *it;
          changes["litellm_params"][it.key()] = *it;
        }
      }
    }
    if (mi != body.end() && mi->is_object()) {
      for (auto it = mi->begin(); it != mi->end(); ++it) {
        if (it.key() == "id" || it.key() == "db_model") continue;
        if (it->is_null()) entry["model_info"].erase(it.key());
        else entry["model_info"][it.key()] = *it;
        changes["model_info"][it.key()] = *it;
      }
    }
    if (std::string e = check_env_references(changes); !e.empty()) return error_response(Errc::bad_request, e);
    std::string error;
    std::vector<std::string> warnings;
    auto d = validate_entry(entry, error, warnings);
    if (!d) return error_response(Errc::bad_request, error);
    if (std::string why = refused_api_base(*d, cfg->server.upstream_allowlist.get()); !why.empty())
      return error_response(Errc::bad_request, why, "litellm_params.api_base");
    row->body = entry;
    row->model_name = d->model_name;
    row->updated_us = now_unix_us();
    db.update(*row);
    republish(app, *cfg, db_path);
    d->model_info["db_model"] = true;
    json out = describe(*d);
    out["warnings"] = warnings;
    return json_response(out);
  } catch (const std::exception& e) {
    return error_response(Errc::internal, std::string("could not update the model: ") + e.what());
  }
}

HttpResponse model_delete_handler(const HttpRequest& req, App& app) {
  json body;
  HttpResponse err;
  if (!parse_object(req, body, err)) return err;
  const std::string id = model_info_id(body);
  if (id.empty()) return error_response(Errc::bad_request, "'id' is required");
  std::lock_guard lk(change_mutex());
  auto cfg = app.config();
  if (!cfg) return error_response(Errc::internal, "no configuration loaded");
  if (runtime_models_disabled(*cfg, err)) return err;
  const LedgerSettings& db_path = cfg->ledger;  // the database, by database_url
  try {
    ModelDb db(db_path);
    if (!db.remove(id)) {
      if (find_deployment(*cfg, id)) return config_file_model(*cfg, id, "deleted");
      return error_response(Errc::not_found, "model '" + id + "' not found");
    }
    republish(app, *cfg, db_path);
  } catch (const std::exception& e) {
    return error_response(Errc::internal, std::string("could not delete the model: ") + e.what());
  }
  return json_response(json{{"message", "Model: " + id + " deleted successfully"}});
}

Route make_route(const char* method, const char* path, bool blocking, HttpResponse (*h)(const HttpRequest&, App&)) {
  Route r;
  r.method = method;
  r.path = path;
  r.blocking = blocking;
  r.needs_master_key = true;
  r.handler = h;
  return r;
}

}  // namespace

void register_model_routes(std::vector<Route>& routes) {
  routes.push_back(make_route("GET", "/model/info", false, model_info_handler));
  routes.push_back(make_route("GET", "/v2/model/info", false, model_info_handler));
  routes.push_back(make_route("POST", "/model/new", true, model_new_handler));
  routes.push_back(make_route("POST", "/model/update", true, model_update_handler));
  routes.push_back(make_route("POST", "/model/delete", true, model_delete_handler));
}

}  // namespace llmgate
