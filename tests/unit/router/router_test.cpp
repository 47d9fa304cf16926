// The router's plan and the strategy registry, and the record observer list (no sockets).
#include <gtest/gtest.h>

#include <map>
#include <set>
#include <string>

#include "llmgate/record_observer.hpp"
#include "llmgate/router.hpp"

namespace llmgate {
namespace {

Deployment dep(const std::string& alias, const std::string& id) {
  Deployment d;
  d.id = id;
  d.model_name = alias;
  d.provider = ProviderKind::mock;
  return d;
}

// "gpt" has three deployments, "backup" one, "other" two; "gpt" falls back to
// "missing" (no deployments), "backup" and "other".
std::shared_ptr<Config> config(int num_retries) {
  auto c = std::make_shared<Config>();
  for (const char* id : {"g1", "g2", "g3"}) c->deployments.push_back(dep("gpt", id));
  c->deployments.push_back(dep("backup", "b1"));
  c->deployments.push_back(dep("other", "o1"));
  c->deployments.push_back(dep("other", "o2"));
  c->num_retries = num_retries;
  c->fallbacks["gpt"] = {"missing", "backup", "other"};
  c->index_deployments();
  return c;
}

RouteRequest request(std::string_view model) {
  RouteRequest r;
  r.model = model;
  return r;
}

TEST(RouterPlan, SpreadsAcrossDeploymentsOverManyPlans) {
  auto cfg = config(0);
  Router router("simple-shuffle", 42);
  std::map<std::string, int> first;
  for (int i = 0; i < 3000; ++i) {
    RoutePlan plan;
    ASSERT_TRUE(router.plan(*cfg, request("gpt"), plan));
    ASSERT_FALSE(plan.candidates.empty());
    ++first[plan.candidates[0]->id];
  }
  ASSERT_EQ(first.size(), 3u);
  for (const auto& [id, n] : first) EXPECT_GT(n, 800) << id;  // ~1000 each
}

TEST(RouterPlan, RetriesBoundedByNumRetriesThenFallbacks) {
  for (int retries : {0, 1, 2, 5}) {
    auto cfg = config(retries);
    Router router("simple-shuffle", 7);
    RoutePlan plan;
    ASSERT_TRUE(router.plan(*cfg, request("gpt"), plan));
    const std::size_t primary = std::min<std::size_t>(3, 1 + retries);
    ASSERT_EQ(plan.first_fallback, primary) << retries;
    // The primary candidates are distinct deployments of the alias.
    std::set<std::string> ids;
    for (std::size_t i = 0; i < primary; ++i) {
      EXPECT_EQ(plan.candidates[i]->model_name, "gpt");
      ids.insert(plan.candidates[i]->id);
    }
    EXPECT_EQ(ids.size(), primary);
    // One per fallback alias that has deployments, in the configured order.
    ASSERT_EQ(plan.candidates.size(), primary + 2);
    EXPECT_EQ(plan.candidates[primary]->id, "b1");
    EXPECT_EQ(plan.candidates[primary + 1]->model_name, "other");
  }
}

TEST(RouterPlan, AliasWithoutFallbacks) {
  auto cfg = config(3);
  Router router;
  RoutePlan plan;
  ASSERT_TRUE(router.plan(*cfg, request("other"), plan));
  EXPECT_EQ(plan.candidates.size(), 2u);
  EXPECT_EQ(plan.first_fallback, 2u);
}

TEST(RouterPlan, UnknownAliasHasNoPlan) {
  auto cfg = config(1);
  Router router;
  RoutePlan plan;
  EXPECT_FALSE(router.plan(*cfg, request("nope"), plan));
  EXPECT_TRUE(plan.candidates.empty());
}

TEST(RouterRegistry, LooksUpStrategiesByLiteLLMName) {
  const auto names = routing_strategy_names();
  ASSERT_FALSE(names.empty());
  EXPECT_EQ(names.front(), "simple-shuffle");
  EXPECT_NE(make_routing_strategy("simple-shuffle", 1), nullptr);
  EXPECT_EQ(make_routing_strategy("latency-based-routing-not-registered", 1), nullptr);
}

TEST(RouterRegistry, UnknownStrategyNameFallsBackToSimpleShuffle) {
  auto cfg = config(0);
  Router router("no-such-strategy", 3);
  std::set<std::string> first;
  for (int i = 0; i < 300; ++i) {
    RoutePlan plan;
    ASSERT_TRUE(router.plan(*cfg, request("gpt"), plan));
    first.insert(plan.candidates[0]->id);
    AttemptResult r;
    r.deployment = plan.candidates[0];
    r.status = 200;
    router.on_result(r);  // simple-shuffle ignores results
  }
  EXPECT_EQ(first.size(), 3u);
}

struct Seen final : RecordObserver {
  std::vector<std::string>* log;
  std::string name;
  Seen(std::vector<std::string>* l, std::string n) : log(l), name(std::move(n)) {}
  void on_record(const RequestRecord& rec, const RecordContext&) override {
    log->push_back(name + ":" + rec.request_id);
  }
  void on_last_record(RequestRecord&& rec, const RecordContext&) override {
    log->push_back(name + " kept:" + rec.request_id);
    RequestRecord kept = std::move(rec);
    (void)kept;
  }
};

TEST(RecordObservers, EachObserverInOrderAndTheLastKeepsTheRecord) {
  std::vector<std::string> log;
  RecordObservers list;
  list.add(std::make_unique<Seen>(&log, "a"));
  list.add(std::make_unique<Seen>(&log, "b"));
  list.add(std::make_unique<Seen>(&log, "c"));
  Config cfg;
  Principal who;
  RecordContext ctx{cfg, who, "req", 0};
  RequestRecord rec;
  rec.request_id = "r1";
  list.notify(std::move(rec), ctx);
  EXPECT_EQ(log, (std::vector<std::string>{"a:r1", "b:r1", "c kept:r1"}));
  RecordObservers empty;
  RequestRecord rec2;
  empty.notify(std::move(rec2), ctx);  // nothing to tell: no crash
}

}  // namespace
}  // namespace llmgate

namespace llmgate {
namespace {

TEST(RouterConfig, RoutingStrategyNamesARegisteredStrategy) {
  Config c = load_config_string("router_settings:\n  routing_strategy: simple-shuffle\n");
  EXPECT_EQ(c.routing_strategy, "simple-shuffle");
  EXPECT_TRUE(c.warnings.empty());
  Config u = load_config_string("router_settings:\n  routing_strategy: least-busy\n");
  EXPECT_EQ(u.routing_strategy, "simple-shuffle");  // unknown: today's behaviour, with a warning
  ASSERT_EQ(u.warnings.size(), 1u);
  EXPECT_NE(u.warnings[0].find("not supported yet, using simple-shuffle"), std::string::npos);
}

TEST(RouterConfig, UseSwitchesOnlyToRegisteredNames) {
  Router r("simple-shuffle", 1);
  EXPECT_EQ(r.strategy_name(), "simple-shuffle");
  RoutingStrategy* before = &r.strategy();
  r.use("simple-shuffle");  // same name: the strategy (and its state) is kept
  EXPECT_EQ(&r.strategy(), before);
  r.use("no-such-strategy");
  EXPECT_EQ(r.strategy_name(), "simple-shuffle");
  EXPECT_EQ(&r.strategy(), before);
}

}  // namespace
}  // namespace llmgate
