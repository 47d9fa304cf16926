#pragma once
// The process-wide in-memory LimitStore: one state per scope (a small mutex, held for a few
// instructions; only requests on the same scope contend), minute windows, reservations in
// integer nano-USD and tokens, in-flight counts. Decides every admission inline.
#include <array>
#include <memory>
#include <mutex>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <unordered_map>

#include "llmgate/limit_store.hpp"

namespace llmgate::limits {

class MemoryScope final : public LimitScopeState {
 public:
  void give_back(const LeaseHold& h) noexcept override;
  void settle(const LeaseHold& h, int64_t tokens, double cost_usd, int64_t now_us) noexcept override;

  std::mutex mu;
  int64_t window_minute = 0;  // unix minute of the two counters below
  int64_t requests_in_window = 0;
  int64_t tokens_in_window = 0;
  // Held by admitted requests still in flight (LimitLease), whatever the minute.
  int64_t reserved_nano_usd = 0;
  int64_t reserved_tokens = 0;
  int64_t in_flight = 0;  // parallel slots held
  double spend = 0;       // USD, for scopes whose owner keeps none (LimitCheck::spend null)

  // Starts a new minute window when `minute` is not the current one (under mu).
  void roll(int64_t minute) {
    if (window_minute != minute) {
      window_minute = minute;
      requests_in_window = 0;
      tokens_in_window = 0;
    }
  }
};

class MemoryLimitStore final : public LimitStore {
 public:
  Decision try_admit(const AdmissionRequest& req, LimitLease& lease, AdmissionResult& out) override;
  // The scope's state, created on first use. Any thread.
  std::shared_ptr<MemoryScope> scope(ScopeKind kind, std::string_view id);
  void forget(ScopeKind kind, std::string_view id) override;
  std::size_t size() const;

 private:
  struct Hash {
    using is_transparent = void;
    std::size_t operator()(std::string_view s) const noexcept { return std::hash<std::string_view>{}(s); }
  };
  using Map = std::unordered_map<std::string, std::shared_ptr<MemoryScope>, Hash, std::equal_to<>>;
  mutable std::shared_mutex mu_;
  std::array<Map, 4> maps_;  // by ScopeKind
};

}  // namespace llmgate::limits
