// Virtual keys in SQLite (table llmgate_keys, created by schema.cpp).
#include <SQLiteCpp/Statement.h>
#include <SQLiteCpp/Transaction.h>

#include <stdexcept>

#include "ledger/sqlite/sqlite_storage.hpp"
#include "llmgate/json_limits.hpp"

namespace llmgate::store {

namespace {

using json = nlohmann::json;

StoredKey read_key(SQLite::Statement& q) {
  StoredKey k;
  k.hash = q.getColumn(0).getString();
  k.key_name = q.getColumn(1).getString();
  k.key_alias = q.getColumn(2).getString();  // NULL -> ""
  k.spend = q.getColumn(3).getDouble();
  if (!q.getColumn(4).isNull()) k.max_budget = q.getColumn(4).getDouble();
  auto models = parse_json_bounded(q.getColumn(5).getString());
  if (models.is_array())
    for (const auto& v : models)
      if (v.is_string()) k.models.push_back(v.get<std::string>());
  if (!q.getColumn(6).isNull()) k.rpm_limit = q.getColumn(6).getInt64();
  if (!q.getColumn(7).isNull()) k.tpm_limit = q.getColumn(7).getInt64();
  if (!q.getColumn(8).isNull()) k.expires_us = q.getColumn(8).getInt64();
  k.blocked = q.getColumn(9).getInt() != 0;
  auto md = parse_json_bounded(q.getColumn(10).getString());
  k.metadata = md.is_object() ? std::move(md) : json::object();
  k.user_id = q.getColumn(11).getString();
  k.team_id = q.getColumn(12).getString();
  k.created_us = q.getColumn(13).getInt64();
  k.updated_us = q.getColumn(14).getInt64();
  return k;
}

void write_key(SQLite::Database& db, const StoredKey& k, bool insert) {
  SQLite::Statement st(db, insert ? "INSERT INTO llmgate_keys (key_name, key_alias, spend, max_budget, models, "
                                    "rpm_limit, tpm_limit, expires_us, blocked, metadata, user_id, team_id, "
                                    "created_us, updated_us, token) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)"
                                  : "UPDATE llmgate_keys SET key_name=?, key_alias=?, spend=?, max_budget=?, "
                                    "models=?, rpm_limit=?, tpm_limit=?, expires_us=?, blocked=?, metadata=?, "
                                    "user_id=?, team_id=?, created_us=?, updated_us=? WHERE token=?");
  int i = 1;
  st.bind(i++, k.key_name);
  if (k.key_alias.empty()) st.bind(i++);
  else st.bind(i++, k.key_alias);
  st.bind(i++, k.spend);
  if (k.max_budget) st.bind(i++, *k.max_budget);
  else st.bind(i++);
  st.bind(i++, json(k.models).dump());
  if (k.rpm_limit) st.bind(i++, *k.rpm_limit);
  else st.bind(i++);
  if (k.tpm_limit) st.bind(i++, *k.tpm_limit);
  else st.bind(i++);
  if (k.expires_us) st.bind(i++, k.expires_us);
  else st.bind(i++);
  st.bind(i++, k.blocked ? 1 : 0);
  st.bind(i++, k.metadata.dump(-1, ' ', false, json::error_handler_t::replace));
  if (k.user_id.empty()) st.bind(i++);
  else st.bind(i++, k.user_id);
  if (k.team_id.empty()) st.bind(i++);
  else st.bind(i++, k.team_id);
  st.bind(i++, k.created_us);
  st.bind(i++, k.updated_us);
  st.bind(i++, k.hash);
  st.exec();
}

// SQLite::Exception is a std::runtime_error: callers see the interface's error type.
class SqliteKeyRepository final : public KeyRepository {
 public:
  explicit SqliteKeyRepository(std::shared_ptr<SqliteConnection> c) : c_(std::move(c)) {}

  std::vector<StoredKey> load_all() override {
    std::lock_guard lk(c_->mu);
    SQLite::Statement q(c_->db(),
                        "SELECT token, key_name, key_alias, spend, max_budget, models, rpm_limit, "
                        "tpm_limit, expires_us, blocked, metadata, user_id, team_id, created_us, "
                        "updated_us FROM llmgate_keys");
    std::vector<StoredKey> out;
    while (q.executeStep()) out.push_back(read_key(q));
    return out;
  }
  void insert(const StoredKey& k) override {
    std::lock_guard lk(c_->mu);
    write_key(c_->db(), k, true);
  }
  void update(const StoredKey& k) override {
    std::lock_guard lk(c_->mu);
    write_key(c_->db(), k, false);
  }
  void remove(const std::vector<std::string>& hashes) override {
    std::lock_guard lk(c_->mu);
    SQLite::Transaction tx(c_->db());
    SQLite::Statement del(c_->db(), "DELETE FROM llmgate_keys WHERE token = ?");
    for (const auto& h : hashes) {
      del.bind(1, h);
      del.exec();
      del.reset();
    }
    tx.commit();
  }
  void write_spend(const std::vector<std::pair<std::string, double>>& spend) override {
    std::lock_guard lk(c_->mu);
    SQLite::Transaction tx(c_->db());
    SQLite::Statement up(c_->db(), "UPDATE llmgate_keys SET spend = ? WHERE token = ?");
    for (const auto& [hash, usd] : spend) {
      up.bind(1, usd);
      up.bind(2, hash);
      up.exec();
      up.reset();
    }
    tx.commit();
  }

 private:
  std::shared_ptr<SqliteConnection> c_;
};

}  // namespace

std::shared_ptr<KeyRepository> make_sqlite_key_repository(std::shared_ptr<SqliteConnection> c) {
  return std::make_shared<SqliteKeyRepository>(std::move(c));
}

}  // namespace llmgate::store
