// The ledger through the real daemon: exactly one record per request of every kind, usage of a
// stream cut short by the client, SIGTERM flush, SIGKILL then restart.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <set>
#include <sstream>
#include <thread>

#include <SQLiteCpp/SQLiteCpp.h>
#include <nlohmann/json.hpp>

#include "fake_upstream.hpp"
#include "harness.hpp"

using namespace llmgate::test;
using namespace std::chrono;
using nlohmann::json;

namespace {

std::string config_for(const FakeUpstream& up, const std::string& extra_general = "") {
  return R"(model_list:
  - model_name: gpt-test
    litellm_params:
      model: openai/gpt-4o-mini
      api_base: )" +
         up.base_url() + R"(
  - model_name: err500
    litellm_params:
      model: openai/error-500
      api_base: )" +
         up.base_url() + R"(
  - model_name: slow
    litellm_params:
      model: openai/slow-stream
      api_base: )" +
         up.base_url() + R"(
    model_info:
      base_model: gpt-4o-mini
general_settings:
  master_key: )" +
         kMasterKey + R"(
  database_url: "sqlite:///ledger.db"
  proxy_batch_write_at: 0.05
  store_prompts_in_spend_logs: true
  background_health_checks: false
)" + extra_general +
         R"(llmgate_settings:
  drain_seconds: 0.1
)";
}

struct Row {
  std::string request_id, model, model_group;
  int status = 0;
  int64_t prompt_tokens = 0, completion_tokens = 0;
  bool spend_null = true;
  std::string messages;
};

std::vector<Row> rows(const std::string& db_path) {
  SQLite::Database db(db_path, SQLite::OPEN_READONLY);
  SQLite::Statement q(db,
                      "SELECT request_id, model, model_group, status_code, prompt_tokens, completion_tokens, "
                      "spend IS NULL, messages FROM spend_logs ORDER BY id");
  std::vector<Row> out;
  while (q.executeStep()) {
    Row r;
    r.request_id = q.getColumn(0).getString();
    r.model = q.getColumn(1).getString();
    r.model_group = q.getColumn(2).getString();
    r.status = q.getColumn(3).getInt();
    r.prompt_tokens = q.getColumn(4).getInt64();
    r.completion_tokens = q.getColumn(5).getInt64();
    r.spend_null = q.getColumn(6).getInt() != 0;
    r.messages = q.getColumn(7).getString();
    out.push_back(r);
  }
  return out;
}

// Polls the database until `n` rows are there (the writer flushes every 50 ms here).
std::vector<Row> wait_rows(const std::string& db_path, std::size_t n, milliseconds timeout = seconds(10)) {
  const auto deadline = steady_clock::now() + timeout;
  std::vector<Row> r;
  while (steady_clock::now() < deadline) {
    try {
      r = rows(db_path);
    } catch (const std::exception&) {
    }
    if (r.size() >= n) return r;
    std::this_thread::sleep_for(milliseconds(20));
  }
  return r;
}

TEST(Ledger, OneRecordPerRequestOfEveryKind) {
  FakeUpstream up;
  Daemon gw(config_for(up));
  const std::string db = gw.dir() + "/ledger.db";
  std::vector<std::string> ids;
  auto send = [&](const std::string& body, std::vector<std::pair<std::string, std::string>> h, int expect) {
    auto r = request(gw.port(), "POST", "/v1/chat/completions", body, h);
    EXPECT_EQ(r.status, expect) << r.body;
    ids.push_back(r.header("x-request-id"));
  };
  send(chat_body("gpt-test"), {auth_header()}, 200);          // success
  send(chat_body("gpt-test", true), {auth_header()}, 200);    // stream
  send(chat_body("err500"), {auth_header()}, 500);            // upstream error
  send(chat_body("gpt-test"), {auth_header("sk-bad")}, 401);  // auth failure
  send(chat_body("nope"), {auth_header()}, 404);              // unknown model
  send("{broken", {auth_header()}, 400);                      // malformed JSON
  auto r = wait_rows(db, ids.size());
  ASSERT_EQ(r.size(), ids.size());
  for (std::size_t i = 0; i < ids.size(); ++i) {
    bool found = false;
    for (auto& row : r) found |= row.request_id == ids[i];
    EXPECT_TRUE(found) << "no record for request " << i;
  }
  std::map<int, int> by_status;
  for (auto& row : r) by_status[row.status]++;
  EXPECT_EQ(by_status[200], 2);
  EXPECT_EQ(by_status[500], 1);
  EXPECT_EQ(by_status[401], 1);
  EXPECT_EQ(by_status[404], 1);
  EXPECT_EQ(by_status[400], 1);
  for (auto& row : r) {
    if (row.status == 200) {
      EXPECT_GT(row.prompt_tokens, 0);
      EXPECT_FALSE(row.spend_null) << "gpt-4o-mini has a price in the table";
      EXPECT_NE(row.messages.find("hello"), std::string::npos);
    }
    if (row.status == 404) {
      EXPECT_EQ(row.model_group, "");  // unknown alias never becomes a group
    }
  }
  // No key ever reaches the database.
  SQLite::Database d(db, SQLite::OPEN_READONLY);
  SQLite::Statement q(d,
                      "SELECT count(*) FROM spend_logs WHERE messages LIKE '%sk-bad%' OR api_key LIKE '%sk-%' "
                      "OR metadata LIKE '%" +
                          std::string(kMasterKey) + "%'");
  q.executeStep();
  EXPECT_EQ(q.getColumn(0).getInt(), 0);
}

TEST(Ledger, StreamCutByClientRecords499WithDeliveredUsage) {
  FakeUpstream up;
  Daemon gw(config_for(up));
  const std::string db = gw.dir() + "/ledger.db";
  {
    RawConn c(gw.port());
    c.send(http_request("POST", "/v1/chat/completions", chat_body("slow", true), {auth_header()}));
    // Wait for a few events, then leave.
    std::string got;
    const auto deadline = steady_clock::now() + seconds(10);
    while (steady_clock::now() < deadline) {
      got = c.read_until("data: ", milliseconds(100));
      std::size_t n = 0, pos = 0;
      while ((pos = got.find("data: ", pos)) != std::string::npos) ++n, ++pos;
      if (n >= 3) break;
      c.read_until("\x01", milliseconds(250));  // more bytes (never matches)
    }
  }
  auto r = wait_rows(db, 1);
  ASSERT_EQ(r.size(), 1u);
  EXPECT_EQ(r[0].status, 499);
  EXPECT_GE(r[0].completion_tokens, 2) << "the delivered part of the stream is counted";
  EXPECT_FALSE(r[0].spend_null);
}

// A stream whose upstream reports no usage is estimated: a token per 4 bytes of the client's
// body, one per content event. The body is released once the stream starts (a stream is never
// retried); its size is what the estimate needs.
TEST(Ledger, StreamWithoutUsageIsEstimatedFromTheRequestSize) {
  FakeUpstream up;
  std::string yaml = config_for(up);
  yaml.replace(yaml.find("model_list:\n"), 12,
               "model_list:\n  - model_name: nousage\n    litellm_params:\n      model: openai/no-usage\n"
               "      api_base: " +
                   up.base_url() + "\n");
  Daemon gw(yaml);
  const std::string body = chat_body("nousage", true, R"("user":")" + std::string(40000, 'p') + R"(")");
  auto r = request(gw.port(), "POST", "/v1/chat/completions", body, {auth_header()});
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_NE(r.body.find("data: [DONE]"), std::string::npos);
  const std::string db = gw.dir() + "/ledger.db";
  ASSERT_EQ(wait_rows(db, 1).size(), 1u);
  SQLite::Database d(db, SQLite::OPEN_READONLY);
  SQLite::Statement q(d, "SELECT prompt_tokens, completion_tokens, tokens_estimated FROM spend_logs");
  ASSERT_TRUE(q.executeStep());
  EXPECT_EQ(q.getColumn(0).getInt64(), static_cast<int64_t>(body.size() / 4));
  EXPECT_GE(q.getColumn(1).getInt64(), 1);
  EXPECT_EQ(q.getColumn(2).getInt(), 1);
}

TEST(Ledger, SigtermFlushesEverythingQueued) {
  FakeUpstream up;
  // A long flush interval: only the shutdown flush can write these.
  std::string yaml = config_for(up);
  yaml.replace(yaml.find("proxy_batch_write_at: 0.05"), 26, "proxy_batch_write_at: 60  ");
  Daemon gw(yaml);
  for (int i = 0; i < 20; ++i)
    EXPECT_EQ(request(gw.port(), "POST", "/v1/chat/completions", chat_body("gpt-test"), {auth_header()}).status, 200);
  gw.signal(SIGTERM);
  EXPECT_EQ(gw.wait_exit(seconds(15)), 0) << gw.log();
  EXPECT_EQ(rows(gw.dir() + "/ledger.db").size(), 20u);
}

TEST(Ledger, SigkillKeepsCommittedBatchesAndRestartWorks) {
  FakeUpstream up;
  std::string dir;
  {
    Daemon gw(config_for(up));
    dir = gw.dir();
    for (int i = 0; i < 10; ++i)
      request(gw.port(), "POST", "/v1/chat/completions", chat_body("gpt-test"), {auth_header()});
    ASSERT_EQ(wait_rows(dir + "/ledger.db", 10).size(), 10u);
    gw.signal(SIGKILL);
    gw.wait_exit(seconds(5));
  }
  {
    SQLite::Database d(dir + "/ledger.db", SQLite::OPEN_READWRITE);
    SQLite::Statement ic(d, "PRAGMA integrity_check");
    ASSERT_TRUE(ic.executeStep());
    EXPECT_EQ(ic.getColumn(0).getString(), "ok");
  }
  // Restart on the same database: old rows intact, new rows appended, no duplicates.
  std::string yaml = config_for(up);
  yaml.replace(yaml.find("sqlite:///ledger.db"), 19, "sqlite:///" + dir + "/ledger.db");
  Daemon gw2(yaml);
  request(gw2.port(), "POST", "/v1/chat/completions", chat_body("gpt-test"), {auth_header()});
  auto r = wait_rows(dir + "/ledger.db", 11);
  EXPECT_EQ(r.size(), 11u);
  std::set<std::string> unique;
  for (auto& row : r) unique.insert(row.request_id);
  EXPECT_EQ(unique.size(), r.size());
}

double metric_value(const std::string& text, const std::string& name) {
  const auto p = text.find("\n" + name + " ");
  if (p == std::string::npos) return -1;
  return std::stod(text.substr(p + name.size() + 2));
}

// The ledger's files hit the process's file-size limit (RLIMIT_FSIZE, as `ulimit -f` or
// systemd's LimitFSIZE set it; the write fails as on a full disk, with EFBIG): the gateway keeps
// serving, the records wait in the queue, and once the limit is lifted every one is written.
// Before SIGXFSZ was ignored, the first write past the limit killed the process.
TEST(Ledger, FileSizeLimitDelaysRecordsLosesNoneAndKeepsServing) {
  FakeUpstream up;
  Daemon gw(config_for(up));
  const std::string db = gw.dir() + "/ledger.db";
  for (int i = 0; i < 3; ++i)
    ASSERT_EQ(request(gw.port(), "POST", "/v1/chat/completions", chat_body("gpt-test"), {auth_header()}).status, 200);
  ASSERT_EQ(wait_rows(db, 3).size(), 3u);
  std::error_code ec;
  auto size_of = [&](const std::string& f) {
    auto s = std::filesystem::file_size(f, ec);
    return ec ? 0 : s;
  };
  const auto largest = std::max({size_of(db), size_of(db + "-wal"), size_of(gw.dir() + "/llmgate.log")});
  // Room for a few rows, not for 60 rows of 8 KB prompts (the prompts are logged).
  rlimit lim{static_cast<rlim_t>(largest + 16 * 1024), RLIM_INFINITY};
  ASSERT_EQ(::prlimit(gw.pid(), RLIMIT_FSIZE, &lim, nullptr), 0) << std::strerror(errno);
  const std::string big = R"("user":")" + std::string(8000, 'u') + R"(")";
  const int n = 60;
  for (int i = 0; i < n; ++i)
    ASSERT_EQ(
        request(gw.port(), "POST", "/v1/chat/completions", chat_body("gpt-test", false, big), {auth_header()}).status,
        200)
        << gw.log();
  // The writer failed and keeps the records.
  double errors = 0, queued = 0;
  for (int i = 0; i < 200 && errors < 1; ++i) {
    auto m = request(gw.port(), "GET", "/metrics");
    ASSERT_EQ(m.status, 200);
    errors = metric_value(m.body, "llmgate_log_db_errors_total");
    queued = metric_value(m.body, "llmgate_log_queue_depth");
    std::this_thread::sleep_for(milliseconds(20));
  }
  ASSERT_GE(errors, 1) << "the limit was never reached\n" << gw.log();
  EXPECT_GT(queued, 0);
  ASSERT_TRUE(gw.running()) << gw.log();
  EXPECT_NE(gw.log().find("File too large"), std::string::npos) << "the OS's reason is logged\n" << gw.log();
  // Lift the limit: everything is written, nothing was dropped.
  lim.rlim_cur = RLIM_INFINITY;
  ASSERT_EQ(::prlimit(gw.pid(), RLIMIT_FSIZE, &lim, nullptr), 0);
  auto r = wait_rows(db, 3 + n, seconds(20));
  EXPECT_EQ(r.size(), 3u + n);
  auto m = request(gw.port(), "GET", "/metrics");
  EXPECT_EQ(metric_value(m.body, "llmgate_log_records_dropped_total"), 0);
  EXPECT_EQ(metric_value(m.body, "llmgate_log_queue_depth"), 0);
  EXPECT_NE(gw.log().find("database writable again"), std::string::npos) << gw.log();
  EXPECT_EQ(request(gw.port(), "POST", "/v1/chat/completions", chat_body("gpt-test"), {auth_header()}).status, 200);
}

// The process runs out of file descriptors (RLIMIT_NOFILE, lowered with prlimit(2)): the
// connections it cannot accept wait in the listen backlog, a request whose upstream connection
// cannot be opened gets an OpenAI-shaped error, nothing crashes or spins, every request it
// answered has its ledger row, and once descriptors are free again it serves the waiting
// connections and new ones.
TEST(Ledger, DescriptorExhaustionIsAnsweredLoggedAndOutlived) {
  FakeUpstream up;
  Daemon gw(config_for(up));
  const std::string db = gw.dir() + "/ledger.db";
  ASSERT_EQ(request(gw.port(), "POST", "/v1/chat/completions", chat_body("gpt-test"), {auth_header()}).status, 200);
  ASSERT_EQ(wait_rows(db, 1).size(), 1u);
  // The limit is one above the highest descriptor number a process may open; leave exactly
  // three numbers free below it.
  std::set<int> used;
  for (const auto& e : std::filesystem::directory_iterator("/proc/" + std::to_string(gw.pid()) + "/fd"))
    used.insert(std::stoi(e.path().filename().string()));
  int fd = 0;
  for (int free_left = 3;; ++fd)
    if (!used.count(fd) && --free_left == 0) break;
  rlimit orig{};
  ASSERT_EQ(::prlimit(gw.pid(), RLIMIT_NOFILE, nullptr, &orig), 0);
  rlimit low = orig;
  low.rlim_cur = static_cast<rlim_t>(fd + 1);
  ASSERT_EQ(::prlimit(gw.pid(), RLIMIT_NOFILE, &low, nullptr), 0) << std::strerror(errno);

  const int n = 12;
  std::vector<std::unique_ptr<RawConn>> conns;
  for (int i = 0; i < n; ++i) {
    conns.push_back(std::make_unique<RawConn>(gw.port()));
    ASSERT_TRUE(
        conns.back()->send(http_request("POST", "/v1/chat/completions", chat_body("gpt-test"), {auth_header()})));
  }
  auto cpu_ticks = [&] { return process_cpu_ticks(gw.pid()); };
  // Some are answered; the rest wait. Waiting must not cost CPU (no accept loop spinning).
  std::vector<bool> answered(n, false);
  int ok = 0, refused = 0;
  auto collect = [&](milliseconds each) {
    for (int i = 0; i < n; ++i) {
      if (answered[i]) continue;
      auto r = conns[i]->read_response(each);
      if (!r) continue;
      answered[i] = true;
      if (r->status == 200) {
        ++ok;
      } else {
        ++refused;
        EXPECT_EQ(r->status, 503) << r->body;
        auto j = json::parse(r->body, nullptr, false);
        ASSERT_TRUE(j.is_object() && j.contains("error")) << r->body;
        for (const char* f : {"message", "type", "param", "code"}) EXPECT_TRUE(j["error"].contains(f)) << r->body;
        EXPECT_EQ(j["error"]["code"], "service_unavailable") << r->body;
        EXPECT_NE(j["error"]["message"].get<std::string>().find("Too many open files"), std::string::npos) << r->body;
      }
      conns[i]->close();  // gives its descriptor back
    }
  };
  const long long t0 = cpu_ticks();
  collect(milliseconds(300));
  std::this_thread::sleep_for(seconds(1));
  const long long spent = cpu_ticks() - t0;
  EXPECT_LT(spent, ::sysconf(_SC_CLK_TCK) / 2) << "the gateway burns CPU while out of descriptors";
  const auto deadline = steady_clock::now() + seconds(20);
  while (ok + refused < n && steady_clock::now() < deadline) collect(milliseconds(200));
  EXPECT_EQ(ok + refused, n) << "connections left unanswered\n" << gw.log();
  EXPECT_GT(refused, 0) << "no upstream connection ran short";
  EXPECT_NE(gw.log().find("accept failed: Too many open files"), std::string::npos) << gw.log();
  ASSERT_TRUE(gw.running()) << gw.log();

  ASSERT_EQ(::prlimit(gw.pid(), RLIMIT_NOFILE, &orig, nullptr), 0);
  EXPECT_EQ(request(gw.port(), "POST", "/v1/chat/completions", chat_body("gpt-test"), {auth_header()}).status, 200)
      << "a descriptor shortage must not leave the deployment cooling down\n"
      << gw.log();
  EXPECT_EQ(wait_rows(db, 2 + n).size(), 2u + n) << "every answered request has its row";
}

TEST(Ledger, MetricsUseConfiguredNamesOnly) {
  FakeUpstream up;
  Daemon gw(config_for(up));
  request(gw.port(), "POST", "/v1/chat/completions", chat_body("gpt-test"), {auth_header()});
  request(gw.port(), "POST", "/v1/chat/completions", chat_body("random-model-name-xyz"), {auth_header()});
  request(gw.port(), "GET", "/some/random/path/abc");
  auto m = request(gw.port(), "GET", "/metrics");
  ASSERT_EQ(m.status, 200);
  EXPECT_NE(m.body.find("litellm_proxy_total_requests_metric"), std::string::npos);
  EXPECT_NE(m.body.find("gpt-test"), std::string::npos);
  EXPECT_EQ(m.body.find("random-model-name-xyz"), std::string::npos);
  EXPECT_EQ(m.body.find("/some/random"), std::string::npos);
  EXPECT_EQ(m.body.find(kMasterKey), std::string::npos);
}

// A bad query parameter of the ledger's API is a 400 whose OpenAI error names it in `param`.
TEST(Ledger, BadQueryParameterIsNamedInTheError) {
  FakeUpstream up;
  Daemon gw(config_for(up));
  for (auto [target, param] : {std::pair<std::string, std::string>{"/llmgate/api/logs?cursor=abc", "cursor"},
                               {"/llmgate/api/usage?group_by=color", "group_by"},
                               {"/llmgate/api/logs?limit=-5", "limit"},
                               {"/spend/logs?start_date=2026-02-30", "start_date"}}) {
    auto r = request(gw.port(), "GET", target, "", {auth_header()});
    ASSERT_EQ(r.status, 400) << target << " " << r.body;
    const json e = json::parse(r.body)["error"];
    EXPECT_EQ(e["param"], param) << target << " " << r.body;
    EXPECT_EQ(e["type"], "invalid_request_error") << target;
    EXPECT_EQ(r.header("cache-control"), "no-store") << target;  // errors are not cached either
  }
  for (const char* target : {"/llmgate/api/logs", "/llmgate/api/logs/no-such-id", "/llmgate/api/logs/a/b"}) {
    auto r = request(gw.port(), "GET", target, "", {auth_header()});
    EXPECT_EQ(r.header("cache-control"), "no-store") << target << " " << r.status;
  }
}

}  // namespace
