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

// Process settings that must precede everything else (allocator, signals that would end the
// process). Called first thing in main().
void prepare_process();

}  // namespace llmgate
