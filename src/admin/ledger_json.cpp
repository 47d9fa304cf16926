// LedgerReader rows -> the JSON the ledger routes send: the dashboard API (docs/api.md) and
// LiteLLM's /spend/logs and /global/spend field names and formats.
#include <array>
#include <cmath>
#include <stdexcept>

#include "admin/ledger_api.hpp"
#include "llmgate/clock.hpp"
#include "llmgate/json_limits.hpp"

namespace llmgate::admin {

using nlohmann::json;

namespace {

// Percentile (0..1) from the bucket counts, linear inside the bucket; 0 when empty.
double histogram_quantile(const std::array<int64_t, 16>& counts, double q) {
  int64_t total = 0;
  for (auto c : counts) total += c;
  if (total <= 0) return 0;
  double rank = q * static_cast<double>(total);
  double cum = 0;
  for (std::size_t i = 0; i < counts.size(); ++i) {
    double next = cum + static_cast<double>(counts[i]);
    if (counts[i] > 0 && next >= rank) {
      double lo = i == 0 ? 0 : kLatencyBucketsMs[i - 1];
      double hi = i + 1 == counts.size() ? lo * 2 : kLatencyBucketsMs[i];
      double frac = (rank - cum) / static_cast<double>(counts[i]);
      return lo + (hi - lo) * frac;
    }
    cum = next;
  }
  return kLatencyBucketsMs[counts.size() - 2];
}

// The figures of a rollup aggregate: sums, rates and latency percentiles.
json figures_json(const UsageFigures& f) {
  json j;
  j["requests"] = f.requests;
  j["errors"] = f.errors;
  j["prompt_tokens"] = f.prompt_tokens;
  j["completion_tokens"] = f.completion_tokens;
  j["total_tokens"] = f.total_tokens;
  j["cost"] = f.cost;
  j["cost_unknown_requests"] = f.cost_unknown_requests;
  j["cache_hits"] = f.cache_hits;
  const double req = static_cast<double>(f.requests);
  j["error_rate"] = f.requests ? static_cast<double>(f.errors) / req : 0.0;
  j["cache_hit_rate"] = f.requests ? static_cast<double>(f.cache_hits) / req : 0.0;
  j["p50_ms"] = std::round(histogram_quantile(f.latency, 0.50) * 10) / 10;
  j["p95_ms"] = std::round(histogram_quantile(f.latency, 0.95) * 10) / 10;
  return j;
}

std::string group_name(const std::string& v, const char* empty) { return v.empty() ? empty : v; }

json opt_cost(const std::optional<double>& c) { return c ? json(*c) : json(nullptr); }

json log_row_json(const LogRow& r) {
  json row;
  row["request_id"] = r.request_id;
  row["start_time"] = static_cast<double>(r.start_us) / 1e6;
  row["end_time"] = static_cast<double>(r.end_us) / 1e6;
  row["model"] = r.model;
  row["model_group"] = r.model_group;
  row["deployment_id"] = r.deployment_id;
  row["provider"] = r.provider;
  row["status"] = r.status;
  row["latency_ms"] = static_cast<double>(r.end_us - r.start_us) / 1000.0;
  row["ttft_ms"] = r.ttft_us > 0 ? json(static_cast<double>(r.ttft_us) / 1000.0) : json(nullptr);
  row["overhead_ms"] = static_cast<double>(r.overhead_us) / 1000.0;
  row["prompt_tokens"] = r.prompt_tokens;
  row["completion_tokens"] = r.completion_tokens;
  row["total_tokens"] = r.total_tokens;
  row["cost"] = opt_cost(r.cost);
  row["key_hash"] = r.key_hash;
  row["key_alias"] = r.key_alias;
  row["user"] = r.user;
  row["stream"] = r.stream;
  row["cache_hit"] = r.cache_hit;
  row["error_type"] = r.error_type;
  row["error_message"] = r.error_message;
  return row;
}

}  // namespace

json log_page_json(const LogPage& page) {
  json data = json::array();
  for (const auto& r : page.rows) data.push_back(log_row_json(r));
  json next = nullptr;
  if (page.next) next = std::to_string(page.next->start_us) + "_" + std::to_string(page.next->id);
  return json{{"data", std::move(data)}, {"next_cursor", next}};
}

json log_detail_json(const LogDetail& d) {
  auto secs = [](int64_t v) { return v ? json(static_cast<double>(v) / 1e6) : json(nullptr); };
  auto ms = [](int64_t v) { return static_cast<double>(v) / 1000.0; };
  json j;
  j["request_id"] = d.request_id;
  j["endpoint"] = d.endpoint;
  j["start_time"] = secs(d.start_us);
  j["first_byte_time"] = secs(d.first_byte_us);
  j["end_time"] = secs(d.end_us);
  j["latency_ms"] = (j["end_time"].is_number() && j["start_time"].is_number())
                        ? json(std::round((j["end_time"].get<double>() - j["start_time"].get<double>()) * 1e6) / 1e3)
                        : json(nullptr);
  j["ttft_ms"] = d.ttft_us > 0 ? json(static_cast<double>(d.ttft_us) / 1000.0) : json(nullptr);
  j["upstream_ms"] = ms(d.upstream_us);
  j["overhead_ms"] = ms(d.overhead_us);
  j["model"] = d.model;
  j["model_group"] = d.model_group;
  j["deployment_id"] = d.deployment_id;
  j["provider"] = d.provider;
  j["upstream_model"] = d.upstream_model;
  j["api_base"] = d.api_base;
  j["key_hash"] = d.key_hash;
  j["key_alias"] = d.key_alias;
  j["user"] = d.user;
  j["client_ip"] = d.client_ip;
  j["status"] = d.status;
  j["error_type"] = d.error_type;
  j["error_message"] = d.error_message;
  j["prompt_tokens"] = d.prompt_tokens;
  j["completion_tokens"] = d.completion_tokens;
  j["total_tokens"] = d.total_tokens;
  j["cached_tokens"] = d.cached_tokens;
  j["reasoning_tokens"] = d.reasoning_tokens;
  j["tokens_estimated"] = d.tokens_estimated;
  j["cost"] = opt_cost(d.cost);
  j["stream"] = d.stream;
  j["cache_hit"] = d.cache_hit;
  j["retries"] = d.retries;
  j["fallback_from"] = d.fallback_from;
  j["request_body"] = d.request_body;
  j["response_body"] = d.response_body;
  j["request_truncated"] = d.request_truncated;
  j["response_truncated"] = d.response_truncated;
  return j;
}

json spend_logs_json(const std::vector<SpendLogRow>& rows) {
  json arr = json::array();
  for (const auto& r : rows) {
    json j;
    j["request_id"] = r.request_id;
    j["call_type"] = r.call_type;
    j["api_key"] = r.api_key;
    j["spend"] = r.spend ? json(*r.spend) : json(0.0);
    j["total_tokens"] = r.total_tokens;
    j["prompt_tokens"] = r.prompt_tokens;
    j["completion_tokens"] = r.completion_tokens;
    j["startTime"] = iso8601_us(r.start_us);
    j["endTime"] = iso8601_us(r.end_us);
    j["completionStartTime"] = r.completion_start_us ? json(iso8601_us(r.completion_start_us)) : json(nullptr);
    j["model"] = r.model;
    j["model_id"] = r.model_id;
    j["model_group"] = r.model_group;
    j["custom_llm_provider"] = r.custom_llm_provider;
    j["api_base"] = r.api_base;
    j["user"] = r.user;
    json md = parse_json_bounded(r.metadata);
    if (md.is_discarded() || !md.is_object()) md = json::object();
    md["status_code"] = r.status_code;
    md["user_api_key_alias"] = r.key_alias;
    md["spend_unknown"] = !r.spend.has_value();
    j["metadata"] = std::move(md);
    j["cache_hit"] = r.cache_hit ? "True" : "False";
    j["cache_key"] = "";
    j["request_tags"] = json::array();
    j["team_id"] = nullptr;
    j["end_user"] = r.user;
    j["requester_ip_address"] = r.requester_ip_address;
    j["messages"] = r.messages;
    j["response"] = r.response;
    j["status"] = r.status;
    arr.push_back(std::move(j));
  }
  return arr;
}

json usage_json(const UsageFilter& f, const std::vector<UsagePoint>& series) {
  json arr = json::array();
  for (const auto& pt : series) {
    json row = figures_json(pt.figures);
    row["t"] = pt.t;
    if (f.group_by == UsageGroupBy::none) row["group"] = "all";
    else if (f.group_by == UsageGroupBy::model) row["group"] = group_name(pt.group, "unknown");
    else {
      row["group"] = group_name(pt.group, "none");
      row["key_alias"] = pt.key_alias;
    }
    arr.push_back(std::move(row));
  }
  const char* bucket = f.bucket == UsageBucket::hour ? "hour" : "day";
  const char* group_by = f.group_by == UsageGroupBy::none    ? "none"
                         : f.group_by == UsageGroupBy::model ? "model"
                                                             : "key";
  return json{{"bucket", bucket}, {"group_by", group_by}, {"series", std::move(arr)}};
}

json summary_json(const LedgerTimeRange& r, const UsageSummary& s) {
  json out;
  json by_model = json::array();
  for (const auto& m : s.by_model) {
    json row = figures_json(m.figures);
    row["model"] = group_name(m.model_group, "unknown");
    by_model.push_back(std::move(row));
  }
  out["by_model"] = std::move(by_model);
  out["totals"] = figures_json(s.totals);
  json by_key = json::array(), top = json::array();
  for (const auto& k : s.by_key) {
    json row = figures_json(k.figures);
    row["key_hash"] = k.key_hash;
    row["key_alias"] = k.key_alias;
    if (top.size() < 10)
      top.push_back({{"key_hash", row["key_hash"]},
                     {"key_alias", row["key_alias"]},
                     {"cost", row["cost"]},
                     {"requests", row["requests"]}});
    by_key.push_back(std::move(row));
  }
  out["by_key"] = std::move(by_key);
  out["top_keys"] = std::move(top);
  out["start"] = static_cast<double>(r.start_us) / 1e6;
  out["end"] = static_cast<double>(r.end_us) / 1e6;
  return out;
}

json stats_json(const LedgerDbStats& db, const LedgerStats& ls) {
  json rows = json::object();
  for (const auto& t : db.rows) rows[t.table] = t.rows;
  return json{{"database_path", db.database_path},
              {"database_bytes", db.database_bytes},
              {"wal_bytes", db.wal_bytes},
              {"rows", rows},
              {"writer",
               {{"queued", ls.queued},
                {"queued_bytes", ls.queued_bytes},
                {"written", ls.written},
                {"dropped", ls.dropped},
                {"db_errors", ls.db_errors},
                {"batches", ls.batches},
                {"last_batch_seconds", ls.last_batch_seconds}}}};
}

json global_spend_json(double spend) { return json{{"spend", spend}, {"max_budget", nullptr}}; }

json ledger_query(Ledger& ledger, const std::string& name, const QueryParams& p) {
  if (name == "logs") return log_page_json(ledger.reader().logs(parse_log_filter(p)));
  if (name == "spend_logs") return spend_logs_json(ledger.reader().spend_logs(parse_spend_log_filter(p)));
  if (name == "log") {
    auto it = p.find("request_id");
    if (it == p.end() || it->second.empty()) throw std::invalid_argument("missing 'request_id'");
    auto d = ledger.reader().log(it->second);
    return d ? log_detail_json(*d) : json(nullptr);
  }
  if (name == "usage") {
    const UsageFilter f = parse_usage_filter(p);
    return usage_json(f, ledger.reader().usage(f));
  }
  if (name == "summary") {
    const LedgerTimeRange r = parse_time_range(p);
    return summary_json(r, ledger.reader().summary(r));
  }
  if (name == "stats") return stats_json(ledger.reader().db_stats(), ledger.stats());
  if (name == "global_spend") return global_spend_json(ledger.reader().total_spend());
  throw std::invalid_argument("unknown query '" + name + "'");
}

}  // namespace llmgate::admin
