// LimitLease, and the registry of limit stores.
#include "llmgate/limit_store.hpp"

#include "llmgate/config.hpp"

namespace llmgate {

std::string_view to_string(ScopeKind k) {
  switch (k) {
    case ScopeKind::key: return "key";
    case ScopeKind::deployment: return "deployment";
    case ScopeKind::team: return "team";
    case ScopeKind::user: return "user";
  }
  return "scope";
}

int64_t LimitLease::nano_usd() const {
  int64_t n = 0;
  for (std::size_t i = 0; i < n_; ++i) n += holds_[i].nano_usd;
  return n;
}

int64_t LimitLease::tokens() const {
  int64_t n = 0;
  for (std::size_t i = 0; i < n_; ++i) n += holds_[i].tokens;
  return n;
}

void LimitLease::release() noexcept {
  release_with([](const LeaseHold& h) { h.state->give_back(h); });
}

void LimitLease::settle(int64_t tokens, double cost_usd, int64_t now_us) noexcept {
  release_with([&](const LeaseHold& h) { h.state->settle(h, tokens, cost_usd, now_us); });
}

namespace {

// One line per store: the first whose `wanted` says yes serves the process. The in-memory
// store is last and always wanted.
struct LimitStoreEntry {
  const char* name;
  bool (*wanted)(const Config&);
  std::unique_ptr<LimitStore> (*make)(const Config&);
};

const LimitStoreEntry kLimitStores[] = {
    {"memory", [](const Config&) { return true; }, [](const Config&) { return make_memory_limit_store(); }},
};

}  // namespace

std::unique_ptr<LimitStore> make_limit_store(const Config& cfg) {
  for (const auto& e : kLimitStores)
    if (e.wanted(cfg)) return e.make(cfg);
  return make_memory_limit_store();
}

}  // namespace llmgate
