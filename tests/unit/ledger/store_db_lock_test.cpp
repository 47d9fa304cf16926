// One process per SQLite file: the lock beside the database is shared inside a process, refused
// to another one, and freed by the kernel when its holder dies.
#include <gtest/gtest.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <string>

#include "ledger/sqlite/db_lock.hpp"
#include "store_test_util.hpp"

using namespace llmgate;
using namespace llmgate::testing_store;

namespace {

// Runs f in a forked child; returns its exit code (f's result), or -1.
template <class F>
int in_child(F f) {
  const pid_t pid = ::fork();
  if (pid == 0) ::_exit(f());
  int st = 0;
  ::waitpid(pid, &st, 0);
  return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

// 0: locked, 1: DatabaseInUse with a message that says what to do, 2: anything else.
int try_lock(const std::string& path) {
  try {
    auto l = store::lock_database_file(path);
    return l ? 0 : 2;
  } catch (const store::DatabaseInUse& e) {
    const std::string m = e.what();
    return m.find(path) != std::string::npos && m.find("one gateway per SQLite file") != std::string::npos &&
                   m.find("PostgreSQL") != std::string::npos
               ? 1
               : 2;
  } catch (...) {
    return 2;
  }
}

}  // namespace

TEST(StoreDbLock, SharedInsideTheProcessRefusedToAnother) {
  TempDir dir;
  const std::string path = dir.file("sub/l.db");
  auto a = store::lock_database_file(path);
  ASSERT_TRUE(a);
  EXPECT_TRUE(std::filesystem::exists(dir.file("sub/l.db.lock")));
  // Another spelling of the same file in this process shares the lock.
  auto b = store::lock_database_file(dir.path() + "/sub/../sub/l.db");
  EXPECT_EQ(a, b);
  EXPECT_EQ(in_child([&] { return try_lock(path); }), 1);
  // Another file is another lock.
  EXPECT_EQ(in_child([&] { return try_lock(dir.file("other.db")); }), 0);
  a.reset();
  EXPECT_EQ(in_child([&] { return try_lock(path); }), 1);  // b still holds it
  b.reset();
  EXPECT_EQ(in_child([&] { return try_lock(path); }), 0);
}

TEST(StoreDbLock, InMemoryDatabasesTakeNoLock) {
  EXPECT_EQ(store::lock_database_file(":memory:"), nullptr);
  EXPECT_EQ(store::lock_database_file(""), nullptr);
  EXPECT_EQ(store::lock_database_file("file::memory:?cache=shared"), nullptr);
}

// The holder is SIGKILLed: the kernel frees the lock and the next process takes it.
TEST(StoreDbLock, HolderKilledFreesTheLock) {
  TempDir dir;
  const std::string path = dir.file("l.db");
  int ready[2];
  ASSERT_EQ(::pipe(ready), 0);
  const pid_t holder = ::fork();
  ASSERT_GE(holder, 0);
  if (holder == 0) {
    auto l = store::lock_database_file(path);
    const char c = l ? 'y' : 'n';
    (void)!::write(ready[1], &c, 1);
    for (;;) ::pause();
  }
  ::close(ready[1]);
  char c = 0;
  pollfd p{ready[0], POLLIN, 0};
  ASSERT_EQ(::poll(&p, 1, 10000), 1);
  ASSERT_EQ(::read(ready[0], &c, 1), 1);
  ::close(ready[0]);
  ASSERT_EQ(c, 'y');
  try {
    store::lock_database_file(path);
    ADD_FAILURE() << "a second process took the lock";
  } catch (const store::DatabaseInUse& e) {
    EXPECT_NE(std::string(e.what()).find("process " + std::to_string(holder)), std::string::npos) << e.what();
  }
  ::kill(holder, SIGKILL);
  int st = 0;
  ::waitpid(holder, &st, 0);
  EXPECT_TRUE(store::lock_database_file(path));
}

// The ledger takes the lock when it opens its file: a second process's ledger is a startup
// error, a second ledger in the same process (the key store's and model store's connections
// work the same way) is not.
TEST(StoreDbLock, LedgerOpenIsRefusedWhileAnotherProcessHoldsTheFile) {
  TempDir dir;
  const std::string path = dir.file("l.db");
  auto l = open_ledger(settings_for(path));
  EXPECT_NO_THROW(open_ledger(settings_for(path)));
  EXPECT_EQ(in_child([&] {
              try {
                open_ledger(settings_for(path));
                return 0;
              } catch (const std::runtime_error& e) {
                return std::string(e.what()).find("one gateway per SQLite file") != std::string::npos ? 1 : 2;
              }
            }),
            1);
  l.reset();
  EXPECT_EQ(in_child([&] {
              try {
                open_ledger(settings_for(path));
                return 0;
              } catch (...) {
                return 1;
              }
            }),
            0);
}
