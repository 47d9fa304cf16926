// PriceTable: the embedded LiteLLM table loads fast; lookup order; cached/reasoning pricing.
#include <gtest/gtest.h>

#include <chrono>
#include <fstream>

#include "llmgate/pricing.hpp"

using namespace llmgate;

namespace {

const PriceTable& table() {
  static const PriceTable t = PriceTable::load();
  return t;
}

Deployment dep(ProviderKind kind, std::string prefix, std::string upstream) {
  Deployment d;
  d.id = "d1";
  d.model_name = "alias";
  d.provider = kind;
  d.provider_prefix = std::move(prefix);
  d.upstream_model = std::move(upstream);
  return d;
}

RequestRecord usage(int64_t prompt, int64_t completion, int64_t cached = 0, int64_t reasoning = 0) {
  RequestRecord r;
  r.prompt_tokens = prompt;
  r.completion_tokens = completion;
  r.total_tokens = prompt + completion;
  r.cached_tokens = cached;
  r.reasoning_tokens = reasoning;
  return r;
}

}  // namespace

TEST(Pricing, EmbeddedTableLoadsQuickly) {
  const auto t0 = std::chrono::steady_clock::now();
  PriceTable t = PriceTable::load();
  const double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
  std::printf("[ info ] PriceTable::load(): %.1f ms for %zu models\n", ms, t.size());
  EXPECT_GT(t.size(), 1500u);
  EXPECT_FALSE(t.find("sample_spec"));
  EXPECT_LT(ms, 500);  // generous bound for sanitizer/debug builds; the aim (<50 ms) is in docs
}

TEST(Pricing, DirectLookupAndUnknown) {
  auto p = table().find("gpt-4o");
  ASSERT_TRUE(p);
  EXPECT_DOUBLE_EQ(p->input_cost_per_token, 2.5e-06);
  EXPECT_DOUBLE_EQ(p->output_cost_per_token, 1e-05);
  ASSERT_TRUE(p->cache_read_input_token_cost);
  EXPECT_DOUBLE_EQ(*p->cache_read_input_token_cost, 1.25e-06);
  EXPECT_FALSE(table().find("definitely-not-a-model"));
  // Names are found anywhere in the sorted table, first and last included.
  for (const char* m : {"gpt-4o-mini", "azure/gpt-4o", "ollama/llama3", "ai21.j2-mid-v1", "zai/glm-5-code"})
    EXPECT_TRUE(table().find(m)) << m;
  EXPECT_FALSE(table().find(dep(ProviderKind::openai, "openai", "my-private-model")));
  EXPECT_FALSE(table().cost(dep(ProviderKind::openai, "openai", "my-private-model"), usage(10, 10)));
}

TEST(Pricing, UpstreamModelWithAndWithoutProviderPrefix) {
  // "openai/gpt-4o" is not in the table: falls back to "gpt-4o".
  auto p = table().find(dep(ProviderKind::openai, "openai", "gpt-4o"));
  ASSERT_TRUE(p);
  EXPECT_DOUBLE_EQ(p->input_cost_per_token, 2.5e-06);
  // "ollama/llama2" is in the table with the prefix (free).
  auto o = table().find(dep(ProviderKind::ollama, "ollama", "llama2"));
  ASSERT_TRUE(o);
  EXPECT_DOUBLE_EQ(o->input_cost_per_token, 0.0);
}

TEST(Pricing, AzureUsesBaseModel) {
  Deployment d = dep(ProviderKind::azure, "azure", "my-gpt4o-deployment");
  EXPECT_FALSE(table().find(d));
  d.base_model = "azure/gpt-4o";
  ASSERT_TRUE(table().find(d));
  d.base_model = "gpt-4o-mini";  // also tried as azure/<base_model>
  auto p = table().find(d);
  ASSERT_TRUE(p);
  EXPECT_DOUBLE_EQ(p->input_cost_per_token, 1.5e-07);
}

TEST(Pricing, DeploymentOverridesWin) {
  Deployment d = dep(ProviderKind::openai, "openai", "gpt-4o");
  d.input_cost_per_token = 1e-06;
  d.output_cost_per_token = 2e-06;
  auto p = table().find(d);
  ASSERT_TRUE(p);
  EXPECT_DOUBLE_EQ(p->input_cost_per_token, 1e-06);
  EXPECT_DOUBLE_EQ(p->output_cost_per_token, 2e-06);
  EXPECT_NEAR(*table().cost(d, usage(1000, 500)), 1000 * 1e-06 + 500 * 2e-06, 1e-15);
  // Overrides from model_info, on a model the table does not know.
  Deployment m = dep(ProviderKind::hosted_vllm, "hosted_vllm", "private-llm");
  m.model_info = {{"input_cost_per_token", 3e-07}, {"output_cost_per_token", 4e-07}};
  EXPECT_NEAR(*table().cost(m, usage(100, 100)), 100 * 3e-07 + 100 * 4e-07, 1e-15);
}

TEST(Pricing, CachedAndReasoningTokens) {
  Deployment d = dep(ProviderKind::openai, "openai", "gpt-4o");
  // 1000 prompt tokens of which 400 cached: 600 at the input rate + 400 at the cached rate.
  EXPECT_NEAR(*table().cost(d, usage(1000, 100, 400)), 600 * 2.5e-06 + 400 * 1.25e-06 + 100 * 1e-05, 1e-15);
  // Reasoning tokens priced at their own rate when the table has one.
  Deployment r = dep(ProviderKind::openai, "openai", "private-reasoner");
  r.model_info = {
      {"input_cost_per_token", 1e-06}, {"output_cost_per_token", 2e-06}, {"output_cost_per_reasoning_token", 5e-06}};
  EXPECT_NEAR(*table().cost(r, usage(10, 100, 0, 60)), 10 * 1e-06 + 40 * 2e-06 + 60 * 5e-06, 1e-15);
  // Without a reasoning rate they are ordinary completion tokens.
  EXPECT_NEAR(*table().cost(d, usage(0, 100, 0, 60)), 100 * 1e-05, 1e-15);
  // A gateway cache hit costs nothing; an unknown price stays unknown.
  RequestRecord hit = usage(100, 100);
  hit.cache_hit = true;
  EXPECT_EQ(table().cost(d, hit), 0.0);
}

TEST(Pricing, DuplicateNamesKeepTheLastAsTheJsonParserDoes) {
  const std::string path = ::testing::TempDir() + "/prices-dup.json";
  {
    std::ofstream f(path);
    f << R"({"b": {"input_cost_per_token": 1}, "a": {"input_cost_per_token": 2},
           "b": {"input_cost_per_token": 3, "cache_read_input_token_cost": 0.5}})";
  }
  PriceTable t = PriceTable::load(path);
  EXPECT_EQ(t.size(), 2u);
  EXPECT_DOUBLE_EQ(t.find("b")->input_cost_per_token, 3);
  EXPECT_DOUBLE_EQ(*t.find("b")->cache_read_input_token_cost, 0.5);
  EXPECT_DOUBLE_EQ(t.find("a")->input_cost_per_token, 2);
}

TEST(Pricing, LoadFromFile) {
  const std::string path = ::testing::TempDir() + "/prices.json";
  {
    std::ofstream f(path);
    f << R"({"sample_spec": {"input_cost_per_token": 1}, "m1": {"input_cost_per_token": 1e-6,
           "output_cost_per_token": 2e-6, "litellm_provider": "openai", "supported_regions": ["x"]},
           "image-only": {"output_cost_per_image": 0.04}})";
  }
  PriceTable t = PriceTable::load(path);
  EXPECT_EQ(t.size(), 1u);
  auto m1 = t.find("m1");
  ASSERT_TRUE(m1);
  EXPECT_DOUBLE_EQ(m1->output_cost_per_token, 2e-6);
  EXPECT_FALSE(m1->cache_read_input_token_cost);  // absent stays absent, not 0
  EXPECT_FALSE(m1->output_cost_per_reasoning_token);
  EXPECT_FALSE(t.find("m"));
  EXPECT_FALSE(t.find("m10"));
  EXPECT_THROW(PriceTable::load(path + ".missing"), std::runtime_error);
}
