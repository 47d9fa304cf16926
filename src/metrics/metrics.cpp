// Prometheus metrics with LiteLLM's names and labels (prometheus-cpp core, serialized by us).
//
// Cardinality: every label value comes from the configuration (model groups, deployments) or
// from issued keys, never from what a client typed; unknown models use "unknown", statuses a
// fixed set, and the number of cached label sets is capped (extra keys collapse to "other").
#include "llmgate/metrics.hpp"

#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/gauge.h>
#include <prometheus/registry.h>
#include <prometheus/text_serializer.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <cmath>
#include <limits>
#include <map>
#include <mutex>
#include <shared_mutex>
#include <string_view>
#include <unordered_map>
#include <unordered_set>

namespace llmgate {

namespace {

using prometheus::Counter;
using prometheus::Family;
using prometheus::Gauge;
using prometheus::Labels;

constexpr std::size_t kMaxLabelSets = 5000;

// LiteLLM's LATENCY_BUCKETS (seconds).
const std::array<double, 35>& latency_buckets() {
  static constexpr std::array<double, 35> b = {
      0.005, 0.00625, 0.0125, 0.025, 0.05, 0.1, 0.5, 1.0,  1.5,  2.0,  2.5,  3.0,  3.5,  4.0,   4.5,   5.0,   5.5,  6.0,
      6.5,   7.0,     7.5,    8.0,   8.5,  9.0, 9.5, 10.0, 15.0, 20.0, 25.0, 30.0, 60.0, 120.0, 180.0, 240.0, 300.0};
  return b;
}

// A latency histogram with LiteLLM's buckets, observed with two relaxed atomic adds and served
// by Metrics::serialize. prometheus-cpp's Histogram takes a mutex and runs two atomic-double
// compare-exchange loops per observation (~195 instructions; three or four per request).
// Values are whole microseconds; the sum is kept in microseconds (exact) and shown in seconds.
// A scrape during observations may read a sum that is off from the counts by the observations
// in flight (counts are read first, then the sum), which Prometheus tolerates; the buckets and
// the count always agree with each other.
class LatencyHistogram {
 public:
  static constexpr std::size_t kBounds = std::tuple_size_v<std::decay_t<decltype(latency_buckets())>>;

  void observe_us(int64_t us) {
    const auto& b = bounds_us();
    // The first bound >= the value: Prometheus's "le", as prometheus-cpp's find_if.
    const std::size_t i = static_cast<std::size_t>(std::lower_bound(b.begin(), b.end(), us) - b.begin());
    counts_[i].fetch_add(1, std::memory_order_relaxed);
    sum_us_.fetch_add(us, std::memory_order_relaxed);
  }

  prometheus::ClientMetric collect(const Labels& labels) const {
    prometheus::ClientMetric m;
    for (const auto& [k, v] : labels) m.label.push_back({k, v});
    std::uint64_t cumulative = 0;
    m.histogram.bucket.reserve(kBounds + 1);
    for (std::size_t i = 0; i <= kBounds; ++i) {
      cumulative += counts_[i].load(std::memory_order_relaxed);
      prometheus::ClientMetric::Bucket bucket;
      bucket.cumulative_count = cumulative;
      bucket.upper_bound = i < kBounds ? latency_buckets()[i] : std::numeric_limits<double>::infinity();
      m.histogram.bucket.push_back(bucket);
    }
    m.histogram.sample_count = cumulative;
    m.histogram.sample_sum = static_cast<double>(sum_us_.load(std::memory_order_relaxed)) / 1e6;
    return m;
  }

 private:
  static const std::array<int64_t, kBounds>& bounds_us() {
    static const std::array<int64_t, kBounds> b = [] {
      std::array<int64_t, kBounds> us{};
      for (std::size_t i = 0; i < kBounds; ++i) us[i] = std::llround(latency_buckets()[i] * 1e6);
      return us;
    }();
    return b;
  }

  std::array<std::atomic<std::uint64_t>, kBounds + 1> counts_{};
  std::atomic<int64_t> sum_us_{0};
};

// One histogram family: a histogram per label set (series that differ only in labels the
// family does not have, such as the status, share one). Nodes are stable and never erased.
struct HistogramFamily {
  const char* name;
  const char* help;
  std::map<Labels, std::unique_ptr<LatencyHistogram>> children;

  LatencyHistogram* add(const Labels& labels) {
    auto& h = children[labels];
    if (!h) h = std::make_unique<LatencyHistogram>();
    return h.get();
  }
  prometheus::MetricFamily collect() const {
    prometheus::MetricFamily f{name, help, prometheus::MetricType::Histogram, {}};
    f.metric.reserve(children.size());
    for (const auto& [labels, h] : children) f.metric.push_back(h->collect(labels));
    return f;
  }
};

std::string_view status_label(int s) {
  switch (s) {
    case 200: return "200";
    case 201: return "201";
    case 400: return "400";
    case 401: return "401";
    case 403: return "403";
    case 404: return "404";
    case 405: return "405";
    case 408: return "408";
    case 413: return "413";
    case 422: return "422";
    case 429: return "429";
    case 499: return "499";
    case 500: return "500";
    case 502: return "502";
    case 503: return "503";
    case 504: return "504";
    default: break;
  }
  if (s >= 200 && s < 300) return "2xx";
  if (s >= 400 && s < 500) return "4xx";
  if (s >= 500 && s < 600) return "5xx";
  return "other";
}

std::string_view exception_class(std::string_view t) {
  static const std::array<std::string_view, 10> known = {
      "invalid_request_error", "authentication_error", "permission_error", "rate_limit_error", "api_error",
      "client_closed_request", "timeout_error",        "server_error",     "not_found_error",  "insufficient_quota"};
  for (auto k : known)
    if (t == k) return k;
  return t.empty() ? std::string_view("") : std::string_view("other");
}

// api_base without userinfo or query string (it never carries a key into a label).
std::string safe_api_base(const Deployment& d) {
  if (!d.url.host.empty()) return d.url.origin() + d.url.base_path;
  return "";
}

struct DepInfo {
  std::string model_group, litellm_model_name, api_provider, api_base;
};

// All children one finished request touches, cached per label combination.
struct Series {
  Counter* requests = nullptr;
  Counter* failed = nullptr;  // null on success
  Counter* spend = nullptr;
  Counter* total_tokens = nullptr;
  Counter* input_tokens = nullptr;
  Counter* output_tokens = nullptr;
  LatencyHistogram* total_latency = nullptr;
  LatencyHistogram* api_latency = nullptr;
  LatencyHistogram* ttft = nullptr;
  LatencyHistogram* overhead = nullptr;
};

}  // namespace

struct Metrics::Impl {
  std::shared_ptr<prometheus::Registry> registry = std::make_shared<prometheus::Registry>();
  Family<Counter>& requests;
  Family<Counter>& failed;
  Family<Counter>& spend;
  Family<Counter>& total_tokens;
  Family<Counter>& input_tokens;
  Family<Counter>& output_tokens;
  Family<Gauge>& in_flight_family;
  Gauge& in_flight;
  Family<Gauge>& deployment_state;

  mutable std::shared_mutex mu;
  // Served by serialize(), outside the registry (see LatencyHistogram); guarded by mu.
  HistogramFamily total_latency{
      "litellm_request_total_latency_metric", "Total latency (seconds) for a request to LiteLLM", {}};
  HistogramFamily api_latency{
      "litellm_llm_api_latency_metric", "Total latency (seconds) for a model's LLM API call", {}};
  HistogramFamily ttft{
      "litellm_llm_api_time_to_first_token_metric", "Time to first token for a model's LLM API call (seconds)", {}};
  HistogramFamily overhead{"litellm_overhead_latency_metric", "Latency overhead (seconds) added by the proxy", {}};
  std::unordered_map<std::string, DepInfo> deployments;  // by deployment id
  std::unordered_set<std::string> model_groups;
  std::unordered_map<std::string, Series> series;

  Impl()
      : requests(prometheus::BuildCounter()
                     .Name("litellm_proxy_total_requests_metric_total")
                     .Help("Total number of requests made to the proxy server")
                     .Register(*registry)),
        failed(prometheus::BuildCounter()
                   .Name("litellm_proxy_failed_requests_metric_total")
                   .Help("Total number of failed responses from proxy")
                   .Register(*registry)),
        spend(prometheus::BuildCounter()
                  .Name("litellm_spend_metric_total")
                  .Help("Total spend on LLM requests (USD)")
                  .Register(*registry)),
        total_tokens(prometheus::BuildCounter()
                         .Name("litellm_total_tokens_metric_total")
                         .Help("Total number of input + output tokens from LLM requests")
                         .Register(*registry)),
        input_tokens(prometheus::BuildCounter()
                         .Name("litellm_input_tokens_metric_total")
                         .Help("Total number of input tokens from LLM requests")
                         .Register(*registry)),
        output_tokens(prometheus::BuildCounter()
                          .Name("litellm_output_tokens_metric_total")
                          .Help("Total number of output tokens from LLM requests")
                          .Register(*registry)),
        in_flight_family(prometheus::BuildGauge()
                             .Name("litellm_in_flight_requests")
                             .Help("Number of requests currently being processed")
                             .Register(*registry)),
        in_flight(in_flight_family.Add({})),
        deployment_state(prometheus::BuildGauge()
                             .Name("litellm_deployment_state")
                             .Help("The state of the deployment: 0 = healthy, 1 = partial "
                                   "outage, 2 = complete outage")
                             .Register(*registry)) {}

  Labels state_labels(const Deployment& d) const {
    return {{"litellm_model_name", d.upstream_model},
            {"model_id", d.id},
            {"api_base", safe_api_base(d)},
            {"api_provider", d.provider_prefix.empty() ? to_string(d.provider) : d.provider_prefix}};
  }

  void configure(const Config& cfg) {
    std::unique_lock lk(mu);
    deployments.clear();
    model_groups.clear();
    for (const auto& d : cfg.deployments) {
      DepInfo info{d.model_name, d.upstream_model,
                   d.provider_prefix.empty() ? to_string(d.provider) : d.provider_prefix, safe_api_base(d)};
      deployments[d.id] = std::move(info);
      model_groups.insert(d.model_name);
      deployment_state.Add(state_labels(d));  // present (0 = healthy) from the start
    }
  }

  Series make_series(std::string_view requested_model, const DepInfo* dep, std::string_view key_hash,
                     std::string_view key_alias, std::string_view status, std::string_view exc) {
    const std::string rm(requested_model), kh(key_hash), ka(key_alias);
    const std::string model = dep ? dep->litellm_model_name : "";
    auto user_labels = [&](const Labels& extra) {
      Labels l{{"end_user", ""}, {"hashed_api_key", kh}, {"api_key_alias", ka},
               {"team", ""},     {"team_alias", ""},     {"user", ""}};
      for (auto& [k, v] : extra) l[k] = v;
      return l;
    };
    Series s;
    s.requests = &requests.Add(user_labels({{"requested_model", rm}, {"status_code", std::string(status)}}));
    if (!exc.empty())
      s.failed = &failed.Add(user_labels(
          {{"requested_model", rm}, {"exception_status", std::string(status)}, {"exception_class", std::string(exc)}}));
    s.spend = &spend.Add(user_labels({{"model", model}}));
    const Labels tok = user_labels({{"requested_model", rm}, {"model", model}});
    s.total_tokens = &total_tokens.Add(tok);
    s.input_tokens = &input_tokens.Add(tok);
    s.output_tokens = &output_tokens.Add(tok);
    s.total_latency = total_latency.add(tok);
    s.api_latency = api_latency.add(tok);
    s.ttft = ttft.add(tok);
    s.overhead = overhead.add({{"model_group", rm},
                               {"api_provider", dep ? dep->api_provider : ""},
                               {"api_base", dep ? dep->api_base : ""},
                               {"litellm_model_name", model},
                               {"hashed_api_key", kh},
                               {"api_key_alias", ka}});
    return s;
  }
};

Metrics::Metrics(const Config& cfg) : impl_(std::make_unique<Impl>()) { impl_->configure(cfg); }
Metrics::~Metrics() = default;

void Metrics::reconfigure(const Config& cfg) { impl_->configure(cfg); }

void Metrics::in_flight_add(int delta) { impl_->in_flight.Increment(delta); }

void Metrics::observe(const RequestRecord& r) {
  Impl& m = *impl_;
  thread_local std::string key;
  // The labels of `r` and its series key, with m.mu held (shared or exclusive): `dep` points
  // into m.deployments, which a reconfigure replaces, so it is looked up again under each lock.
  struct Resolved {
    std::string_view rm, kh, ka, st, exc;
    const DepInfo* dep = nullptr;
  };
  auto resolve = [&](bool collapse_keys) {
    Resolved x;
    const bool known_model = !r.model_group.empty() && m.model_groups.count(r.model_group);
    x.rm = known_model ? std::string_view(r.model_group) : "unknown";
    if (known_model && !r.deployment_id.empty()) {
      auto it = m.deployments.find(r.deployment_id);
      if (it != m.deployments.end() && it->second.model_group == r.model_group) x.dep = &it->second;
    }
    // Key labels only for authenticated callers (an auth failure carries no trusted key); past
    // the label-set cap they collapse to "other" rather than grow without bound.
    const bool key_ok = r.status != 401 && !r.key_hash.empty();
    x.kh = collapse_keys ? "other" : key_ok ? std::string_view(r.key_hash) : "";
    x.ka = collapse_keys ? "other" : key_ok ? std::string_view(r.key_alias) : "";
    x.st = status_label(r.status);
    x.exc = r.status >= 400 || !r.error_type.empty()
                ? (r.error_type.empty() ? std::string_view("other") : exception_class(r.error_type))
                : std::string_view("");
    // The series key: the label values joined by a separator (no temporary strings).
    key.clear();
    for (std::string_view part :
         {x.rm, x.dep ? std::string_view(r.deployment_id) : std::string_view(), x.kh, x.ka, x.st}) {
      key += part;
      key += '\x1f';
    }
    key += x.exc;
    return x;
  };
  const Series* s = nullptr;
  {
    std::shared_lock lk(m.mu);
    resolve(false);
    if (auto it = m.series.find(key); it != m.series.end()) s = &it->second;
  }
  if (!s) {
    std::unique_lock wl(m.mu);
    Resolved x = resolve(false);
    auto it = m.series.find(key);
    if (it == m.series.end() && m.series.size() >= kMaxLabelSets) {
      x = resolve(true);
      it = m.series.find(key);
    }
    if (it == m.series.end()) it = m.series.emplace(key, m.make_series(x.rm, x.dep, x.kh, x.ka, x.st, x.exc)).first;
    s = &it->second;
  }
  // Series pointers stay valid: unordered_map nodes are stable and never erased.
  s->requests->Increment();
  if (s->failed) s->failed->Increment();
  if (r.cost_usd && *r.cost_usd > 0) s->spend->Increment(*r.cost_usd);
  if (r.total_tokens > 0) s->total_tokens->Increment(static_cast<double>(r.total_tokens));
  if (r.prompt_tokens > 0) s->input_tokens->Increment(static_cast<double>(r.prompt_tokens));
  if (r.completion_tokens > 0) s->output_tokens->Increment(static_cast<double>(r.completion_tokens));
  if (r.end_us > r.start_us) s->total_latency->observe_us(r.end_us - r.start_us);
  if (r.upstream_us > 0) s->api_latency->observe_us(r.upstream_us);
  if (r.ttft_us > 0) s->ttft->observe_us(r.ttft_us);
  if (r.overhead_us > 0) s->overhead->observe_us(r.overhead_us);
}

void Metrics::set_deployment_state(const Deployment& d, DeploymentState s) {
  impl_->deployment_state.Add(impl_->state_labels(d)).Set(static_cast<double>(s));
}

std::string Metrics::serialize(const LedgerStats* ledger) const {
  std::vector<prometheus::MetricFamily> families = impl_->registry->Collect();
  {
    std::shared_lock lk(impl_->mu);
    for (const HistogramFamily* f : {&impl_->total_latency, &impl_->api_latency, &impl_->ttft, &impl_->overhead})
      families.push_back(f->collect());
  }
  std::string out = prometheus::TextSerializer().Serialize(families);
  if (ledger) {
    auto add = [&](const char* name, const char* type, const char* help, double v) {
      out += "# HELP ";
      out += name;
      out += ' ';
      out += help;
      out += "\n# TYPE ";
      out += name;
      out += ' ';
      out += type;
      out += '\n';
      out += name;
      out += ' ';
      char buf[64];
      std::snprintf(buf, sizeof buf, "%.17g", v);
      out += buf;
      out += '\n';
    };
    add("llmgate_log_queue_depth", "gauge", "Log records waiting for the database writer",
        static_cast<double>(ledger->queued));
    add("llmgate_log_queue_bytes", "gauge", "Approximate bytes of queued log records",
        static_cast<double>(ledger->queued_bytes));
    add("llmgate_log_records_written_total", "counter", "Log records committed to the database",
        static_cast<double>(ledger->written));
    add("llmgate_log_records_dropped_total", "counter", "Log records dropped because the queue was full",
        static_cast<double>(ledger->dropped));
    add("llmgate_log_batches_total", "counter", "Batches committed by the log writer",
        static_cast<double>(ledger->batches));
    add("llmgate_log_db_errors_total", "counter", "Failed database attempts of the log writer",
        static_cast<double>(ledger->db_errors));
    add("llmgate_log_batch_commit_seconds", "gauge", "Duration of the last batch commit", ledger->last_batch_seconds);
  }
  return out;
}

}  // namespace llmgate
