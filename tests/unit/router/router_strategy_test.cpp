// Each strategy's choice and the group selection around it (order tiers, cooldowns, capacity),
// with fixed seeds and test-driven time.
#include <gtest/gtest.h>

#include <map>
#include <memory>

#include "router/deployment_state.hpp"
#include "router/select.hpp"

namespace llmgate {
namespace {

constexpr int64_t kT0 = 1'000'000'000;

struct Group {
  std::vector<std::unique_ptr<Deployment>> deps;
  DeploymentRuntimeTable table;
  std::vector<Candidate> candidates;
  Deployment& add(const std::string& id) {
    deps.push_back(std::make_unique<Deployment>());
    deps.back()->id = id;
    deps.back()->model_name = "g";
    return *deps.back();
  }
  std::span<const Candidate> build() {
    candidates.clear();
    for (auto& d : deps) candidates.push_back(Candidate{d.get(), &table.get(d->id), -1});
    return candidates;
  }
};

AttemptEnd end_at(int64_t t) {
  AttemptEnd e;
  e.started_ms = t;
  return e;
}

// How often each id is chosen over `n` picks (choose() only: no slots are taken).
std::map<std::string, int> spread(RoutingStrategy& s, std::span<const Candidate> c, int n,
                                  const ChooseContext& ctx = {}) {
  std::map<std::string, int> out;
  for (int i = 0; i < n; ++i) ++out[c[s.choose(c, ctx)].deployment->id];
  return out;
}

// A finished attempt on `id` at kT0.
void record(Group& g, const std::string& id, int64_t latency_ms, int64_t out_tokens, int64_t tokens = 0) {
  for (auto& d : g.deps) {
    if (d->id != id) continue;
    RouterSettings s;
    bool probe;
    DeploymentRuntime& st = g.table.get(id);
    st.acquire(kT0, *d, 0, s, probe);
    AttemptEnd e;
    e.latency_ms = latency_ms;
    e.output_tokens = out_tokens;
    e.total_tokens = tokens;
    e.started_ms = kT0;
    st.finish(kT0, e, s);
  }
}

// Weighted shuffle: 20,000 picks with a fixed seed; each share within 2 percentage points of
// its weight's share.
TEST(RouterStrategy, SimpleShuffleSpreadsByWeightThenRpmThenTpm) {
  struct Case {
    const char* field;
    double a, b, c;
  };
  for (const Case& k : {Case{"weight", 1, 2, 7}, Case{"rpm", 100, 300, 600}, Case{"tpm", 5000, 5000, 10000}}) {
    Group g;
    const std::string f = k.field;
    Deployment* ds[3] = {&g.add("a"), &g.add("b"), &g.add("c")};
    const double w[3] = {k.a, k.b, k.c};
    for (int i = 0; i < 3; ++i) {
      if (f == "weight") ds[i]->weight = w[i];
      if (f == "rpm") ds[i]->rpm = static_cast<int>(w[i]);
      if (f == "tpm") ds[i]->tpm = static_cast<int>(w[i]);
    }
    auto s = make_routing_strategy("simple-shuffle", 42);
    const auto got = spread(*s, g.build(), 20000);
    const double total = k.a + k.b + k.c;
    for (int i = 0; i < 3; ++i) {
      const double share = got.count(ds[i]->id) ? got.at(ds[i]->id) / 20000.0 : 0;
      EXPECT_NEAR(share, w[i] / total, 0.02) << f << " " << ds[i]->id;
    }
  }
}

TEST(RouterStrategy, SimpleShuffleWeightWinsOverRpmAndUnweightedGetNone) {
  Group g;
  g.add("a").weight = 1;
  g.add("b").rpm = 1000;  // no weight while another has one: never chosen (LiteLLM)
  auto s = make_routing_strategy("simple-shuffle", 1);
  const auto got = spread(*s, g.build(), 2000);
  EXPECT_EQ(got.at("a"), 2000);
}

TEST(RouterStrategy, SimpleShuffleWithoutWeightsIsUniform) {
  Group g;
  g.add("a");
  g.add("b");
  auto s = make_routing_strategy("simple-shuffle", 3);
  const auto got = spread(*s, g.build(), 10000);
  EXPECT_NEAR(got.at("a") / 10000.0, 0.5, 0.02);
}

TEST(RouterStrategy, LeastBusyTakesTheFewestInFlight) {
  Group g;
  g.add("a");
  g.add("b");
  g.add("c");
  auto c = g.build();
  RouterSettings s;
  bool probe;
  for (int i = 0; i < 2; ++i) g.table.get("a").acquire(kT0, *g.deps[0], 0, s, probe);
  g.table.get("c").acquire(kT0, *g.deps[2], 0, s, probe);
  auto strat = make_routing_strategy("least-busy", 5);
  ChooseContext ctx;
  ctx.now_ms = kT0;
  EXPECT_EQ(spread(*strat, c, 100, ctx), (std::map<std::string, int>{{"b", 100}}));
}

TEST(RouterStrategy, LatencyBasedMeasuresFirstThenTakesTheFastest) {
  Group g;
  g.add("slow");
  g.add("fast");
  g.add("new");
  auto c = g.build();
  record(g, "slow", 900, 0);
  record(g, "fast", 100, 0);
  RouterSettings s;
  s.strategy_args.exploration = 0;
  ChooseContext ctx;
  ctx.now_ms = kT0;
  ctx.settings = &s;
  auto strat = make_routing_strategy("latency-based-routing", 9);
  EXPECT_EQ(spread(*strat, c, 50, ctx), (std::map<std::string, int>{{"new", 50}}));  // unmeasured first
  record(g, "new", 500, 0);
  EXPECT_EQ(spread(*strat, c, 50, ctx), (std::map<std::string, int>{{"fast", 50}}));
  s.strategy_args.lowest_latency_buffer = 5;  // within 6 x the fastest: fast and new share
  const auto shared = spread(*strat, c, 1000, ctx);
  EXPECT_EQ(shared.count("slow"), 0u);
  EXPECT_GT(shared.at("new"), 300);
}

TEST(RouterStrategy, LatencyBasedExploresItsShareAndPrefersPerTokenLatency) {
  Group g;
  g.add("a");
  g.add("b");
  auto c = g.build();
  record(g, "a", 1000, 100);  // 10 ms per token
  record(g, "b", 200, 5);     // 40 ms per token: faster overall, slower per token
  RouterSettings s;
  s.strategy_args.exploration = 0.2;
  ChooseContext ctx;
  ctx.now_ms = kT0;
  ctx.settings = &s;
  auto strat = make_routing_strategy("latency-based-routing", 11);
  const auto got = spread(*strat, c, 10000, ctx);
  EXPECT_NEAR(got.at("b") / 10000.0, 0.1, 0.02);  // half the exploration share lands on b
}

TEST(RouterStrategy, UsageBasedTakesTheFewestTokensThisMinute) {
  for (const char* name : {"usage-based-routing", "usage-based-routing-v2"}) {
    Group g;
    g.add("a");
    g.add("b");
    auto c = g.build();
    record(g, "a", 10, 0, 500);
    record(g, "b", 10, 0, 200);
    ChooseContext ctx;
    ctx.now_ms = kT0;
    auto strat = make_routing_strategy(name, 2);
    EXPECT_EQ(spread(*strat, c, 20, ctx), (std::map<std::string, int>{{"b", 20}})) << name;
  }
}

TEST(RouterStrategy, CostBasedTakesTheCheapestAndUnknownLast) {
  Group g;
  g.add("dear");
  g.add("cheap");
  g.add("unknown");
  g.build();
  g.candidates[0].price_per_token = 3e-5;
  g.candidates[1].price_per_token = 1e-6;
  auto strat = make_routing_strategy("cost-based-routing", 2);
  EXPECT_EQ(spread(*strat, g.candidates, 20), (std::map<std::string, int>{{"cheap", 20}}));
  std::vector<Candidate> two = {g.candidates[2], g.candidates[0]};
  EXPECT_EQ(spread(*strat, two, 20), (std::map<std::string, int>{{"dear", 20}}));
}

TEST(RouterSelect, LowerOrderTierFirstUntilAllOfItAreUnavailable) {
  Group g;
  g.add("t1a").order = 1;
  g.add("t1b").order = 1;
  g.add("t2").order = 2;
  g.add("unset");
  auto c = g.build();
  auto strat = make_routing_strategy("simple-shuffle", 4);
  RouterSettings s;
  ChooseContext ctx;
  ctx.now_ms = kT0;
  ctx.settings = &s;
  SelectScratch scratch;
  std::map<std::string, int> seen;
  for (int i = 0; i < 200; ++i) {
    const Selection sel = select_deployment(*strat, c, {}, ctx, scratch);
    ASSERT_EQ(sel.status, SelectStatus::ok);
    ++seen[c[sel.index].deployment->id];
    g.table.get(c[sel.index].deployment->id).finish(kT0, end_at(kT0), s);
  }
  EXPECT_EQ(seen.size(), 2u);
  EXPECT_GT(seen["t1a"], 50);
  g.table.get("t1a").cool_down(kT0, 5000);
  g.table.get("t1b").cool_down(kT0, 5000);
  Selection sel = select_deployment(*strat, c, {}, ctx, scratch);
  EXPECT_EQ(c[sel.index].deployment->id, "t2");
  // Already tried this request: the unordered deployment is last.
  sel = select_deployment(*strat, c, {false, false, true, false}, ctx, scratch);
  EXPECT_EQ(c[sel.index].deployment->id, "unset");
}

TEST(RouterSelect, AllCoolingDownIsADistinctFastAnswer) {
  Group g;
  g.add("a");
  g.add("b");
  auto c = g.build();
  g.table.get("a").cool_down(kT0, 5000);
  g.table.get("b").cool_down(kT0, 3000);
  auto strat = make_routing_strategy("least-busy", 4);
  ChooseContext ctx;
  ctx.now_ms = kT0 + 1000;
  SelectScratch scratch;
  const Selection sel = select_deployment(*strat, c, {}, ctx, scratch);
  EXPECT_EQ(sel.status, SelectStatus::cooling_down);
  EXPECT_EQ(sel.retry_after_ms, 2000);  // b's cooldown ends first
  EXPECT_STREQ(to_string(sel.status), "cooling_down");
}

TEST(RouterSelect, AtCapacityAndExcludedAndHalfOpenProbe) {
  Group g;
  Deployment& a = g.add("a");
  a.max_parallel_requests = 1;
  g.add("b");
  auto c = g.build();
  auto strat = make_routing_strategy("usage-based-routing", 4);
  RouterSettings s;
  ChooseContext ctx;
  ctx.now_ms = kT0;
  ctx.settings = &s;
  SelectScratch scratch;
  Selection sel = select_deployment(*strat, c, {false, true}, ctx, scratch);
  ASSERT_EQ(sel.status, SelectStatus::ok);
  EXPECT_EQ(sel.index, 0u);
  EXPECT_EQ(select_deployment(*strat, c, {false, true}, ctx, scratch).status, SelectStatus::at_capacity);
  EXPECT_EQ(select_deployment(*strat, c, {true, true}, ctx, scratch).status, SelectStatus::empty);
  // b cools down, then its first pick after the cooldown is the probe.
  g.table.get("b").cool_down(kT0, 1000);
  EXPECT_EQ(select_deployment(*strat, c, {true, false}, ctx, scratch).status, SelectStatus::cooling_down);
  ctx.now_ms = kT0 + 1000;
  sel = select_deployment(*strat, c, {true, false}, ctx, scratch);
  EXPECT_EQ(sel.status, SelectStatus::ok);
  EXPECT_TRUE(sel.probe);
  EXPECT_EQ(select_deployment(*strat, c, {true, false}, ctx, scratch).status, SelectStatus::cooling_down);
}

TEST(RouterSelect, StrategiesStillOrderWithoutState) {
  // Router::plan (no state) works with every registered strategy.
  Group g;
  g.add("a");
  g.add("b");
  std::vector<const Deployment*> group = {g.deps[0].get(), g.deps[1].get()};
  for (std::string_view name : routing_strategy_names()) {
    auto s = make_routing_strategy(name, 1);
    std::vector<const Deployment*> out;
    s->order(group, RouteRequest{}, 2, out);
    EXPECT_EQ(out.size(), 2u) << name;
    EXPECT_NE(out[0], out[1]) << name;
  }
}

}  // namespace
}  // namespace llmgate
