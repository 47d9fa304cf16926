#pragma once
// Who is calling. The server extracts the presented key (Authorization: Bearer, api-key,
// x-api-key) and asks, in order: master key (constant-time compare), virtual keys (KeyStore),
// dashboard session (UiSessions). No Asio here.
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "llmgate/digest.hpp"
#include "llmgate/error.hpp"
#include "llmgate/http_types.hpp"
#include "llmgate/limit_store.hpp"
#include "llmgate/record.hpp"

namespace llmgate {

struct App;
namespace keys_detail {
struct KeyState;
class KeyStoreImpl;
}  // namespace keys_detail

// Completion tokens reserved when the client sets neither max_completion_tokens nor max_tokens.
inline constexpr int64_t kDefaultReservedCompletionTokens = 1024;
// Token estimate for admission: about four body bytes a token for the prompt (rounded up), plus
// `max_tokens` (clamped to 0..10^9) or kDefaultReservedCompletionTokens when the client set none;
// `completion` false (embeddings) adds no completion.
struct TokenEstimate {
  int64_t prompt = 0;
  int64_t completion = 0;
};
TokenEstimate estimate_request_tokens(std::size_t body_bytes, std::optional<int64_t> max_tokens, bool completion);

struct Principal {
  bool master = false;                      // master key or an admin dashboard session
  bool ui_session = false;                  // authenticated by the dashboard session cookie
  std::string key_hash;                     // sha256 hex of a virtual key ("" for master/session)
  std::string key_alias;                    // configured alias ("" when none)
  std::vector<std::string> allowed_models;  // empty = all
  // A virtual key's limits and its state in the key store (its spend, which the budget counts).
  ScopeLimits limits;
  std::shared_ptr<keys_detail::KeyState> key_state;
  const std::atomic<double>* key_spend = nullptr;  // inside key_state
  LimitLease lease;  // what the LimitStore admitted (the key's share, ...), until the request ends

  // The key's scope for an admission (limits empty for the master key or a dashboard session).
  LimitCheck key_check() const {
    LimitCheck c;
    c.kind = ScopeKind::key;
    c.id = key_hash;
    c.limits = limits;
    c.spend = key_spend;
    return c;
  }
  // Forgets who was identified (a request refused by its limits is recorded without its key).
  void clear_identity() {
    key_hash.clear();
    key_alias.clear();
    allowed_models.clear();
    limits = ScopeLimits{};
    key_state.reset();
    key_spend = nullptr;
  }
};

// SHA-256 hex of a key (what the ledger and metrics store; never the key itself).
inline std::string hash_key(std::string_view raw_key) { return sha256_hex(raw_key); }
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
  // Hot path, any worker thread, no database I/O (in-memory cache). Who a key that is not the
  // master key is: ok + principal (with the key's limits, for a LimitStore), or unauthorized
  // (unknown, expired, blocked: LiteLLM answers 401 for a blocked key), forbidden (model not
  // allowed: `model_group` "" skips the model check). Counts nothing.
  virtual Errc identify(std::string_view raw_key, std::string_view model_group, Principal& out,
                        std::string& message) = 0;
  // identify(), then the key's limits through the key store's LimitStore (the routes; the proxy
  // asks the LimitStore itself): also budget_exceeded, rate_limited. With an estimate, the
  // budget and tpm_limit also count what admitted requests still in flight reserved: a request
  // is admitted while spend plus reservations is below max_budget (tokens this minute plus
  // reservations below tpm_limit), and then reserves `estimate` itself in `out.lease`.
  virtual Errc authorize(std::string_view raw_key, std::string_view model_group, const UsageEstimate& estimate,
                         Principal& out, std::string& message) = 0;
  Errc authorize(std::string_view raw_key, std::string_view model_group, Principal& out, std::string& message) {
    return authorize(raw_key, model_group, UsageEstimate{}, out, message);
  }
  // After a request finished (worker thread): adds the request's real spend to the key, then
  // settles `p.lease` with its tokens and cost (in that order, so an admission in between counts
  // the cost at least once). Never blocks on I/O.
  virtual void record_usage(Principal& p, const RequestRecord& r) = 0;
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
