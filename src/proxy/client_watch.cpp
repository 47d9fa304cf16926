#include "proxy/client_watch.hpp"

#include <sys/socket.h>

#include <cerrno>

namespace llmgate::proxy {

ClientWatch::ClientWatch(tcp::socket& sock, std::function<void()> on_gone)
    : sock_(sock), on_gone_(std::move(on_gone)), delay_(sock.get_executor()) {
  delay_.arm_call(kArmAfter, this, [](void* self) { static_cast<ClientWatch*>(self)->arm(); });
}

void ClientWatch::stop() {
  delay_.disarm();
  if (st_) {
    st_->active = false;
    st_->on_gone = nullptr;
  }
}

void ClientWatch::arm() {
  st_ = std::make_shared<State>();
  st_->on_gone = std::move(on_gone_);
  sock_.async_wait(tcp::socket::wait_read, [st = st_, &sock = sock_](boost::system::error_code ec) {
    if (!st->active || ec == net::error::operation_aborted) return;
    char c;
    ssize_t r = ec ? 0 : ::recv(sock.native_handle(), &c, 1, MSG_PEEK | MSG_DONTWAIT);
    if (r > 0) return;  // pipelined request bytes: alive; stop watching
    if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return;
    st->gone = true;
    if (st->on_gone) st->on_gone();
  });
}

}  // namespace llmgate::proxy
