// Reloading the configuration through the real daemon (SIGHUP, POST /config/reload), and signals
// that must not end it.
#include <gtest/gtest.h>
#include <signal.h>

#include <cstdio>
#include <fstream>
#include <map>
#include <memory>
#include <thread>

#include <SQLiteCpp/SQLiteCpp.h>
#include <nlohmann/json.hpp>

#include "fake_upstream.hpp"
#include "harness.hpp"

using namespace llmgate::test;
using namespace std::chrono;
using nlohmann::json;

namespace {

std::string model(const std::string& alias, const std::string& id, const FakeUpstream& up) {
  return "  - model_name: " + alias +
         "\n    litellm_params:\n      model: openai/gpt-4o-mini\n      api_base: " + up.base_url() +
         "\n    model_info:\n      id: " + id + "\n";
}

std::string config(const std::string& models, const std::string& extra_general = "",
                   const std::string& extra_llmgate = "", const std::string& db = "ledger.db") {
  return "model_list:\n" + models + R"(general_settings:
  master_key: )" +
         kMasterKey + R"(
  database_url: "sqlite:///)" +
         db + R"("
  proxy_batch_write_at: 0.05
  background_health_checks: false
)" + extra_general +
         R"(llmgate_settings:
  drain_seconds: 0.1
)" + extra_llmgate;
}

void write_config(const Daemon& gw, const std::string& yaml) {
  // Written beside and renamed into place, as editors and config-map updates do: a reload never
  // reads half a file.
  const std::string tmp = gw.dir() + "/config.yaml.new";
  { std::ofstream(tmp) << yaml; }
  std::rename(tmp.c_str(), (gw.dir() + "/config.yaml").c_str());
}

std::size_t count_of(const std::string& hay, const std::string& needle) {
  std::size_t n = 0;
  for (auto p = hay.find(needle); p != std::string::npos; p = hay.find(needle, p + 1)) ++n;
  return n;
}

// Waits (bounded) until the log holds `needle` at least `n` times; false at once when the
// daemon has exited.
bool wait_log(Daemon& gw, const std::string& needle, std::size_t n = 1, milliseconds timeout = seconds(10)) {
  const auto deadline = steady_clock::now() + timeout;
  while (steady_clock::now() < deadline) {
    if (count_of(gw.log(), needle) >= n) return true;
    if (!gw.running()) return false;
    std::this_thread::sleep_for(milliseconds(10));  // polling the log file
  }
  return false;
}

int chat_status(int port, const std::string& alias) {
  return request(port, "POST", "/v1/chat/completions", chat_body(alias), {auth_header()}).status;
}

std::map<std::string, int> rows_by_model_id(const std::string& db_path) {
  SQLite::Database db(db_path, SQLite::OPEN_READONLY);
  SQLite::Statement q(db, "SELECT model_id, count(*) FROM spend_logs GROUP BY model_id");
  std::map<std::string, int> out;
  while (q.executeStep()) out[q.getColumn(0).getString()] = q.getColumn(1).getInt();
  return out;
}

}  // namespace

// SIGHUP adds an alias and moves another to a new deployment; the stream in flight during the
// reload finishes on the deployment it started on, and every request has its ledger row.
TEST(Reload, SighupSwapsModelsWhileInFlightRequestsFinishOnTheOld) {
  FakeUpstreamOptions slow_opts;
  slow_opts.stream_events = 20;
  slow_opts.stream_interval_ms = 75;  // a 1.5 s stream
  FakeUpstream slow(slow_opts), fast;
  Daemon gw(config(model("m", "old-m", slow)));
  ASSERT_EQ(chat_status(gw.port(), "m"), 200);
  EXPECT_EQ(chat_status(gw.port(), "added"), 404);

  RawConn stream(gw.port());
  stream.send(http_request("POST", "/v1/chat/completions", chat_body("m", true), {auth_header()}));
  ASSERT_NE(stream.read_until("data: ", seconds(5)).find("data: "), std::string::npos);

  write_config(gw, config(model("m", "new-m", fast) + model("added", "added-1", fast)));
  gw.signal(SIGHUP);
  ASSERT_TRUE(wait_log(gw, "config reloaded (SIGHUP)")) << gw.log();
  ASSERT_TRUE(gw.running()) << gw.log();

  EXPECT_EQ(chat_status(gw.port(), "added"), 200);
  EXPECT_EQ(chat_status(gw.port(), "m"), 200);
  EXPECT_EQ(fast.requests(), 2);  // both new requests went to the new deployments
  EXPECT_EQ(slow.requests(), 2);  // the first request and the stream

  const std::string rest = stream.read_until("[DONE]", seconds(10));
  EXPECT_NE(rest.find("[DONE]"), std::string::npos) << "the in-flight stream was cut";
  EXPECT_NE(rest.find(FakeUpstream::stream_piece(19)), std::string::npos) << rest;
  EXPECT_EQ(rest.find("error"), std::string::npos) << rest;

  gw.signal(SIGTERM);
  ASSERT_EQ(gw.wait_exit(seconds(15)), 0) << gw.log();
  const auto rows = rows_by_model_id(gw.dir() + "/ledger.db");
  int total = 0;
  for (const auto& [id, n] : rows) total += n;
  EXPECT_EQ(total, 5);  // every request, the unknown alias's 404 included
  EXPECT_EQ(rows.count("old-m") ? rows.at("old-m") : 0, 2);
  EXPECT_EQ(rows.count("new-m") ? rows.at("new-m") : 0, 1);
  EXPECT_EQ(rows.count("added-1") ? rows.at("added-1") : 0, 1);
}

// A file that does not validate changes nothing: the log says why by YAML path, and the gateway
// goes on serving the running configuration.
TEST(Reload, InvalidFileKeepsTheRunningConfig) {
  FakeUpstream up;
  Daemon gw(config(model("m", "m-1", up)));
  write_config(
      gw, config(model("m", "m-1", up) + "  - model_name: broken\n    litellm_params:\n      model: azure/gpt-4o\n"));
  gw.signal(SIGHUP);
  ASSERT_TRUE(wait_log(gw, "config reload (SIGHUP) refused")) << gw.log();
  const std::string log = gw.log();
  EXPECT_NE(log.find("model_list[1].litellm_params.api_base"), std::string::npos) << log;
  ASSERT_TRUE(gw.running());
  EXPECT_EQ(chat_status(gw.port(), "m"), 200);
  EXPECT_EQ(chat_status(gw.port(), "broken"), 404);

  // Fixed, the next SIGHUP takes it.
  write_config(gw, config(model("m", "m-1", up) + model("fixed", "f-1", up)));
  gw.signal(SIGHUP);
  ASSERT_TRUE(wait_log(gw, "config reloaded (SIGHUP)")) << gw.log();
  EXPECT_EQ(chat_status(gw.port(), "fixed"), 200);
}

// POST /config/reload: master key only; answers what happened; settings that need a restart
// are kept and named.
TEST(Reload, PostConfigReload) {
  FakeUpstream up;
  Daemon gw(config(model("m", "m-1", up)));
  write_config(
      gw, config(model("m", "m-1", up) + model("added", "a-1", up), "", "  pool_idle_seconds: 7\n", "elsewhere.db"));
  EXPECT_EQ(request(gw.port(), "POST", "/config/reload").status, 401);
  EXPECT_EQ(request(gw.port(), "POST", "/config/reload", "", {auth_header("sk-wrong")}).status, 401);
  EXPECT_EQ(chat_status(gw.port(), "added"), 404);  // not reloaded by the refused calls

  auto r = request(gw.port(), "POST", "/config/reload", "", {auth_header()});
  ASSERT_EQ(r.status, 200) << r.body;
  auto j = json::parse(r.body);
  EXPECT_EQ(j["status"], "ok");
  EXPECT_EQ(j["models"], 2);
  EXPECT_EQ(j["deployments"], 2);
  const std::string restart = j["needs_restart"].dump();
  EXPECT_NE(restart.find("llmgate_settings.pool_idle_seconds: 7 needs a restart; keeping 2"), std::string::npos)
      << restart;
  EXPECT_NE(restart.find("general_settings.database_url"), std::string::npos) << restart;
  EXPECT_EQ(restart.find("elsewhere"), std::string::npos) << "database URLs are not shown: " << restart;
  EXPECT_TRUE(wait_log(gw, "config reload: llmgate_settings.pool_idle_seconds")) << gw.log();
  EXPECT_EQ(chat_status(gw.port(), "added"), 200);

  write_config(gw, "model_list: [\n");
  r = request(gw.port(), "POST", "/config/reload", "", {auth_header()});
  EXPECT_EQ(r.status, 400) << r.body;
  j = json::parse(r.body);
  EXPECT_EQ(j["error"]["code"], "config_reload_failed");
  EXPECT_NE(j["error"]["message"].get<std::string>().find("invalid YAML"), std::string::npos) << r.body;
  EXPECT_EQ(chat_status(gw.port(), "added"), 200);

  // The ledger stayed on the database it was opened with.
  gw.signal(SIGTERM);
  ASSERT_EQ(gw.wait_exit(seconds(15)), 0) << gw.log();
  EXPECT_EQ(rows_by_model_id(gw.dir() + "/ledger.db").at("a-1"), 2);
  EXPECT_FALSE(std::ifstream(gw.dir() + "/elsewhere.db").good());
}

// Models added through /model/new (store_model_in_db) are merged into the reloaded config.
TEST(Reload, RuntimeModelsSurviveAReload) {
  FakeUpstream up;
  const std::string general = "  store_model_in_db: true\n";
  Daemon gw(config(model("m", "m-1", up), general));
  auto r = request(gw.port(), "POST", "/model/new",
                   R"({"model_name":"runtime","litellm_params":{"model":"mock/rt"},"model_info":{"id":"rt-1"}})",
                   {auth_header()});
  ASSERT_EQ(r.status, 200) << r.body;
  ASSERT_EQ(chat_status(gw.port(), "runtime"), 200);

  write_config(gw, config(model("m", "m-1", up) + model("added", "a-1", up), general));
  gw.signal(SIGHUP);
  ASSERT_TRUE(wait_log(gw, "config reloaded (SIGHUP)")) << gw.log();
  EXPECT_EQ(chat_status(gw.port(), "added"), 200);
  EXPECT_EQ(chat_status(gw.port(), "runtime"), 200);
  auto info = json::parse(request(gw.port(), "GET", "/model/info?litellm_model_id=rt-1", "", {auth_header()}).body);
  ASSERT_EQ(info["data"].size(), 1u);
  EXPECT_EQ(info["data"][0]["model_info"]["db_model"], true);
}

// SIGUSR1 and SIGUSR2 would end the process by default (and lose the queued ledger records):
// they are logged and ignored.
TEST(Reload, UserSignalsDoNotStopTheGateway) {
  FakeUpstream up;
  Daemon gw(config(model("m", "m-1", up)));
  ASSERT_EQ(chat_status(gw.port(), "m"), 200);
  gw.signal(SIGUSR1);
  ASSERT_TRUE(wait_log(gw, "signal SIGUSR1 ignored")) << gw.log();
  gw.signal(SIGUSR2);
  ASSERT_TRUE(wait_log(gw, "signal SIGUSR2 ignored")) << gw.log();
  ASSERT_TRUE(gw.running());
  EXPECT_EQ(chat_status(gw.port(), "m"), 200);
  gw.signal(SIGTERM);
  ASSERT_EQ(gw.wait_exit(seconds(15)), 0) << gw.log();
  EXPECT_EQ(rows_by_model_id(gw.dir() + "/ledger.db").at("m-1"), 2);
}
