#pragma once
// Who is calling. The server extracts the presented key (Authorization: Bearer, api-key,
// x-api-key) and asks, in order: master key (constant-time compare), virtual keys (KeyStore),
// dashboard session (UiSessions). No Asio here.
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "llmgate/error.hpp"
#include "llmgate/http_types.hpp"
#include "llmgate/record.hpp"

namespace llmgate {

struct App;

struct Principal {
  bool master = false;       // master key or an admin dashboard session
  bool ui_session = false;   // authenticated by the dashboard session cookie
  std::string key_hash;      // sha256 hex of a virtual key ("" for master/session)
  std::string key_alias;     // configured alias ("" when none)
  std::vector<std::string> allowed_models;  // empty = all
};

// Constant-time string equality (length leaks, content does not).
bool constant_time_equals(std::string_view a, std::string_view b);
// SHA-256 hex of a key (what the ledger and metrics store; never the key itself).
std::string hash_key(std::string_view raw_key);
// The key a request presents, or "": `Authorization: Bearer <key>` (the scheme case-insensitive,
// RFC 7235), else the `api-key` header (Azure SDKs), else `x-api-key` (Anthropic-style clients),
// as LiteLLM reads them. Another scheme (`Basic ...`) or a bare value in Authorization presents
// no key there. `header(name)` returns a field's value by lower-case name ("" when absent); it is
// only asked for the headers it needs. The one rule for the proxy path and the routes.
std::string_view trim_ows(std::string_view s);  // drops leading/trailing spaces and tabs
std::string_view bearer_token(std::string_view authorization);
template <class HeaderFn>
std::string_view presented_key_from(HeaderFn&& header) {
  if (std::string_view k = bearer_token(header("authorization")); !k.empty()) return k;
  if (std::string_view k = trim_ows(header("api-key")); !k.empty()) return k;
  return trim_ows(header("x-api-key"));
}
std::string_view presented_key(const HttpRequest& req);

// Virtual keys (LiteLLM /key/* API). Implemented in src/auth/key_store*.cpp.
class KeyStore {
 public:
  virtual ~KeyStore() = default;
  // Hot path, any worker thread, no database I/O (in-memory cache). For a key that is not the
  // master key: ok + principal, or unauthorized (unknown, expired, blocked: LiteLLM
  // answers 401 for a blocked key), forbidden (model not allowed: `model_group` "" skips the
  // model check), budget_exceeded, rate_limited.
  virtual Errc authorize(std::string_view raw_key, std::string_view model_group, Principal& out,
                         std::string& message) = 0;
  // After a request finished (worker thread): adds spend/tokens to the key. Never blocks on I/O.
  virtual void record_usage(const Principal& p, const RequestRecord& r) = 0;
};

// Dashboard sessions. Implemented in src/auth/ui_session*.cpp.
class UiSessions {
 public:
  virtual ~UiSessions() = default;
  // True when the request carries a valid session cookie. For state-changing methods it also
  // requires a same-origin Origin header and the CSRF token header; on failure sets `err`
  // (forbidden for CSRF/origin, unauthorized for no/expired session).
  virtual bool authorize(const HttpRequest& req, Errc& err) = 0;
};

}  // namespace llmgate
