#pragma once
#include <functional>
#include <memory>

#include "net/net.hpp"

namespace llmgate::proxy {

// Watches the client socket while the upstream works: when the client closes, `on_gone` runs
// (it aborts the upstream call). Pipelined bytes stop the watch (the client is alive).
// The watch starts kArmAfter into the call: most upstream answers come sooner, and an armed
// watch costs an epoll_ctl (Asio re-arms the descriptor for every wait) and, when the client's
// next request arrives, a second completion on that socket that Asio posts (a scheduler round
// trip per request). A client that leaves early is noticed at most kArmAfter plus one deadline
// tick later.
class ClientWatch {
 public:
  static constexpr auto kArmAfter = std::chrono::milliseconds(20);
  ClientWatch(tcp::socket& sock, std::function<void()> on_gone);
  ~ClientWatch() { stop(); }
  ClientWatch(const ClientWatch&) = delete;
  ClientWatch& operator=(const ClientWatch&) = delete;
  // An armed wait is left pending, not cancelled: a cancel posts its completion. It completes,
  // inactive, when the client's next request or close arrives (before the next read on the
  // socket, which queues behind it) or when the socket closes.
  void stop();
  bool gone() const { return st_ && st_->gone; }

 private:
  struct State {
    bool active = true;
    bool gone = false;
    std::function<void()> on_gone;
  };
  void arm();
  tcp::socket& sock_;
  std::function<void()> on_gone_;  // until armed
  std::shared_ptr<State> st_;      // armed: shared with the pending wait
  Deadline delay_;
};

}  // namespace llmgate::proxy
