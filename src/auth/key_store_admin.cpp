// Virtual keys: management operations (LiteLLM /key/generate, info, list, update, delete,
// block, unblock). Reader-pool threads; each call writes the database synchronously and then
// publishes the change to the in-memory table the hot path reads.
#include <openssl/rand.h>

#include <algorithm>
#include <cmath>

#include "auth/key_store_impl.hpp"

namespace llmgate::keys_detail {

namespace {

using json = nlohmann::json;

// LiteLLM request fields we accept but whose behaviour we do not implement: refusing them is
// better than silently not enforcing a limit the caller asked for.
constexpr const char* kUnsupportedFields[] = {
    "budget_duration", "max_parallel_requests", "model_max_budget", "model_rpm_limit", "model_tpm_limit", "aliases",
    "allowed_routes",  "permissions",           "soft_budget",      "enforced_params", "guardrails",
};

std::string random_key() {
  unsigned char buf[24];
  if (RAND_bytes(buf, sizeof buf) != 1) return {};
  static constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  std::string out = "sk-";
  // base64url without padding: 24 bytes -> 32 characters.
  for (std::size_t i = 0; i < sizeof buf; i += 3) {
    uint32_t v = (uint32_t(buf[i]) << 16) | (uint32_t(buf[i + 1]) << 8) | buf[i + 2];
    out.push_back(kAlphabet[(v >> 18) & 63]);
    out.push_back(kAlphabet[(v >> 12) & 63]);
    out.push_back(kAlphabet[(v >> 6) & 63]);
    out.push_back(kAlphabet[v & 63]);
  }
  return out;
}

std::string abbreviate(const std::string& raw) {
  // LiteLLM's key_name: "sk-...", then the last 4 characters.
  return "sk-..." + (raw.size() >= 4 ? raw.substr(raw.size() - 4) : std::string());
}

json opt_json(const std::optional<double>& v) { return v ? json(*v) : json(nullptr); }
json opt_json(const std::optional<int64_t>& v) { return v ? json(*v) : json(nullptr); }
json str_or_null(const std::string& s) { return s.empty() ? json(nullptr) : json(s); }

KeyResult fail(Errc e, std::string msg) { return {e, std::move(msg), {}}; }

// Applies the request's fields to `m`. Absent fields leave `m` unchanged; a field present with
// null resets it (no alias, unlimited budget/limits, all models, never expires, no metadata).
// `spend` is set when the request carries one (update only). Returns "" or an error message.
std::string apply_fields(const json& req, KeyMeta& m, int64_t now_us, bool allow_spend, std::optional<double>& spend) {
  for (const char* f : kUnsupportedFields)
    if (auto it = req.find(f); it != req.end() && !it->is_null())
      return std::string("'") + f + "' is not supported by llmgate (see docs/management-api.md)";

  if (auto it = req.find("key_alias"); it != req.end()) {
    if (it->is_null()) m.key_alias.clear();
    else if (it->is_string() && it->get_ref<const std::string&>().size() <= 256) m.key_alias = it->get<std::string>();
    else return "'key_alias' must be a string of at most 256 characters or null";
  }
  if (auto it = req.find("max_budget"); it != req.end()) {
    if (it->is_null()) m.max_budget.reset();
    else if (it->is_number() && std::isfinite(it->get<double>()) && it->get<double>() >= 0)
      m.max_budget = it->get<double>();
    else return "'max_budget' must be a number >= 0 or null";
  }
  if (auto it = req.find("models"); it != req.end()) {
    m.models.clear();
    if (!it->is_null()) {
      if (!it->is_array()) return "'models' must be an array of model names";
      for (const auto& v : *it) {
        if (!v.is_string() || v.get_ref<const std::string&>().empty())
          return "'models' must be an array of non-empty strings";
        m.models.push_back(v.get<std::string>());
      }
    }
  }
  for (const char* f : {"rpm_limit", "tpm_limit"}) {
    auto it = req.find(f);
    if (it == req.end()) continue;
    auto& slot = std::string_view(f) == "rpm_limit" ? m.rpm_limit : m.tpm_limit;
    if (it->is_null()) slot.reset();
    else if (it->is_number_integer() && it->get<int64_t>() >= 0) slot = it->get<int64_t>();
    else return std::string("'") + f + "' must be an integer >= 0 or null";
  }
  if (auto it = req.find("duration"); it != req.end()) {
    if (it->is_null()) m.expires_us = 0;
    else if (!it->is_string()) return "'duration' must be a string like \"30d\" or null";
    else {
      const std::string& d = it->get_ref<const std::string&>();
      if (d == "-1" || d == "permanent" || d.empty()) m.expires_us = 0;
      else {
        int64_t secs = parse_duration_seconds(d);
        if (secs <= 0) return "'duration' must look like \"30s\", \"15m\", \"1h\", \"30d\", \"2w\" or \"1mo\"";
        m.expires_us = now_us + secs * 1'000'000;
      }
    }
  }
  if (auto it = req.find("blocked"); it != req.end()) {
    if (it->is_null()) m.blocked = false;
    else if (it->is_boolean()) m.blocked = it->get<bool>();
    else return "'blocked' must be a boolean";
  }
  if (auto it = req.find("metadata"); it != req.end()) {
    if (it->is_null()) m.metadata = json::object();
    else if (it->is_object()) m.metadata = *it;
    else return "'metadata' must be an object";
  }
  for (const char* f : {"user_id", "team_id"}) {
    auto it = req.find(f);
    if (it == req.end()) continue;
    std::string& slot = std::string_view(f) == "user_id" ? m.user_id : m.team_id;
    if (it->is_null()) slot.clear();
    else if (it->is_string()) slot = it->get<std::string>();
    else return std::string("'") + f + "' must be a string or null";
  }
  if (auto it = req.find("spend"); it != req.end() && !it->is_null()) {
    if (!allow_spend) return "'spend' cannot be set when generating a key";
    if (!it->is_number() || !std::isfinite(it->get<double>()) || it->get<double>() < 0)
      return "'spend' must be a number >= 0";
    spend = it->get<double>();
  }
  return {};
}

// The request's key reference: "key" (LiteLLM), or "token" as an alternative spelling.
std::string key_ref(const json& req) {
  for (const char* f : {"key", "token"})
    if (auto it = req.find(f); it != req.end() && it->is_string()) return it->get<std::string>();
  return {};
}

}  // namespace

json KeyStoreImpl::to_json(const KeyState& s, const KeyMeta& m, double spend) const {
  return json{
      {"token", s.hash},
      {"key_name", m.key_name},
      {"key_alias", str_or_null(m.key_alias)},
      {"spend", spend},
      {"max_budget", opt_json(m.max_budget)},
      {"models", m.models},
      {"rpm_limit", opt_json(m.rpm_limit)},
      {"tpm_limit", opt_json(m.tpm_limit)},
      {"expires", m.expires_us ? json(iso8601_ms(m.expires_us)) : json(nullptr)},
      {"blocked", m.blocked},
      {"metadata", m.metadata},
      {"user_id", str_or_null(m.user_id)},
      {"team_id", str_or_null(m.team_id)},
      {"created_at", iso8601_ms(m.created_us)},
      {"updated_at", iso8601_ms(m.updated_us)},
  };
}

json KeyStoreImpl::to_json(const KeyState& s) const {
  std::shared_ptr<const KeyMeta> m;
  {
    std::shared_lock lk(table_mu_);
    m = s.meta;
  }
  double spend;
  {
    std::lock_guard lk(const_cast<KeyState&>(s).mu);
    spend = s.spend;
  }
  return to_json(s, *m, spend);
}

void KeyStoreImpl::write_meta(const std::string& hash, const KeyMeta& m, double spend, bool insert) {
  StoredKey k;
  k.hash = hash;
  k.key_name = m.key_name;
  k.key_alias = m.key_alias;
  k.spend = spend;
  k.max_budget = m.max_budget;
  k.models = m.models;
  k.rpm_limit = m.rpm_limit;
  k.tpm_limit = m.tpm_limit;
  k.expires_us = m.expires_us;
  k.blocked = m.blocked;
  k.metadata = m.metadata;
  k.user_id = m.user_id;
  k.team_id = m.team_id;
  k.created_us = m.created_us;
  k.updated_us = m.updated_us;
  if (insert) repo_->insert(k);
  else repo_->update(k);
}

KeyResult KeyStoreImpl::generate(const json& req) {
  if (!req.is_object()) return fail(Errc::invalid_json, "request body must be a JSON object");
  std::string raw;
  if (auto it = req.find("key"); it != req.end() && !it->is_null()) {
    // LiteLLM lets an admin choose the key value (e.g. when migrating keys).
    if (!it->is_string()) return fail(Errc::bad_request, "'key' must be a string");
    raw = it->get<std::string>();
    bool ok = raw.size() >= 12 && raw.size() <= 256 && raw.rfind("sk-", 0) == 0;
    for (char c : raw) ok = ok && c > ' ' && c < 127;
    if (!ok) return fail(Errc::bad_request, "'key' must start with \"sk-\" and be 12 to 256 printable characters");
  } else {
    raw = random_key();
    if (raw.empty()) return fail(Errc::internal, "could not generate a random key");
  }
  const int64_t now = now_us();
  auto m = std::make_shared<KeyMeta>();
  std::optional<double> spend;
  if (std::string err = apply_fields(req, *m, now, false, spend); !err.empty()) return fail(Errc::bad_request, err);
  m->key_name = abbreviate(raw);
  m->created_us = m->updated_us = now;

  auto s = std::make_shared<KeyState>();
  s->hash = hash_key(raw);
  s->meta = m;

  std::lock_guard dblk(db_mu_);
  {
    std::shared_lock lk(table_mu_);
    if (table_.count(s->hash)) return fail(Errc::bad_request, "this key already exists");
    if (!m->key_alias.empty())
      for (const auto& [h, other] : table_)
        if (other->meta->key_alias == m->key_alias)
          return fail(Errc::bad_request, "key_alias '" + m->key_alias + "' is already in use");
  }
  try {
    write_meta(s->hash, *m, 0.0, true);
  } catch (const std::exception& e) {
    return fail(Errc::internal, std::string("could not store the key: ") + e.what());
  }
  {
    std::unique_lock lk(table_mu_);
    table_.emplace(s->hash, s);
  }
  json out = to_json(*s, *m, 0.0);
  out["key"] = raw;  // the only time the key is ever shown
  out["duration"] = req.contains("duration") ? req["duration"] : json(nullptr);
  return {Errc::ok, {}, std::move(out)};
}

KeyResult KeyStoreImpl::info(std::string_view key_or_hash) {
  const std::string hash = to_hash(key_or_hash);
  auto s = hash.empty() ? nullptr : find(hash);
  if (!s) return fail(Errc::not_found, "key not found");
  return {Errc::ok, {}, json{{"key", hash}, {"info", to_json(*s)}}};
}

KeyResult KeyStoreImpl::list(int page, int size, bool full_objects, const std::string& alias) {
  if (page < 1) return fail(Errc::bad_request, "'page' must be >= 1");
  if (size < 1 || size > 100) return fail(Errc::bad_request, "'size' must be between 1 and 100");
  std::vector<std::pair<int64_t, std::shared_ptr<KeyState>>> rows;
  {
    std::shared_lock lk(table_mu_);
    rows.reserve(table_.size());
    for (const auto& [h, s] : table_)
      if (alias.empty() || s->meta->key_alias == alias) rows.emplace_back(s->meta->created_us, s);
  }
  // Newest first; the hash breaks ties so pages are stable.
  std::sort(rows.begin(), rows.end(), [](const auto& a, const auto& b) {
    return a.first != b.first ? a.first > b.first : a.second->hash < b.second->hash;
  });
  const std::size_t total = rows.size();
  const std::size_t begin = std::min<std::size_t>(total, std::size_t(page - 1) * size);
  const std::size_t end = std::min<std::size_t>(total, begin + size);
  json keys = json::array();
  for (std::size_t i = begin; i < end; ++i)
    keys.push_back(full_objects ? to_json(*rows[i].second) : json(rows[i].second->hash));
  return {Errc::ok,
          {},
          json{{"keys", std::move(keys)},
               {"total_count", total},
               {"current_page", page},
               {"total_pages", (total + size - 1) / size}}};
}

KeyResult KeyStoreImpl::update(const json& req) {
  if (!req.is_object()) return fail(Errc::invalid_json, "request body must be a JSON object");
  const std::string hash = to_hash(key_ref(req));
  if (hash.empty()) return fail(Errc::bad_request, "'key' is required");
  std::lock_guard dblk(db_mu_);
  auto s = find(hash);
  if (!s) return fail(Errc::not_found, "key not found");
  const int64_t now = now_us();
  auto m = std::make_shared<KeyMeta>(*s->meta);  // meta only changes under db_mu_
  std::optional<double> spend;
  if (std::string err = apply_fields(req, *m, now, true, spend); !err.empty()) return fail(Errc::bad_request, err);
  m->updated_us = now;
  if (!m->key_alias.empty() && m->key_alias != s->meta->key_alias) {
    std::shared_lock lk(table_mu_);
    for (const auto& [h, other] : table_)
      if (h != hash && other->meta->key_alias == m->key_alias)
        return fail(Errc::bad_request, "key_alias '" + m->key_alias + "' is already in use");
  }
  double cur_spend;
  {
    std::lock_guard lk(s->mu);
    cur_spend = spend.value_or(s->spend);
  }
  try {
    write_meta(hash, *m, cur_spend, false);
  } catch (const std::exception& e) {
    return fail(Errc::internal, std::string("could not update the key: ") + e.what());
  }
  {
    std::unique_lock lk(table_mu_);
    s->meta = m;
  }
  if (spend) {
    std::lock_guard lk(s->mu);
    s->spend = *spend;
    s->dirty = false;  // just written
  }
  return {Errc::ok, {}, to_json(*s)};
}

KeyResult KeyStoreImpl::remove(const json& req) {
  if (!req.is_object()) return fail(Errc::invalid_json, "request body must be a JSON object");
  auto keys = req.find("keys");
  auto aliases = req.find("key_aliases");
  const bool have_keys = keys != req.end() && !keys->is_null();
  const bool have_aliases = aliases != req.end() && !aliases->is_null();
  if (!have_keys && !have_aliases)
    return fail(Errc::bad_request, "'keys' (array of keys or hashes) or 'key_aliases' is required");
  if ((have_keys && !keys->is_array()) || (have_aliases && !aliases->is_array()))
    return fail(Errc::bad_request, "'keys' and 'key_aliases' must be arrays of strings");

  std::lock_guard dblk(db_mu_);
  std::vector<std::string> hashes;
  {
    std::shared_lock lk(table_mu_);
    if (have_keys)
      for (const auto& k : *keys) {
        std::string h = k.is_string() ? to_hash(k.get<std::string>()) : std::string();
        if (h.empty() || !table_.count(h)) return fail(Errc::not_found, "key not found (nothing was deleted)");
        hashes.push_back(std::move(h));
      }
    if (have_aliases)
      for (const auto& a : *aliases) {
        bool found = false;
        if (a.is_string())
          for (const auto& [h, s] : table_)
            if (!s->meta->key_alias.empty() && s->meta->key_alias == a.get_ref<const std::string&>()) {
              hashes.push_back(h);
              found = true;
            }
        if (!found) return fail(Errc::not_found, "key_alias not found (nothing was deleted)");
      }
  }
  std::sort(hashes.begin(), hashes.end());
  hashes.erase(std::unique(hashes.begin(), hashes.end()), hashes.end());
  try {
    repo_->remove(hashes);
  } catch (const std::exception& e) {
    return fail(Errc::internal, std::string("could not delete the keys: ") + e.what());
  }
  {
    std::unique_lock lk(table_mu_);
    for (const auto& h : hashes) table_.erase(h);
  }
  for (const auto& h : hashes) limits_->forget(ScopeKind::key, h);
  return {Errc::ok, {}, json{{"deleted_keys", hashes}}};
}

KeyResult KeyStoreImpl::set_blocked(std::string_view key_or_hash, bool blocked) {
  return update(json{{"key", std::string(key_or_hash)}, {"blocked", blocked}});
}

}  // namespace llmgate::keys_detail
