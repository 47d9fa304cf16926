// HTTP routes of the ledger: LiteLLM's spend API and the dashboard's JSON API. All are
// master-key only and blocking (they run on the server's reader pool, never a worker thread).
#include <spdlog/spdlog.h>

#include <stdexcept>

#include "admin/ledger_api.hpp"
#include "llmgate/app.hpp"
#include "llmgate/error.hpp"

namespace llmgate {

namespace {

// Ledger answers are live figures that name keys and models: never cached, errors included.
HttpResponse no_store(HttpResponse r) {
  r.headers.emplace_back("cache-control", "no-store");
  return r;
}

// The query parameter a query's message names ("invalid 'cursor'", "missing 'request_id'",
// "'start' is after 'end'"): the error's `param`, as OpenAI's errors name theirs.
std::string_view named_param(std::string_view msg) {
  const auto a = msg.find('\'');
  const auto b = a == std::string_view::npos ? a : msg.find('\'', a + 1);
  if (b == std::string_view::npos) return {};
  return msg.substr(a + 1, b - a - 1);
}

HttpResponse run_query(App& app, const std::string& name, const std::multimap<std::string, std::string>& params) {
  if (!app.ledger) return error_response(Errc::service_unavailable, "the usage ledger is disabled");
  try {
    nlohmann::json j = admin::ledger_query(*app.ledger, name, params);
    HttpResponse r;
    r.body = j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    return r;
  } catch (const std::invalid_argument& e) {
    return error_response(Errc::bad_request, e.what(), named_param(e.what()));
  } catch (const std::exception& e) {
    spdlog::warn("ledger query '{}' failed: {}", name, e.what());
    return error_response(Errc::service_unavailable, "the usage ledger is unavailable right now");
  }
}

Route get_route(std::string path, std::string query_name) {
  Route r;
  r.method = "GET";
  r.path = std::move(path);
  r.blocking = true;
  r.needs_master_key = true;
  r.handler = [name = std::move(query_name)](const HttpRequest& req, App& app) {
    return no_store(run_query(app, name, req.query));
  };
  return r;
}

}  // namespace

void register_ledger_routes(std::vector<Route>& routes) {
  // LiteLLM-compatible spend API.
  routes.push_back(get_route("/spend/logs", "spend_logs"));
  routes.push_back(get_route("/global/spend", "global_spend"));
  // Dashboard API (docs/api.md).
  routes.push_back(get_route("/llmgate/api/logs", "logs"));
  routes.push_back(get_route("/llmgate/api/usage", "usage"));
  routes.push_back(get_route("/llmgate/api/summary", "summary"));
  routes.push_back(get_route("/llmgate/api/stats", "stats"));
  Route one;
  one.method = "GET";
  one.path = "/llmgate/api/logs/*";
  one.blocking = true;
  one.needs_master_key = true;
  one.handler = [](const HttpRequest& req, App& app) {
    static const std::string prefix = "/llmgate/api/logs/";
    std::string id = req.path.size() > prefix.size() ? req.path.substr(prefix.size()) : "";
    if (id.empty() || id.find('/') != std::string::npos)
      return no_store(error_response(Errc::bad_request, "expected /llmgate/api/logs/<request_id>"));
    std::multimap<std::string, std::string> p{{"request_id", id}};
    HttpResponse r = run_query(app, "log", p);
    if (r.status == 200 && r.body == "null")
      return no_store(error_response(Errc::not_found, "no log record with that request_id"));
    return no_store(std::move(r));
  };
  routes.push_back(std::move(one));
}

}  // namespace llmgate
