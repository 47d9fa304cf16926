// The SQLite storage backend: one file, one schema owner (schema.cpp), the ledger writer
// (sqlite_ledger) and the key and model repositories on their own connections.
#include "ledger/sqlite/sqlite_storage.hpp"

#include <SQLiteCpp/Exception.h>

#include <filesystem>
#include <stdexcept>

#include "ledger/sqlite/schema.hpp"
#include "ledger/sqlite/sqlite_ledger.hpp"

namespace llmgate::store {

std::shared_ptr<KeyRepository> make_sqlite_key_repository(std::shared_ptr<SqliteConnection> c);
std::shared_ptr<ModelRepository> make_sqlite_model_repository(std::shared_ptr<SqliteConnection> c);

namespace {

SQLite::Database open_file(const std::string& path, const char* what) {
  try {
    std::filesystem::path p(path);
    if (p.has_parent_path()) {
      std::error_code ec;
      std::filesystem::create_directories(p.parent_path(), ec);
    }
    SQLite::Database db(path, SQLite::OPEN_READWRITE | SQLite::OPEN_CREATE);
    db.setBusyTimeout(5000);
    db.exec("PRAGMA journal_mode=WAL");
    db.exec("PRAGMA synchronous=NORMAL");
    migrate(db);
    return db;
  } catch (const SQLite::Exception& e) {
    throw std::runtime_error(std::string(what) + ": cannot open database '" + path + "': " + e.what());
  }
}

}  // namespace

std::string sqlite_path(const LedgerSettings& s) { return resolve_database_path(s); }

SqliteConnection::SqliteConnection(const std::string& path, const char* what)
    : lock_(lock_database_file(path)), db_(open_file(path, what)) {}

std::unique_ptr<Storage> open_sqlite_storage(const LedgerSettings& s) {
  const std::string path = sqlite_path(s);
  auto st = std::make_unique<Storage>();
  st->backend = "sqlite";
  // The key connection migrates every table first, so the ledger's writer finds them current.
  auto keys_conn = std::make_shared<SqliteConnection>(path, "virtual keys");
  st->schema_version = keys_conn->db().execAndGet("PRAGMA user_version").getInt();
  st->keys = make_sqlite_key_repository(std::move(keys_conn));
  st->models = make_sqlite_model_repository(std::make_shared<SqliteConnection>(path, "runtime models"));
  LedgerSettings ls = s;
  ls.database_path = path;
  st->ledger = Ledger::open(ls);
  return st;
}

std::shared_ptr<KeyRepository> open_sqlite_keys(const LedgerSettings& s) {
  return make_sqlite_key_repository(std::make_shared<SqliteConnection>(sqlite_path(s), "virtual keys"));
}

std::shared_ptr<ModelRepository> open_sqlite_models(const LedgerSettings& s) {
  return make_sqlite_model_repository(std::make_shared<SqliteConnection>(sqlite_path(s), "runtime models"));
}

}  // namespace llmgate::store
