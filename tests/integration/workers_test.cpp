// The default worker count through the real daemon: the CPUs the process may use.
#include <gtest/gtest.h>
#include <sched.h>

#include <memory>

#include "fake_upstream.hpp"
#include "harness.hpp"

using namespace llmgate::test;

namespace {

std::string config(const FakeUpstream& up) {
  return "model_list:\n  - model_name: m\n    litellm_params:\n      model: openai/gpt-4o-mini\n      api_base: " +
         up.base_url() + "\ngeneral_settings:\n  master_key: " + kMasterKey +
         "\n  database_url: \"sqlite:///ledger.db\"\n  background_health_checks: false\n";
}

}  // namespace

// The default worker count follows the CPUs the process may use (`taskset -c 0 llmgate`).
TEST(Workers, AffinityOfOneCpuStartsOneWorker) {
  cpu_set_t saved;
  ASSERT_EQ(sched_getaffinity(0, sizeof saved, &saved), 0);
  int first = -1;
  for (int i = 0; i < CPU_SETSIZE && first < 0; ++i)
    if (CPU_ISSET(i, &saved)) first = i;
  ASSERT_GE(first, 0);
  cpu_set_t one;
  CPU_ZERO(&one);
  CPU_SET(first, &one);
  FakeUpstream up;
  // The daemon inherits this thread's mask through fork.
  ASSERT_EQ(sched_setaffinity(0, sizeof one, &one), 0);
  std::unique_ptr<Daemon> automatic, configured;
  try {
    automatic = std::make_unique<Daemon>(config(up), std::vector<std::string>{"--workers", "0"});
    configured = std::make_unique<Daemon>(config(up));  // --workers 2
  } catch (...) {
    sched_setaffinity(0, sizeof saved, &saved);
    throw;
  }
  sched_setaffinity(0, sizeof saved, &saved);
  const std::string log = automatic->log();
  EXPECT_NE(log.find("workers: 1 ("), std::string::npos) << log;
  EXPECT_NE(log.find("affinity 1"), std::string::npos) << log;
  EXPECT_NE(log.find("with 1 worker(s)"), std::string::npos) << log;
  EXPECT_EQ(request(automatic->port(), "POST", "/v1/chat/completions", chat_body("m"), {auth_header()}).status, 200);
  // An explicit count still wins.
  EXPECT_NE(configured->log().find("workers: 2 (configured)"), std::string::npos) << configured->log();
  EXPECT_NE(configured->log().find("with 2 worker(s)"), std::string::npos) << configured->log();
}
