#pragma once
// The usage ledger: a bounded queue into one writer thread, plus typed read queries
// (LedgerReader) for the spend API and the dashboard. A storage backend returns it
// (open_storage, llmgate/storage.hpp); SQLite's is in src/ledger/sqlite/.
#include <atomic>
#include <cstdint>
#include <memory>
#include <string>

#include <nlohmann/json.hpp>

#include "llmgate/config.hpp"
#include "llmgate/ledger_reader.hpp"
#include "llmgate/record.hpp"

namespace llmgate {

struct LedgerStats {
  uint64_t queued = 0;  // records waiting now
  uint64_t queued_bytes = 0;
  uint64_t written = 0;    // records committed since start
  uint64_t dropped = 0;    // records dropped because the queue was full
  uint64_t db_errors = 0;  // failed batch attempts
  uint64_t batches = 0;
  double last_batch_seconds = 0;
};

class Ledger : public RecordSink {
 public:
  // The SQLite ledger alone: opens (creating and migrating) the database file and starts the
  // writer thread. Throws std::runtime_error for a database_url that is not SQLite. The gateway
  // opens its storage with open_storage() instead.
  static std::unique_ptr<Ledger> open(const LedgerSettings& s);
  ~Ledger() override = default;
  // Any thread; never blocks on the database. Drops and counts when the queue is full.
  void submit(RequestRecord&& r) override = 0;
  // Flushes everything queued and stops the writer (SIGTERM path). Blocks the caller.
  virtual void shutdown() = 0;
  virtual LedgerStats stats() const = 0;
  // The read queries (llmgate/ledger_reader.hpp): any thread except the writer; each uses a
  // read connection of its own.
  virtual LedgerReader& reader() = 0;
  virtual std::string database_path() const = 0;
};

}  // namespace llmgate
