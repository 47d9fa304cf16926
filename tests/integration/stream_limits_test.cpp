// Limits on what an upstream stream may make the gateway hold: an Ollama NDJSON line that never
// ends is cut at limits.max_sse_event_bytes, like an SSE event, instead of growing a buffer.
#include <gtest/gtest.h>

#include <string>

#include "harness.hpp"

namespace llmgate::test {
namespace {

using namespace std::chrono;

std::string config(const std::string& origin) {
  return R"(model_list:
  - model_name: ollama-long
    litellm_params:
      model: ollama_chat/long
      api_base: )" +
         origin + R"(
general_settings:
  master_key: )" +
         kMasterKey + R"(
  database_url: "sqlite:///ledger.db"
  background_health_checks: false
llmgate_settings:
  drain_seconds: 0.1
  limits:
    max_sse_event_bytes: 4096
)";
}

// One good line, then 64 KiB without a newline (then the connection closes).
std::string long_line_answer(const std::string&, const std::string&) {
  const std::string first =
      R"({"model":"long","created_at":"2024-01-01T00:00:00Z","message":{"role":"assistant","content":"Hi"},"done":false})"
      "\n";
  return "HTTP/1.1 200 OK\r\nContent-Type: application/x-ndjson\r\nConnection: close\r\n\r\n" + first +
         R"({"model":"long","message":{"role":"assistant","content":")" + std::string(64 * 1024, 'x');
}

TEST(StreamLimits, AnNdjsonLineLongerThanTheEventLimitEndsTheStreamWithAnError) {
  ScriptedUpstream up(long_line_answer);
  Daemon gw(config(up.origin()));
  RawConn c(gw.port());
  ASSERT_TRUE(c.send(http_request("POST", "/v1/chat/completions", chat_body("ollama-long", true), {auth_header()})));
  const std::string got = c.read_until_close(seconds(10));
  EXPECT_NE(got.find("Hi"), std::string::npos) << got.substr(0, 600);  // the good line went out
  EXPECT_NE(got.find("event: error"), std::string::npos) << got.substr(0, 600);
  EXPECT_NE(got.find("NDJSON line larger than the limit"), std::string::npos) << got.substr(0, 600);
  EXPECT_EQ(got.find("[DONE]"), std::string::npos) << got.substr(0, 600);
  EXPECT_EQ(got.find(std::string(100, 'x')), std::string::npos) << "the long line must not reach the client";
  ASSERT_TRUE(gw.running()) << gw.log();
}

}  // namespace
}  // namespace llmgate::test
