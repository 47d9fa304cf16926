// Virtual keys: the in-memory table (hot path), its persistence and the spend flusher.
// The management operations are in key_store_admin.cpp, the HTTP routes in src/admin/key_routes.cpp.
#include <spdlog/spdlog.h>

#include "llmgate/json_limits.hpp"
#include "llmgate/thread_name.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <ctime>

#include "auth/key_store_impl.hpp"

namespace llmgate {

int64_t parse_duration_seconds(std::string_view s) {
  std::size_t i = 0;
  int64_t n = 0;
  while (i < s.size() && s[i] >= '0' && s[i] <= '9') {
    if (n > 1'000'000'000) return -1;
    n = n * 10 + (s[i] - '0');
    ++i;
  }
  if (i == 0 || n <= 0) return -1;
  std::string_view unit = s.substr(i);
  if (unit == "s") return n;
  if (unit == "m") return n * 60;
  if (unit == "h") return n * 3600;
  if (unit == "d") return n * 86400;
  if (unit == "w") return n * 7 * 86400;
  if (unit == "mo") return n * 30 * 86400;
  return -1;
}

TokenEstimate estimate_request_tokens(std::size_t body_bytes, std::optional<int64_t> max_tokens, bool completion) {
  constexpr int64_t kMaxCompletion = 1'000'000'000;
  TokenEstimate e;
  e.prompt = static_cast<int64_t>((body_bytes + 3) / 4);
  if (completion)
    e.completion = max_tokens ? std::clamp<int64_t>(*max_tokens, 0, kMaxCompletion) : kDefaultReservedCompletionTokens;
  return e;
}

namespace keys_detail {

namespace {

bool is_hex64(std::string_view s) {
  if (s.size() != 64) return false;
  for (char c : s)
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  return true;
}

}  // namespace

KeyStoreImpl::KeyStoreImpl(const KeyStoreOptions& opt) : opt_(opt) {
  if (!opt_.now_us) opt_.now_us = now_unix_us;
  if (!opt_.limits) own_limits_ = make_memory_limit_store();
  limits_ = opt_.limits ? opt_.limits : own_limits_.get();
  if (opt_.flush_interval_s <= 0) opt_.flush_interval_s = 1.0;
  repo_ = opt_.repository;
  if (!repo_) throw std::runtime_error("virtual keys: no key repository (open_storage)");
  try {
    load_all();
  } catch (const std::exception& e) {
    throw std::runtime_error(std::string("virtual keys: cannot load the keys: ") + e.what());
  }
  flusher_ = std::thread([this] {
    set_thread_name("llmgate-keys");
    flusher_loop();
  });
}

KeyStoreImpl::~KeyStoreImpl() { shutdown(); }

int64_t KeyStoreImpl::now_us() const { return opt_.now_us(); }

void KeyStoreImpl::load_all() {
  std::vector<StoredKey> rows = repo_->load_all();
  std::unique_lock lk(table_mu_);
  table_.clear();
  for (auto& k : rows) {
    auto m = std::make_shared<KeyMeta>();
    auto s = std::make_shared<KeyState>();
    s->hash = std::move(k.hash);
    s->spend = k.spend;
    m->key_name = std::move(k.key_name);
    m->key_alias = std::move(k.key_alias);
    m->max_budget = k.max_budget;
    m->models = std::move(k.models);
    m->rpm_limit = k.rpm_limit;
    m->tpm_limit = k.tpm_limit;
    m->expires_us = k.expires_us;
    m->blocked = k.blocked;
    m->metadata = std::move(k.metadata);
    m->user_id = std::move(k.user_id);
    m->team_id = std::move(k.team_id);
    m->created_us = k.created_us;
    m->updated_us = k.updated_us;
    s->meta = std::move(m);
    table_.emplace(s->hash, std::move(s));
  }
}

std::shared_ptr<KeyState> KeyStoreImpl::find(const std::string& hash) const {
  std::shared_lock lk(table_mu_);
  auto it = table_.find(hash);
  return it == table_.end() ? nullptr : it->second;
}

std::string KeyStoreImpl::to_hash(std::string_view key_or_hash) {
  if (key_or_hash.empty()) return {};
  if (is_hex64(key_or_hash)) return std::string(key_or_hash);
  return hash_key(key_or_hash);
}

std::size_t KeyStoreImpl::size() const {
  std::shared_lock lk(table_mu_);
  return table_.size();
}

// ---- hot path ---------------------------------------------------------------------------------

Errc KeyStoreImpl::identify(std::string_view raw_key, std::string_view model_group, Principal& out,
                            std::string& message) {
  if (raw_key.empty()) {
    message = "Authentication Error, no API key provided";
    return Errc::unauthorized;
  }
  std::string hash = hash_key(raw_key);
  std::shared_ptr<KeyState> s;
  std::shared_ptr<const KeyMeta> m;
  {
    std::shared_lock lk(table_mu_);
    auto it = table_.find(hash);
    if (it != table_.end()) {
      s = it->second;
      m = s->meta;
    }
  }
  if (!s) {
    message = "Authentication Error, invalid API key";
    return Errc::unauthorized;
  }
  const int64_t now = now_us();
  if (m->expires_us != 0 && now >= m->expires_us) {
    message = "Authentication Error, the API key expired at " + iso8601_ms(m->expires_us);
    return Errc::unauthorized;
  }
  if (m->blocked) {
    // LiteLLM answers 401 for a blocked key (clients treat it like a revoked key).
    message = "Authentication Error, key is blocked. Update via /key/unblock if you're an admin.";
    return Errc::unauthorized;
  }
  if (!model_group.empty() && !m->models.empty()) {
    bool allowed = false;
    for (const auto& a : m->models)
      if (a == model_group || a == "all-proxy-models" || a == "*") {
        allowed = true;
        break;
      }
    if (!allowed) {
      message = "key not allowed to access model '" + std::string(model_group) + "'";
      return Errc::forbidden;
    }
  }
  out.master = false;
  out.ui_session = false;
  out.key_hash = std::move(hash);
  out.key_alias = m->key_alias;
  out.allowed_models = m->models;
  out.limits.rpm = m->rpm_limit;
  out.limits.tpm = m->tpm_limit;
  out.limits.max_parallel.reset();
  out.limits.max_budget = m->max_budget;
  out.key_spend = &s->spend;
  out.key_state = std::move(s);
  return Errc::ok;
}

Errc KeyStoreImpl::authorize(std::string_view raw_key, std::string_view model_group, const UsageEstimate& estimate,
                             Principal& out, std::string& message) {
  if (const Errc e = identify(raw_key, model_group, out, message); e != Errc::ok) return e;
  AdmissionRequest req;
  req.add(out.key_check());
  req.estimate = estimate;
  req.now_us = now_us();
  AdmissionResult res;
  // A store that cannot decide inline (a remote one) leaves the routes unlimited: only the
  // proxy path waits for it.
  if (limits_->try_admit(req, out.lease, res) == LimitStore::Decision::pending || res.err == Errc::ok) return Errc::ok;
  out.clear_identity();
  message = std::move(res.message);
  return res.err;
}

void KeyStoreImpl::record_usage(Principal& p, const RequestRecord& r) {
  const int64_t tokens = r.total_tokens > 0 ? r.total_tokens : r.prompt_tokens + r.completion_tokens;
  const double cost = r.cost_usd.value_or(0.0);
  // The key's state, also when it was deleted or replaced meanwhile (then nothing reads it).
  std::shared_ptr<KeyState> s = p.key_state;
  if (!s && !p.key_hash.empty()) s = find(p.key_hash);
  if (s && cost > 0) {
    {
      std::lock_guard lk(s->mu);
      s->spend.fetch_add(cost, std::memory_order_acq_rel);
      s->dirty = true;
    }
    any_dirty_.store(true, std::memory_order_release);
  }
  // After the spend: an admission in between counts this cost twice at worst, never not at all.
  p.lease.settle(tokens, cost, now_us());
}

// ---- spend persistence ------------------------------------------------------------------------

void KeyStoreImpl::flush() {
  std::lock_guard dblk(db_mu_);  // collect + write atomically w.r.t. other flushes and updates
  if (!repo_ || !any_dirty_.exchange(false, std::memory_order_acq_rel)) return;
  std::vector<std::pair<std::shared_ptr<KeyState>, double>> pending;
  {
    std::shared_lock lk(table_mu_);
    for (const auto& [hash, s] : table_) {
      std::lock_guard slk(s->mu);
      if (s->dirty) {
        s->dirty = false;
        pending.emplace_back(s, s->spend);
      }
    }
  }
  if (pending.empty()) return;
  try {
    std::vector<std::pair<std::string, double>> rows;
    rows.reserve(pending.size());
    for (const auto& [s, spend] : pending) rows.emplace_back(s->hash, spend);
    repo_->write_spend(rows);
  } catch (const std::exception& e) {
    spdlog::warn("virtual keys: persisting spend of {} keys failed, will retry: {}", pending.size(), e.what());
    for (const auto& [s, spend] : pending) {
      std::lock_guard slk(s->mu);
      s->dirty = true;
    }
    any_dirty_.store(true);
  }
}

void KeyStoreImpl::flusher_loop() {
  const auto interval = std::chrono::duration<double>(opt_.flush_interval_s);
  for (;;) {
    bool stop;
    {
      std::unique_lock lk(flush_mu_);
      flush_cv_.wait_for(lk, interval, [&] { return stopping_; });
      stop = stopping_;
    }
    try {
      flush();
    } catch (const std::exception& e) {
      spdlog::error("virtual keys: spend flusher: {}", e.what());
    }
    if (stop) return;
  }
}

void KeyStoreImpl::shutdown() {
  if (stopped_.exchange(true)) return;
  {
    std::lock_guard lk(flush_mu_);
    stopping_ = true;
  }
  flush_cv_.notify_all();
  if (flusher_.joinable()) flusher_.join();  // its last iteration flushed
}

}  // namespace keys_detail

std::unique_ptr<VirtualKeyStore> VirtualKeyStore::open(const KeyStoreOptions& opt) {
  return std::make_unique<keys_detail::KeyStoreImpl>(opt);
}

}  // namespace llmgate
