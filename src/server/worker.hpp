#pragma once
// Workers: one io_context per thread (share nothing). Each owns its acceptor (SO_REUSEPORT),
// its upstream pool and its connections. Runtime owns the workers and the staged shutdown.
#include <atomic>
#include <memory>
#include <random>
#include <string>
#include <thread>
#include <unordered_set>
#include <vector>

#include "llmgate/app.hpp"
#include "llmgate/record_observer.hpp"
#include "llmgate/router.hpp"
#include "net/net.hpp"
#include "server/request_log.hpp"
#include "upstream/upstream.hpp"

namespace llmgate {

// A connection as seen by its worker (for closing idle keep-alive connections at shutdown).
struct ConnSlot {
  tcp::socket* sock = nullptr;
  bool idle = true;  // waiting for the next request
};

class Worker {
 public:
  Worker(int index, App& app, const std::vector<Route>& routes, net::thread_pool& readers);
  ~Worker();

  const int index;
  // Declared before ioc: destroying ioc destroys suspended session coroutines, whose
  // destructors still use these.
  std::unique_ptr<UpstreamPool> pool;
  std::unordered_set<ConnSlot*> conns;
  net::io_context ioc{1};
  App& app;
  const std::vector<Route>& routes;
  net::thread_pool& readers;  // blocking (database) handlers run here
  bool stopping = false;      // worker thread only: finish current requests, then close
  std::mt19937_64 rng{std::random_device{}()};
  RequestLog request_log;  // one line per request, flushed by the tick loop
  // The order of a request's candidate deployments (after rng: seeded from it). Per worker, so
  // a strategy's state needs no lock.
  Router router{"simple-shuffle", rng()};  // then router_settings.routing_strategy (config())
  // What a finished request's record goes to, listed once (in the constructor).
  RecordObservers record_observers;
  uint64_t connections_total = 0;

  void add_acceptor(tcp::acceptor a);
  void start();           // spawns the thread
  void stop_accepting();  // thread-safe: posts to the worker
  void stop();            // thread-safe: stops the io_context
  void join();
  // New opaque request id (32 hex chars).
  std::string new_request_id();
  // The current config snapshot, cached per worker: one atomic load per call, a reload (and a
  // lock inside std::atomic_load) only after App::set_config(). Worker thread only.
  const std::shared_ptr<const Config>& config() {
    const uint64_t v = app.config_version();
    if (v != cfg_version_) {
      cfg_ = app.config();
      cfg_version_ = v;
      router.use(cfg_->routing_strategy);
    }
    return cfg_;
  }
  // Busy polling (llmgate_settings.busy_poll_microseconds, off by default): for that long after
  // a request starts or ends, the worker's thread polls for events (epoll_wait with a zero
  // timeout between handlers) instead of sleeping, so an upstream's answer or the client's next
  // request finds it awake. On a VM a sleeping core's wake-up costs tens of microseconds per
  // event; polling spends CPU instead, and only for the window after traffic. Worker thread only.
  void busy_poll_kick() {
    if (busy_poll_.count() == 0) return;
    busy_until_ = std::chrono::steady_clock::now() + busy_poll_;
    if (!polling_) {
      polling_ = true;
      net::post(ioc, [this] { busy_poll_step(); });
    }
  }
  // Cost of `r` at `d`'s price (nullopt when unknown). The price of each deployment of the
  // current config is looked up once per worker (PriceTable::find builds names, searches the
  // table and reads model_info: ~1.8k instructions a request); the cache keeps the config it
  // was built for alive, so a Deployment's address cannot be reused while it is cached.
  std::optional<double> cost_of(const Deployment& d, const RequestRecord& r);

 private:
  awaitable<void> accept_loop(tcp::acceptor& a);
  awaitable<void> sweep_loop();
  // While the window lasts, a handler that posts itself again: with a handler queued, Asio's
  // scheduler polls the reactor without blocking.
  void busy_poll_step() {
    if (!stopping && std::chrono::steady_clock::now() < busy_until_) net::post(ioc, [this] { busy_poll_step(); });
    else polling_ = false;
  }
  std::chrono::nanoseconds busy_poll_{0};
  std::chrono::steady_clock::time_point busy_until_{};
  bool polling_ = false;
  std::vector<std::unique_ptr<tcp::acceptor>> acceptors_;
  std::shared_ptr<const Config> cfg_;
  uint64_t cfg_version_ = 0;
  std::shared_ptr<const Config> price_cfg_;                       // the config prices_ belongs to
  std::vector<std::optional<std::optional<ModelPrice>>> prices_;  // by deployment index; outer: looked up
  std::thread thread_;
};

// The connection coroutine (session.cpp).
awaitable<void> serve_connection(Worker& w, tcp::socket sock);

class Runtime {
 public:
  // workers <= 0: one per CPU the process may use (usable_cpus_of_this_process). Logs the count.
  Runtime(App& app, std::vector<Route> routes, int workers);
  ~Runtime();
  // Binds every worker's acceptor to host:port (port 0 = any free port). Throws on failure.
  void listen(const std::string& host, int port);
  int port() const { return port_; }
  void start();
  // Stage 2 of shutdown: stop accepting and close idle keep-alive connections.
  void stop_accepting();
  // Stage 3: stop all io_contexts and join the threads.
  void stop();
  std::size_t worker_count() const { return workers_.size(); }

 private:
  App& app_;
  std::vector<Route> routes_;
  net::thread_pool readers_{2};
  std::vector<std::unique_ptr<Worker>> workers_;
  int port_ = 0;
};

}  // namespace llmgate
