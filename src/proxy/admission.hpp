#pragma once
// Waiting for a LimitStore that answers later (admit_async) without blocking the worker: the
// store may answer on any thread; the answer is posted back to the waiting coroutine's executor.
// Asio only (no Beast), so it is tested without sockets. The store's callback posts to the
// worker's executor: a store must not call it once the workers are stopped (it drops the
// callbacks still pending instead).
#include <boost/asio/async_result.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <array>
#include <memory>
#include <string>

#include "llmgate/limit_store.hpp"

namespace llmgate::proxy {

// One admission in flight at a remote store. Shared with the store's callback, which may run
// after the request that asked is gone: it keeps its own copy of the ids and what the checks'
// spend pointers point into.
struct PendingAdmission {
  AdmissionRequest req;
  std::array<std::string, kMaxLimitScopes> ids;
  std::shared_ptr<const void> keep;  // e.g. the key's state (LimitCheck::spend)
  AdmissionResult result;
  LimitLease lease;

  void set_request(const AdmissionRequest& r) {
    req = r;
    for (std::size_t i = 0; i < r.n; ++i) {
      ids[i] = r.scopes[i].id;
      req.scopes[i].id = ids[i];
    }
  }
};

// Asks `store` and resumes on the caller's executor with the answer in `st` (named by the
// caller: see the coroutine rule in docs/ARCHITECTURE.md).
inline boost::asio::awaitable<void> await_admission(LimitStore& store, const std::shared_ptr<PendingAdmission>& st) {
  namespace asio = boost::asio;
  auto ex = co_await asio::this_coro::executor;
  std::shared_ptr<PendingAdmission> keep = st;
  auto init = [keep, ex, &store](auto handler) {
    auto h = std::make_shared<decltype(handler)>(std::move(handler));
    store.admit_async(keep->req, [keep, ex, h](AdmissionResult&& r, LimitLease&& l) {
      keep->result = std::move(r);
      keep->lease = std::move(l);
      asio::post(ex, std::move(*h));
    });
  };
  co_await asio::async_initiate<const asio::use_awaitable_t<>&, void()>(init, asio::use_awaitable);
}

}  // namespace llmgate::proxy
