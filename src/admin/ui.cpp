// The dashboard's routes: static assets embedded at build time (ui/src + uPlot), and the login,
// logout and session endpoints. Handlers run on the worker thread (all are fast, no I/O).
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "llmgate/app.hpp"
#include "llmgate/embedded.hpp"
#include "llmgate/error.hpp"
#include "llmgate/json_limits.hpp"
#include "llmgate/ui.hpp"

namespace llmgate {

namespace {

std::string_view content_type_for(std::string_view path) {
  auto ends = [&](std::string_view suf) {
    return path.size() >= suf.size() && path.substr(path.size() - suf.size()) == suf;
  };
  if (ends(".html")) return "text/html; charset=utf-8";
  if (ends(".js") || ends(".mjs")) return "text/javascript; charset=utf-8";
  if (ends(".css")) return "text/css; charset=utf-8";
  if (ends(".json")) return "application/json";
  if (ends(".svg")) return "image/svg+xml";
  if (ends(".png")) return "image/png";
  if (ends(".ico")) return "image/x-icon";
  if (ends(".txt")) return "text/plain; charset=utf-8";
  return "application/octet-stream";
}

HttpResponse secure(HttpResponse r, bool no_store = true) {
  add_ui_security_headers(r);
  r.headers.emplace_back("Cache-Control", no_store ? "no-store" : "no-cache");
  return r;
}

HttpResponse json_response(int status, const nlohmann::json& j) {
  HttpResponse r;
  r.status = status;
  r.body = j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  return secure(std::move(r));
}

// An OpenAI-shaped error with the dashboard's security headers.
HttpResponse ui_error(Errc e, std::string_view message) { return secure(error_response(e, message)); }

HttpResponse redirect(std::string location) {
  HttpResponse r;
  r.status = 302;
  r.content_type = "text/plain; charset=utf-8";
  r.body = "Found";
  r.headers.emplace_back("Location", std::move(location));
  return secure(std::move(r));
}

HttpResponse asset(std::string_view rel) {
  // Only exact names of embedded files match; reject anything path-like anyway.
  if (rel.empty() || rel.find("..") != std::string_view::npos || rel.front() == '/' ||
      rel.find('\\') != std::string_view::npos)
    return ui_error(Errc::not_found, "not found");
  const EmbeddedFile* f = find_embedded("ui", rel);
  if (!f) return ui_error(Errc::not_found, "not found");
  HttpResponse r;
  r.content_type = std::string(content_type_for(rel));
  r.body.assign(f->data, f->size);
  return secure(std::move(r), /*no_store=*/rel.size() >= 5 && rel.substr(rel.size() - 5) == ".html");
}

UiSessionManager* manager(App& app) { return dynamic_cast<UiSessionManager*>(app.ui_sessions); }

bool has_session(const HttpRequest& req, App& app) {
  auto* m = manager(app);
  return m && m->session(req).has_value();
}

// GET /ui and /ui/: the app shell for a signed-in admin, the login page otherwise.
HttpResponse ui_root(const HttpRequest& req, App& app) {
  if (req.path == "/ui") return redirect("/ui/");
  if (!has_session(req, app)) return redirect("/ui/login");
  return asset("index.html");
}

HttpResponse ui_login_page(const HttpRequest& req, App& app) {
  if (has_session(req, app)) return redirect("/ui/");
  return asset("login.html");
}

// POST /ui/login: {"username","password"} as JSON or a form.
HttpResponse ui_login(const HttpRequest& req, App& app) {
  auto* m = manager(app);
  if (!m) return ui_error(Errc::not_found, "the dashboard is disabled");
  if (!m->same_origin(req)) return ui_error(Errc::forbidden, "cross-origin sign-in rejected");
  std::string username, password;
  auto ct = req.header("content-type");
  if (ct.find("application/x-www-form-urlencoded") != std::string_view::npos) {
    auto q = parse_query(req.body);
    if (auto it = q.find("username"); it != q.end()) username = it->second;
    if (auto it = q.find("password"); it != q.end()) password = it->second;
  } else {
    bool too_deep = false;
    auto j = parse_json_bounded(req.body, &too_deep);
    if (j.is_discarded() || !j.is_object())
      return ui_error(Errc::invalid_json, too_deep ? kJsonTooDeepMessage : "expected a JSON object");
    if (auto it = j.find("username"); it != j.end() && it->is_string()) username = it->get<std::string>();
    if (auto it = j.find("password"); it != j.end() && it->is_string()) password = it->get<std::string>();
  }
  auto cfg = app.config();
  std::string master = cfg ? cfg->master_key.reveal() : std::string();
  auto res = m->login(req, username, password, master);
  if (res.err == Errc::rate_limited) {
    auto r = ui_error(Errc::rate_limited, res.message);
    r.headers.emplace_back("Retry-After", std::to_string(res.retry_after_s));
    return r;
  }
  if (res.err != Errc::ok) return ui_error(res.err, res.message);
  auto r = json_response(200, {{"ok", true},
                               {"username", username},
                               {"csrf_token", res.csrf_token},
                               {"expires_at", static_cast<long long>(res.expires_at)}});
  r.headers.emplace_back("Set-Cookie", m->session_cookie(req, res.session_id));
  return r;
}

// POST /ui/logout: needs the session, a same-origin Origin and the CSRF token.
HttpResponse ui_logout(const HttpRequest& req, App& app) {
  auto* m = manager(app);
  if (!m) return ui_error(Errc::not_found, "the dashboard is disabled");
  Errc err = Errc::ok;
  if (!m->authorize(req, err) && err == Errc::forbidden)
    return ui_error(err, "missing or invalid CSRF token or origin");
  bool existed = err == Errc::ok && m->logout(req);
  auto r = json_response(200, {{"ok", true}, {"session_ended", existed}});
  r.headers.emplace_back("Set-Cookie", m->clear_cookie(req));
  return r;
}

// GET /ui/api/session: who is signed in and the CSRF token for state-changing calls.
HttpResponse ui_session(const HttpRequest& req, App& app) {
  auto* m = manager(app);
  auto s = m ? m->session(req) : std::nullopt;
  if (!s) return ui_error(Errc::unauthorized, "not signed in");
  return json_response(200, {{"username", s->username},
                             {"csrf_token", s->csrf_token},
                             {"created_at", static_cast<long long>(s->created)},
                             {"expires_at", static_cast<long long>(s->expires_at)},
                             {"idle_timeout_s", m->settings().idle_timeout_s},
                             {"absolute_timeout_s", m->settings().absolute_timeout_s}});
}

HttpResponse ui_asset(const HttpRequest& req, App& app) {
  std::string_view p = req.path;
  if (p == "/ui/" || p == "/ui/index.html") return ui_root(req, app);
  if (p == "/ui/login" || p == "/ui/login.html") return ui_login_page(req, app);
  if (p.substr(0, 4) != "/ui/") return ui_error(Errc::not_found, "not found");
  return asset(p.substr(4));
}

Route make(std::string method, std::string path, HttpResponse (*fn)(const HttpRequest&, App&)) {
  Route r;
  r.method = std::move(method);
  r.path = std::move(path);
  r.blocking = false;
  r.needs_master_key = false;  // public, or checked by the handler itself
  r.handler = fn;
  return r;
}

}  // namespace

void register_ui_routes(std::vector<Route>& routes) {
  routes.push_back(make("GET", "/ui", ui_root));
  routes.push_back(make("GET", "/ui/", ui_root));
  routes.push_back(make("GET", "/ui/login", ui_login_page));
  routes.push_back(make("POST", "/ui/login", ui_login));
  routes.push_back(make("POST", "/ui/logout", ui_logout));
  routes.push_back(make("GET", "/ui/api/session", ui_session));
  routes.push_back(make("GET", "/ui/*", ui_asset));
}

}  // namespace llmgate
