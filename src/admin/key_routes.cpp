// LiteLLM-compatible /key/* routes over VirtualKeyStore. Master key only; blocking (they write
// the database synchronously), so they run on the reader pool.
#include <charconv>

#include "llmgate/app.hpp"
#include "llmgate/json_limits.hpp"
#include "llmgate/keys.hpp"

namespace llmgate {

namespace {

using json = nlohmann::json;

HttpResponse to_response(const KeyResult& res) {
  if (res.err != Errc::ok) return error_response(res.err, res.message);
  HttpResponse r;
  r.body = res.body.dump(-1, ' ', false, json::error_handler_t::replace);
  return r;
}

VirtualKeyStore* store_of(App& app) { return dynamic_cast<VirtualKeyStore*>(app.keys); }

HttpResponse not_enabled() {
  return error_response(Errc::unsupported, "virtual keys are not enabled on this gateway (no key database)");
}

// Parses the body as a JSON object without exceptions; sets `err` when it is not one.
json parse_body(const HttpRequest& req, HttpResponse& err, bool& ok) {
  bool too_deep = false;
  json j = parse_json_bounded(req.body, &too_deep);
  ok = !j.is_discarded() && j.is_object();
  if (!ok)
    err = error_response(Errc::invalid_json, too_deep ? kJsonTooDeepMessage : "request body must be a JSON object");
  return j;
}

bool parse_int(const std::string& s, int& out) {
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  return ec == std::errc() && p == s.data() + s.size();
}

using Handler = std::function<HttpResponse(const HttpRequest&, App&)>;

Route route(std::string method, std::string path, Handler h) {
  Route r;
  r.method = std::move(method);
  r.path = std::move(path);
  r.blocking = true;
  r.needs_master_key = true;
  r.handler = std::move(h);
  return r;
}

// POST handlers: body -> store call.
template <class F>
Handler post_handler(F f) {
  return [f](const HttpRequest& req, App& app) -> HttpResponse {
    auto* ks = store_of(app);
    if (!ks) return not_enabled();
    HttpResponse err;
    bool ok;
    json body = parse_body(req, err, ok);
    if (!ok) return err;
    return to_response(f(*ks, body));
  };
}

KeyResult block_op(VirtualKeyStore& ks, const json& body, bool blocked) {
  auto it = body.find("key");
  if (it == body.end() || !it->is_string() || it->get_ref<const std::string&>().empty())
    return {Errc::bad_request, "'key' (the key or its hash) is required", {}};
  return ks.set_blocked(it->get<std::string>(), blocked);
}

}  // namespace

void register_key_routes(std::vector<Route>& routes) {
  routes.push_back(
      route("POST", "/key/generate", post_handler([](VirtualKeyStore& ks, const json& b) { return ks.generate(b); })));
  routes.push_back(
      route("POST", "/key/update", post_handler([](VirtualKeyStore& ks, const json& b) { return ks.update(b); })));
  routes.push_back(
      route("POST", "/key/delete", post_handler([](VirtualKeyStore& ks, const json& b) { return ks.remove(b); })));
  routes.push_back(route("POST", "/key/block",
                         post_handler([](VirtualKeyStore& ks, const json& b) { return block_op(ks, b, true); })));
  routes.push_back(route("POST", "/key/unblock",
                         post_handler([](VirtualKeyStore& ks, const json& b) { return block_op(ks, b, false); })));
  routes.push_back(route("GET", "/key/info", [](const HttpRequest& req, App& app) {
    auto* ks = store_of(app);
    if (!ks) return not_enabled();
    std::string key = req.query_param("key");
    if (key.empty()) return error_response(Errc::bad_request, "query parameter 'key' is required");
    return to_response(ks->info(key));
  }));
  routes.push_back(route("GET", "/key/list", [](const HttpRequest& req, App& app) {
    auto* ks = store_of(app);
    if (!ks) return not_enabled();
    int page = 1, size = 10;
    if (!parse_int(req.query_param("page", "1"), page))
      return error_response(Errc::bad_request, "'page' must be an integer");
    if (!parse_int(req.query_param("size", "10"), size))
      return error_response(Errc::bad_request, "'size' must be an integer");
    const std::string full = req.query_param("return_full_object", "false");
    const bool full_objects = full == "true" || full == "True" || full == "1";
    return to_response(ks->list(page, size, full_objects, req.query_param("key_alias")));
  }));
}

}  // namespace llmgate
