// The ledger writer: every record lands exactly once, bad bytes never lose a batch, the queue
// stays bounded, database trouble is survived, and committed batches survive SIGKILL.
#include <SQLiteCpp/Database.h>
#include <SQLiteCpp/Statement.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <fstream>
#include <thread>

#include "admin/ledger_api.hpp"
#include "ledger/sqlite/schema.hpp"
#include "ledger/text_util.hpp"
#include "store_test_util.hpp"

using namespace llmgate;
using namespace llmgate::testing_store;
using nlohmann::json;

namespace {

int64_t count_rows(const std::string& path, const std::string& where = "1") {
  SQLite::Database db(path, SQLite::OPEN_READONLY);
  return db.execAndGet("SELECT count(*) FROM spend_logs WHERE " + where).getInt64();
}

json get_log(Ledger& l, const std::string& id) { return admin::ledger_query(l, "log", {{"request_id", id}}); }

// Polls a condition that another thread makes true (bounded; not a sleep-as-synchronisation).
template <class F>
bool eventually(F f, std::chrono::milliseconds timeout = std::chrono::seconds(10)) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (f()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return f();
}

}  // namespace

TEST(StoreLedger, OneRecordRoundTripsEveryField) {
  TempDir dir;
  auto l = open_ledger(settings_for(dir.file("l.db")));
  RequestRecord r = make_record(1);
  r.cached_tokens = 3;
  r.reasoning_tokens = 4;
  r.tokens_estimated = true;
  r.retries = 2;
  r.fallback_from = "gpt-4o-old";
  r.request_truncated = true;
  r.cost_usd = 0.00125;
  const RequestRecord copy = r;
  l->submit(std::move(r));
  ASSERT_TRUE(l->flush_for_test(std::chrono::seconds(10)));
  json j = get_log(*l, copy.request_id);
  ASSERT_TRUE(j.is_object()) << j;
  EXPECT_EQ(j["request_id"], copy.request_id);
  EXPECT_EQ(j["endpoint"], copy.endpoint);
  EXPECT_DOUBLE_EQ(j["start_time"].get<double>(), copy.start_us / 1e6);
  EXPECT_DOUBLE_EQ(j["first_byte_time"].get<double>(), copy.first_byte_us / 1e6);
  EXPECT_DOUBLE_EQ(j["end_time"].get<double>(), copy.end_us / 1e6);
  EXPECT_DOUBLE_EQ(j["latency_ms"].get<double>(), (copy.end_us - copy.start_us) / 1e3);
  EXPECT_DOUBLE_EQ(j["ttft_ms"].get<double>(), copy.ttft_us / 1e3);
  EXPECT_DOUBLE_EQ(j["upstream_ms"].get<double>(), copy.upstream_us / 1e3);
  EXPECT_DOUBLE_EQ(j["overhead_ms"].get<double>(), copy.overhead_us / 1e3);
  EXPECT_EQ(j["model"], copy.model);
  EXPECT_EQ(j["model_group"], copy.model_group);
  EXPECT_EQ(j["deployment_id"], copy.deployment_id);
  EXPECT_EQ(j["provider"], copy.provider);
  EXPECT_EQ(j["upstream_model"], copy.upstream_model);
  EXPECT_EQ(j["api_base"], copy.api_base);
  EXPECT_EQ(j["key_hash"], copy.key_hash);
  EXPECT_EQ(j["key_alias"], copy.key_alias);
  EXPECT_EQ(j["user"], copy.user);
  EXPECT_EQ(j["client_ip"], copy.client_ip);
  EXPECT_EQ(j["status"], copy.status);
  EXPECT_EQ(j["error_type"], copy.error_type);
  EXPECT_EQ(j["error_message"], copy.error_message);
  EXPECT_EQ(j["prompt_tokens"], copy.prompt_tokens);
  EXPECT_EQ(j["completion_tokens"], copy.completion_tokens);
  EXPECT_EQ(j["total_tokens"], copy.total_tokens);
  EXPECT_EQ(j["cached_tokens"], 3);
  EXPECT_EQ(j["reasoning_tokens"], 4);
  EXPECT_EQ(j["tokens_estimated"], true);
  EXPECT_DOUBLE_EQ(j["cost"].get<double>(), 0.00125);
  EXPECT_EQ(j["stream"], copy.stream);
  EXPECT_EQ(j["cache_hit"], copy.cache_hit);
  EXPECT_EQ(j["retries"], 2);
  EXPECT_EQ(j["fallback_from"], "gpt-4o-old");
  EXPECT_EQ(j["request_body"], copy.request_body);
  EXPECT_EQ(j["response_body"], copy.response_body);
  EXPECT_EQ(j["request_truncated"], true);
  EXPECT_EQ(j["response_truncated"], false);
  EXPECT_TRUE(get_log(*l, "no-such-id").is_null());
  EXPECT_EQ(l->stats().written, 1u);
}

TEST(StoreLedger, UnknownCostIsNullNotZero) {
  TempDir dir;
  auto l = open_ledger(settings_for(dir.file("l.db")));
  RequestRecord r = make_record(3);  // i % 4 == 3 -> unknown price
  ASSERT_FALSE(r.cost_usd);
  l->submit(std::move(r));
  ASSERT_TRUE(l->flush_for_test(std::chrono::seconds(10)));
  EXPECT_TRUE(get_log(*l, "req-3")["cost"].is_null());
  auto rows = admin::ledger_query(*l, "logs", {});
  ASSERT_EQ(rows["data"].size(), 1u);
  EXPECT_TRUE(rows["data"][0]["cost"].is_null());
}

TEST(StoreLedger, BadBytesInBodiesNeverLoseTheBatch) {
  TempDir dir;
  auto s = settings_for(dir.file("l.db"));
  s.batch_write_at_s = 30;  // both records go into one batch (flushed by flush_for_test)
  auto l = open_ledger(s);
  RequestRecord bad = make_record(1);
  bad.request_id = "bad";
  bad.request_body = std::string("{\"content\":\"nul\0here \xff\xfe cesu \xed\xa0\x80 lone \\ud800\"}", 53);
  bad.response_body = std::string("\x80\x80 trailing \xe2\x82", 14);
  bad.error_message = std::string("err\0or", 6);
  bad.user = "\xc3\x28";
  RequestRecord good = make_record(2);
  good.request_id = "good";
  l->submit(std::move(bad));
  l->submit(std::move(good));
  ASSERT_TRUE(l->flush_for_test(std::chrono::seconds(10)));
  EXPECT_EQ(l->stats().written, 2u);
  json jb = get_log(*l, "bad");
  json jg = get_log(*l, "good");
  ASSERT_TRUE(jb.is_object());
  ASSERT_TRUE(jg.is_object());
  const std::string body = jb["request_body"];
  EXPECT_NE(body.find("nul\\x00here"), std::string::npos) << body;
  EXPECT_NE(body.find("\\xff\\xfe"), std::string::npos) << body;
  EXPECT_NE(body.find("cesu \\xed\\xa0\\x80"), std::string::npos) << body;
  EXPECT_NE(body.find("lone \\ud800"), std::string::npos) << body;  // JSON escape kept as text
  EXPECT_EQ(jb["response_body"], "\\x80\\x80 trailing \\xe2\\x82");
  EXPECT_EQ(jb["error_message"], "err\\x00or");
  EXPECT_EQ(jb["user"], "\\xc3(");
  EXPECT_NO_THROW((void)jb.dump());  // valid UTF-8 all the way to the API
  // Full-text search still works on the sanitised text.
  auto hits = admin::ledger_query(*l, "logs", {{"q", "cesu"}});
  ASSERT_EQ(hits["data"].size(), 1u);
  EXPECT_EQ(hits["data"][0]["request_id"], "bad");
}

TEST(StoreLedger, BodiesAreCappedAndFlagged) {
  TempDir dir;
  auto s = settings_for(dir.file("l.db"));
  s.max_body_log_bytes = 10;
  auto l = open_ledger(s);
  RequestRecord r = make_record(1);
  r.request_body = "\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9";  // 12 bytes of 2-byte chars
  r.response_body = "short";
  l->submit(std::move(r));
  ASSERT_TRUE(l->flush_for_test(std::chrono::seconds(10)));
  json j = get_log(*l, "req-1");
  EXPECT_EQ(j["request_body"], "\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9");  // cut on a boundary
  EXPECT_EQ(j["request_truncated"], true);
  EXPECT_EQ(j["response_truncated"], false);
}

TEST(StoreLedger, BodyLoggingOffStoresNoBodies) {
  TempDir dir;
  auto s = settings_for(dir.file("l.db"));
  s.store_bodies = false;
  auto l = open_ledger(s);
  l->submit(make_record(1));
  ASSERT_TRUE(l->flush_for_test(std::chrono::seconds(10)));
  json j = get_log(*l, "req-1");
  EXPECT_EQ(j["request_body"], "");
  EXPECT_EQ(j["response_body"], "");
  EXPECT_EQ(j["prompt_tokens"], make_record(1).prompt_tokens);
}

TEST(StoreLedger, QueueOverflowDropsAndCountsWithoutBlocking) {
  TempDir dir;
  auto s = settings_for(dir.file("l.db"));
  s.queue_max_records = 10;
  s.batch_max_records = 1000;  // the writer only wakes on its timer...
  s.batch_write_at_s = 600;    // ...which does not fire during this test
  auto l = open_ledger(s);
  const auto t0 = std::chrono::steady_clock::now();
  for (int i = 0; i < 5000; ++i) l->submit(make_record(i));
  const auto spent = std::chrono::steady_clock::now() - t0;
  LedgerStats st = l->stats();
  EXPECT_EQ(st.queued, 10u);
  EXPECT_EQ(st.dropped, 4990u);
  EXPECT_LT(spent, std::chrono::seconds(2));  // generous; typically a few ms
  // shutdown() flushes what was queued.
  l->shutdown();
  EXPECT_EQ(count_rows(dir.file("l.db")), 10);
  EXPECT_EQ(l->stats().written, 10u);
  // After shutdown, submit neither blocks nor crashes: it drops.
  l->submit(make_record(99999));
  EXPECT_EQ(l->stats().dropped, 4991u);
}

TEST(StoreLedger, QueueIsBoundedByBytesToo) {
  TempDir dir;
  auto s = settings_for(dir.file("l.db"));
  s.queue_max_bytes = 64 * 1024;
  s.batch_max_records = 1000;
  s.batch_write_at_s = 600;
  auto l = open_ledger(s);
  for (int i = 0; i < 100; ++i) {
    RequestRecord r = make_record(i);
    r.request_body.assign(8 * 1024, 'x');
    l->submit(std::move(r));
  }
  LedgerStats st = l->stats();
  EXPECT_LE(st.queued_bytes, 64u * 1024);
  EXPECT_GT(st.dropped, 80u);
  EXPECT_EQ(st.queued + st.dropped, 100u);
}

TEST(StoreLedger, ShutdownFlushesEverythingQueued) {
  TempDir dir;
  auto s = settings_for(dir.file("l.db"));
  s.batch_write_at_s = 600;
  s.batch_max_records = 100000;
  auto l = open_ledger(s);
  for (int i = 0; i < 2500; ++i) l->submit(make_record(i));
  l->shutdown();
  EXPECT_EQ(count_rows(dir.file("l.db")), 2500);
  EXPECT_EQ(l->stats().queued, 0u);
}

TEST(StoreLedger, DatabaseLockedForSecondsThenResumesWithoutLoss) {
  TempDir dir;
  auto l = open_ledger(settings_for(dir.file("l.db")));
  SQLite::Database other(dir.file("l.db"), SQLite::OPEN_READWRITE);
  other.exec("BEGIN IMMEDIATE");  // holds the write lock
  for (int i = 0; i < 300; ++i) l->submit(make_record(i));
  // The writer fails (busy) at least twice (~1 s busy_timeout each) while we hold the lock.
  ASSERT_TRUE(eventually([&] { return l->stats().db_errors >= 2; }));
  EXPECT_EQ(l->stats().written, 0u);
  EXPECT_EQ(l->stats().queued, 300u);
  for (int i = 300; i < 400; ++i) l->submit(make_record(i));  // still accepted meanwhile
  other.exec("ROLLBACK");
  ASSERT_TRUE(l->flush_for_test(std::chrono::seconds(20)));
  EXPECT_EQ(l->stats().written, 400u);
  EXPECT_EQ(count_rows(dir.file("l.db")), 400);
  EXPECT_EQ(l->stats().dropped, 0u);
}

// A full disk, simulated with the process's file-size limit (RLIMIT_FSIZE: a write past it
// fails with EFBIG, as one fails with ENOSPC on a full disk, once SIGXFSZ is ignored). The
// writer counts the failures, keeps the records queued, and writes them all once space is back.
TEST(StoreLedger, DiskFullThenSpaceFreedResumesWithoutLoss) {
  TempDir dir;
  auto l = open_ledger(settings_for(dir.file("l.db")));
  for (int i = 0; i < 50; ++i) l->submit(make_record(i));
  ASSERT_TRUE(l->flush_for_test(std::chrono::seconds(10)));
  auto file_size = [&](const std::string& name) {
    struct stat st {};
    return ::stat(dir.file(name).c_str(), &st) == 0 ? static_cast<rlim_t>(st.st_size) : rlim_t{0};
  };
  const rlim_t limit = std::max(file_size("l.db"), file_size("l.db-wal")) + 1024;

  struct sigaction ignore {
  }, old_action{};
  ignore.sa_handler = SIG_IGN;
  ASSERT_EQ(::sigaction(SIGXFSZ, &ignore, &old_action), 0);
  struct rlimit old_limit {};
  ASSERT_EQ(::getrlimit(RLIMIT_FSIZE, &old_limit), 0);
  struct rlimit full = old_limit;
  full.rlim_cur = limit;
  ASSERT_EQ(::setrlimit(RLIMIT_FSIZE, &full), 0);

  for (int i = 50; i < 1050; ++i) l->submit(make_record(i));
  const bool failed = eventually([&] { return l->stats().db_errors >= 2; });
  const auto written_while_full = l->stats().written;

  ASSERT_EQ(::setrlimit(RLIMIT_FSIZE, &old_limit), 0);  // space is back
  ASSERT_EQ(::sigaction(SIGXFSZ, &old_action, nullptr), 0);
  ASSERT_TRUE(failed) << "the writer never hit the limit";
  EXPECT_EQ(written_while_full, 50u);
  ASSERT_TRUE(l->flush_for_test(std::chrono::seconds(30)));
  EXPECT_EQ(l->stats().written, 1050u);
  EXPECT_EQ(l->stats().dropped, 0u);
  l->shutdown();
  EXPECT_EQ(count_rows(dir.file("l.db")), 1050);
  SQLite::Database db(dir.file("l.db"), SQLite::OPEN_READONLY);
  EXPECT_EQ(db.execAndGet("PRAGMA integrity_check").getString(), "ok");
}

TEST(StoreLedger, UnwritablePathShowsErrorsAndNeverCrashes) {
  TempDir dir;
  {
    std::ofstream f(dir.file("not-a-dir"));
    f << "x";
  }
  auto s = settings_for(dir.file("not-a-dir") + "/ledger.db");  // parent is a regular file
  std::unique_ptr<store::SqliteLedger> l;
  ASSERT_NO_THROW(l = open_ledger(s));
  for (int i = 0; i < 20; ++i) l->submit(make_record(i));
  ASSERT_TRUE(eventually([&] { return l->stats().db_errors >= 2; }));
  EXPECT_EQ(l->stats().written, 0u);
  EXPECT_THROW(admin::ledger_query(*l, "logs", {}), std::runtime_error);
  l->shutdown();  // gives up after a bounded time and counts the loss
  EXPECT_EQ(l->stats().dropped, 20u);
}

TEST(StoreLedger, PostgresUrlIsAClearStartupError) {
  LedgerSettings s;
  s.database_url = "postgresql://user:pw@db/litellm";
  try {
    Ledger::open(s);
    FAIL() << "expected an error";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("postgresql"), std::string::npos);
    EXPECT_EQ(std::string(e.what()).find("pw"), std::string::npos);
  }
}

TEST(StoreLedger, DatabaseUrlForms) {
  LedgerSettings s;
  s.database_url = "sqlite:////app/data/litellm.db";
  EXPECT_EQ(store::resolve_database_path(s), "/app/data/litellm.db");
  s.database_url = "sqlite:///data/x.db";
  EXPECT_EQ(store::resolve_database_path(s), "data/x.db");
  s.database_url = "";
  EXPECT_EQ(store::resolve_database_path(s), "./data/llmgate.db");
}

TEST(StoreLedger, SigkillAfterCommitKeepsEveryCommittedRow) {
  TempDir dir;
  const std::string path = dir.file("l.db");
  int pipefd[2];
  ASSERT_EQ(::pipe(pipefd), 0);
  pid_t pid = ::fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    ::close(pipefd[0]);
    auto s = settings_for(path);
    s.batch_max_records = 100;  // several batches
    auto l = open_ledger(s);
    for (int i = 0; i < 750; ++i) l->submit(make_record(i));
    bool ok = l->flush_for_test(std::chrono::seconds(20));
    // Keep writing while the parent kills us: those records may or may not be committed.
    char c = ok ? 'y' : 'n';
    (void)!::write(pipefd[1], &c, 1);
    for (int i = 750;; ++i) {
      l->submit(make_record(i));
      if (i % 50 == 0) std::this_thread::yield();
    }
    ::_exit(0);
  }
  ::close(pipefd[1]);
  char c = 0;
  pollfd pfd{pipefd[0], POLLIN, 0};
  if (::poll(&pfd, 1, 60000) != 1) {  // bounded: never hang the suite on a stuck child
    ::kill(pid, SIGKILL);
    ::waitpid(pid, nullptr, 0);
    FAIL() << "child did not report within 60 s";
  }
  ASSERT_EQ(::read(pipefd[0], &c, 1), 1);
  ::close(pipefd[0]);
  ::kill(pid, SIGKILL);
  int status = 0;
  ::waitpid(pid, &status, 0);
  ASSERT_EQ(c, 'y');
  ASSERT_TRUE(WIFSIGNALED(status));
  {
    SQLite::Database db(path, SQLite::OPEN_READWRITE);
    EXPECT_EQ(db.execAndGet("PRAGMA integrity_check").getString(), "ok");
    const int64_t n = db.execAndGet("SELECT count(*) FROM spend_logs").getInt64();
    EXPECT_GE(n, 750);
    EXPECT_EQ(db.execAndGet("SELECT count(DISTINCT request_id) FROM spend_logs").getInt64(), n);
    // Every record acknowledged before the kill is there.
    EXPECT_EQ(db.execAndGet("SELECT count(*) FROM spend_logs WHERE CAST(substr(request_id, 5) AS "
                            "INTEGER) < 750")
                  .getInt64(),
              750);
    // Rollups were committed in the same transactions as the rows.
    EXPECT_EQ(db.execAndGet("SELECT sum(requests) FROM usage_daily").getInt64(), n);
    EXPECT_EQ(db.execAndGet("SELECT sum(requests) FROM usage_hourly_key").getInt64(), n);
    EXPECT_EQ(db.execAndGet("SELECT v FROM ledger_meta WHERE k='spend_logs_rows'").getInt64(), n);
  }
  // The gateway restarts on the same file and keeps logging.
  auto l = open_ledger(settings_for(path));
  l->submit(make_record(1000000));
  ASSERT_TRUE(l->flush_for_test(std::chrono::seconds(10)));
  EXPECT_FALSE(get_log(*l, "req-1000000").is_null());
}

TEST(StoreLedger, DuplicateRequestIdKeepsTheFirst) {
  TempDir dir;
  auto l = open_ledger(settings_for(dir.file("l.db")));
  l->submit(make_record(1));
  RequestRecord again = make_record(1);
  again.user = "someone-else";
  l->submit(std::move(again));
  l->submit(make_record(2));
  ASSERT_TRUE(l->flush_for_test(std::chrono::seconds(10)));
  EXPECT_EQ(count_rows(dir.file("l.db")), 2);
  EXPECT_EQ(get_log(*l, "req-1")["user"], make_record(1).user);
}

// Without bodies most records go in 16 per INSERT; a record with an error message goes in on its
// own (its full-text row needs the rowid). A 16-record statement skips a duplicate request_id
// (INSERT OR IGNORE), and the writer finds which records it wrote by their ids. Every record must
// land as if written alone. Here the records without an error message are grouped 0-16 (minus
// 9), 17-34, 35-52 (with 45, 50, 51), 53-70 (60 takes 62's id, 70 repeats 65's: both skipped
// ones come after the row they collide with) and 71-88 (80 repeats a row of the first group).
TEST(StoreLedger, MultiRowInsertsKeepEveryFieldAndFallBackOneByOne) {
  TempDir dir;
  auto s = settings_for(dir.file("l.db"));
  s.batch_write_at_s = 30;  // one batch, flushed by flush_for_test
  s.store_bodies = false;
  auto l = open_ledger(s);
  std::vector<RequestRecord> sent;
  for (int i = 0; i < 100; ++i) {
    RequestRecord r = make_record(i);
    if (i == 60) r.request_id = "req-62";  // written; 62 then is the duplicate
    if (i == 70) r.request_id = "req-65";  // duplicates within one statement
    if (i == 80) r.request_id = "req-3";   // duplicate of an earlier statement's row
    if (i == 50) r.user = "\xc3\x28";      // invalid UTF-8 bound as its sanitised copy
    if (i == 51) r.user = "\xff-51";       // (two in one statement: two copies)
    if (i == 45) r.client_request_id = "client-45";
    sent.push_back(r);
    l->submit(std::move(r));
  }
  ASSERT_TRUE(l->flush_for_test(std::chrono::seconds(10)));
  auto skipped = [](int i) { return i == 62 || i == 70 || i == 80; };
  EXPECT_EQ(l->stats().written, 97u);
  EXPECT_EQ(count_rows(dir.file("l.db")), 97);
  for (int i = 0; i < 100; ++i) {
    if (skipped(i)) continue;
    const RequestRecord& r = sent[static_cast<std::size_t>(i)];
    json j = get_log(*l, r.request_id);
    ASSERT_TRUE(j.is_object()) << r.request_id;
    EXPECT_EQ(j["user"], i == 50 ? "\\xc3(" : i == 51 ? "\\xff-51" : r.user) << i;
    EXPECT_EQ(j["model"], r.model) << i;
    EXPECT_EQ(j["key_alias"], r.key_alias) << i;
    EXPECT_EQ(j["status"], r.status) << i;
    EXPECT_EQ(j["error_message"], r.error_message) << i;
    EXPECT_EQ(j["prompt_tokens"], r.prompt_tokens) << i;
    EXPECT_DOUBLE_EQ(j["end_time"].get<double>(), r.end_us / 1e6) << i;
    if (r.cost_usd) EXPECT_DOUBLE_EQ(j["cost"].get<double>(), *r.cost_usd) << i;
    else EXPECT_TRUE(j["cost"].is_null()) << i;
    EXPECT_EQ(j["request_body"], "") << i;
  }
  SQLite::Database db(dir.file("l.db"), SQLite::OPEN_READONLY);
  EXPECT_EQ(db.execAndGet("SELECT metadata FROM spend_logs WHERE request_id = 'req-45'").getString(),
            R"({"client_request_id":"client-45"})");
  // The full-text index has the error rows (i % 10 == 9), each pointing at its own row.
  EXPECT_EQ(db.execAndGet("SELECT count(*) FROM spend_logs_fts WHERE spend_logs_fts MATCH 'refused'").getInt64(), 10);
  EXPECT_EQ(db.execAndGet("SELECT count(*) FROM spend_logs WHERE status_code = 502 AND id IN (SELECT "
                          "rowid FROM spend_logs_fts WHERE spend_logs_fts MATCH 'refused')")
                .getInt64(),
            10);
  // Rollups count each written record once.
  auto sum = admin::ledger_query(*l, "summary", {{"start", std::to_string(sent[0].start_us / 1000000 - 10)}});
  EXPECT_EQ(sum["totals"]["requests"], 97);
  int64_t prompt = 0;
  for (int i = 0; i < 100; ++i)
    if (!skipped(i)) prompt += sent[static_cast<std::size_t>(i)].prompt_tokens;
  EXPECT_EQ(sum["totals"]["prompt_tokens"], prompt);
  // The rollup tables agree with the rows, model by model and key by key.
  for (auto [t, col, row_col] : {std::array<const char*, 3>{"usage_hourly_model", "model_group", "model_group"},
                                 {"usage_daily_model", "model_group", "model_group"},
                                 {"usage_hourly_key", "key_hash", "api_key"},
                                 {"usage_daily_key", "key_hash", "api_key"}}) {
    const std::string q = std::string("SELECT count(*) FROM (SELECT ") + col +
                          ", sum(requests), sum(prompt_tokens), sum(completion_tokens) FROM " + t +
                          " GROUP BY 1 EXCEPT SELECT " + row_col +
                          ", count(*), sum(prompt_tokens), sum(completion_tokens) FROM spend_logs GROUP BY 1)";
    EXPECT_EQ(db.execAndGet(q).getInt64(), 0) << t;
  }
  EXPECT_EQ(db.execAndGet("PRAGMA integrity_check").getString(), "ok");
}

// Records with bodies go in 16 to a statement too; each full-text row belongs to its own
// record, also where a duplicate sends a statement's records one by one. A key's rollup bucket
// takes the alias of the batch's last record for that key, across hours.
TEST(StoreLedger, BodiesGoInManyToAStatementWithTheirOwnTextRows) {
  TempDir dir;
  auto s = settings_for(dir.file("l.db"));
  s.batch_write_at_s = 30;  // one batch, flushed by flush_for_test
  auto l = open_ledger(s);
  const int64_t day = now_us() / 86400000000LL * 86400000000LL - 86400000000LL;  // yesterday
  for (int i = 0; i < 100; ++i) {
    RequestRecord r = make_record(i, day + (i < 50 ? 3600 : 7200) * 1000000LL + i);
    if (i == 40) r.request_id = "req-35";  // a duplicate inside a statement
    if (i % 10 == 3) r.request_body.clear(), r.response_body.clear();
    r.key_hash = "abcdef0123456789";
    r.key_alias = i == 99 ? "" : i >= 60 ? "renamed" : "first";
    l->submit(std::move(r));
  }
  ASSERT_TRUE(l->flush_for_test(std::chrono::seconds(10)));
  EXPECT_EQ(l->stats().written, 99u);
  SQLite::Database db(dir.file("l.db"), SQLite::OPEN_READWRITE);
  for (int i = 0; i < 100; ++i) {
    if (i == 40) continue;
    SQLite::Statement st(db,
                         "SELECT l.request_id FROM spend_logs_fts f JOIN spend_logs l"
                         " ON l.id = f.rowid WHERE spend_logs_fts MATCH ?");
    st.bind(1, "\"" + std::to_string(i) + "\"");
    const bool has_body = i % 10 != 3;
    ASSERT_EQ(st.executeStep(), has_body) << i;
    if (has_body) {
      EXPECT_EQ(st.getColumn(0).getString(), "req-" + std::to_string(i));
      EXPECT_FALSE(st.executeStep()) << i;
    }
  }
  // Rows with text: with a body, or an error message (i % 10 == 9 has both).
  EXPECT_EQ(db.execAndGet("SELECT count(*) FROM spend_logs_fts_docsize").getInt64(), 89);
  EXPECT_EQ(store::fts_row_count(db), 89);
  EXPECT_NO_THROW(db.exec("INSERT INTO spend_logs_fts (spend_logs_fts) VALUES ('integrity-check')"));
  for (const char* t : {"usage_hourly_key", "usage_daily_key", "usage_daily"})
    EXPECT_EQ(db.execAndGet(std::string("SELECT group_concat(a) FROM (SELECT DISTINCT key_alias a, t FROM ") + t +
                            " ORDER BY t)")
                  .getString(),
              std::string(t) == "usage_hourly_key" ? "first,renamed" : "renamed")
        << t;
  EXPECT_EQ(db.execAndGet("SELECT count(*) FROM usage_daily_model WHERE key_alias <> ''").getInt(), 0);
}

TEST(StoreLedger, RetentionDeletesOldRowsAndKeepsRollups) {
  TempDir dir;
  auto s = settings_for(dir.file("l.db"));
  s.retention_s = 24 * 3600;
  auto l = open_ledger(s);
  const int64_t old_start = now_us() - 3LL * 24 * 3600 * 1000000;
  for (int i = 0; i < 1500; ++i) {
    RequestRecord r = make_record(i, old_start + i);
    r.request_body = "ancientword";
    l->submit(std::move(r));
  }
  for (int i = 1500; i < 1600; ++i) l->submit(make_record(i));
  ASSERT_TRUE(l->flush_for_test(std::chrono::seconds(10)));
  ASSERT_TRUE(eventually([&] { return count_rows(dir.file("l.db")) == 100; }, std::chrono::seconds(20)));
  auto stats = admin::ledger_query(*l, "stats", {});
  EXPECT_EQ(stats["rows"]["spend_logs"], 100);
  // Rollups keep the history.
  auto sum = admin::ledger_query(*l, "summary", {{"start", std::to_string(old_start / 1000000 - 10)}});
  EXPECT_EQ(sum["totals"]["requests"], 1600);
  // The full-text index forgot the deleted rows.
  SQLite::Database db(dir.file("l.db"), SQLite::OPEN_READONLY);
  EXPECT_EQ(db.execAndGet("SELECT count(*) FROM spend_logs_fts WHERE spend_logs_fts MATCH "
                          "'ancientword'")
                .getInt64(),
            0);
  EXPECT_EQ(db.execAndGet("PRAGMA integrity_check").getString(), "ok");
}

TEST(StoreLedger, SchemaIsVersionedAndReopenIsIdempotent) {
  TempDir dir;
  { auto l = open_ledger(settings_for(dir.file("l.db"))); }
  { auto l = open_ledger(settings_for(dir.file("l.db"))); }
  SQLite::Database db(dir.file("l.db"), SQLite::OPEN_READONLY);
  EXPECT_EQ(db.execAndGet("PRAGMA user_version").getInt(), store::kSchemaVersion);
  EXPECT_EQ(db.execAndGet("PRAGMA journal_mode").getString(), "wal");
  EXPECT_EQ(db.execAndGet("PRAGMA page_size").getInt(), 16384);  // a new database's
}

// A version 1 database (six indexes on spend_logs) is migrated in place: the per-model, error,
// user and plain time indexes go, spend_logs_start comes, the rows stay readable.
TEST(StoreLedger, VersionOneDatabaseIsMigrated) {
  TempDir dir;
  {
    auto l = open_ledger(settings_for(dir.file("l.db")));
    for (int i = 0; i < 30; ++i) l->submit(make_record(i));
    ASSERT_TRUE(l->flush_for_test(std::chrono::seconds(10)));
  }
  {
    SQLite::Database db(dir.file("l.db"), SQLite::OPEN_READWRITE);
    db.exec("DROP INDEX spend_logs_start");
    db.exec("CREATE INDEX spend_logs_time ON spend_logs(startTime)");
    db.exec("CREATE INDEX spend_logs_model_time ON spend_logs(model, startTime, status_code, api_key)");
    db.exec("CREATE INDEX spend_logs_error_time ON spend_logs(startTime) WHERE status_code >= 400");
    db.exec("CREATE INDEX spend_logs_user_time ON spend_logs(\"user\", startTime) WHERE \"user\" <> ''");
    db.exec("PRAGMA user_version=1");
  }
  auto l = open_ledger(settings_for(dir.file("l.db")));
  EXPECT_EQ(admin::ledger_query(*l, "logs", {{"limit", "200"}})["data"].size(), 30u);
  EXPECT_EQ(admin::ledger_query(*l, "logs", {{"status_class", "5xx"}})["data"].size(), 3u);
  l->shutdown();
  SQLite::Database db(dir.file("l.db"), SQLite::OPEN_READONLY);
  EXPECT_EQ(db.execAndGet("PRAGMA user_version").getInt(), store::kSchemaVersion);
  EXPECT_EQ(db.execAndGet("SELECT group_concat(name) FROM (SELECT name FROM sqlite_master WHERE"
                          " type = 'index' AND tbl_name = 'spend_logs' ORDER BY name)")
                .getString(),
            "spend_logs_key_time,spend_logs_request_id,spend_logs_start");
  EXPECT_EQ(db.execAndGet("PRAGMA integrity_check").getString(), "ok");
}

// A database made with another page size keeps it (and is migrated and written as usual).
TEST(StoreLedger, ExistingDatabaseKeepsItsPageSize) {
  TempDir dir;
  {
    SQLite::Database db(dir.file("l.db"), SQLite::OPEN_READWRITE | SQLite::OPEN_CREATE);
    db.exec("PRAGMA page_size=4096");
    db.exec("PRAGMA journal_mode=WAL");
    db.exec("CREATE TABLE t(x)");
  }
  {
    auto l = open_ledger(settings_for(dir.file("l.db")));
    l->submit(make_record(1));
    ASSERT_TRUE(l->flush_for_test(std::chrono::seconds(10)));
  }
  SQLite::Database db(dir.file("l.db"), SQLite::OPEN_READONLY);
  EXPECT_EQ(db.execAndGet("PRAGMA page_size").getInt(), 4096);
  EXPECT_EQ(db.execAndGet("SELECT count(*) FROM spend_logs").getInt(), 1);
  EXPECT_EQ(db.execAndGet("PRAGMA integrity_check").getString(), "ok");
}

TEST(StoreTextUtil, SanitizeUtf8) {
  using store::sanitize_utf8;
  bool changed = true;
  EXPECT_EQ(sanitize_utf8("plain \xe2\x82\xac \xf0\x9f\x98\x80", &changed), "plain \xe2\x82\xac \xf0\x9f\x98\x80");
  EXPECT_FALSE(changed);
  EXPECT_EQ(sanitize_utf8(std::string("a\0b", 3), &changed), "a\\x00b");
  EXPECT_TRUE(changed);
  EXPECT_EQ(sanitize_utf8("\xc0\xaf"), "\\xc0\\xaf");                    // overlong
  EXPECT_EQ(sanitize_utf8("\xf4\x90\x80\x80"), "\\xf4\\x90\\x80\\x80");  // > U+10FFFF
  EXPECT_EQ(sanitize_utf8("\xed\xbf\xbf"), "\\xed\\xbf\\xbf");           // surrogate
}

TEST(StoreTextUtil, AsciiRunsAreCheckedEightBytesAtATime) {
  // Every offset and length around the 8-byte words: one NUL, 0x7F, 0x80 or multibyte
  // character anywhere in an ASCII run is found (or accepted) as it is byte by byte.
  using store::is_clean_utf8;
  using store::sanitize_utf8;
  for (std::size_t len = 0; len <= 24; ++len) {
    const std::string base(len, 'a');
    EXPECT_TRUE(is_clean_utf8(base));
    for (std::size_t at = 0; at < len; ++at) {
      for (char bad : {'\0', '\x80', '\xff'}) {
        std::string s = base;
        s[at] = bad;
        EXPECT_FALSE(is_clean_utf8(s)) << len << " " << at;
        bool changed = false;
        const std::string out = sanitize_utf8(s, &changed);
        EXPECT_TRUE(changed);
        EXPECT_EQ(out.substr(0, at), base.substr(0, at));
        EXPECT_EQ(out.size(), len + 3) << "one byte became \\xNN";
      }
      std::string del = base;
      del[at] = '\x7f';
      EXPECT_TRUE(is_clean_utf8(del));
      std::string euro = base.substr(0, at) + "\xe2\x82\xac" + base.substr(at);
      EXPECT_TRUE(is_clean_utf8(euro)) << len << " " << at;
      EXPECT_FALSE(is_clean_utf8(euro.substr(0, at + 2))) << "a cut sequence";
    }
  }
}

TEST(StoreTextUtil, ParseTime) {
  using store::parse_time_us;
  EXPECT_EQ(parse_time_us("1700000000"), 1700000000LL * 1000000);
  EXPECT_EQ(parse_time_us("1700000000.5"), 1700000000LL * 1000000 + 500000);
  EXPECT_EQ(parse_time_us("2023-11-14"), 1699920000LL * 1000000);
  EXPECT_EQ(parse_time_us("2023-11-14T22:13:20Z"), 1700000000LL * 1000000);
  EXPECT_EQ(parse_time_us("2023-11-14 22:13:20"), 1700000000LL * 1000000);
  EXPECT_FALSE(parse_time_us("yesterday"));
  EXPECT_FALSE(parse_time_us("1' OR '1'='1"));
  EXPECT_FALSE(parse_time_us("-5"));
  // Days that do not exist, signs and spaces inside the fields are refused (not normalised).
  EXPECT_FALSE(parse_time_us("2026-02-30"));
  EXPECT_FALSE(parse_time_us("2026-04-31"));
  EXPECT_FALSE(parse_time_us("2025-02-29"));
  EXPECT_EQ(parse_time_us("2024-02-29"), 1709164800LL * 1000000);
  EXPECT_EQ(parse_time_us("2000-02-29"), 951782400LL * 1000000);
  EXPECT_FALSE(parse_time_us("1900-02-29"));
  EXPECT_FALSE(parse_time_us("2026-01-01T-1:00:00"));
  EXPECT_FALSE(parse_time_us("2026-1-01"));
  EXPECT_FALSE(parse_time_us("+026-01-01"));
  EXPECT_FALSE(parse_time_us("2026-01- 1"));
  EXPECT_FALSE(parse_time_us("2026-01-01T10:00"));
  EXPECT_FALSE(parse_time_us("2026-01-01T10:00:00+01:00"));
  EXPECT_EQ(parse_time_us("2026-12-31T23:59:59+00:00"), 1798761599LL * 1000000);
}
