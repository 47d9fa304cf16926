#pragma once
// Internal to src/auth/key_store*.cpp: the in-memory key table and its persistence.
#include <atomic>
#include <condition_variable>
#include <mutex>
#include <optional>
#include <shared_mutex>
#include <thread>
#include <unordered_map>
#include <vector>

#include "llmgate/clock.hpp"
#include "llmgate/keys.hpp"
#include "llmgate/storage.hpp"

namespace llmgate::keys_detail {

// Everything about a key that changes only through the management API. Immutable once
// published: an update builds a new one and swaps the pointer under the table's unique lock.
struct KeyMeta {
  std::string key_name;              // "sk-...abcd" (LiteLLM's display abbreviation)
  std::string key_alias;             // "" = none
  std::optional<double> max_budget;  // USD; nullopt = unlimited
  std::vector<std::string> models;   // allowed aliases; empty = all
  std::optional<int64_t> rpm_limit;  // nullopt = unlimited
  std::optional<int64_t> tpm_limit;
  int64_t expires_us = 0;  // 0 = never
  bool blocked = false;
  nlohmann::json metadata = nlohmann::json::object();
  std::string user_id, team_id;  // stored and returned; not enforced
  int64_t created_us = 0;
  int64_t updated_us = 0;
};

// A key's spend. Its rate, token, parallel and budget counters are the LimitStore's
// (src/limits/); the budget reads `spend` from here at admission (LimitCheck::spend).
struct KeyState {
  std::string hash;
  std::shared_ptr<const KeyMeta> meta;  // read/written under KeyTable's mutex
  std::mutex mu;                        // spend writes and `dirty` (few instructions)
  std::atomic<double> spend{0};         // USD; read without the lock by admissions
  bool dirty = false;                   // spend changed since the last flush
};

class KeyStoreImpl final : public VirtualKeyStore {
 public:
  explicit KeyStoreImpl(const KeyStoreOptions& opt);
  ~KeyStoreImpl() override;

  using KeyStore::authorize;
  Errc identify(std::string_view raw_key, std::string_view model_group, Principal& out, std::string& message) override;
  Errc authorize(std::string_view raw_key, std::string_view model_group, const UsageEstimate& estimate, Principal& out,
                 std::string& message) override;
  void record_usage(Principal& p, const RequestRecord& r) override;

  KeyResult generate(const nlohmann::json& req) override;
  KeyResult info(std::string_view key_or_hash) override;
  KeyResult list(int page, int size, bool full_objects, const std::string& key_alias) override;
  KeyResult update(const nlohmann::json& req) override;
  KeyResult remove(const nlohmann::json& req) override;
  KeyResult set_blocked(std::string_view key_or_hash, bool blocked) override;
  void flush() override;
  void shutdown() override;
  std::size_t size() const override;

 private:
  int64_t now_us() const;
  void load_all();
  void flusher_loop();
  std::shared_ptr<KeyState> find(const std::string& hash) const;
  // Resolves a raw key or a hash to a hash ("" when the value is neither).
  static std::string to_hash(std::string_view key_or_hash);
  nlohmann::json to_json(const KeyState& s, const KeyMeta& m, double spend) const;
  nlohmann::json to_json(const KeyState& s) const;
  void write_meta(const std::string& hash, const KeyMeta& m, double spend, bool insert);

  KeyStoreOptions opt_;
  std::unique_ptr<LimitStore> own_limits_;  // when the options name none
  LimitStore* limits_ = nullptr;
  mutable std::shared_mutex table_mu_;
  std::unordered_map<std::string, std::shared_ptr<KeyState>> table_;

  std::mutex db_mu_;  // serialises repository writes: management calls and the flusher
  std::shared_ptr<KeyRepository> repo_;
  std::mutex admin_mu_;  // serialises management operations (check-then-write)

  std::mutex flush_mu_;
  std::condition_variable flush_cv_;
  bool stopping_ = false;
  std::atomic<bool> any_dirty_{false};
  std::thread flusher_;
  std::atomic<bool> stopped_{false};
};

}  // namespace llmgate::keys_detail
