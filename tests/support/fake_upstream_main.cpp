// llmgate-fake-upstream [--host H] [--port P] [--threads N] [--stream-events N]
//                       [--stream-interval-ms MS] [--record]
// Prints exactly one line "listening on <port>" once ready; runs until SIGTERM/SIGINT.
#include <pthread.h>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <iostream>
#include <string>

#include "fake_upstream.hpp"

int main(int argc, char** argv) {
  llmgate::test::FakeUpstreamOptions o;
  o.record_requests = false;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto next = [&]() -> std::string {
      if (i + 1 >= argc) {
        std::fprintf(stderr, "missing value for %s\n", a.c_str());
        std::exit(2);
      }
      return argv[++i];
    };
    if (a == "--host") o.host = next();
    else if (a == "--port") o.port = static_cast<unsigned short>(std::stoi(next()));
    else if (a == "--threads") o.threads = std::stoi(next());
    else if (a == "--stream-events") o.stream_events = std::stoi(next());
    else if (a == "--stream-interval-ms") o.stream_interval_ms = std::stoi(next());
    else if (a == "--record") o.record_requests = true;
    else {
      std::fprintf(stderr,
                   "usage: %s [--host H] [--port P] [--threads N] [--stream-events N] "
                   "[--stream-interval-ms MS]\n",
                   argv[0]);
      return 2;
    }
  }
  // Block the stop signals before any thread starts so that only sigwait() receives them.
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  std::signal(SIGPIPE, SIG_IGN);
  try {
    llmgate::test::FakeUpstream up(o);
    std::cout << "listening on " << up.port() << std::endl;
    int sig = 0;
    sigwait(&set, &sig);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "llmgate-fake-upstream: %s\n", e.what());
    return 1;
  }
  return 0;
}
