// One gateway per SQLite file: a second real gateway on the same database refuses to start,
// quickly and saying what to do; once the first is SIGKILLed, a new one starts.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fstream>
#include <sstream>
#include <thread>

#include "fake_upstream.hpp"
#include "harness.hpp"

using namespace llmgate::test;
using namespace std::chrono;

namespace {

std::string config_for(const FakeUpstream& up, const std::string& db) {
  return R"(model_list:
  - model_name: gpt-test
    litellm_params:
      model: openai/gpt-4o-mini
      api_base: )" +
         up.base_url() + R"(
general_settings:
  master_key: )" +
         kMasterKey + R"(
  database_url: "sqlite:///)" +
         db + R"("
  background_health_checks: false
llmgate_settings:
  drain_seconds: 0.1
)";
}

struct Outcome {
  int exit_code = -1;  // -1: still running after the timeout (then killed)
  milliseconds took{0};
  std::string output;
};

// Starts the gateway with `config` and waits (bounded) for it to exit on its own.
Outcome run_until_exit(const std::string& config, milliseconds timeout) {
  const std::string dir = make_temp_dir();
  const std::string out = dir + "/out.txt";
  const auto t0 = steady_clock::now();
  const pid_t pid = ::fork();
  if (pid == 0) {
    const int fd = ::open(out.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    ::dup2(fd, 1);
    ::dup2(fd, 2);
    ::close_range(3, ~0U, 0);
    ::execl(LLMGATE_BIN, LLMGATE_BIN, "--config", config.c_str(), "--host", "127.0.0.1", "--port", "0", "--workers",
            "1", static_cast<char*>(nullptr));
    ::_exit(127);
  }
  Outcome o;
  int st = 0;
  while (steady_clock::now() - t0 < timeout) {
    if (::waitpid(pid, &st, WNOHANG) == pid) {
      o.exit_code = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
      break;
    }
    std::this_thread::sleep_for(milliseconds(10));  // polling a child's exit
  }
  o.took = duration_cast<milliseconds>(steady_clock::now() - t0);
  if (o.exit_code == -1) {
    ::kill(pid, SIGKILL);
    ::waitpid(pid, &st, 0);
  }
  std::ifstream f(out);
  std::stringstream ss;
  ss << f.rdbuf();
  o.output = ss.str();
  return o;
}

}  // namespace

TEST(DbLock, SecondGatewayOnOneDatabaseRefusesThenStartsAfterTheFirstIsKilled) {
  FakeUpstream up;
  const std::string shared = make_temp_dir() + "/shared.db";
  const std::string yaml = config_for(up, shared);
  auto first = std::make_unique<Daemon>(yaml);
  EXPECT_EQ(request(first->port(), "GET", "/health/liveliness").status, 200);

  const std::string config = make_temp_dir() + "/config.yaml";
  std::ofstream(config) << yaml;
  const Outcome second = run_until_exit(config, seconds(10));
  EXPECT_NE(second.exit_code, -1) << "the second gateway kept running:\n" << second.output;
  EXPECT_NE(second.exit_code, 0) << second.output;
  EXPECT_LT(second.took, seconds(5));
  EXPECT_NE(second.output.find(shared), std::string::npos) << second.output;
  EXPECT_NE(second.output.find("one gateway per SQLite file"), std::string::npos) << second.output;
  EXPECT_NE(second.output.find("PostgreSQL"), std::string::npos) << second.output;
  // The first one is untouched.
  EXPECT_EQ(request(first->port(), "GET", "/health/liveliness").status, 200);

  // A crash frees the lock: no stale lock file to remove by hand.
  first->signal(SIGKILL);
  EXPECT_EQ(first->wait_exit(seconds(5)), 128 + SIGKILL);
  first.reset();
  Daemon third(yaml);
  EXPECT_EQ(request(third.port(), "GET", "/health/liveliness").status, 200);
  auto r = request(third.port(), "POST", "/v1/chat/completions", chat_body("gpt-test"), {auth_header()});
  EXPECT_EQ(r.status, 200) << r.body;
}
