// The dashboard and spend API's query parameters (src/admin/ledger_routes.cpp,
// ledger_queries.cpp) through the Beast-free route handlers, against a small ledger in a
// temporary directory. An input is "GET /llmgate/api/...?query" (first line). Any parameters get
// an answer: 200 with JSON or a 400 naming the parameter, never a database error or a 500.
#include <chrono>
#include <memory>
#include <thread>
#include <vector>

#include "fuzz_support.hpp"
#include "llmgate/app.hpp"
#include "llmgate/ledger.hpp"

using namespace llmgate;
using namespace llmgate::fuzz;

namespace {

int64_t now_us() {
  return std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

RequestRecord record(int i, int64_t start_us) {
  RequestRecord r;
  r.request_id = "req-" + std::to_string(i);
  r.endpoint = "/v1/chat/completions";
  r.start_us = start_us;
  r.first_byte_us = start_us + 120000;
  r.end_us = start_us + 250000;
  r.model = i % 2 ? "gpt-4o" : "llama";
  r.model_group = r.model;
  r.deployment_id = r.model + "-0";
  r.provider = i % 2 ? "openai" : "ollama";
  r.upstream_model = r.model;
  r.api_base = "http://127.0.0.1:9999/v1";
  r.key_hash = i % 3 ? "abcdef0123456789" : "fedcba9876543210";
  r.key_alias = i % 3 ? "team-a" : "team-b";
  r.user = "user-" + std::to_string(i % 5);
  r.status = i % 10 == 9 ? 502 : 200;
  if (r.status != 200) {
    r.error_type = "api_error";
    r.error_message = "upstream connection refused";
  }
  r.prompt_tokens = 10 + i % 13;
  r.completion_tokens = 20 + i % 17;
  r.total_tokens = r.prompt_tokens + r.completion_tokens;
  r.cost_usd = i % 4 == 3 ? std::nullopt : std::optional<double>(0.0001 * (1 + i % 3));
  r.stream = i % 2 == 0;
  r.request_body = R"({"model":"gpt-4o","messages":[{"role":"user","content":"hello number )" + std::to_string(i) +
                   R"("}]})";
  r.response_body = R"({"choices":[{"message":{"content":"general kenobi"}}]})";
  return r;
}

struct World {
  const TempDir& dir = temp_dir();
  std::unique_ptr<Ledger> ledger;
  App app;
  std::vector<Route> routes;

  World() {
    LedgerSettings s;
    s.database_path = dir.file("ledger.db");
    s.batch_write_at_s = 0.01;
    ledger = Ledger::open(s);
    // Three days of traffic, so that the day and hour rollups both have rows.
    const int64_t now = now_us();
    constexpr int kRecords = 60;
    for (int i = 0; i < kRecords; ++i) ledger->submit(record(i, now - int64_t(i) * 3600 * 1000000 - 1000000));
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
    while (ledger->stats().written < kRecords) {
      if (std::chrono::steady_clock::now() > deadline) fail("the ledger did not write its records");
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    app.ledger = ledger.get();
    register_ledger_routes(routes);
  }
};

World& world() {
  static World* w = new World;  // the writer thread outlives the fuzz loop
  return *w;
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  quiet_logs();
  world();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  World& w = world();
  RouteInput in = route_input(as_text(data, size));
  if (!in.ok || in.req.method != "GET") return 0;
  const Route* r = find_route(w.routes, in.req);
  if (!r) return 0;
  const HttpResponse res = call_route(*r, in.req, w.app, as_text(data, size), "a ledger route threw");
  check(res.status == 200 || res.status == 400 || res.status == 404, "a ledger query failed", res.body);
  return 0;
}
