#pragma once
// One process per SQLite file: an exclusive flock(2) on "<database>.lock", held while anything
// in this process uses the database and released by the kernel when the process ends, SIGKILL
// included. Two gateways writing one file would each keep their own view of the key budgets
// and the ledger's counters; the second one refuses to start instead.
#include <memory>
#include <stdexcept>
#include <string>

namespace llmgate::store {

// Another process holds the database's lock. what() says which file, the holder's pid and
// what to do instead.
class DatabaseInUse : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

class DbFileLock;  // the held lock; released when the last reference goes

// Locks the SQLite file `db_path` for this process. Callers in one process share the lock of
// one file (any path spelling of it): keep the returned pointer as long as the database is
// open. Null for an in-memory database ("", ":memory:", "file::memory:..."). Throws
// DatabaseInUse when another process holds the lock. A lock file that cannot be created (a
// read-only directory) is logged and the database is used unlocked: opening the database
// reports its own error there.
std::shared_ptr<const DbFileLock> lock_database_file(const std::string& db_path);

// "<db_path>.lock".
std::string lock_file_path(const std::string& db_path);

}  // namespace llmgate::store
