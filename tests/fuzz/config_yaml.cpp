// The config loader (src/config): YAML text -> Config. Any text either loads or is refused with
// a ConfigError (which main() prints with the YAML path); nothing else may escape, and a loaded
// config describes itself (`llmgate --check`).
#include "fuzz_support.hpp"
#include "llmgate/config.hpp"

using namespace llmgate;
using namespace llmgate::fuzz;

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  quiet_logs();
  // Names the fuzzer's inputs may reference as os.environ/... or ${...}.
  ::setenv("OPENAI_API_KEY", "sk-fuzz", 1);
  ::setenv("AZURE_API_BASE", "https://example.openai.azure.com", 1);
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string text(as_text(data, size));
  Config cfg;
  try {
    cfg = load_config_string(text, "fuzz.yaml");
  } catch (const ConfigError& e) {
    check(*e.what() != '\0', "a ConfigError without a message");
    return 0;
  } catch (const std::exception& e) {
    fail("the loader threw something other than ConfigError (main() would terminate)", e.what());
  }
  cfg.index_deployments();
  const std::string described = describe_config(cfg).dump(-1, ' ', false, json::error_handler_t::replace);
  check(!described.empty(), "describe_config is empty");
  return 0;
}
