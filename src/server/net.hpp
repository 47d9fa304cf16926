#pragma once
// Beast/Asio aliases for the networking translation units only (keep out of public headers:
// every TU including this costs 20-40 s to compile).
#include <boost/asio.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

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

// A one-shot deadline for socket operations: when it fires it cancels the socket's pending
// operations (the socket stays open, so a 408 or an SSE error can still be written) and
// remembers that it fired. Single-threaded use on the socket's io_context.
class Deadline {
 public:
  explicit Deadline(const net::any_io_executor& ex) : timer_(ex), st_(std::make_shared<State>()) {}
  ~Deadline() { disarm(); }
  Deadline(const Deadline&) = delete;
  Deadline& operator=(const Deadline&) = delete;
  // Arms for `d`; on expiry calls sock.cancel() and sets fired(). The socket must outlive the
  // Deadline or the next disarm()/arm().
  template <class Socket>
  void arm(Socket& sock, std::chrono::steady_clock::duration d) {
    st_->fired = false;
    timer_.expires_after(d);
    timer_.async_wait([st = st_, &sock, gen = ++st_->gen](boost::system::error_code ec) {
      if (ec || gen != st->gen) return;  // cancelled, re-armed or disarmed: touch nothing
      st->fired = true;
      boost::system::error_code ignored;
      sock.cancel(ignored);
    });
  }
  void disarm() {
    ++st_->gen;
    timer_.cancel();
  }
  bool fired() const { return st_->fired; }

 private:
  struct State {
    uint64_t gen = 0;
    bool fired = false;
  };
  net::steady_timer timer_;
  std::shared_ptr<State> st_;
};

inline std::chrono::steady_clock::duration seconds_d(double s) {
  return std::chrono::duration_cast<std::chrono::steady_clock::duration>(std::chrono::duration<double>(s));
}

}  // namespace llmgate
