// Metrics: LiteLLM names and labels; label values only from configuration; no secrets.
#include <gtest/gtest.h>

#include <chrono>
#include <regex>
#include <thread>

#include "llmgate/metrics.hpp"

using namespace llmgate;

namespace {

Config make_config() {
  Config c;
  Deployment d;
  d.id = "gpt4o-east";
  d.model_name = "gpt-4o";
  d.provider = ProviderKind::openai;
  d.provider_prefix = "openai";
  d.upstream_model = "gpt-4o-2024-08-06";
  d.api_base = "https://user:hunter2@api.example.com/v1?key=sk-querysecret";
  d.url.tls = true;
  d.url.host = "api.example.com";
  d.url.port = "443";
  d.url.base_path = "/v1";
  d.api_key = Secret("sk-supersecretkey");
  c.deployments.push_back(d);
  c.master_key = Secret("sk-master-secret");
  return c;
}

RequestRecord rec(std::string model_group, int status = 200) {
  RequestRecord r;
  r.request_id = "r1";
  r.model = model_group.empty() ? "client-typed-model-xyz" : model_group;
  r.model_group = model_group;
  r.deployment_id = model_group.empty() ? "" : "gpt4o-east";
  r.key_hash = "a1b2c3d4";
  r.key_alias = "team-a";
  r.status = status;
  r.start_us = 1'000'000;
  r.end_us = 1'350'000;
  r.upstream_us = 300'000;
  r.ttft_us = 120'000;
  r.overhead_us = 2'000;
  r.prompt_tokens = 10;
  r.completion_tokens = 5;
  r.total_tokens = 15;
  r.cost_usd = 0.25;
  if (status >= 400) r.error_type = "api_error";
  return r;
}

std::size_t count_lines(const std::string& text, const std::string& prefix) {
  std::size_t n = 0, pos = 0;
  while ((pos = text.find("\n" + prefix, pos)) != std::string::npos) {
    ++n;
    ++pos;
  }
  return n;
}

}  // namespace

TEST(Metrics, ExposesLiteLLMNamesAndLabels) {
  Metrics m(make_config());
  m.in_flight_add(2);
  m.in_flight_add(-1);
  m.observe(rec("gpt-4o"));
  m.observe(rec("gpt-4o", 502));
  LedgerStats ls;
  ls.queued = 7;
  ls.dropped = 3;
  ls.db_errors = 1;
  const std::string t = m.serialize(&ls);
  for (const char* name :
       {"litellm_proxy_total_requests_metric_total{", "litellm_proxy_failed_requests_metric_total{",
        "litellm_in_flight_requests", "litellm_spend_metric_total{", "litellm_total_tokens_metric_total{",
        "litellm_input_tokens_metric_total{", "litellm_output_tokens_metric_total{",
        "litellm_request_total_latency_metric_bucket{", "litellm_llm_api_latency_metric_bucket{",
        "litellm_llm_api_time_to_first_token_metric_bucket{", "litellm_overhead_latency_metric_bucket{",
        "litellm_deployment_state{", "llmgate_log_queue_depth 7", "llmgate_log_records_dropped_total 3",
        "llmgate_log_db_errors_total 1", "llmgate_log_records_written_total",
        "llmgate_log_batch_commit_seconds", "llmgate_log_queue_bytes"})
    EXPECT_NE(t.find(name), std::string::npos) << name;
  EXPECT_NE(t.find("litellm_in_flight_requests 1"), std::string::npos);
  EXPECT_NE(t.find("status_code=\"200\""), std::string::npos);
  EXPECT_NE(t.find("status_code=\"502\""), std::string::npos);
  EXPECT_NE(t.find("requested_model=\"gpt-4o\""), std::string::npos);
  EXPECT_NE(t.find("model=\"gpt-4o-2024-08-06\""), std::string::npos);
  EXPECT_NE(t.find("hashed_api_key=\"a1b2c3d4\""), std::string::npos);
  EXPECT_NE(t.find("api_key_alias=\"team-a\""), std::string::npos);
  EXPECT_NE(t.find("api_provider=\"openai\""), std::string::npos);
  EXPECT_NE(t.find("model_id=\"gpt4o-east\""), std::string::npos);
  EXPECT_NE(t.find("exception_class=\"api_error\""), std::string::npos);
  EXPECT_NE(t.find("litellm_spend_metric_total{api_key_alias=\"team-a\",end_user=\"\",hashed_api_key=\"a1b2c3d4\",model=\"gpt-4o-2024-08-06\",team=\"\",team_alias=\"\",user=\"\"} 0.5"),
            std::string::npos)
      << t;
}

TEST(Metrics, UnknownModelsAndRandomInputAddNoSeries) {
  Metrics m(make_config());
  m.observe(rec(""));  // first unknown request creates the "unknown" series
  const std::string before = m.serialize(nullptr);
  for (int i = 0; i < 200; ++i) {
    RequestRecord r = rec("");
    r.model = "random-model-" + std::to_string(i);
    r.deployment_id = "random-dep-" + std::to_string(i);
    r.user = "user-" + std::to_string(i);
    r.error_type = "weird_error_" + std::to_string(i);
    r.status = 400 + (i % 3);  // 400, 401, 402 -> fixed labels
    m.observe(r);
  }
  RequestRecord spoof = rec("not-configured-group");  // a model_group that is not configured
  m.observe(spoof);
  const std::string after = m.serialize(nullptr);
  EXPECT_EQ(after.find("random-"), std::string::npos);
  EXPECT_EQ(after.find("user-"), std::string::npos);
  EXPECT_EQ(after.find("weird_error"), std::string::npos);
  EXPECT_EQ(after.find("not-configured-group"), std::string::npos);
  EXPECT_EQ(after.find("client-typed-model-xyz"), std::string::npos);
  EXPECT_NE(after.find("requested_model=\"unknown\""), std::string::npos);
  // A bounded number of label sets: status 400/401/402 x class "other"/none.
  EXPECT_LE(count_lines(after, "litellm_proxy_total_requests_metric_total{"),
            count_lines(before, "litellm_proxy_total_requests_metric_total{") + 4);
}

TEST(Metrics, NoSecretsInLabels) {
  Metrics m(make_config());
  RequestRecord r = rec("gpt-4o", 401);
  r.key_hash = "hash-of-a-wrong-key";  // an auth failure never labels the presented key
  m.observe(r);
  m.observe(rec("gpt-4o"));
  m.set_deployment_state(make_config().deployments[0], DeploymentState::outage);
  const std::string t = m.serialize(nullptr);
  for (const char* secret : {"sk-supersecretkey", "sk-master-secret", "hunter2", "sk-querysecret",
                             "hash-of-a-wrong-key"})
    EXPECT_EQ(t.find(secret), std::string::npos) << secret;
  EXPECT_NE(t.find("api_base=\"https://api.example.com:443/v1\""), std::string::npos) << t;
  EXPECT_NE(t.find("litellm_deployment_state{api_base=\"https://api.example.com:443/v1\",api_provider=\"openai\",litellm_model_name=\"gpt-4o-2024-08-06\",model_id=\"gpt4o-east\"} 2"),
            std::string::npos)
      << t;
}

TEST(Metrics, ObserveIsCheapAndThreadSafe) {
  Metrics m(make_config());
  RequestRecord r = rec("gpt-4o");
  m.observe(r);
  const int n = 200000;
  auto t0 = std::chrono::steady_clock::now();
  for (int i = 0; i < n; ++i) m.observe(r);
  double ns = std::chrono::duration<double, std::nano>(std::chrono::steady_clock::now() - t0).count() / n;
  std::printf("[ info ] Metrics::observe: %.0f ns per call (single thread, cached labels)\n", ns);
  std::vector<std::thread> threads;
  for (int k = 0; k < 4; ++k)
    threads.emplace_back([&, k] {
      RequestRecord x = rec("gpt-4o", k % 2 ? 200 : 429);
      for (int i = 0; i < 20000; ++i) m.observe(x);
    });
  for (auto& t : threads) t.join();
  const std::string t = m.serialize(nullptr);
  std::smatch mt;
  ASSERT_TRUE(std::regex_search(t, mt, std::regex("litellm_proxy_total_requests_metric_total\\{[^}]*status_code=\"429\"[^}]*\\} ([0-9]+)")));
  EXPECT_EQ(mt[1], "40000");
}
