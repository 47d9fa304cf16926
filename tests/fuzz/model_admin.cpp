// Runtime model management (src/admin/model_admin.cpp): /model/new, /model/update,
// /model/delete and /model/info through the Beast-free route handlers, with the models table in
// a temporary directory. An input is "METHOD /model/...?query" on the first line, then the body.
// The answer is JSON, an OpenAI error when it is one, never a 500 and never a credential; the
// published config stays usable.
#include <memory>
#include <vector>

#include "fuzz_support.hpp"
#include "llmgate/app.hpp"
#include "llmgate/model_store.hpp"

using namespace llmgate;
using namespace llmgate::fuzz;

namespace {

constexpr const char* kFileSecret = "sk-file-secret-123456";
constexpr const char* kConfig = R"yaml(
general_settings:
  store_model_in_db: true
model_list:
  - model_name: gpt-4o
    litellm_params:
      model: openai/gpt-4o
      api_base: http://127.0.0.1:9/v1
      api_key: sk-file-secret-123456
    model_info:
      id: file-gpt4o
  - model_name: fake
    litellm_params:
      model: mock/fake
)yaml";

struct World {
  const TempDir& dir = temp_dir();
  Config file_config;
  App app;
  std::vector<Route> routes;
  int inputs = 0;
  // An input since the last reset held the secret's text (the fuzzer learns it from the check
  // below): a stored model may then carry it in a field that is shown, such as its name.
  bool secret_typed = false;

  World() {
    file_config = load_config_string(kConfig, "config.yaml");
    register_model_routes(routes);
    reset();
  }
  // Starts again from the config file alone: stored models accumulate otherwise.
  void reset() {
    secret_typed = false;
    file_config.ledger.database_path = dir.file("models-" + std::to_string(inputs) + ".db");
    app.set_config(merge_db_models(file_config, file_config.ledger.database_path));
  }
};

World& world() {
  static World* w = new World;
  return *w;
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  quiet_logs();
  ::setenv("FUZZ_MODEL_KEY", "sk-env-secret-fuzz", 1);
  world();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  World& w = world();
  RouteInput in = route_input(as_text(data, size));
  if (!in.ok) return 0;
  const Route* r = find_route(w.routes, in.req);
  if (!r) return 0;
  const HttpResponse res = call_route(*r, in.req, w.app, as_text(data, size),
                                      "a model route threw (the client gets a 500)");
  // (Unless an input held it: an unknown key's name is echoed in a warning, a model's name is
  // shown.)
  if (as_text(data, size).find(kFileSecret) != std::string_view::npos) w.secret_typed = true;
  if (!w.secret_typed)
    check(res.body.find(kFileSecret) == std::string::npos, "a model route shows a credential", res.body);
  auto cfg = w.app.config();
  check(cfg && !cfg->find("gpt-4o").empty() && !cfg->find("fake").empty(), "the config file's models are gone");
  for (const auto& name : cfg->model_names()) check(!cfg->find(name).empty(), "an alias without deployments", name);
  // Every stored model is revalidated on each change: keep the table small.
  ++w.inputs;
  if (cfg->deployments.size() > 12) {
    std::error_code ec;
    std::filesystem::remove(w.file_config.ledger.database_path, ec);
    w.reset();
  }
  return 0;
}
