#include "server/record_observers.hpp"

#include <fmt/compile.h>
#include <fmt/format.h>
#include <nlohmann/json.hpp>

namespace llmgate {

MsText ms_text(int64_t us) {
  MsText t;
  const bool neg = us < 0;
  uint64_t a = neg ? 0 - static_cast<uint64_t>(us) : static_cast<uint64_t>(us);
  const auto frac = static_cast<unsigned>(a % 1000);
  a /= 1000;
  char digits[20];
  int k = 0;
  do {
    digits[k++] = static_cast<char>('0' + a % 10);
    a /= 10;
  } while (a != 0);
  if (neg) t.buf[t.n++] = '-';
  while (k > 0) t.buf[t.n++] = digits[--k];
  t.buf[t.n++] = '.';
  t.buf[t.n++] = static_cast<char>('0' + frac / 100);
  t.buf[t.n++] = static_cast<char>('0' + frac / 10 % 10);
  t.buf[t.n++] = static_cast<char>('0' + frac % 10);
  return t;
}

namespace {

// One line per request (never a body or key), buffered per worker (server/request_log.hpp).
class RequestLogLine final : public RecordObserver {
 public:
  RequestLogLine(RequestLog& log, int index) : log_(log), index_(index) {}
  void on_record(const RequestRecord& rec, const RecordContext& ctx) override {
    fmt::memory_buffer line;
    const std::string_view ts = log_.timestamp();
    const int64_t latency = ctx.latency_us;
    if (ctx.cfg.json_logs) {
      nlohmann::json j = {{"time", std::string(ts) + "Z"},
                          {"level", "info"},
                          {"worker", index_},
                          {"message", "request"},
                          {"request_id", ctx.request_id},
                          {"model", rec.model_group},
                          {"deployment", rec.deployment_id},
                          {"status", rec.status},
                          {"latency_ms", latency / 1000.0},
                          {"overhead_ms", rec.overhead_us / 1000.0},
                          {"stream", rec.stream},
                          {"total_tokens", rec.total_tokens}};
      const std::string s = j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
      line.append(s.data(), s.data() + s.size());
    } else {
      // A compiled format: parsing the format string at run time was ~4k instructions a request.
      fmt::format_to(std::back_inserter(line),
                     FMT_COMPILE("{} info [w{}] req={} model={} deployment={} status={} latency_ms={} "
                                 "overhead_ms={} stream={} tokens={}"),
                     ts, index_, ctx.request_id, rec.model_group.empty() ? "-" : rec.model_group,
                     rec.deployment_id.empty() ? "-" : rec.deployment_id, rec.status, ms_text(latency).view(),
                     ms_text(rec.overhead_us).view(), rec.stream, rec.total_tokens);
    }
    log_.append(std::string_view(line.data(), line.size()));
  }

 private:
  RequestLog& log_;
  const int index_;
};

class MetricsObserver final : public RecordObserver {
 public:
  explicit MetricsObserver(App& app) : app_(app) {}
  void on_record(const RequestRecord& rec, const RecordContext&) override {
    if (app_.metrics) app_.metrics->observe(rec);
  }

 private:
  App& app_;
};

// A virtual key's spend; then settles the lease its admission took (KeyStore::record_usage).
class KeySpendObserver final : public RecordObserver {
 public:
  explicit KeySpendObserver(App& app) : app_(app) {}
  void on_record(const RequestRecord& rec, const RecordContext& ctx) override {
    if (app_.keys && !ctx.who.key_hash.empty()) app_.keys->record_usage(ctx.who, rec);
  }

 private:
  App& app_;
};

// Settles what the LimitStore still holds for the request (a virtual key's lease is settled by
// the key spend observer, after the key's spend): its tokens and cost counted, its slots freed.
class LimitAccountingObserver final : public RecordObserver {
 public:
  void on_record(const RequestRecord& rec, const RecordContext& ctx) override {
    if (!ctx.who.lease.held()) return;
    const int64_t tokens = rec.total_tokens > 0 ? rec.total_tokens : rec.prompt_tokens + rec.completion_tokens;
    ctx.who.lease.settle(tokens, rec.cost_usd.value_or(0.0), rec.end_us);
  }
};

class LedgerObserver final : public RecordObserver {
 public:
  explicit LedgerObserver(App& app) : app_(app) {}
  void on_record(const RequestRecord& rec, const RecordContext& ctx) override {
    on_last_record(RequestRecord(rec), ctx);
  }
  void on_last_record(RequestRecord&& rec, const RecordContext& ctx) override {
    if (app_.ledger && !ctx.cfg.ledger.disabled) app_.ledger->submit(std::move(rec));
  }

 private:
  App& app_;
};

}  // namespace

void add_record_observers(RecordObservers& list, App& app, RequestLog& log, int worker_index) {
  list.add(std::make_unique<RequestLogLine>(log, worker_index));
  list.add(std::make_unique<MetricsObserver>(app));
  list.add(std::make_unique<KeySpendObserver>(app));
  list.add(std::make_unique<LimitAccountingObserver>());
  list.add(std::make_unique<LedgerObserver>(app));  // last: the queue keeps the record
}

}  // namespace llmgate
