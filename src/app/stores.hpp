#pragma once
// What the gateway keeps (src/app/stores.cpp): the limit store's counters, and in its database
// the ledger, the virtual keys and the models added at runtime. Opened at startup before the workers run, closed after
// they stopped; main thread only.
#include <memory>

#include "llmgate/config.hpp"
#include "llmgate/keys.hpp"
#include "llmgate/ledger.hpp"
#include "llmgate/limit_store.hpp"

namespace llmgate {

struct Stores {
  std::unique_ptr<LimitStore> limits;  // first: outlives the key store that points at it
  std::unique_ptr<Ledger> ledger;
  std::unique_ptr<VirtualKeyStore> keys;
};

// Opens the stores that `cfg` names and sets `merged` to `cfg` with the stored models added
// (their warnings logged). Throws std::exception when a store cannot be opened.
Stores open_stores(const Config& cfg, std::shared_ptr<const Config>& merged);

// Flushes and closes what open_stores() opened: the keys' spend, then the ledger's queue.
void close_stores(Stores& stores);

}  // namespace llmgate
