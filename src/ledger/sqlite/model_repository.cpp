// Runtime models in SQLite (table llmgate_models, created by schema.cpp).
#include <SQLiteCpp/Statement.h>

#include "ledger/sqlite/sqlite_storage.hpp"
#include "llmgate/json_limits.hpp"

namespace llmgate::store {

namespace {

using json = nlohmann::json;

StoredModel read_row(SQLite::Statement& q) {
  StoredModel m;
  m.id = q.getColumn(0).getString();
  m.model_name = q.getColumn(1).getString();
  m.body = parse_json_bounded(q.getColumn(2).getString());
  m.created_us = q.getColumn(3).getInt64();
  m.updated_us = q.getColumn(4).getInt64();
  return m;
}

class SqliteModelRepository final : public ModelRepository {
 public:
  explicit SqliteModelRepository(std::shared_ptr<SqliteConnection> c) : c_(std::move(c)) {}

  std::vector<StoredModel> all() override {
    std::lock_guard lk(c_->mu);
    SQLite::Statement q(c_->db(),
                        "SELECT id, model_name, body, created_us, updated_us "
                        "FROM llmgate_models ORDER BY created_us, id");
    std::vector<StoredModel> out;
    while (q.executeStep()) out.push_back(read_row(q));
    return out;
  }
  std::optional<StoredModel> get(const std::string& id) override {
    std::lock_guard lk(c_->mu);
    SQLite::Statement q(c_->db(),
                        "SELECT id, model_name, body, created_us, updated_us "
                        "FROM llmgate_models WHERE id = ?");
    q.bind(1, id);
    if (!q.executeStep()) return std::nullopt;
    return read_row(q);
  }
  void insert(const StoredModel& m) override {
    std::lock_guard lk(c_->mu);
    SQLite::Statement st(c_->db(),
                         "INSERT INTO llmgate_models (id, model_name, body, "
                         "created_us, updated_us) VALUES (?,?,?,?,?)");
    st.bind(1, m.id);
    st.bind(2, m.model_name);
    st.bind(3, m.body.dump(-1, ' ', false, json::error_handler_t::replace));
    st.bind(4, m.created_us);
    st.bind(5, m.updated_us);
    st.exec();
  }
  void update(const StoredModel& m) override {
    std::lock_guard lk(c_->mu);
    SQLite::Statement st(c_->db(), "UPDATE llmgate_models SET model_name=?, body=?, updated_us=? WHERE id=?");
    st.bind(1, m.model_name);
    st.bind(2, m.body.dump(-1, ' ', false, json::error_handler_t::replace));
    st.bind(3, m.updated_us);
    st.bind(4, m.id);
    st.exec();
  }
  bool remove(const std::string& id) override {
    std::lock_guard lk(c_->mu);
    SQLite::Statement st(c_->db(), "DELETE FROM llmgate_models WHERE id = ?");
    st.bind(1, id);
    return st.exec() > 0;
  }

 private:
  std::shared_ptr<SqliteConnection> c_;
};

}  // namespace

std::shared_ptr<ModelRepository> make_sqlite_model_repository(std::shared_ptr<SqliteConnection> c) {
  return std::make_shared<SqliteModelRepository>(std::move(c));
}

}  // namespace llmgate::store
