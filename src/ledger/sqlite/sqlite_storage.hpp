#pragma once
// The SQLite storage backend (src/ledger/registry.cpp lists it): one database file holds the
// ledger, the virtual keys and the runtime models; schema.cpp owns all of their tables.
#include <SQLiteCpp/Database.h>

#include <memory>
#include <mutex>
#include <string>

#include "ledger/sqlite/db_lock.hpp"
#include "llmgate/storage.hpp"

namespace llmgate::store {

// The file of a database_url: "" -> "./data/llmgate.db", "sqlite:///rel", "sqlite:////abs", or a
// plain path; LedgerSettings::database_path (the config loader's resolution) wins when set.
std::string sqlite_path(const LedgerSettings& s);

// One connection to the file, serialised by a mutex, holding the process's lock of the file.
// Creates the directory and the file, and migrates the schema. Throws std::runtime_error naming
// `what` ("virtual keys", "runtime models") and the file.
class SqliteConnection {
 public:
  SqliteConnection(const std::string& path, const char* what);
  std::mutex mu;
  SQLite::Database& db() { return db_; }

 private:
  std::shared_ptr<const DbFileLock> lock_;
  SQLite::Database db_;
};

std::unique_ptr<Storage> open_sqlite_storage(const LedgerSettings& s);
std::shared_ptr<KeyRepository> open_sqlite_keys(const LedgerSettings& s);
std::shared_ptr<ModelRepository> open_sqlite_models(const LedgerSettings& s);

}  // namespace llmgate::store
