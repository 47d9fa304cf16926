#include "app/signals.hpp"

#include <cstdlib>

#include <spdlog/spdlog.h>
#include <boost/asio/signal_set.hpp>

#include "llmgate/app.hpp"
#include "server/reload.hpp"
#include "server/worker.hpp"

namespace llmgate {

SignalLoop::SignalLoop(App& app, ConfigReloader& reloader) : app_(app), reloader_(reloader) {
  signals_.add(SIGUSR1);
  signals_.add(SIGUSR2);
}

void SignalLoop::run(Runtime& rt) {
  rt_ = &rt;
  wait_signal();
  ctx_.run();
}

void SignalLoop::wait_signal() {
  signals_.async_wait([this](boost::system::error_code ec, int sig) {
    if (ec) return;
    on_signal(sig);
    wait_signal();
  });
}

void SignalLoop::on_signal(int sig) {
  if (sig == SIGHUP) {
    reloader_.reload("SIGHUP");  // logs the outcome; a refused file changes nothing
    return;
  }
  if (sig == SIGUSR1 || sig == SIGUSR2) {
    spdlog::info("signal {} ignored (SIGHUP reloads the configuration, SIGTERM or SIGINT stops the gateway)",
                 sig == SIGUSR1 ? "SIGUSR1" : "SIGUSR2");
    return;
  }
  if (++signals_seen_ > 1) {
    spdlog::warn("second signal: exiting now");
    spdlog::default_logger()->flush();
    std::_Exit(1);
  }
  auto c = app_.config();
  spdlog::info("signal {}: draining (readiness 503), accepting for {} s more, then finishing in-flight requests", sig,
               c->server.drain_seconds);
  app_.draining = true;
  timer_.expires_after(seconds_d(c->server.drain_seconds));
  timer_.async_wait([this, c](boost::system::error_code ec) {
    if (ec) return;
    rt_->stop_accepting();
    grace_end_ = std::chrono::steady_clock::now() + seconds_d(c->server.shutdown_grace_seconds);
    wait_in_flight();
  });
}

void SignalLoop::wait_in_flight() {
  if (app_.in_flight.load() == 0 || std::chrono::steady_clock::now() >= grace_end_) {
    if (app_.in_flight.load() != 0)
      spdlog::warn("shutdown grace period over with {} request(s) in flight", app_.in_flight.load());
    ctx_.stop();
    return;
  }
  timer_.expires_after(std::chrono::milliseconds(20));
  timer_.async_wait([this](boost::system::error_code ec) {
    if (!ec) wait_in_flight();
  });
}

}  // namespace llmgate
