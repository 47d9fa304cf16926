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
// The key presented in Authorization: Bearer / api-key / x-api-key, or "".
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
