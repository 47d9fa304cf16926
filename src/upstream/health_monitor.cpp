#include "llmgate/health.hpp"

#include "llmgate/thread_name.hpp"

#include <future>
#include <mutex>
#include <thread>

#include <spdlog/spdlog.h>

#include "llmgate/app.hpp"
#include "llmgate/provider.hpp"
#include "upstream/upstream.hpp"

namespace llmgate {

struct HealthMonitor::Impl {
  App& app;
  net::io_context ioc{1};
  std::optional<net::executor_work_guard<net::io_context::executor_type>> guard;
  std::unique_ptr<UpstreamPool> pool;
  std::thread thread;
  mutable std::mutex mu;
  std::vector<DeploymentHealth> results;
  net::steady_timer timer{ioc};
  bool stopped = false;

  explicit Impl(App& a) : app(a) {
    auto cfg = app.config();
    pool = std::make_unique<UpstreamPool>(ioc, 1.0, cfg->server.connect_timeout_s);
  }

  awaitable<void> round() {
    auto cfg = app.config();
    std::vector<DeploymentHealth> out;
    for (const Deployment& d : cfg->deployments) {
      DeploymentHealth h;
      h.id = d.id;
      h.model_name = d.model_name;
      h.provider = to_string(d.provider);
      h.upstream_model = d.upstream_model;
      h.api_base = d.api_base;
      const Provider& p = provider_for(d.provider);
      auto probe = d.provider->in_process ? std::nullopt : p.health_probe(d);
      if (probe) {
        const auto t0 = std::chrono::steady_clock::now();
        UpstreamCall call(*pool);
        std::string err, body;
        Errc e = co_await call.start(d, *probe, std::min(d.timeout_s, 10.0), err);
        if (e == Errc::ok) e = co_await call.read_all(std::chrono::seconds(10), body, 16u << 20);
        h.probed = true;
        h.checked_at = std::chrono::duration_cast<std::chrono::seconds>(
                           std::chrono::system_clock::now().time_since_epoch())
                           .count();
        h.latency_ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
        if (e != Errc::ok) {
          h.healthy = false;
          h.error = err.empty() ? std::string(map_error(e).code) : err;
        } else {
          std::string detail;
          h.healthy = p.health_ok(d, call.status(), body, detail);
          if (!h.healthy)
            h.error = detail.empty() ? "health probe answered HTTP " + std::to_string(call.status()) : detail;
          call.release();
        }
      }
      if (app.metrics)
        app.metrics->set_deployment_state(d, h.healthy ? DeploymentState::healthy : DeploymentState::outage);
      out.push_back(std::move(h));
    }
    std::lock_guard lk(mu);
    results = std::move(out);
  }

  awaitable<void> loop() {
    // With background checks off, /health probes on demand (LiteLLM's behaviour).
    if (!app.config()->health.background_health_checks) co_return;
    for (;;) {
      co_await round();
      auto cfg = app.config();
      if (!cfg->health.background_health_checks) co_return;
      timer.expires_after(seconds_d(std::max(1.0, cfg->health.health_check_interval_s)));
      auto [ec] = co_await timer.async_wait(use_nothrow);
      if (ec || stopped) co_return;
    }
  }
};

HealthMonitor::HealthMonitor(App& app) : impl_(std::make_unique<Impl>(app)) {}
HealthMonitor::~HealthMonitor() { stop(); }

void HealthMonitor::start() {
  impl_->guard.emplace(impl_->ioc.get_executor());
  net::co_spawn(impl_->ioc, impl_->loop(), [](std::exception_ptr e) {
    if (e) spdlog::error("health monitor loop ended with an exception");
  });
  impl_->thread = std::thread([this] {
    set_thread_name("llmgate-health");
    impl_->ioc.run();
  });
}

void HealthMonitor::stop() {
  if (!impl_ || impl_->stopped) return;
  impl_->stopped = true;
  net::post(impl_->ioc, [this] {
    impl_->timer.cancel();
    impl_->pool->close_all();
  });
  impl_->guard.reset();
  impl_->ioc.stop();
  if (impl_->thread.joinable()) impl_->thread.join();
}

std::vector<DeploymentHealth> HealthMonitor::snapshot() const {
  std::lock_guard lk(impl_->mu);
  return impl_->results;
}

void HealthMonitor::check_now() {
  if (impl_->stopped || !impl_->thread.joinable()) return;
  auto done = std::make_shared<std::promise<void>>();
  auto fut = done->get_future();
  net::co_spawn(impl_->ioc, impl_->round(), [done](std::exception_ptr) { done->set_value(); });
  fut.wait_for(std::chrono::seconds(30));
}

}  // namespace llmgate
