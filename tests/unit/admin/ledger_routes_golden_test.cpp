// The ledger routes' JSON, byte for byte, for a fixed set of rows: field names, number formats,
// nulls, cursors and LiteLLM's /spend/logs shape must not drift as the query code moves between
// the storage backends and src/admin.
#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "../ledger/store_test_util.hpp"
#include "llmgate/app.hpp"

using namespace llmgate;
using namespace llmgate::testing_store;

namespace {

constexpr int64_t kT0 = 1700000000LL * 1000000;  // 2023-11-14T22:13:20Z

struct Case {
  const char* route;
  std::string path;
  std::multimap<std::string, std::string> query;
  const char* want;
};

#include "ledger_routes_golden.inc"

}  // namespace

TEST(LedgerRoutesGolden, BodiesAreUnchanged) {
  TempDir dir;
  auto l = open_ledger(settings_for(dir.file("g.db")));
  for (int i = 0; i < 12; ++i) l->submit(make_record(i, kT0 + i * 1500000LL));
  ASSERT_TRUE(l->flush_for_test(std::chrono::seconds(20)));
  std::vector<Route> routes;
  register_ledger_routes(routes);
  App app;
  app.ledger = l.get();
  const bool print = std::getenv("LLMGATE_PRINT_GOLDEN") != nullptr;
  for (const Case& c : golden_cases()) {
    const Route* route = nullptr;
    for (auto& r : routes)
      if (r.path == c.route) route = &r;
    ASSERT_NE(route, nullptr) << c.route;
    HttpRequest req;
    req.method = "GET";
    req.path = c.path;
    req.query = c.query;
    const HttpResponse res = route->handler(req, app);
    if (print) std::printf("%s %d\n%s\n\n", c.path.c_str(), res.status, res.body.c_str());
    else EXPECT_EQ(res.body, c.want) << c.path;
  }
}
