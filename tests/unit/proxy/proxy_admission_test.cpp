// The proxy's wait for a LimitStore that answers later (src/proxy/admission.hpp), on an
// io_context without sockets.
#include <gtest/gtest.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>

#include <thread>
#include <vector>

#include "proxy/admission.hpp"

using namespace llmgate;
namespace asio = boost::asio;

namespace {

// Answers every admission from a thread of its own, through the in-memory store.
class RemoteStore final : public LimitStore {
 public:
  Decision try_admit(const AdmissionRequest&, LimitLease&, AdmissionResult&) override { return Decision::pending; }
  void admit_async(const AdmissionRequest& req, AdmitCallback done) override {
    threads_.emplace_back([this, &req, done = std::move(done)] {
      answered_on.push_back(std::this_thread::get_id());
      seen_id = std::string(req.scopes[0].id);
      AdmissionResult r;
      LimitLease l;
      inner_->try_admit(req, l, r);
      done(std::move(r), std::move(l));
    });
  }
  ~RemoteStore() override {
    for (auto& t : threads_) t.join();
  }
  std::vector<std::thread::id> answered_on;
  std::string seen_id;

 private:
  std::unique_ptr<LimitStore> inner_ = make_memory_limit_store();
  std::vector<std::thread> threads_;
};

// Runs one await_admission on `ioc` (the worker) and returns the thread it resumed on.
std::thread::id admit_on(asio::io_context& ioc, RemoteStore& store,
                         const std::shared_ptr<proxy::PendingAdmission>& st) {
  std::thread::id resumed_on;
  auto guard = asio::make_work_guard(ioc);  // the answer may come after the context ran dry
  asio::co_spawn(
      ioc,
      [&]() -> asio::awaitable<void> {
        co_await proxy::await_admission(store, st);
        resumed_on = std::this_thread::get_id();
        guard.reset();
      },
      asio::detached);
  ioc.run();
  ioc.restart();
  return resumed_on;
}

}  // namespace

TEST(ProxyAdmission, ARemoteAnswerResumesTheWorkerOnItsOwnThread) {
  asio::io_context ioc;
  RemoteStore store;
  std::string id = "k1";
  AdmissionRequest r;
  LimitCheck c;
  c.id = id;
  c.limits.rpm = 1;
  r.add(c);
  r.now_us = 1'700'000'000'000'000;
  auto first = std::make_shared<proxy::PendingAdmission>();
  first->set_request(r);
  id = "changed";  // the pending request keeps its own ids
  EXPECT_EQ(admit_on(ioc, store, first), std::this_thread::get_id());
  ASSERT_EQ(store.answered_on.size(), 1u);
  EXPECT_NE(store.answered_on[0], std::this_thread::get_id());
  EXPECT_EQ(store.seen_id, "k1");
  EXPECT_EQ(first->result.err, Errc::ok);
  EXPECT_TRUE(first->lease.held());

  auto second = std::make_shared<proxy::PendingAdmission>();
  second->set_request(first->req);
  EXPECT_EQ(admit_on(ioc, store, second), std::this_thread::get_id());
  EXPECT_EQ(second->result.err, Errc::rate_limited);
  EXPECT_EQ(second->result.message, "Rate limit exceeded: key rpm_limit 1 requests per minute");
  EXPECT_FALSE(second->lease.held());
}
