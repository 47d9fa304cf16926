#pragma once
// What happens to a finished request's record: each observer in a list built once per worker
// (metrics, key spend, the request log line, the ledger queue) is told about it, in order.
// Worker thread only. Plain data, no Asio.
#include <cstdint>
#include <memory>
#include <string_view>
#include <vector>

#include "llmgate/auth.hpp"
#include "llmgate/config.hpp"
#include "llmgate/record.hpp"

namespace llmgate {

// What the request knew besides its record.
struct RecordContext {
  const Config& cfg;            // the config the request ran under
  Principal& who;               // the caller (its LimitLease is settled from it)
  std::string_view request_id;  // the id in the request log (the client's x-request-id when sent)
  int64_t latency_us = 0;       // the whole request, as logged
};

class RecordObserver {
 public:
  virtual ~RecordObserver() = default;
  virtual void on_record(const RequestRecord& rec, const RecordContext& ctx) = 0;
  // Called instead of on_record when this observer is the list's last: it may keep the record
  // without copying it (a queue).
  virtual void on_last_record(RequestRecord&& rec, const RecordContext& ctx) { on_record(rec, ctx); }
};

class RecordObservers {
 public:
  void add(std::unique_ptr<RecordObserver> o) { list_.push_back(std::move(o)); }
  std::size_t size() const { return list_.size(); }
  // One virtual call per observer; the last one gets the record to keep.
  void notify(RequestRecord&& rec, const RecordContext& ctx) const {
    if (list_.empty()) return;
    for (std::size_t i = 0; i + 1 < list_.size(); ++i) list_[i]->on_record(rec, ctx);
    list_.back()->on_last_record(std::move(rec), ctx);
  }

 private:
  std::vector<std::unique_ptr<RecordObserver>> list_;
};

}  // namespace llmgate
