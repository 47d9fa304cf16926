#pragma once
// The observers of a finished request's record (llmgate/record_observer.hpp), in the order a
// worker lists them: the request log line, metrics, a virtual key's spend, the ledger queue.
#include <cstdint>
#include <string_view>

#include "llmgate/app.hpp"
#include "llmgate/record_observer.hpp"
#include "server/request_log.hpp"

namespace llmgate {

// Microseconds as milliseconds with three decimals ("%.3f" of us / 1000.0), in integers and
// without allocating: fmt's "{:.3f}" of a double cost ~250 instructions a value in the
// request log line.
struct MsText {
  char buf[24];
  std::size_t n = 0;
  std::string_view view() const { return {buf, n}; }
};
MsText ms_text(int64_t us);

// The list for one worker. `app`'s services are looked up per record (a unit test may run
// without them); `log` and `worker_index` are the worker's.
void add_record_observers(RecordObservers& list, App& app, RequestLog& log, int worker_index);

}  // namespace llmgate
