#pragma once
// The admin dashboard (/ui): server-side login sessions and the embedded static assets.
// Sessions: src/auth/ui_session*.cpp; routes and asset serving: src/admin/ui.cpp.
// No Asio here. Design (docs/dashboard.md):
//   - POST /ui/login checks Origin, per-client-IP backoff, then user name + password (the master
//     key, or UI_USERNAME / UI_PASSWORD) in constant time; it issues a random 256-bit session id
//     in an HttpOnly, SameSite=Strict cookie (Secure over TLS or X-Forwarded-Proto: https) and a
//     random 256-bit CSRF token bound to the session, returned in JSON only.
//   - The server keeps only SHA-256(session id) -> session; sessions expire after an idle time
//     and an absolute lifetime; logout erases the session.
//   - authorize(): the cookie names a live session; for methods other than GET/HEAD/OPTIONS the
//     Origin header must be same-origin and X-CSRF-Token must equal the session's token.
#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "llmgate/auth.hpp"
#include "llmgate/config.hpp"
#include "llmgate/http_types.hpp"

namespace llmgate {

struct UiSessionSettings {
  double idle_timeout_s = 30 * 60;           // LLMGATE_UI_SESSION_IDLE_S
  double absolute_timeout_s = 12 * 3600;     // LLMGATE_UI_SESSION_MAX_S
  std::size_t max_sessions = 1000;           // the oldest session is dropped beyond this
  int free_failures = 5;                     // failed logins per client IP before backoff
  double max_lockout_s = 15 * 60;            // backoff doubles from 2 s up to this
  std::vector<std::string> allowed_origins;  // LLMGATE_UI_ALLOWED_ORIGINS (comma-separated), for
                                             // proxies that rewrite the Host header
  std::string username = "admin";            // UI_USERNAME
  std::string password_override;             // UI_PASSWORD ("" = the master key)
};

// Reads the environment variables named above (unset or invalid values keep the defaults).
UiSessionSettings ui_session_settings_from_env();

class UiSessionManager : public UiSessions {
 public:
  // `now` returns wall-clock unix seconds (injectable for tests).
  explicit UiSessionManager(UiSessionSettings s, std::function<double()> now = {});

  static constexpr std::string_view kCookieName = "llmgate_session";
  static constexpr std::string_view kCsrfHeader = "x-csrf-token";

  // UiSessions (any thread): see the header comment.
  bool authorize(const HttpRequest& req, Errc& err) override;

  struct LoginResult {
    Errc err = Errc::ok;     // ok, unauthorized (bad credentials), rate_limited, forbidden
    std::string message;     // for the user; never contains the credentials
    int retry_after_s = 0;   // with rate_limited
    std::string session_id;  // with ok: the cookie value
    std::string csrf_token;  // with ok
    double expires_at = 0;   // with ok: absolute expiry (unix seconds)
  };
  // Checks the credentials for the client req.client_ip. `master_key` is the current master key
  // (used when UI_PASSWORD is not set). Does not check Origin (the handler does). Any thread.
  LoginResult login(const HttpRequest& req, std::string_view username, std::string_view password,
                    std::string_view master_key);

  struct SessionView {
    std::string username;
    std::string csrf_token;
    double created = 0;
    double expires_at = 0;  // min(absolute expiry, idle expiry), unix seconds
  };
  // The live session named by the request's cookie (refreshes its idle timer), or nullopt.
  std::optional<SessionView> session(const HttpRequest& req);
  // Destroys the session named by the request's cookie. Returns whether one existed.
  bool logout(const HttpRequest& req);
  // Destroys every session (e.g. after the master key changed).
  void revoke_all();
  std::size_t size() const;

  // Set-Cookie values for a new session / for clearing the cookie.
  std::string session_cookie(const HttpRequest& req, const std::string& id) const;
  std::string clear_cookie(const HttpRequest& req) const;
  // True when the Origin header (or, without one, Referer) names this server: it must match the
  // Host header, X-Forwarded-Host, or an allowed origin. A missing/"null" origin is not same-origin.
  bool same_origin(const HttpRequest& req) const;
  const UiSessionSettings& settings() const { return s_; }

  // The cookie value named `name` in the request's Cookie headers, or "".
  static std::string cookie_value(const HttpRequest& req, std::string_view name);
  // Whether the client reached us over TLS (directly, or X-Forwarded-Proto: https).
  static bool secure_request(const HttpRequest& req);

 private:
  struct Session {
    std::string username;
    std::string csrf_token;
    double created = 0;
    double last_seen = 0;
  };
  struct Failures {
    int count = 0;
    double locked_until = 0;
    double last = 0;
  };
  // Looks up and refreshes a live session (mu_ held). Erases it when expired.
  Session* find_locked(const HttpRequest& req, double now);
  double now() const;

  UiSessionSettings s_;
  std::function<double()> now_;
  mutable std::mutex mu_;
  std::unordered_map<std::string, Session> sessions_;   // key: sha256 hex of the session id
  std::unordered_map<std::string, Failures> failures_;  // key: client IP
};

// Creates the dashboard session store from the environment (see UiSessionSettings). `cfg` is
// only used for sanity warnings (no master key and no UI_PASSWORD: login disabled).
std::unique_ptr<UiSessionManager> make_ui_sessions(const Config& cfg);

// The response headers every dashboard response carries: CSP without 'unsafe-inline',
// X-Content-Type-Options: nosniff, frame-ancestors 'none' / X-Frame-Options: DENY, no referrer.
void add_ui_security_headers(HttpResponse& r);
extern const char* const kUiContentSecurityPolicy;

}  // namespace llmgate
