#pragma once
// The composition root: builds the gateway from its command-line arguments and runs it until a
// signal stops it (src/app/gateway.cpp). Called once, from main().
#include <string>

namespace llmgate {

struct GatewayArgs {
  std::string config, host;
  int port = -1, workers = -1;
  bool check = false;
};

// Loads the config named by `a`, then either prints the effective config (`check`) or runs the
// gateway until SIGTERM/SIGINT and its staged shutdown. Returns the process exit code.
int run_gateway(const GatewayArgs& a);

// SIGHUP, SIGUSR1 and SIGUSR2 ignored outright (before the gateway runs and after it stopped).
void ignore_reload_and_user_signals();

}  // namespace llmgate
