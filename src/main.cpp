// llmgate: the command line. The gateway itself is built and run by src/app/ (run_gateway).
// The only file not linked into the test binaries.
#include <cstdio>
#include <cstdlib>
#include <string>

#include "app/gateway.hpp"
#include "llmgate/version.hpp"

using namespace llmgate;

namespace {

void usage(std::FILE* f) {
  std::fprintf(f,
               "usage: llmgate --config FILE [--host H] [--port P] [--workers N] [--check-config]\n"
               "  --config FILE    LiteLLM-compatible config.yaml (default: $LLMGATE_CONFIG)\n"
               "  --host H         listen address (default 0.0.0.0, or llmgate_settings.host)\n"
               "  --port P         listen port (default 4000; 0 = any free port)\n"
               "  --workers N      worker threads (default: the CPUs the process may use)\n"
               "  --check-config   validate, print the effective model table (secrets masked), exit 0 or 2\n"
               "  --version        print the version\n");
}

bool parse_int(const char* s, int& out) {
  char* end = nullptr;
  long v = std::strtol(s, &end, 10);
  if (!s[0] || *end || v < 0 || v > 65535 * 16) return false;
  out = static_cast<int>(v);
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  prepare_process();
  GatewayArgs a;
  for (int i = 1; i < argc; ++i) {
    std::string k = argv[i];
    auto next = [&](const char* what) -> const char* {
      if (i + 1 >= argc) {
        std::fprintf(stderr, "llmgate: %s needs a value\n", what);
        std::exit(2);
      }
      return argv[++i];
    };
    if (k == "--config" || k == "-c") a.config = next("--config");
    else if (k == "--host") a.host = next("--host");
    else if (k == "--port") {
      if (!parse_int(next("--port"), a.port) || a.port > 65535) {
        std::fprintf(stderr, "llmgate: --port must be 0-65535\n");
        return 2;
      }
    } else if (k == "--workers") {
      if (!parse_int(next("--workers"), a.workers) || a.workers > 256) {
        std::fprintf(stderr, "llmgate: --workers must be 0-256\n");
        return 2;
      }
    } else if (k == "--check-config") a.check = true;
    else if (k == "--version") {
      std::printf("llmgate %s\n", kVersion);
      return 0;
    } else if (k == "--help" || k == "-h") {
      usage(stdout);
      return 0;
    } else {
      std::fprintf(stderr, "llmgate: unknown argument '%s'\n", k.c_str());
      usage(stderr);
      return 2;
    }
  }
  if (a.config.empty())
    if (const char* e = std::getenv("LLMGATE_CONFIG")) a.config = e;
  if (a.config.empty()) {
    std::fprintf(stderr, "llmgate: no config file: pass --config FILE or set LLMGATE_CONFIG\n");
    usage(stderr);
    return 2;
  }

  return run_gateway(a);
}
