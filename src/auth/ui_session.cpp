// Dashboard sessions (see include/llmgate/ui.hpp for the design). Every method takes one mutex
// for a few map operations: cheap enough for the worker threads that call authorize().
#include <openssl/rand.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <cmath>
#include <cstdlib>

#include <spdlog/spdlog.h>

#include "llmgate/digest.hpp"
#include "llmgate/ui.hpp"

namespace llmgate {

namespace {

std::string to_hex(const unsigned char* p, std::size_t n) {
  static const char* digits = "0123456789abcdef";
  std::string out(n * 2, '0');
  for (std::size_t i = 0; i < n; ++i) {
    out[2 * i] = digits[p[i] >> 4];
    out[2 * i + 1] = digits[p[i] & 15];
  }
  return out;
}

// 32 random bytes (256 bits) as 64 hex characters. Aborts if the CSPRNG fails: handing out a
// predictable session id is never acceptable.
std::string random_token() {
  unsigned char buf[32];
  if (RAND_bytes(buf, sizeof buf) != 1) {
    spdlog::critical("RAND_bytes failed: cannot create a dashboard session id");
    std::abort();
  }
  return to_hex(buf, sizeof buf);
}

std::string lower(std::string_view s) {
  std::string o(s);
  for (auto& c : o) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return o;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

// "host[:port]" normalised for comparison: lower case, the scheme's default port removed.
std::string normalize_authority(std::string_view authority, bool https) {
  std::string a = lower(trim(authority));
  const std::string def = https ? ":443" : ":80";
  if (a.size() > def.size() && a.compare(a.size() - def.size(), def.size(), def) == 0) a.resize(a.size() - def.size());
  return a;
}

// Splits "scheme://authority[/...]" into (https?, normalised authority). False when malformed.
bool parse_origin(std::string_view origin, bool& https, std::string& authority) {
  origin = trim(origin);
  std::string o = lower(origin);
  std::string_view rest;
  if (o.rfind("https://", 0) == 0) {
    https = true;
    rest = std::string_view(origin).substr(8);
  } else if (o.rfind("http://", 0) == 0) {
    https = false;
    rest = std::string_view(origin).substr(7);
  } else {
    return false;
  }
  auto slash = rest.find('/');
  if (slash != std::string_view::npos) rest = rest.substr(0, slash);
  if (rest.empty() || rest.find('@') != std::string_view::npos) return false;
  authority = normalize_authority(rest, https);
  return true;
}

double env_double(const char* name, double def) {
  const char* v = std::getenv(name);
  if (!v || !*v) return def;
  char* end = nullptr;
  double d = std::strtod(v, &end);
  if (!end || *end || !(d > 0)) {
    spdlog::warn("ignoring {}: not a positive number", name);
    return def;
  }
  return d;
}

}  // namespace

const char* const kUiContentSecurityPolicy =
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'none'; "
    "form-action 'self'; frame-ancestors 'none'";

void add_ui_security_headers(HttpResponse& r) {
  r.headers.emplace_back("Content-Security-Policy", kUiContentSecurityPolicy);
  r.headers.emplace_back("X-Content-Type-Options", "nosniff");
  r.headers.emplace_back("X-Frame-Options", "DENY");
  r.headers.emplace_back("Referrer-Policy", "no-referrer");
  r.headers.emplace_back("Cross-Origin-Opener-Policy", "same-origin");
  r.headers.emplace_back("Cross-Origin-Resource-Policy", "same-origin");
}

UiSessionSettings ui_session_settings_from_env() {
  UiSessionSettings s;
  s.idle_timeout_s = env_double("LLMGATE_UI_SESSION_IDLE_S", s.idle_timeout_s);
  s.absolute_timeout_s = env_double("LLMGATE_UI_SESSION_MAX_S", s.absolute_timeout_s);
  if (const char* u = std::getenv("UI_USERNAME"); u && *u) s.username = u;
  if (const char* p = std::getenv("UI_PASSWORD"); p && *p) s.password_override = p;
  if (const char* o = std::getenv("LLMGATE_UI_ALLOWED_ORIGINS"); o && *o) {
    std::string_view v(o);
    while (!v.empty()) {
      auto comma = v.find(',');
      auto item = trim(v.substr(0, comma));
      if (!item.empty()) s.allowed_origins.emplace_back(item);
      v = comma == std::string_view::npos ? std::string_view{} : v.substr(comma + 1);
    }
  }
  return s;
}

std::unique_ptr<UiSessionManager> make_ui_sessions(const Config& cfg) {
  auto s = ui_session_settings_from_env();
  if (s.password_override.empty() && cfg.master_key.empty())
    spdlog::warn("dashboard login disabled: no general_settings.master_key and no UI_PASSWORD");
  return std::make_unique<UiSessionManager>(std::move(s));
}

UiSessionManager::UiSessionManager(UiSessionSettings s, std::function<double()> now)
    : s_(std::move(s)), now_(std::move(now)) {}

double UiSessionManager::now() const {
  if (now_) return now_();
  using namespace std::chrono;
  return duration<double>(system_clock::now().time_since_epoch()).count();
}

std::string UiSessionManager::cookie_value(const HttpRequest& req, std::string_view name) {
  for (const auto& [k, v] : req.headers) {
    if (k != "cookie") continue;
    std::string_view rest(v);
    while (!rest.empty()) {
      auto semi = rest.find(';');
      auto part = trim(rest.substr(0, semi));
      rest = semi == std::string_view::npos ? std::string_view{} : rest.substr(semi + 1);
      auto eq = part.find('=');
      if (eq == std::string_view::npos) continue;
      if (trim(part.substr(0, eq)) == name) {
        auto val = trim(part.substr(eq + 1));
        if (val.size() >= 2 && val.front() == '"' && val.back() == '"') val = val.substr(1, val.size() - 2);
        return std::string(val);
      }
    }
  }
  return {};
}

bool UiSessionManager::secure_request(const HttpRequest& req) {
  if (req.tls) return true;
  auto xfp = lower(trim(req.header("x-forwarded-proto")));
  auto comma = xfp.find(',');  // "https, http" from a chain of proxies: the first is the client's
  return trim(std::string_view(xfp).substr(0, comma)) == "https";
}

bool UiSessionManager::same_origin(const HttpRequest& req) const {
  if (lower(trim(req.header("sec-fetch-site"))) == "cross-site") return false;
  std::string_view origin = req.header("origin");
  if (origin.empty()) origin = req.header("referer");  // some clients omit Origin; never both
  bool https = false;
  std::string authority;
  if (origin.empty() || !parse_origin(origin, https, authority)) return false;
  for (const auto& allowed : s_.allowed_origins) {
    bool h2 = false;
    std::string a2;
    if (parse_origin(allowed, h2, a2) && h2 == https && a2 == authority) return true;
  }
  for (std::string_view hdr : {"host", "x-forwarded-host"}) {
    auto v = req.header(hdr);
    if (v.empty()) continue;
    auto first = trim(v.substr(0, v.find(',')));
    if (normalize_authority(first, https) == authority) return true;
  }
  return false;
}

UiSessionManager::Session* UiSessionManager::find_locked(const HttpRequest& req, double t) {
  std::string id = cookie_value(req, kCookieName);
  if (id.size() != 64) return nullptr;
  auto it = sessions_.find(sha256_hex(id));
  if (it == sessions_.end()) return nullptr;
  Session& s = it->second;
  if (t - s.created > s_.absolute_timeout_s || t - s.last_seen > s_.idle_timeout_s) {
    sessions_.erase(it);
    return nullptr;
  }
  s.last_seen = t;
  return &s;
}

bool UiSessionManager::authorize(const HttpRequest& req, Errc& err) {
  const bool safe = req.method == "GET" || req.method == "HEAD" || req.method == "OPTIONS";
  std::lock_guard lk(mu_);
  Session* s = find_locked(req, now());
  if (!s) {
    err = Errc::unauthorized;
    return false;
  }
  if (!safe) {
    if (!same_origin(req)) {
      err = Errc::forbidden;
      return false;
    }
    auto token = req.header(kCsrfHeader);
    if (token.empty() || !secret_equals(token, s->csrf_token)) {
      err = Errc::forbidden;
      return false;
    }
  }
  err = Errc::ok;
  return true;
}

UiSessionManager::LoginResult UiSessionManager::login(const HttpRequest& req, std::string_view username,
                                                      std::string_view password, std::string_view master_key) {
  LoginResult r;
  const double t = now();
  const std::string& ip = req.client_ip;
  std::lock_guard lk(mu_);

  auto fit = failures_.find(ip);
  if (fit != failures_.end() && fit->second.locked_until > t) {
    r.err = Errc::rate_limited;
    r.retry_after_s = std::max(1, static_cast<int>(std::ceil(fit->second.locked_until - t)));
    r.message = "too many failed sign-in attempts; try again later";
    return r;
  }
  std::string_view expected = s_.password_override.empty() ? master_key : std::string_view(s_.password_override);
  if (expected.empty()) {
    r.err = Errc::forbidden;
    r.message = "dashboard sign-in is disabled: set general_settings.master_key (or UI_PASSWORD)";
    return r;
  }
  // Both comparisons always run (no early exit revealing which part was wrong).
  const bool user_ok = secret_equals(username, s_.username);
  const bool pass_ok = secret_equals(password, expected);
  if (!(user_ok && pass_ok)) {
    if (failures_.size() > 10000) {  // bound memory: forget clients quiet for an hour
      for (auto it = failures_.begin(); it != failures_.end();)
        it = t - it->second.last > 3600 && it->second.locked_until < t ? failures_.erase(it) : std::next(it);
      if (failures_.size() > 10000) failures_.clear();
    }
    Failures& f = failures_[ip];
    if (t - f.last > 3600) f.count = 0;  // an old streak is forgiven
    f.count += 1;
    f.last = t;
    if (f.count >= s_.free_failures) {
      double lock = std::min(s_.max_lockout_s, 2.0 * std::pow(2.0, f.count - s_.free_failures));
      f.locked_until = t + lock;
    }
    spdlog::warn("dashboard sign-in failed from {} ({} consecutive)", ip, f.count);
    r.err = Errc::unauthorized;
    r.message = "invalid user name or password";
    return r;
  }
  failures_.erase(ip);

  // A fresh id on every login (no session fixation); a previous session of this browser ends.
  std::string old = cookie_value(req, kCookieName);
  if (!old.empty()) sessions_.erase(sha256_hex(old));
  if (sessions_.size() >= s_.max_sessions) {
    auto oldest = std::min_element(sessions_.begin(), sessions_.end(), [](const auto& a, const auto& b) {
      return a.second.last_seen < b.second.last_seen;
    });
    if (oldest != sessions_.end()) sessions_.erase(oldest);
  }
  r.session_id = random_token();
  r.csrf_token = random_token();
  Session s{std::string(username), r.csrf_token, t, t};
  sessions_.emplace(sha256_hex(r.session_id), std::move(s));
  r.expires_at = t + std::min(s_.absolute_timeout_s, s_.idle_timeout_s);
  spdlog::info("dashboard sign-in from {}", ip);
  return r;
}

std::optional<UiSessionManager::SessionView> UiSessionManager::session(const HttpRequest& req) {
  std::lock_guard lk(mu_);
  const double t = now();
  Session* s = find_locked(req, t);
  if (!s) return std::nullopt;
  SessionView v;
  v.username = s->username;
  v.csrf_token = s->csrf_token;
  v.created = s->created;
  v.expires_at = std::min(s->created + s_.absolute_timeout_s, t + s_.idle_timeout_s);
  return v;
}

bool UiSessionManager::logout(const HttpRequest& req) {
  std::string id = cookie_value(req, kCookieName);
  if (id.empty()) return false;
  std::lock_guard lk(mu_);
  return sessions_.erase(sha256_hex(id)) > 0;
}

void UiSessionManager::revoke_all() {
  std::lock_guard lk(mu_);
  sessions_.clear();
}

std::size_t UiSessionManager::size() const {
  std::lock_guard lk(mu_);
  return sessions_.size();
}

std::string UiSessionManager::session_cookie(const HttpRequest& req, const std::string& id) const {
  std::string c = std::string(kCookieName) + "=" + id + "; Path=/; HttpOnly; SameSite=Strict; Max-Age=" +
                  std::to_string(static_cast<long long>(s_.absolute_timeout_s));
  if (secure_request(req)) c += "; Secure";
  return c;
}

std::string UiSessionManager::clear_cookie(const HttpRequest& req) const {
  std::string c = std::string(kCookieName) + "=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0";
  if (secure_request(req)) c += "; Secure";
  return c;
}

}  // namespace llmgate
