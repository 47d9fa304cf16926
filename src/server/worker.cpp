#include "server/worker.hpp"

#include "llmgate/thread_name.hpp"
#include "server/cpu_limit.hpp"
#include "server/record_observers.hpp"

#include <chrono>
#include <functional>

#include <spdlog/spdlog.h>

namespace llmgate {

namespace {
using reuse_port = net::detail::socket_option::boolean<SOL_SOCKET, SO_REUSEPORT>;

void log_task_exception(std::exception_ptr e, const char* what) {
  if (!e) return;
  try {
    std::rethrow_exception(e);
  } catch (const std::exception& ex) {
    spdlog::error("{} ended with an exception: {}", what, ex.what());
  } catch (...) {
    spdlog::error("{} ended with an unknown exception", what);
  }
}
}  // namespace

Worker::Worker(int idx, App& a, const std::vector<Route>& r, net::thread_pool& rd)
    : index(idx), app(a), routes(r), readers(rd) {
  auto cfg = app.config();
  pool = std::make_unique<UpstreamPool>(ioc, cfg->server.pool_idle_s, cfg->server.connect_timeout_s);
  busy_poll_ = std::chrono::microseconds(cfg->server.busy_poll_us);
  add_record_observers(record_observers, app, request_log, index);
}

Worker::~Worker() {
  stop();
  join();
  acceptors_.clear();  // before ioc goes
  if (pool) pool->close_all();
  request_log.flush();
}

void Worker::add_acceptor(tcp::acceptor a) { acceptors_.push_back(std::make_unique<tcp::acceptor>(std::move(a))); }

void Worker::start() {
  for (auto& a : acceptors_)
    net::co_spawn(ioc, accept_loop(*a), [](std::exception_ptr e) { log_task_exception(e, "accept loop"); });
  net::co_spawn(ioc, sweep_loop(), [](std::exception_ptr e) { log_task_exception(e, "pool sweeper"); });
  thread_ = std::thread([this] {
    set_thread_name("llmgate-w" + std::to_string(index));
    for (;;) {
      try {
        ioc.run();
        break;
      } catch (const std::exception& e) {
        spdlog::error("worker {}: unhandled exception: {}", index, e.what());
      }
    }
  });
}

awaitable<void> Worker::accept_loop(tcp::acceptor& a) {
  net::steady_timer backoff(ioc);
  // A shortage of descriptors can last: one warning per 10 s at most, with the count since the
  // last one, instead of a line per 100 ms pause.
  uint64_t failed = 0;
  auto last_warn = std::chrono::steady_clock::now() - std::chrono::seconds(10);
  for (;;) {
    auto [ec, sock] = co_await a.async_accept(use_nothrow);
    if (ec) {
      if (ec == net::error::operation_aborted || !a.is_open() || stopping) co_return;
      // EMFILE/ENFILE etc.: pause instead of spinning; the connection waits in the backlog.
      ++failed;
      if (const auto now = std::chrono::steady_clock::now(); now - last_warn >= std::chrono::seconds(10)) {
        spdlog::warn(
            "worker {}: accept failed: {}; connections wait in the backlog, retried every 100 ms ({} failure(s) "
            "since the last warning)",
            index, ec.message(), failed);
        last_warn = now;
        failed = 0;
      }
      backoff.expires_after(std::chrono::milliseconds(100));
      co_await backoff.async_wait(use_nothrow);
      continue;
    }
    const auto limit = config()->server.limits.max_connections_per_worker;
    if (conns.size() >= limit) {
      boost::system::error_code ig;
      sock.close(ig);
      continue;
    }
    ++connections_total;
    net::co_spawn(ioc, serve_connection(*this, std::move(sock)),
                  [](std::exception_ptr e) { log_task_exception(e, "connection"); });
  }
}

awaitable<void> Worker::sweep_loop() {
  net::steady_timer t(ioc);
  for (unsigned tick = 0;; ++tick) {
    t.expires_after(std::chrono::milliseconds(100));
    auto [ec] = co_await t.async_wait(use_nothrow);
    if (ec) co_return;
    if (request_log.pending()) request_log.flush();
    if (tick % 5 == 0 && !stopping) pool->sweep();
  }
}

void Worker::stop_accepting() {
  net::post(ioc, [this] {
    stopping = true;
    boost::system::error_code ig;
    for (auto& a : acceptors_) a->close(ig);
    for (ConnSlot* c : conns)
      if (c->idle && c->sock) c->sock->close(ig);  // idle keep-alive: wake and end the session
    pool->close_all();
  });
}

void Worker::stop() { ioc.stop(); }

void Worker::join() {
  if (thread_.joinable()) thread_.join();
}

std::optional<double> Worker::cost_of(const Deployment& d, const RequestRecord& r) {
  // The config first: a reload publishes its price table before its config, so a worker that
  // sees the new config also sees the new table, and never caches old prices for a new config.
  const std::shared_ptr<const Config>& cfg = config();
  const PriceTable* table = app.prices.load(std::memory_order_acquire);
  if (!table) return std::nullopt;
  const auto& deps = cfg->deployments;
  const std::less<const Deployment*> before;  // a total order, also for unrelated pointers
  if (deps.empty() || before(&d, deps.data()) || !before(&d, deps.data() + deps.size()))
    return table->cost(d, r);  // not one of the current config's (a reload mid-request)
  if (price_cfg_ != cfg) {
    price_cfg_ = cfg;
    prices_.assign(deps.size(), std::nullopt);
  }
  auto& slot = prices_[static_cast<std::size_t>(&d - deps.data())];
  if (!slot) slot = table->find(d);
  if (!*slot) return std::nullopt;
  return PriceTable::cost(**slot, r);
}

std::string Worker::new_request_id() {
  // 32 hex digits: unix milliseconds (12 digits) then 80 random bits, like a UUIDv7. Ids that
  // grow with time keep the ledger's unique index on request_id append-only: random ids touch a
  // random page of a large index for every row.
  static const char* hex = "0123456789abcdef";
  std::string s(32, '0');
  const uint64_t ms = static_cast<uint64_t>(
      std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
          .count());
  const uint64_t a = rng(), b = rng();
  for (int i = 0; i < 12; ++i) s[i] = hex[(ms >> ((11 - i) * 4)) & 0xF];
  for (int i = 0; i < 16; ++i) s[12 + i] = hex[(a >> (i * 4)) & 0xF];
  for (int i = 0; i < 4; ++i) s[28 + i] = hex[(b >> (i * 4)) & 0xF];
  return s;
}

Runtime::Runtime(App& app, std::vector<Route> routes, int workers) : app_(app), routes_(std::move(routes)) {
  if (workers <= 0) {
    // The CPUs this process may run on, not the machine's: a 2-CPU pod on a 64-core node runs
    // 2 workers (more would only contend for the quota and be throttled).
    const CpuLimit lim = usable_cpus_of_this_process();
    workers = lim.cpus;
    spdlog::info("workers: {} ({})", workers, lim.reason);
  } else {
    spdlog::info("workers: {} (configured)", workers);
  }
  for (int i = 0; i < workers; ++i) workers_.push_back(std::make_unique<Worker>(i, app_, routes_, readers_));
}

Runtime::~Runtime() {
  stop();
  readers_.join();
}

void Runtime::listen(const std::string& host, int port) {
  boost::system::error_code ec;
  auto addr = net::ip::make_address(host, ec);
  if (ec) throw std::runtime_error("invalid listen address '" + host + "': " + ec.message());
  tcp::endpoint ep(addr, static_cast<unsigned short>(port));
  // SO_REUSEPORT would let a second llmgate (same user) silently share the port. Probe with a
  // plain socket first so "address in use" is reported, then bind the per-worker group.
  {
    net::io_context probe_ctx;
    tcp::acceptor probe(probe_ctx);
    probe.open(ep.protocol());
    probe.set_option(net::socket_base::reuse_address(true));
    probe.bind(ep, ec);
    if (ec)
      throw std::runtime_error("cannot listen on " + host + ":" + std::to_string(ep.port()) + ": " + ec.message());
    ep.port(probe.local_endpoint().port());
  }
  for (auto& w : workers_) {
    tcp::acceptor a(w->ioc);
    a.open(ep.protocol());
    a.set_option(net::socket_base::reuse_address(true));
    a.set_option(reuse_port(true));
    a.bind(ep, ec);
    if (ec)
      throw std::runtime_error("cannot listen on " + host + ":" + std::to_string(ep.port()) + ": " + ec.message());
    a.listen(net::socket_base::max_listen_connections);
    w->add_acceptor(std::move(a));
  }
  port_ = ep.port();
}

void Runtime::start() {
  for (auto& w : workers_) w->start();
}

void Runtime::stop_accepting() {
  for (auto& w : workers_) w->stop_accepting();
}

void Runtime::stop() {
  for (auto& w : workers_) w->stop();
  for (auto& w : workers_) w->join();
}

}  // namespace llmgate
