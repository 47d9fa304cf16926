#pragma once
// Virtual keys (LiteLLM's /key/* API): the KeyStore kept in memory over a KeyRepository
// (llmgate/storage.hpp) and its management operations.
// Implemented in src/auth/key_store*.cpp. No Asio here.
//
// Threads: authorize()/record_usage() run on worker threads (in-memory only, never block on the
// database). The management operations (generate, info, list, update, remove, set_blocked) run on
// the reader pool and write to the database synchronously. One background thread persists spend
// about once per `flush_interval_s`.
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "llmgate/auth.hpp"
#include "llmgate/error.hpp"
#include "llmgate/limit_store.hpp"

namespace llmgate {

class KeyRepository;  // llmgate/storage.hpp

struct KeyStoreOptions {
  std::shared_ptr<KeyRepository> repository;  // where keys persist (Storage::keys)
  double flush_interval_s = 1.0;              // spend is persisted at least this often while it changes
  // Clock in unix microseconds (tests inject one); default: system_clock.
  std::function<int64_t()> now_us;
  // Where authorize() checks a key's limits (the process's store, shared with the proxy; it must
  // outlive the key store). Null: the key store keeps an in-memory store of its own.
  LimitStore* limits = nullptr;
};

// Result of a management operation: `err == ok` and a JSON body ready to send, or an error and a
// message that never contains a key.
struct KeyResult {
  Errc err = Errc::ok;
  std::string message;
  nlohmann::json body;
};

class VirtualKeyStore : public KeyStore {
 public:
  // Loads every key of the repository into memory and starts the spend flusher thread. Throws
  // std::runtime_error with a clear message when the keys cannot be read.
  static std::unique_ptr<VirtualKeyStore> open(const KeyStoreOptions& opt);

  // POST /key/generate body -> {key, token, key_alias, ...}. The raw key appears only here.
  virtual KeyResult generate(const nlohmann::json& req) = 0;
  // GET /key/info: `key` is a raw key ("sk-...") or its SHA-256 hex -> {key: hash, info: {...}}.
  virtual KeyResult info(std::string_view key_or_hash) = 0;
  // GET /key/list: {keys: [hash...] | [object...], total_count, current_page, total_pages}.
  // page >= 1, 1 <= size <= 100; newest first; `key_alias` filters when non-empty.
  virtual KeyResult list(int page, int size, bool full_objects, const std::string& key_alias) = 0;
  // POST /key/update body {key, ...fields} -> the updated key object.
  virtual KeyResult update(const nlohmann::json& req) = 0;
  // POST /key/delete body {keys: [...]} or {key_aliases: [...]} -> {deleted_keys: [hash...]}.
  // All-or-nothing: an unknown key fails the whole call with not_found.
  virtual KeyResult remove(const nlohmann::json& req) = 0;
  // POST /key/block, /key/unblock body {key} -> the key object.
  virtual KeyResult set_blocked(std::string_view key_or_hash, bool blocked) = 0;

  // Writes pending spend now (blocks the caller; any thread).
  virtual void flush() = 0;
  // Final flush and stop of the flusher thread (SIGTERM path; idempotent). Also run by the
  // destructor.
  virtual void shutdown() = 0;
  // Number of keys in memory.
  virtual std::size_t size() const = 0;
};

// Parses a LiteLLM duration ("30s", "15m", "1h", "30d", "2w", "1mo") into seconds; -1 when
// malformed. "mo" is 30 days.
int64_t parse_duration_seconds(std::string_view s);

}  // namespace llmgate
