#pragma once
// Beast/Asio aliases for the networking translation units only (keep out of public headers:
// every TU including this costs 20-40 s to compile).
#include <sys/socket.h>
#include <sys/uio.h>
#include <boost/asio.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include <algorithm>
#include <mutex>
#include <optional>
#include <tuple>

#include "llmgate/clock.hpp"  // seconds_d

namespace llmgate {
namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = boost::beast::http;
namespace ssl = boost::asio::ssl;
using tcp = boost::asio::ip::tcp;
template <class T = void>
using awaitable = boost::asio::awaitable<T>;
// Expected network outcomes are values, not exceptions.
inline constexpr auto use_nothrow = boost::asio::as_tuple(boost::asio::use_awaitable);

// Deadlines of one io_context share one timer. A request arms and disarms several deadlines
// (keep-alive idle, headers, upstream answer, each body read); with one asio timer each, every
// disarm cancelled a pending wait, which posts its handler (a scheduler round trip and an extra
// epoll_wait per disarm) and moved the timerfd. Here arming and disarming link and unlink a list
// node; the shared timer waits for the earliest expiry (rounded up to kTick, so expiries close
// together are handled in one wake-up) and is moved only when a new deadline is earlier than
// its wait, which steady traffic with the same timeouts rarely does. A deadline fires at most
// one tick late, never early.
class DeadlineService : public net::execution_context::service {
 public:
  using key_type = DeadlineService;
  static inline net::execution_context::id id;
  static constexpr auto kTick = std::chrono::milliseconds(10);
  using time_point = std::chrono::steady_clock::time_point;

  struct Node {
    Node* prev = nullptr;
    Node* next = nullptr;
    bool linked = false;
    bool fired = false;
    time_point expiry;
    void* sock = nullptr;
    void (*cancel)(void*) = nullptr;
  };

  explicit DeadlineService(net::execution_context& ctx) : net::execution_context::service(ctx) {}

  // (Re)arms `n` for `expiry`; the node's fields change under the lock, since the timer's
  // handler reads them (on whichever thread runs the context).
  void link(Node& n, const net::any_io_executor& ex, time_point expiry, void* sock, void (*cancel)(void*)) {
    std::lock_guard lk(mu_);
    n.fired = false;
    n.expiry = expiry;
    n.sock = sock;
    n.cancel = cancel;
    if (shut_down_) return;
    if (!timer_) timer_.emplace(ex);
    if (!n.linked) {
      n.prev = nullptr;
      n.next = head_;
      if (head_) head_->prev = &n;
      head_ = &n;
      n.linked = true;
    }
    // Only an earlier tick moves the timer: a deadline due within the awaited tick (a short one
    // armed per request) leaves the wait alone, so the timerfd moves at most once per tick.
    if (const time_point due = round_up(n.expiry); !waiting_ || due < wake_at_) schedule(due);
  }
  void unlink(Node& n) {
    std::lock_guard lk(mu_);
    unlink_locked(n);  // the timer keeps its wait: it finds nothing due, or stops, when it fires
  }

 private:
  // The context is shutting down: coroutine frames (and their Deadlines) are destroyed after
  // this, so no node may point at another any more; the timer goes before its own service does.
  void shutdown() override {
    std::lock_guard lk(mu_);
    for (Node* n = head_; n;) {
      Node* next = n->next;
      n->prev = n->next = nullptr;
      n->linked = false;
      n = next;
    }
    head_ = nullptr;
    waiting_ = false;
    shut_down_ = true;
    timer_.reset();
  }
  void unlink_locked(Node& n) {
    if (!n.linked) return;
    if (n.prev) n.prev->next = n.next;
    else head_ = n.next;
    if (n.next) n.next->prev = n.prev;
    n.prev = n.next = nullptr;
    n.linked = false;
  }
  // The first tick boundary after `t`. Far expiries are checked daily (no overflow in the rounding).
  static time_point round_up(time_point t) {
    t = std::min(t, std::chrono::steady_clock::now() + std::chrono::hours(24));
    const auto tick = std::chrono::duration_cast<std::chrono::steady_clock::duration>(kTick);
    const auto since_epoch = t.time_since_epoch();
    return time_point(since_epoch + tick - since_epoch % tick);
  }
  // With mu_ held; `due` is a tick (round_up). Re-arming a waiting timer cancels its wait (whose
  // handler then does nothing); a handler already queued runs tick_now() early, which is harmless.
  void schedule(time_point due) {
    wake_at_ = due;
    waiting_ = true;
    timer_->expires_at(wake_at_);
    timer_->async_wait([this](boost::system::error_code ec) {
      if (!ec) tick_now();
    });
  }
  void tick_now() {
    std::lock_guard lk(mu_);
    waiting_ = false;
    const auto now = std::chrono::steady_clock::now();
    time_point next = time_point::max();
    for (Node* n = head_; n;) {
      Node* after = n->next;
      if (n->expiry <= now) {
        unlink_locked(*n);
        n->fired = true;
        n->cancel(n->sock);  // posts the cancelled operations' completions; touches no deadline
      } else if (n->expiry < next) {
        next = n->expiry;
      }
      n = after;
    }
    if (head_) schedule(round_up(next));
  }

  std::mutex mu_;                           // a worker's context is single-threaded; other contexts may not be
  std::optional<net::steady_timer> timer_;  // made on first use, with a Deadline's executor
  Node* head_ = nullptr;
  bool waiting_ = false;  // the timer has a wait pending, due at wake_at_
  time_point wake_at_{};
  bool shut_down_ = false;
};

// A one-shot deadline for socket operations: when it fires it cancels the socket's pending
// operations (the socket stays open, so a 408 or an SSE error can still be written) and
// remembers that it fired. Used on the socket's io_context (an io_context executor).
class Deadline {
 public:
  explicit Deadline(const net::any_io_executor& ex)
      : ex_(ex), svc_(net::use_service<DeadlineService>(net::query(ex, net::execution::context))) {}
  ~Deadline() { disarm(); }
  Deadline(const Deadline&) = delete;
  Deadline& operator=(const Deadline&) = delete;
  // Arms for `d`; on expiry calls sock.cancel() and sets fired(). The socket must outlive the
  // Deadline or the next disarm()/arm().
  template <class Socket>
  void arm(Socket& sock, std::chrono::steady_clock::duration d) {
    svc_.link(node_, ex_, std::chrono::steady_clock::now() + d, &sock, [](void* p) {
      boost::system::error_code ignored;
      static_cast<Socket*>(p)->cancel(ignored);
    });
  }
  // Arms for `d`; on expiry calls fn(ctx) on the context's thread and sets fired(). fn runs under
  // the service's lock: it may start operations but must not arm or disarm a deadline.
  void arm_call(std::chrono::steady_clock::duration d, void* ctx, void (*fn)(void*)) {
    svc_.link(node_, ex_, std::chrono::steady_clock::now() + d, ctx, fn);
  }
  void disarm() { svc_.unlink(node_); }
  bool fired() const { return node_.fired; }

 private:
  net::any_io_executor ex_;
  DeadlineService& svc_;
  DeadlineService::Node node_;
};

// Sends what a plain TCP socket takes right now (one non-blocking sendmsg); returns the bytes
// sent (0 when the socket is full) and sets `ec` on a real error.
template <class ConstBufferSequence>
std::size_t send_now(tcp::socket& s, const ConstBufferSequence& bufs, boost::system::error_code& ec) {
  iovec iov[8];
  std::size_t n = 0;
  for (auto it = net::buffer_sequence_begin(bufs); it != net::buffer_sequence_end(bufs) && n < 8; ++it) {
    const net::const_buffer b(*it);
    if (b.size() == 0) continue;
    iov[n].iov_base = const_cast<void*>(b.data());
    iov[n].iov_len = b.size();
    ++n;
  }
  if (n == 0) return 0;
  msghdr msg{};
  msg.msg_iov = iov;
  msg.msg_iovlen = n;
  for (;;) {
    const ssize_t r = ::sendmsg(s.native_handle(), &msg, MSG_DONTWAIT | MSG_NOSIGNAL);
    if (r >= 0) return static_cast<std::size_t>(r);
    if (errno == EINTR) continue;
    if (errno != EAGAIN && errno != EWOULDBLOCK) ec.assign(errno, boost::system::system_category());
    return 0;
  }
}

// Writes all of `bufs` to a plain socket: first straight away (send_now), then through an async
// write for what the socket did not take (an async write that completes at once still goes
// through the scheduler: its completion is posted, a queue round trip and an epoll_wait(0)).
// Split in two so that the usual case needs no coroutine frame (a coroutine allocates one even
// when it completes at once, often past Asio's frame cache under load): write_now() sends what
// the socket takes and returns true when that was all of it or an error (in `ec`); otherwise
// co_await write_rest(s, bufs, sent). The buffers must stay valid until then.
template <class ConstBufferSequence>
bool write_now(tcp::socket& s, const ConstBufferSequence& bufs, boost::system::error_code& ec, std::size_t& sent) {
  ec.clear();
  sent = send_now(s, bufs, ec);
  return ec || sent == net::buffer_size(bufs);
}

template <class ConstBufferSequence>
awaitable<boost::system::error_code> write_rest(tcp::socket& s, const ConstBufferSequence& bufs, std::size_t sent) {
  beast::buffers_suffix<ConstBufferSequence> rest(bufs);
  rest.consume(sent);
  auto [ec, n] = co_await net::async_write(s, rest, use_nothrow);
  co_return ec;
}

}  // namespace llmgate
