// The ledger writer's connection uses a VFS that wraps SQLite's default one and yields the CPU
// between file writes (store/yielding_vfs.hpp). It must be transparent: WAL mode, shared-memory
// locking with connections on the default VFS, checkpoints and failed opens behave as without it.
#include <gtest/gtest.h>

#include <SQLiteCpp/Database.h>
#include <SQLiteCpp/Statement.h>
#include <SQLiteCpp/Transaction.h>

#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <string>
#include <thread>

#include "ledger/sqlite/yielding_vfs.hpp"

using namespace llmgate::store;

namespace {
std::string temp_db(const char* name) {
  auto dir = std::filesystem::temp_directory_path() / ("llmgate-vfs-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  auto p = dir / name;
  for (const char* sfx : {"", "-wal", "-shm"}) std::filesystem::remove(p.string() + sfx);
  return p.string();
}
}  // namespace

TEST(YieldingVfs, WalWritesCheckpointsAndReadersOnTheDefaultVfs) {
  const std::string path = temp_db("wal.db");
  SQLite::Database w(path, SQLite::OPEN_READWRITE | SQLite::OPEN_CREATE | SQLite::OPEN_NOMUTEX, 0, yielding_vfs_name());
  EXPECT_EQ(w.execAndGet("PRAGMA journal_mode=WAL").getString(), "wal");
  w.exec("CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT NOT NULL)");
  w.exec("CREATE INDEX t_v ON t(v)");
  SQLite::Database r(path, SQLite::OPEN_READONLY);  // default VFS, like the dashboard's readers
  for (int batch = 0; batch < 5; ++batch) {
    SQLite::Transaction tx(w);
    SQLite::Statement ins(w, "INSERT INTO t (v) VALUES (?)");
    for (int i = 0; i < 2000; ++i) {
      ins.bind(1, "row-" + std::to_string(batch) + "-" + std::to_string(i) + std::string(200, 'x'));
      ins.exec();
      ins.reset();
    }
    tx.commit();
    EXPECT_EQ(r.execAndGet("SELECT count(*) FROM t").getInt(), (batch + 1) * 2000);
  }
  SQLite::Statement ck(w, "PRAGMA wal_checkpoint(TRUNCATE)");
  ASSERT_TRUE(ck.executeStep());
  EXPECT_EQ(ck.getColumn(0).getInt(), 0);  // not busy
  EXPECT_EQ(r.execAndGet("SELECT count(*) FROM t WHERE v LIKE 'row-4-1999%'").getInt(), 1);
  EXPECT_EQ(w.execAndGet("PRAGMA integrity_check").getString(), "ok");
}

TEST(YieldingVfs, AFailedOpenIsAnErrorNotACrash) {
  EXPECT_THROW(SQLite::Database("/nonexistent-dir-for-llmgate/x.db", SQLite::OPEN_READWRITE | SQLite::OPEN_CREATE, 0,
                                yielding_vfs_name()),
               SQLite::Exception);
  EXPECT_STREQ(yielding_vfs_name(), "llmgate-yield");  // registered once, same name
}

TEST(YieldingVfs, YieldPointOffersTheCpuOncePerSlice) {
  // Called after every row and file operation: it yields once ~200 us have passed, not per call.
  yield_point();  // a thread's first call starts its clock
  std::this_thread::sleep_for(std::chrono::milliseconds(2));
  EXPECT_TRUE(yield_point());   // a slice has passed since this thread's last offer
  EXPECT_FALSE(yield_point());  // right after an offer: nothing
  int yielded = 0;
  const auto t0 = std::chrono::steady_clock::now();
  while (std::chrono::steady_clock::now() - t0 < std::chrono::milliseconds(20)) yielded += yield_point();
  EXPECT_GE(yielded, 1);
  EXPECT_LE(yielded, 20 / 0.2 + 1);  // at most one per 200 us
}

TEST(YieldGovernor, CoarseWhenTheCoreIsSaturatedProbesAndComesBack) {
  using llmgate::store::YieldGovernor;
  YieldGovernor g;
  EXPECT_TRUE(g.on());
  EXPECT_TRUE(g.next_batch_yields());
  g.observe(4e6, 5e6, true);  // 1 conn: wait 1.25x run
  EXPECT_TRUE(g.on());
  g.observe(4e6, 22e6, true);  // 50 conns: wait 5.5x run
  EXPECT_FALSE(g.on());
  // Coarse: batches run with ~1 ms slices, and every kProbeEvery-th one measures again.
  int probes = 0;
  for (int i = 0; i < 3 * YieldGovernor::kProbeEvery; ++i) {
    const bool y = g.next_batch_yields();
    probes += y;
    g.observe(4e6, y ? 22e6 : 4e6, y);  // still saturated
    EXPECT_FALSE(g.on());
  }
  EXPECT_EQ(probes, 3);
  // The load went: the next probe turns the fine slices back on.
  while (!g.next_batch_yields()) g.observe(4e6, 1e6, false);
  g.observe(4e6, 5e6, true);
  EXPECT_TRUE(g.on());
  // A batch too short to measure (< 1 ms on a CPU) keeps the choice.
  g.observe(0.5e6, 50e6, true);
  EXPECT_TRUE(g.on());
}

TEST(YieldGovernor, CoarseSlicesYieldLessOften) {
  using llmgate::store::set_fine_yields;
  using llmgate::store::yield_point;
  auto count_for = [](std::chrono::milliseconds d) {
    int n = 0;
    const auto until = std::chrono::steady_clock::now() + d;
    while (std::chrono::steady_clock::now() < until) n += yield_point();
    return n;
  };
  set_fine_yields(false);
  const int coarse = count_for(std::chrono::milliseconds(10));
  set_fine_yields(true);
  const int fine = count_for(std::chrono::milliseconds(10));
  EXPECT_LE(coarse, 11);  // ~1 ms slices
  EXPECT_GT(fine, coarse);
  double run = 0, wait = 0;
  ASSERT_TRUE(llmgate::store::thread_sched_times(run, wait)) << "Linux provides /proc/thread-self/schedstat";
  EXPECT_GT(run, 0);
}
