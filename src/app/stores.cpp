#include "app/stores.hpp"

#include <spdlog/spdlog.h>

#include "llmgate/model_store.hpp"
#include "llmgate/storage.hpp"

namespace llmgate {

Stores open_stores(const Config& cfg, std::shared_ptr<const Config>& merged) {
  Stores s;
  s.limits = make_limit_store(cfg);
  auto storage = open_storage(cfg.ledger);  // ledger, keys and models of database_url
  s.ledger = std::move(storage->ledger);
  KeyStoreOptions ko;
  ko.repository = storage->keys;
  ko.limits = s.limits.get();
  s.keys = VirtualKeyStore::open(ko);
  // Models added at runtime (/model/new, store_model_in_db) live in the same database.
  merged = merge_db_models(cfg, cfg.ledger);
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
