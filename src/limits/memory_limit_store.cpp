#include "limits/memory_limit_store.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>

namespace llmgate::limits {

namespace {

constexpr int64_t kMinuteUs = 60'000'000;

int64_t minute_of(int64_t now_us) { return now_us >= 0 ? now_us / kMinuteUs : (now_us - kMinuteUs + 1) / kMinuteUs; }

// Seconds until the next minute window starts (1..60).
int64_t seconds_to_next_minute(int64_t now_us) {
  const int64_t into = now_us - minute_of(now_us) * kMinuteUs;
  return std::max<int64_t>(1, (kMinuteUs - into + 999'999) / 1'000'000);
}

// The estimate in integers; a cost that is not a finite number >= 0 reserves none.
int64_t to_nano(double usd) {
  const double nano = usd * 1e9;
  return nano > 0 && nano < 1e18 ? static_cast<int64_t>(std::ceil(nano)) : 0;
}

std::string budget_message(double spent, int64_t reserved_nano, double max_budget) {
  char buf[224];
  const double held = static_cast<double>(reserved_nano) * 1e-9;
  if (reserved_nano > 0)
    std::snprintf(buf, sizeof buf,
                  "Budget has been exceeded: current spend %.6f (plus %.6f reserved by requests in flight), "
                  "max budget %.6f",
                  spent, held, max_budget);
  else
    std::snprintf(buf, sizeof buf, "Budget has been exceeded: current spend %.6f, max budget %.6f", spent, max_budget);
  return buf;
}

// One scope's admission under its mutex: refused (out.err, message, retry_after) or admitted
// (the request counted, its share reserved in `h`, the remaining values in `out`).
Errc admit_scope(const std::shared_ptr<MemoryScope>& sp, const LimitCheck& c, const AdmissionRequest& req, LeaseHold& h,
                 AdmissionResult& out) {
  MemoryScope& s = *sp;
  const ScopeLimits& l = c.limits;
  const std::string_view who = to_string(c.kind);
  std::lock_guard lk(s.mu);
  // Admitted while what is spent plus what requests in flight hold is below the limit; this
  // request then holds its own estimate. With estimates at least the real usage, the limit is
  // overshot by at most the last admitted request's usage, however many arrive at once.
  const double spent = c.spend ? c.spend->load(std::memory_order_acquire) : s.spend;
  const double held = static_cast<double>(s.reserved_nano_usd) * 1e-9;
  if (l.max_budget && spent + held >= *l.max_budget) {
    out.message = budget_message(spent, s.reserved_nano_usd, *l.max_budget);
    return Errc::budget_exceeded;
  }
  s.roll(minute_of(req.now_us));
  if (l.rpm && s.requests_in_window >= *l.rpm) {
    out.message = "Rate limit exceeded: " + std::string(who) + " rpm_limit " + std::to_string(*l.rpm) +
                  " requests per minute";
    out.retry_after_s = seconds_to_next_minute(req.now_us);
    return Errc::rate_limited;
  }
  if (l.tpm && s.tokens_in_window + s.reserved_tokens >= *l.tpm) {
    out.message = "Rate limit exceeded: " + std::string(who) + " tpm_limit " + std::to_string(*l.tpm) +
                  " tokens per minute";
    if (s.reserved_tokens > 0)
      out.message += " (" + std::to_string(s.reserved_tokens) + " reserved by requests in flight)";
    out.retry_after_s = seconds_to_next_minute(req.now_us);
    return Errc::rate_limited;
  }
  if (l.max_parallel && s.in_flight >= *l.max_parallel) {
    out.message = "Rate limit exceeded: " + std::string(who) + " max_parallel_requests " +
                  std::to_string(*l.max_parallel) + " requests in flight";
    out.retry_after_s = 1;
    return Errc::rate_limited;
  }
  ++s.requests_in_window;
  // Only what a limit of this scope counts is held.
  h.state = sp;
  h.nano_usd = l.max_budget ? to_nano(req.estimate.cost_usd) : 0;
  h.tokens = l.tpm ? std::clamp<int64_t>(req.estimate.tokens, 0, int64_t{1} << 50) : 0;
  h.slot = l.max_parallel.has_value();
  h.own_spend = c.spend == nullptr;
  s.reserved_nano_usd += h.nano_usd;
  s.reserved_tokens += h.tokens;
  if (h.slot) ++s.in_flight;
  if (l.rpm) out.add_status({c.kind, LimitKind::requests, *l.rpm, std::max<int64_t>(0, *l.rpm - s.requests_in_window)});
  if (l.tpm)
    out.add_status(
        {c.kind, LimitKind::tokens, *l.tpm, std::max<int64_t>(0, *l.tpm - s.tokens_in_window - s.reserved_tokens)});
  if (l.max_parallel)
    out.add_status({c.kind, LimitKind::parallel, *l.max_parallel, std::max<int64_t>(0, *l.max_parallel - s.in_flight)});
  if (l.max_budget) {
    const int64_t left = to_nano(*l.max_budget) - to_nano(spent) - s.reserved_nano_usd;
    out.add_status({c.kind, LimitKind::budget, to_nano(*l.max_budget), std::max<int64_t>(0, left)});
  }
  return Errc::ok;
}

// Takes back an admission of a scope when a later scope refused the request.
void undo(const LeaseHold& h, int64_t now_us) {
  auto& s = static_cast<MemoryScope&>(*h.state);
  {
    std::lock_guard lk(s.mu);
    if (s.window_minute == minute_of(now_us) && s.requests_in_window > 0) --s.requests_in_window;
  }
  s.give_back(h);
}

}  // namespace

void MemoryScope::give_back(const LeaseHold& h) noexcept {
  std::lock_guard lk(mu);
  reserved_nano_usd -= h.nano_usd;
  reserved_tokens -= h.tokens;
  if (h.slot) --in_flight;
}

void MemoryScope::settle(const LeaseHold& h, int64_t tokens, double cost_usd, int64_t now_us) noexcept {
  std::lock_guard lk(mu);
  reserved_nano_usd -= h.nano_usd;
  reserved_tokens -= h.tokens;
  if (h.slot) --in_flight;
  // Reservations outlive the minute: their tokens land in the minute they finish in.
  roll(minute_of(now_us));
  tokens_in_window += std::max<int64_t>(0, tokens);
  if (h.own_spend && cost_usd > 0) spend += cost_usd;
}

std::shared_ptr<MemoryScope> MemoryLimitStore::scope(ScopeKind kind, std::string_view id) {
  Map& m = maps_[static_cast<std::size_t>(kind) % maps_.size()];
  {
    std::shared_lock lk(mu_);
    if (auto it = m.find(id); it != m.end()) return it->second;
  }
  std::unique_lock lk(mu_);
  auto [it, added] = m.try_emplace(std::string(id));
  if (added) it->second = std::make_shared<MemoryScope>();
  return it->second;
}

void MemoryLimitStore::forget(ScopeKind kind, std::string_view id) {
  Map& m = maps_[static_cast<std::size_t>(kind) % maps_.size()];
  std::unique_lock lk(mu_);
  if (auto it = m.find(id); it != m.end()) m.erase(it);
}

std::size_t MemoryLimitStore::size() const {
  std::shared_lock lk(mu_);
  std::size_t n = 0;
  for (const auto& m : maps_) n += m.size();
  return n;
}

LimitStore::Decision MemoryLimitStore::try_admit(const AdmissionRequest& req, LimitLease& lease, AdmissionResult& out) {
  lease.release();  // a lease reused for another request gives back its old share
  out.err = Errc::ok;
  out.n_status = 0;
  out.retry_after_s = 0;
  for (std::size_t i = 0; i < req.n; ++i) {
    const LimitCheck& c = req.scopes[i];
    LeaseHold h;
    const Errc e = admit_scope(scope(c.kind, c.id), c, req, h, out);
    if (e != Errc::ok) {
      out.err = e;
      // What earlier scopes admitted is taken back: the request never ran.
      LimitLease taken = std::move(lease);
      taken.release_with([&](const LeaseHold& held) { undo(held, req.now_us); });
      return Decision::decided;
    }
    lease.add(std::move(h));
  }
  return Decision::decided;
}

}  // namespace llmgate::limits

namespace llmgate {
std::unique_ptr<LimitStore> make_memory_limit_store() { return std::make_unique<limits::MemoryLimitStore>(); }
}  // namespace llmgate
