#pragma once
// Admission for rate, token, parallel and budget limits at any scope (a virtual key, a deployment;
// later a team or a user). A LimitStore decides whether a request may start and, when it may,
// hands out a LimitLease that holds what the request counts against each limit until it ends.
// The in-memory store (src/limits/memory_limit_store.*) decides inline; a store that needs a
// network round trip answers through admit_async and never blocks the caller. No Asio here.
#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "llmgate/error.hpp"

namespace llmgate {

struct Config;

// What a request may use, estimated at admission. A budget and a tpm limit hold it for the
// request while it runs, so concurrent requests see each other.
struct UsageEstimate {
  int64_t tokens = 0;   // prompt estimate plus the completion limit
  double cost_usd = 0;  // those tokens at the deployment's price (0 when the price is unknown)
};

enum class ScopeKind : uint8_t { key, deployment, team, user };
std::string_view to_string(ScopeKind k);

// The limits of one scope; nullopt = unlimited.
struct ScopeLimits {
  std::optional<int64_t> rpm;           // requests per minute
  std::optional<int64_t> tpm;           // tokens per minute (finished plus reserved)
  std::optional<int64_t> max_parallel;  // requests in flight
  std::optional<double> max_budget;     // USD (spent plus reserved)
  bool any() const { return rpm || tpm || max_parallel || max_budget; }
};

// One scope an admission checks.
struct LimitCheck {
  ScopeKind kind = ScopeKind::key;
  std::string_view id;  // the key's hash, the deployment's id; valid until the decision
  ScopeLimits limits;
  // The spend the budget counts, when the scope's owner keeps it (the key store persists a key's
  // spend and adds each request's cost before the lease is settled). Null: the store's own,
  // added from settled leases (what a shared store does for every scope).
  const std::atomic<double>* spend = nullptr;
};

inline constexpr std::size_t kMaxLimitScopes = 4;

struct AdmissionRequest {
  std::array<LimitCheck, kMaxLimitScopes> scopes{};
  std::size_t n = 0;
  UsageEstimate estimate;
  int64_t now_us = 0;  // unix microseconds (the minute windows)
  // Adds a scope when it has any limit (scopes without limits cost nothing). False when full.
  bool add(const LimitCheck& c) {
    if (!c.limits.any()) return true;
    if (n == scopes.size()) return false;
    scopes[n++] = c;
    return true;
  }
  bool empty() const { return n == 0; }
};

enum class LimitKind : uint8_t { requests, tokens, parallel, budget };

// One checked limit after the decision: for x-ratelimit-limit-*/x-ratelimit-remaining-* headers.
struct LimitStatus {
  ScopeKind scope = ScopeKind::key;
  LimitKind kind = LimitKind::requests;
  int64_t limit = 0;
  int64_t remaining = 0;  // after this request (>= 0); budget: nano-USD
};

struct AdmissionResult {
  Errc err = Errc::ok;        // ok, rate_limited, budget_exceeded
  std::string message;        // set when refused
  int64_t retry_after_s = 0;  // when rate_limited: seconds until a retry can succeed
  std::array<LimitStatus, kMaxLimitScopes * 4> status{};
  std::size_t n_status = 0;
  void add_status(const LimitStatus& s) {
    if (n_status < status.size()) status[n_status++] = s;
  }
  // The status of a limit, or null when it was not checked (or not reached: a refusal stops at
  // the limit that refused).
  const LimitStatus* find(ScopeKind scope, LimitKind kind) const {
    for (std::size_t i = 0; i < n_status; ++i)
      if (status[i].scope == scope && status[i].kind == kind) return &status[i];
    return nullptr;
  }
};

// What a lease holds in one scope, and the store's state for that scope (kept alive by the
// lease, so a lease may outlive the store's table entry, not the process).
struct LeaseHold;
class LimitScopeState {
 public:
  virtual ~LimitScopeState() = default;
  // Gives the hold back without usage. Any thread, never blocks on I/O.
  virtual void give_back(const LeaseHold& h) noexcept = 0;
  // Gives the hold back and adds the request's real usage (tokens in the minute of `now_us`,
  // cost to the store's own spend when `h.own_spend`). Any thread, never blocks on I/O.
  virtual void settle(const LeaseHold& h, int64_t tokens, double cost_usd, int64_t now_us) noexcept = 0;
};

struct LeaseHold {
  std::shared_ptr<LimitScopeState> state;
  int64_t nano_usd = 0;  // reserved budget, 10^-9 USD (integers: releases return it to 0 exactly)
  int64_t tokens = 0;    // reserved tokens
  bool slot = false;     // one of max_parallel
  bool own_spend = false;
};

// What an admitted request holds: its parallel slots and its budget and token reservations.
// Given back exactly once: by settle() with the real usage, or release() / the destructor on any
// other path. Move-only; a moved-from lease holds nothing.
class LimitLease {
 public:
  LimitLease() = default;
  LimitLease(const LimitLease&) = delete;
  LimitLease& operator=(const LimitLease&) = delete;
  LimitLease(LimitLease&& o) noexcept { *this = std::move(o); }
  LimitLease& operator=(LimitLease&& o) noexcept {
    if (this != &o) {
      release();
      holds_ = std::move(o.holds_);
      n_ = o.n_;
      o.n_ = 0;
    }
    return *this;
  }
  ~LimitLease() { release(); }

  bool held() const { return n_ != 0; }
  int64_t nano_usd() const;  // reserved cost over all scopes, 10^-9 USD
  int64_t tokens() const;    // reserved tokens over all scopes
  // Gives everything back without usage; nothing when none is held. Any thread.
  void release() noexcept;
  // Gives everything back and adds the request's real usage to each scope. Any thread.
  void settle(int64_t tokens, double cost_usd, int64_t now_us) noexcept;
  // Store side: adds a scope's hold (at most kMaxLimitScopes).
  void add(LeaseHold h) {
    if (n_ < holds_.size()) holds_[n_++] = std::move(h);
  }
  // Store side: hands each hold to `f` instead of giving it back, then holds nothing.
  template <class F>
  void release_with(F&& f) noexcept {
    const std::size_t n = n_;
    n_ = 0;
    for (std::size_t i = 0; i < n; ++i) {
      f(static_cast<const LeaseHold&>(holds_[i]));
      holds_[i] = LeaseHold{};
    }
  }

 private:
  std::array<LeaseHold, kMaxLimitScopes> holds_{};
  std::size_t n_ = 0;
};

class LimitStore {
 public:
  virtual ~LimitStore() = default;

  enum class Decision { decided, pending };
  // The fast path, any worker thread, never blocks: decided (the answer in `out`; when ok,
  // `lease` holds the request's share, any lease it held before given back first), or pending:
  // this store must ask elsewhere, use admit_async. An empty request is admitted at once.
  virtual Decision try_admit(const AdmissionRequest& req, LimitLease& lease, AdmissionResult& out) = 0;

  // The slow path: `done` is called exactly once with the decision, possibly on another thread
  // (the caller re-posts to its own executor). `req` and the ids it names must stay valid until
  // then. The default decides inline through try_admit.
  using AdmitCallback = std::function<void(AdmissionResult&&, LimitLease&&)>;
  virtual void admit_async(const AdmissionRequest& req, AdmitCallback done) {
    AdmissionResult r;
    LimitLease l;
    try_admit(req, l, r);
    done(std::move(r), std::move(l));
  }

  // The scope is gone for good (a deleted key): its counters may be dropped. Leases still held
  // keep their share alive and give it back as usual. Any thread.
  virtual void forget(ScopeKind kind, std::string_view id) { (void)kind, (void)id; }
};

// The store named by the config (today always the process-wide in-memory store).
std::unique_ptr<LimitStore> make_limit_store(const Config& cfg);
// The process-wide in-memory store (src/limits/memory_limit_store.cpp).
std::unique_ptr<LimitStore> make_memory_limit_store();

}  // namespace llmgate
