// Ledger benchmarks (not a test): writer throughput, a 1M-row generator, read-query latency and
// the cost of Metrics::observe. Prints figures; see docs/ledger.md for results and commands.
//
//   llmgate_ledger_bench fill    --db /tmp/l.db --rows 1000000 --days 7 [--body-bytes 400]
//   llmgate_ledger_bench writer  --db /tmp/w.db --rows 200000 [--body-bytes 0|400]
//   llmgate_ledger_bench queries --db /tmp/l.db [--reps 20]
//   llmgate_ledger_bench observe
#include <spdlog/spdlog.h>
#include <sys/resource.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "admin/ledger_api.hpp"
#include "ledger/sqlite/sqlite_ledger.hpp"
#include "llmgate/metrics.hpp"

using namespace llmgate;
using Clock = std::chrono::steady_clock;

namespace {

struct Args {
  std::string cmd, db = "/tmp/llmgate-bench.db";
  long rows = 200000, days = 7, body_bytes = 400, reps = 20;
};

Args parse(int argc, char** argv) {
  Args a;
  if (argc > 1) a.cmd = argv[1];
  for (int i = 2; i + 1 < argc; i += 2) {
    std::string k = argv[i], v = argv[i + 1];
    if (k == "--db") a.db = v;
    else if (k == "--rows") a.rows = std::stol(v);
    else if (k == "--days") a.days = std::stol(v);
    else if (k == "--body-bytes") a.body_bytes = std::stol(v);
    else if (k == "--reps") a.reps = std::stol(v);
  }
  return a;
}

// CPU seconds of the whole process (the writer thread and the submitting one).
double cpu_s() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return static_cast<double>(u.ru_utime.tv_sec + u.ru_stime.tv_sec) +
         static_cast<double>(u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1e6;
}

// CPU seconds of the ledger's writer thread (named llmgate-ledger), from schedstat; 0 if absent.
double writer_thread_cpu_s() {
  for (const auto& e : std::filesystem::directory_iterator("/proc/self/task")) {
    std::FILE* f = std::fopen((e.path() / "comm").c_str(), "r");
    if (!f) continue;
    char name[64] = {};
    const bool ok = std::fgets(name, sizeof name, f) != nullptr;
    std::fclose(f);
    if (!ok || std::strncmp(name, "llmgate-ledger", 14) != 0) continue;
    f = std::fopen((e.path() / "schedstat").c_str(), "r");
    if (!f) return 0;
    unsigned long long ns = 0;
    const int n = std::fscanf(f, "%llu", &ns);
    std::fclose(f);
    return n == 1 ? static_cast<double>(ns) / 1e9 : 0;
  }
  return 0;
}

int64_t now_us() {
  return std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

const char* kWords[] = {
    "summarize", "the",      "quarterly", "report",  "translate",  "into",    "french", "write", "a",        "function",
    "that",      "parses",   "json",      "explain", "kubernetes", "ingress", "poem",   "about", "autumn",   "leaves",
    "invoice",   "customer", "refund",    "policy",  "python",     "error",   "stack",  "trace", "database", "index"};

struct Gen {
  std::mt19937_64 rng{12345};
  std::vector<std::string> models = {"gpt-4o",        "gpt-4o-mini", "claude-sonnet", "llama3-70b",
                                     "mistral-large", "embed-small", "o3-mini",       "qwen2.5"};
  std::vector<std::string> keys, aliases;
  Gen() {
    for (int i = 0; i < 50; ++i) {
      char h[17];
      std::snprintf(h, sizeof h, "%016llx", static_cast<unsigned long long>(rng()));
      keys.push_back(h);
      aliases.push_back("team-" + std::to_string(i));
    }
  }
  std::string text(long bytes) {
    std::string s;
    while (static_cast<long>(s.size()) < bytes) {
      s += kWords[rng() % (sizeof kWords / sizeof *kWords)];
      s += ' ';
    }
    return s;
  }
  RequestRecord make(int64_t start_us, long body_bytes) {
    RequestRecord r;
    // Like the gateway's ids (Worker::new_request_id): unix milliseconds in 12 hex digits, then
    // 80 random bits, so they grow with time (each insert appends to the unique index).
    char id[33];
    std::snprintf(id, sizeof id, "%012llx%04llx%016llx",
                  static_cast<unsigned long long>(start_us / 1000) & 0xffffffffffffULL,
                  static_cast<unsigned long long>(rng() & 0xffff), static_cast<unsigned long long>(rng()));
    r.request_id = id;
    r.endpoint = "/v1/chat/completions";
    r.start_us = start_us;
    const int64_t lat = 150000 + static_cast<int64_t>(rng() % 3000000);
    r.first_byte_us = start_us + lat / 3;
    r.end_us = start_us + lat;
    r.ttft_us = lat / 3;
    r.upstream_us = lat - 800;
    r.overhead_us = 800;
    const auto& m = models[std::min<std::size_t>(rng() % 10, models.size() - 1)];
    r.model = m;
    r.model_group = m;
    r.deployment_id = m + "-0";
    r.provider = "openai";
    r.upstream_model = m;
    r.api_base = "https://api.example.com/v1";
    std::size_t k = rng() % keys.size();
    r.key_hash = keys[k];
    r.key_alias = aliases[k];
    r.user = "user-" + std::to_string(rng() % 500);
    r.client_ip = "10.1.2.3";
    const auto roll = rng() % 100;
    r.status = roll < 95 ? 200 : roll < 97 ? 429 : roll < 99 ? 502 : 400;
    if (r.status != 200) {
      r.error_type = r.status == 429 ? "rate_limit_error" : "api_error";
      r.error_message = r.status == 429 ? "rate limit exceeded" : "upstream connection refused";
    }
    r.prompt_tokens = 20 + static_cast<int64_t>(rng() % 2000);
    r.completion_tokens = r.status == 200 ? 5 + static_cast<int64_t>(rng() % 800) : 0;
    r.total_tokens = r.prompt_tokens + r.completion_tokens;
    r.cost_usd = r.prompt_tokens * 2.5e-6 + r.completion_tokens * 1e-5;
    r.stream = rng() % 2;
    r.cache_hit = rng() % 20 == 0;
    if (body_bytes > 0) {
      r.request_body = "{\"model\":\"" + m + "\",\"messages\":[{\"role\":\"user\",\"content\":\"" +
                       text(body_bytes / 2) + "\"}]}";
      r.response_body = "{\"choices\":[{\"message\":{\"content\":\"" + text(body_bytes / 2) + "\"}}]}";
    }
    return r;
  }
};

// Submits `rows` records (start times spread over `days` up to now). `pregen`: build every
// record first and time only submit -> last commit (the writer's own throughput); otherwise
// records are generated while submitting (the 1M-row generator). Returns rows per second.
double write_rows(const Args& a, long days, bool pregen) {
  LedgerSettings s;
  s.database_path = a.db;
  s.batch_write_at_s = 0.2;
  s.batch_max_records = 2000;
  s.queue_max_records = pregen ? static_cast<std::size_t>(a.rows) + 1 : 50000;
  s.queue_max_bytes = std::size_t(8) << 30;
  auto ledger = Ledger::open(s);
  auto* l = static_cast<store::SqliteLedger*>(ledger.get());
  Gen g;
  const int64_t end = now_us() - 60LL * 1000000;
  const int64_t span = days * 86400LL * 1000000;
  auto start_of = [&](long i) {
    return end - span + static_cast<int64_t>((static_cast<__int128>(span) * i) / std::max(1L, a.rows));
  };
  std::vector<RequestRecord> pre;
  if (pregen) {
    pre.reserve(static_cast<std::size_t>(a.rows));
    for (long i = 0; i < a.rows; ++i) pre.push_back(g.make(start_of(i), a.body_bytes));
  }
  const double cpu0 = cpu_s(), wcpu0 = writer_thread_cpu_s();
  const auto t0 = Clock::now();
  for (long i = 0; i < a.rows; ++i) {
    if (pregen) {
      l->submit(std::move(pre[static_cast<std::size_t>(i)]));
      continue;
    }
    if (i % 256 == 0)
      while (l->stats().queued > 40000) std::this_thread::sleep_for(std::chrono::microseconds(200));
    l->submit(g.make(start_of(i), a.body_bytes));
  }
  const double submit_s = std::chrono::duration<double>(Clock::now() - t0).count();
  l->flush_for_test(std::chrono::minutes(30));
  const double secs = std::chrono::duration<double>(Clock::now() - t0).count();
  const double cpu = cpu_s() - cpu0, wcpu = writer_thread_cpu_s() - wcpu0;
  LedgerStats st = l->stats();
  std::printf(
      "%s: wrote %llu rows (body %ld B, dropped %llu, db_errors %llu) in %.2f s: %.0f rows/s;"
      " CPU %.2f s (%.2f us/row, submit included), writer thread %.2f us/row (%.0f rows per"
      " CPU-second); submit() %.0f ns/record;"
      " last batch (2000 rows) commit %.1f ms\n",
      pregen ? "writer" : "fill", static_cast<unsigned long long>(st.written), a.body_bytes,
      static_cast<unsigned long long>(st.dropped), static_cast<unsigned long long>(st.db_errors), secs,
      st.written / secs, cpu, cpu * 1e6 / std::max<double>(1, static_cast<double>(st.written)),
      wcpu * 1e6 / std::max<double>(1, static_cast<double>(st.written)),
      static_cast<double>(st.written) / std::max(1e-9, wcpu), submit_s * 1e9 / std::max(1L, a.rows),
      st.last_batch_seconds * 1000);
  l->shutdown();
  return st.written / secs;
}

double run_ms(Ledger& l, const std::string& name, const std::multimap<std::string, std::string>& p,
              std::size_t* n_out = nullptr) {
  const auto t0 = Clock::now();
  auto j = admin::ledger_query(l, name, p);  // parameters, reader and JSON, as the routes
  const double ms = std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
  if (n_out) {
    if (j.contains("data")) *n_out = j["data"].size();
    else if (j.contains("series")) *n_out = j["series"].size();
    else if (j.is_array()) *n_out = j.size();
    else *n_out = 1;
  }
  return ms;
}

void queries(const Args& a) {
  LedgerSettings s;
  s.database_path = a.db;
  auto ledger = Ledger::open(s);
  // A cursor for page 2 and a key/alias for the key filter.
  auto first = admin::ledger_query(*ledger, "logs", {{"limit", "50"}});
  std::string cursor = first["next_cursor"].is_string() ? first["next_cursor"].get<std::string>() : "";
  const std::string wk = std::to_string(now_us() / 1000000 - 7 * 86400);
  const std::string lastmonth = std::to_string(now_us() / 1000000 - 30 * 86400);
  struct Q {
    std::string label, name;
    std::multimap<std::string, std::string> p;
  };
  std::vector<Q> qs = {
      {"logs (last 24h, first page)", "logs", {}},
      {"logs page 2 (cursor)", "logs", {{"cursor", cursor}}},
      {"logs model=gpt-4o-mini", "logs", {{"model", "gpt-4o-mini"}}},
      {"logs key=team-7 (alias)", "logs", {{"key", "team-7"}}},
      {"logs status_class=5xx", "logs", {{"status_class", "5xx"}}},
      {"logs status_class=error, 7 days", "logs", {{"status_class", "error"}, {"start", wk}}},
      {"logs q=kubernetes ingress", "logs", {{"q", "kubernetes ingress"}}},
      {"logs q=refused (error text), 7 days", "logs", {{"q", "refused"}, {"start", wk}}},
      {"logs model+key+5xx, 7 days",
       "logs",
       {{"model", "gpt-4o"}, {"key", "team-3"}, {"status_class", "5xx"}, {"start", wk}}},
      {"log (one record)",
       "log",
       {{"request_id", first["data"].empty() ? std::string("x") : first["data"][0]["request_id"].get<std::string>()}}},
      {"usage hour, 24h, group none", "usage", {}},
      {"usage hour, 7d, group model", "usage", {{"start", wk}, {"group_by", "model"}}},
      {"usage day, 30d, group key", "usage", {{"start", lastmonth}, {"bucket", "day"}, {"group_by", "key"}}},
      {"summary 24h", "summary", {}},
      {"summary 7d", "summary", {{"start", wk}}},
      {"stats", "stats", {}},
      {"/spend/logs user_id, 30d (<=1000 rows)", "spend_logs", {{"user_id", "user-42"}}},
      {"/global/spend", "global_spend", {}},
  };
  std::printf("%-42s %10s %10s %8s\n", "query", "cold ms", "warm p50", "rows");
  for (auto& q : qs) {
    std::size_t n = 0;
    const double cold = run_ms(*ledger, q.name, q.p, &n);
    std::vector<double> warm;
    for (long i = 0; i < a.reps; ++i) warm.push_back(run_ms(*ledger, q.name, q.p));
    std::sort(warm.begin(), warm.end());
    std::printf("%-42s %10.2f %10.2f %8zu\n", q.label.c_str(), cold, warm[warm.size() / 2], n);
  }
  ledger->shutdown();
}

void observe_bench() {
  Config c;
  Deployment d;
  d.id = "dep-0";
  d.model_name = "gpt-4o";
  d.provider_prefix = "openai";
  d.upstream_model = "gpt-4o";
  c.deployments.push_back(d);
  Metrics m(c);
  RequestRecord r;
  r.model = r.model_group = "gpt-4o";
  r.deployment_id = "dep-0";
  r.key_hash = "0123456789abcdef";
  r.key_alias = "team-a";
  r.status = 200;
  r.start_us = 0;
  r.end_us = 350000;
  r.upstream_us = 340000;
  r.ttft_us = 100000;
  r.overhead_us = 900;
  r.prompt_tokens = 100;
  r.completion_tokens = 50;
  r.total_tokens = 150;
  r.cost_usd = 0.001;
  m.observe(r);
  const long n = 1000000;
  auto t0 = Clock::now();
  for (long i = 0; i < n; ++i) m.observe(r);
  const double ns = std::chrono::duration<double, std::nano>(Clock::now() - t0).count() / n;
  std::printf("Metrics::observe: %.0f ns per call (1 thread, %ld calls)\n", ns, n);
  for (int threads : {2, 4}) {
    std::vector<std::thread> ts;
    t0 = Clock::now();
    for (int k = 0; k < threads; ++k)
      ts.emplace_back([&] {
        for (long i = 0; i < n / threads; ++i) m.observe(r);
      });
    for (auto& t : ts) t.join();
    const double tns = std::chrono::duration<double, std::nano>(Clock::now() - t0).count() / n;
    std::printf("Metrics::observe: %.0f ns wall per call with %d threads contending\n", tns, threads);
  }
  t0 = Clock::now();
  std::string text = m.serialize(nullptr);
  std::printf("Metrics::serialize: %.2f ms for %zu bytes\n",
              std::chrono::duration<double, std::milli>(Clock::now() - t0).count(), text.size());
}

}  // namespace

int main(int argc, char** argv) {
  spdlog::set_level(spdlog::level::warn);
  Args a = parse(argc, argv);
  if (a.cmd == "fill") {
    write_rows(a, a.days, false);
  } else if (a.cmd == "writer") {
    std::filesystem::remove(a.db);
    std::filesystem::remove(a.db + "-wal");
    std::filesystem::remove(a.db + "-shm");
    write_rows(a, 1, true);
  } else if (a.cmd == "queries") {
    queries(a);
  } else if (a.cmd == "observe") {
    observe_bench();
  } else {
    std::fprintf(stderr,
                 "usage: %s fill|writer|queries|observe [--db PATH] [--rows N] "
                 "[--days N] [--body-bytes N] [--reps N]\n",
                 argv[0]);
    return 2;
  }
  return 0;
}
