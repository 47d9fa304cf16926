// The virtual-key management API (src/admin/key_routes.cpp, key_store_admin.cpp) through
// its Beast-free route handlers, against a key database in a temporary directory. An input is
// "METHOD /key/...?query" on the first line, then the body. Whatever the body, the answer is JSON,
// an OpenAI error when it is one, never a 500, and the handler never throws.
#include <memory>
#include <vector>

#include "fuzz_support.hpp"
#include "llmgate/app.hpp"
#include "llmgate/keys.hpp"
#include "llmgate/storage.hpp"

using namespace llmgate;
using namespace llmgate::fuzz;

namespace {

struct World {
  const TempDir& dir = temp_dir();
  int generation = 0;
  std::unique_ptr<VirtualKeyStore> store;
  App app;
  std::vector<Route> routes;
  int inputs = 0;

  World() {
    register_key_routes(routes);
    reopen();
  }
  // A fresh database now and then: keys accumulate otherwise and slow every input down.
  void reopen() {
    app.keys = nullptr;
    store.reset();
    KeyStoreOptions o;
    LedgerSettings where;
    where.database_path = dir.file("keys-" + std::to_string(generation++) + ".db");
    o.repository = open_key_repository(where);
    o.flush_interval_s = 3600;
    store = VirtualKeyStore::open(o);
    app.keys = store.get();
    // Two known keys so that update/delete/block/info inputs can find one.
    store->generate(json{{"key", "sk-fuzz-known-1"}, {"key_alias", "known-1"}});
    store->generate(json{{"key", "sk-fuzz-known-2"}, {"key_alias", "known-2"}, {"max_budget", 1}});
    std::error_code ec;
    std::filesystem::remove(dir.file("keys-" + std::to_string(generation - 2) + ".db"), ec);
  }
};

World& world() {
  static World* w = new World;  // never destroyed: the flusher thread outlives the fuzz loop
  return *w;
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  quiet_logs();
  world();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  World& w = world();
  RouteInput in = route_input(as_text(data, size));
  if (!in.ok) return 0;
  const Route* r = find_route(w.routes, in.req);
  if (!r) return 0;
  call_route(*r, in.req, w.app, as_text(data, size), "a key route threw (the client gets a 500)");
  if (++w.inputs % 2000 == 0) w.reopen();
  return 0;
}
