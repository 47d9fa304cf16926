// Retention under every storage setting leaves a sound database (PRAGMA integrity_check and the
// full-text index's own check) and really deletes the old rows; a full-text index damaged by an
// earlier version is rebuilt once at startup.
#include <SQLiteCpp/Database.h>
#include <SQLiteCpp/Statement.h>
#include <gtest/gtest.h>

#include <string>
#include <thread>

#include "ledger/sqlite/schema.hpp"
#include "store_test_util.hpp"

using namespace llmgate;
using namespace llmgate::testing_store;

namespace {

constexpr int64_t kDayUs = 24LL * 3600 * 1000000;

int64_t count(const std::string& path, const std::string& sql) {
  SQLite::Database db(path, SQLite::OPEN_READONLY);
  return db.execAndGet(sql).getInt64();
}

int64_t rows(const std::string& path) { return count(path, "SELECT count(*) FROM spend_logs"); }

template <class F>
bool eventually(F f, std::chrono::milliseconds timeout = std::chrono::seconds(20)) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (f()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));  // polling another thread's work
  }
  return f();
}

// The full-text index's own check of its structure, and its row count against the rows it
// holds (what earlier versions' retention damaged).
std::string fts_check(const std::string& path) {
  SQLite::Database db(path, SQLite::OPEN_READWRITE);
  try {
    db.exec("INSERT INTO spend_logs_fts (spend_logs_fts) VALUES ('integrity-check')");
  } catch (const SQLite::Exception& e) {
    return e.what();
  }
  const int64_t counted = store::fts_row_count(db);
  const int64_t held = db.execAndGet("SELECT count(*) FROM spend_logs_fts_docsize").getInt64();
  if (counted != held) return "counts " + std::to_string(counted) + " rows, holds " + std::to_string(held);
  return "ok";
}

// Everything a pass of retention must leave behind: a sound file, an index that holds exactly
// the rows with text, no trace of the old rows, the row counter right.
void expect_sound(const std::string& path, int64_t expected_rows) {
  EXPECT_EQ(rows(path), expected_rows);
  EXPECT_EQ(count(path, "SELECT count(*) FROM spend_logs WHERE startTime < " + std::to_string(now_us() - kDayUs)), 0);
  {
    SQLite::Database db(path, SQLite::OPEN_READONLY);
    EXPECT_EQ(db.execAndGet("PRAGMA integrity_check").getString(), "ok");
  }
  EXPECT_EQ(fts_check(path), "ok");
  EXPECT_EQ(count(path, "SELECT count(*) FROM spend_logs_fts_docsize"),
            count(path,
                  "SELECT count(*) FROM spend_logs WHERE messages <> '' OR response <> ''"
                  " OR error_message <> ''"));
  EXPECT_EQ(count(path,
                  "SELECT count(*) FROM spend_logs_fts WHERE spend_logs_fts MATCH "
                  "'ancientword'"),
            0);
  EXPECT_EQ(count(path, "SELECT v FROM ledger_meta WHERE k = 'spend_logs_rows'"), expected_rows);
}

// n records that started three days ago (the retention below is one day): their text carries
// 'ancientword'. Every third one has no body and no error (nothing for the full-text index).
void submit_old(Ledger& l, int first, int n) {
  const int64_t old_start = now_us() - 3 * kDayUs;
  for (int i = first; i < first + n; ++i) {
    RequestRecord r = make_record(i, old_start + i);
    r.request_body = "ancientword request " + std::to_string(i);
    if (r.status != 200) r.error_message = "ancientword upstream refused";
    if (i % 3 == 0) {
      r.request_body.clear();
      r.response_body.clear();
      r.status = 200;
      r.error_type.clear();
      r.error_message.clear();
    }
    l.submit(std::move(r));
  }
}

void submit_new(Ledger& l, int first, int n) {
  for (int i = first; i < first + n; ++i) l.submit(make_record(i));
}

LedgerSettings with_retention(const std::string& path, bool bodies) {
  auto s = settings_for(path);
  s.store_bodies = bodies;
  s.retention_s = 24 * 3600;
  return s;
}

}  // namespace

// The default (store_prompts_in_spend_logs: false): only error messages reach the index, so most
// rows were never indexed. Retention used to fail on every pass ("database disk image is
// malformed") and delete nothing.
TEST(StoreRetention, BodiesOffDeletesOldRowsAndKeepsTheDatabaseSound) {
  TempDir dir;
  const std::string path = dir.file("l.db");
  auto l = open_ledger(with_retention(path, false));
  submit_old(*l, 0, 1500);
  submit_new(*l, 1500, 100);
  ASSERT_TRUE(l->flush_for_test(std::chrono::seconds(10)));
  ASSERT_TRUE(eventually([&] { return rows(path) == 100; })) << rows(path) << " rows left";
  EXPECT_EQ(l->stats().db_errors, 0u);
  l->shutdown();
  expect_sound(path, 100);
}

TEST(StoreRetention, BodiesOnWithSomeEmptyRowsDeletesOldRows) {
  TempDir dir;
  const std::string path = dir.file("l.db");
  auto l = open_ledger(with_retention(path, true));
  submit_old(*l, 0, 1500);
  submit_new(*l, 1500, 100);
  ASSERT_TRUE(l->flush_for_test(std::chrono::seconds(10)));
  ASSERT_TRUE(eventually([&] { return rows(path) == 100; })) << rows(path) << " rows left";
  EXPECT_EQ(l->stats().db_errors, 0u);
  l->shutdown();
  expect_sound(path, 100);
}

// Rows written with bodies, then the setting turned off (and the other way round): retention
// removes both kinds.
TEST(StoreRetention, SettingChangedBetweenRunsDeletesBothKinds) {
  TempDir dir;
  const std::string path = dir.file("l.db");
  {
    auto s = settings_for(path);
    s.store_bodies = true;  // no retention yet
    auto l = open_ledger(s);
    submit_old(*l, 0, 700);
    submit_new(*l, 700, 50);
    l->shutdown();
  }
  {
    auto l = open_ledger(with_retention(path, false));
    submit_old(*l, 750, 700);
    submit_new(*l, 1450, 50);
    ASSERT_TRUE(l->flush_for_test(std::chrono::seconds(10)));
    ASSERT_TRUE(eventually([&] { return rows(path) == 100; })) << rows(path) << " rows left";
    EXPECT_EQ(l->stats().db_errors, 0u);
    l->shutdown();
  }
  expect_sound(path, 100);
  {
    auto l = open_ledger(with_retention(path, true));
    submit_old(*l, 1500, 300);
    ASSERT_TRUE(l->flush_for_test(std::chrono::seconds(10)));
    ASSERT_TRUE(eventually([&] { return rows(path) == 100; })) << rows(path) << " rows left";
    l->shutdown();
  }
  expect_sound(path, 100);
}

// Capped bodies (cut inside multi-byte characters) and bytes that are not UTF-8: the index
// holds the stored (cut, sanitized) text, and retention removes exactly that.
TEST(StoreRetention, TruncatedAndSanitizedBodiesAreDeletedCleanly) {
  TempDir dir;
  const std::string path = dir.file("l.db");
  auto s = with_retention(path, true);
  s.max_body_log_bytes = 25;
  auto l = open_ledger(s);
  const int64_t old_start = now_us() - 3 * kDayUs;
  for (int i = 0; i < 1200; ++i) {
    RequestRecord r = make_record(i, old_start + i);
    r.request_body = "ancientword h\xc3\xa9llo w\xc3\xb6rld \xe2\x82\xac\xe2\x82\xac\xe2\x82\xac " + std::to_string(i) +
                     std::string(200, 'x');
    r.response_body = std::string("ancientword \xff\xfe broken ") + std::to_string(i);
    l->submit(std::move(r));
  }
  submit_new(*l, 1200, 100);
  ASSERT_TRUE(l->flush_for_test(std::chrono::seconds(10)));
  ASSERT_TRUE(eventually([&] { return rows(path) == 100; })) << rows(path) << " rows left";
  EXPECT_EQ(l->stats().db_errors, 0u);
  l->shutdown();
  expect_sound(path, 100);
}

TEST(StoreRetention, NewDatabaseIsMarkedChecked) {
  TempDir dir;
  const std::string path = dir.file("l.db");
  { auto l = open_ledger(settings_for(path)); }
  EXPECT_EQ(count(path, "SELECT v FROM ledger_meta WHERE k = 'fts_checked'"), 1);
}

// A database damaged by an earlier version's retention: the index's row count was lowered by
// 'delete's of rows it never held, and committed. Retention alone would fail once the count
// reaches zero; the once-per-database check at startup finds the damage and rebuilds the index.
TEST(StoreRetention, DamagedIndexIsRebuiltOnceThenRetentionWorks) {
  TempDir dir;
  const std::string path = dir.file("l.db");
  {
    auto s = settings_for(path);
    s.store_bodies = true;
    auto l = open_ledger(s);
    const int64_t old_start = now_us() - 3 * kDayUs;
    for (int i = 0; i < 300; ++i) {  // indexed
      RequestRecord r = make_record(i, old_start + i);
      r.request_body = "ancientword " + std::to_string(i);
      l->submit(std::move(r));
    }
    for (int i = 300; i < 350; ++i) {  // new and not indexed
      RequestRecord r = make_record(i);
      r.request_body.clear();
      r.response_body.clear();
      r.status = 200;
      r.error_type.clear();
      r.error_message.clear();
      l->submit(std::move(r));
    }
    l->shutdown();
  }
  {
    // What the earlier versions' retention did: 'delete's of rows the index never held (here
    // rowids with no row at all), committed; and no 'fts_checked' mark.
    SQLite::Database db(path, SQLite::OPEN_READWRITE);
    for (int id = 1000000; id < 1000005; ++id)
      db.exec(
          "INSERT INTO spend_logs_fts (spend_logs_fts, rowid, messages, response, "
          "error_message) VALUES ('delete', " +
          std::to_string(id) + ", '', '', '')");
    db.exec("DELETE FROM ledger_meta WHERE k = 'fts_checked'");
  }
  ASSERT_NE(fts_check(path), "ok");  // the damage is there
  {
    auto l = open_ledger(with_retention(path, true));
    ASSERT_TRUE(eventually([&] { return rows(path) == 50; })) << rows(path) << " rows left";
    l->shutdown();
  }
  expect_sound(path, 50);
  EXPECT_EQ(count(path, "SELECT v FROM ledger_meta WHERE k = 'fts_checked'"), 1);
}
