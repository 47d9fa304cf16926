#include "app/stores.hpp"

#include <spdlog/spdlog.h>

#include "llmgate/model_store.hpp"

namespace llmgate {

Stores open_stores(const Config& cfg, std::shared_ptr<const Config>& merged) {
  Stores s;
  s.ledger = Ledger::open(cfg.ledger);
  KeyStoreOptions ko;
  ko.database_path = cfg.ledger.database_path;
  s.keys = VirtualKeyStore::open(ko);
  // Models added at runtime (/model/new, store_model_in_db) live in the same database.
  merged = merge_db_models(cfg, cfg.ledger.database_path);
  for (std::size_t i = cfg.warnings.size(); i < merged->warnings.size(); ++i)
    spdlog::warn("stored model: {}", merged->warnings[i]);
  return s;
}

void close_stores(Stores& stores) {
  if (stores.keys) stores.keys->shutdown();
  if (stores.ledger) {
    stores.ledger->shutdown();
    auto st = stores.ledger->stats();
    spdlog::info("ledger flushed: {} record(s) written, {} dropped", st.written, st.dropped);
  }
}

}  // namespace llmgate
