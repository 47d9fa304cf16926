#pragma once
// The gateway's signals while it runs (src/app/signals.cpp): SIGHUP reloads the config,
// SIGUSR1/SIGUSR2 are logged and ignored, SIGTERM/SIGINT start the staged shutdown, a second
// one exits at once. Everything runs on the thread that calls run().
#include <chrono>
#include <csignal>

#include "net/net.hpp"

namespace llmgate {

struct App;
class ConfigReloader;
class Runtime;

class SignalLoop {
 public:
  // Catches the signals from here on: construct it before the port opens, so a SIGTERM sent as
  // soon as the gateway answers (an orchestrator, a test) is queued instead of killing the
  // process.
  SignalLoop(App& app, ConfigReloader& reloader);
  // Handles signals until the staged shutdown is over: readiness 503 at once, accepting for the
  // drain window, then rt.stop_accepting() and in-flight requests finishing within the grace
  // period. Returns then; the caller stops the workers.
  void run(Runtime& rt);

 private:
  void wait_signal();
  void on_signal(int sig);
  void wait_in_flight();

  App& app_;
  ConfigReloader& reloader_;
  Runtime* rt_ = nullptr;
  net::io_context ctx_{1};
  net::signal_set signals_{ctx_, SIGINT, SIGTERM, SIGHUP};
  net::steady_timer timer_{ctx_};
  int signals_seen_ = 0;
  std::chrono::steady_clock::time_point grace_end_;
};

}  // namespace llmgate
