// Deadlines share one timer per io_context (net/net.hpp): arming and disarming only link a
// list node. A deadline must fire (cancel the socket's operations) no earlier than asked
// and at most a tick or so later; a disarmed or destroyed one must never fire. write_now sends
// at once what the socket takes; write_rest goes asynchronous for the rest.
#include <gtest/gtest.h>

#include <array>
#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "net/net.hpp"

using namespace llmgate;
using Clock = std::chrono::steady_clock;

namespace {

struct Pair {
  net::io_context ioc{1};
  tcp::socket a{ioc}, b{ioc};
  Pair() {
    tcp::acceptor acc(ioc, tcp::endpoint(net::ip::address_v4::loopback(), 0));
    a.connect(acc.local_endpoint());
    acc.accept(b);
  }
};

// Reads on `p.a` under a deadline of `d`; returns how long the read waited and whether the
// deadline says it fired.
std::pair<Clock::duration, bool> read_under(Pair& p, Deadline& dl, Clock::duration d) {
  char c;
  boost::system::error_code got;
  const auto t0 = Clock::now();
  Clock::duration waited{};
  dl.arm(p.a, d);
  p.a.async_read_some(net::buffer(&c, 1), [&](boost::system::error_code ec, std::size_t) {
    got = ec;
    waited = Clock::now() - t0;
    dl.disarm();
    p.ioc.stop();  // other armed deadlines would keep run_for() waiting
  });
  p.ioc.run_for(std::chrono::seconds(5));
  p.ioc.restart();
  EXPECT_EQ(got, net::error::operation_aborted);
  return {waited, dl.fired()};
}

}  // namespace

TEST(Deadline, FiresNoEarlierThanAskedAndWithinATickOrTwo) {
  Pair p;
  Deadline dl(p.ioc.get_executor());
  for (auto d : {std::chrono::milliseconds(30), std::chrono::milliseconds(75)}) {
    auto [waited, fired] = read_under(p, dl, d);
    EXPECT_TRUE(fired);
    EXPECT_GE(waited, d);
    EXPECT_LT(waited, d + 3 * DeadlineService::kTick + std::chrono::milliseconds(40));  // slack for a busy CI box
  }
}

TEST(Deadline, AnEarlierDeadlineArmedAfterALaterOneStillFiresOnTime) {
  // The shared timer waits for the earliest expiry; a shorter deadline armed later moves it.
  Pair p;
  Pair q;  // another context: its deadlines are independent
  Deadline far(p.ioc.get_executor());
  far.arm(p.b, std::chrono::seconds(60));
  Deadline near(p.ioc.get_executor());
  auto [waited, fired] = read_under(p, near, std::chrono::milliseconds(40));
  EXPECT_TRUE(fired);
  EXPECT_GE(waited, std::chrono::milliseconds(40));
  EXPECT_LT(waited, std::chrono::milliseconds(40) + 3 * DeadlineService::kTick + std::chrono::milliseconds(40));
  EXPECT_FALSE(far.fired());
  // After the timer went idle (nothing armed), arming starts it again.
  far.disarm();
  Deadline later(q.ioc.get_executor());
  auto [w2, f2] = read_under(q, later, std::chrono::milliseconds(20));
  EXPECT_TRUE(f2);
  EXPECT_GE(w2, std::chrono::milliseconds(20));
}

TEST(Deadline, DisarmedOrDestroyedDeadlinesNeverFire) {
  Pair p;
  char c;
  boost::system::error_code got = net::error::would_block;
  {
    Deadline gone(p.ioc.get_executor());
    gone.arm(p.a, std::chrono::milliseconds(1));
  }  // destroyed while armed
  Deadline off(p.ioc.get_executor());
  off.arm(p.a, std::chrono::milliseconds(1));
  off.disarm();
  Deadline rearmed(p.ioc.get_executor());
  rearmed.arm(p.a, std::chrono::milliseconds(1));
  rearmed.arm(p.a, std::chrono::seconds(60));  // re-arming replaces the expiry
  p.a.async_read_some(net::buffer(&c, 1), [&](boost::system::error_code ec, std::size_t) { got = ec; });
  p.ioc.run_for(std::chrono::milliseconds(150));
  EXPECT_EQ(got, net::error::would_block) << "the read was cancelled: " << got.message();
  EXPECT_FALSE(off.fired());
  EXPECT_FALSE(rearmed.fired());
  // The read still completes normally.
  net::write(p.b, net::buffer("x", 1));
  p.ioc.restart();
  p.ioc.run_for(std::chrono::milliseconds(500));
  EXPECT_FALSE(got) << got.message();
}

TEST(Deadline, ManyDeadlinesFireEachOnItsOwnSocket) {
  net::io_context ioc{1};
  tcp::acceptor acc(ioc, tcp::endpoint(net::ip::address_v4::loopback(), 0));
  constexpr int kN = 50;
  std::vector<std::unique_ptr<tcp::socket>> cl, sv;
  std::vector<std::unique_ptr<Deadline>> dls;
  std::vector<boost::system::error_code> got(kN, net::error::would_block);
  std::vector<char> bytes(kN);
  for (int i = 0; i < kN; ++i) {
    cl.push_back(std::make_unique<tcp::socket>(ioc));
    cl.back()->connect(acc.local_endpoint());
    sv.push_back(std::make_unique<tcp::socket>(ioc));
    acc.accept(*sv.back());
    dls.push_back(std::make_unique<Deadline>(ioc.get_executor()));
    // Odd sockets get a deadline far away: only the even ones may be cancelled.
    dls.back()->arm(*cl.back(), i % 2 ? std::chrono::seconds(60) : std::chrono::milliseconds(20 + i));
    cl.back()->async_read_some(net::buffer(&bytes[i], 1),
                               [&got, i](boost::system::error_code ec, std::size_t) { got[i] = ec; });
  }
  ioc.run_for(std::chrono::milliseconds(300));
  for (int i = 0; i < kN; ++i) {
    if (i % 2) {
      EXPECT_EQ(got[i], net::error::would_block) << i;
      EXPECT_FALSE(dls[i]->fired()) << i;
    } else {
      EXPECT_EQ(got[i], net::error::operation_aborted) << i;
      EXPECT_TRUE(dls[i]->fired()) << i;
    }
  }
}

TEST(Deadline, ContextDestroyedWithArmedDeadlinesInSuspendedCoroutines) {
  // Coroutine frames (holding armed Deadlines) are destroyed while the context shuts down.
  auto p = std::make_unique<Pair>();
  for (int i = 0; i < 3; ++i) {
    net::co_spawn(
        p->ioc,
        [&s = p->a]() -> awaitable<void> {
          Deadline dl(co_await net::this_coro::executor);
          dl.arm(s, std::chrono::seconds(60));
          char c;
          co_await s.async_read_some(net::buffer(&c, 1), use_nothrow);
        },
        net::detached);
  }
  p->ioc.run_for(std::chrono::milliseconds(30));
  p.reset();  // must neither crash nor hang (run under ASan/valgrind to see freed nodes)
  SUCCEED();
}

TEST(WriteNow, SendsAtOnceAndWriteRestFinishesWhenTheSocketWasFull) {
  Pair p;
  // Small: taken at once, no coroutine needed.
  std::string small = "hello";
  std::array<net::const_buffer, 2> bufs{net::buffer(small), net::buffer(small)};
  boost::system::error_code ec1;
  std::size_t n1 = 0;
  EXPECT_TRUE(write_now(p.a, bufs, ec1, n1));
  EXPECT_FALSE(ec1);
  EXPECT_EQ(n1, 10u);
  // Larger than the socket buffers: part at once, the rest goes out as the peer reads.
  const std::string big(8 << 20, 'z');
  std::array<net::const_buffer, 1> bigbuf{net::buffer(big)};
  boost::system::error_code ec2 = net::error::would_block;
  std::size_t n2 = 0, read_total = 0;
  EXPECT_FALSE(write_now(p.a, bigbuf, ec2, n2));
  EXPECT_FALSE(ec2);
  EXPECT_LT(n2, big.size());
  ec2 = net::error::would_block;
  bool rest_done = false;
  net::co_spawn(
      p.ioc,
      [&]() -> awaitable<void> {
        ec2 = co_await write_rest(p.a, bigbuf, n2);
        rest_done = true;
      },
      net::detached);
  std::vector<char> sink(1 << 16);
  std::function<void()> pump = [&] {
    p.b.async_read_some(net::buffer(sink), [&](boost::system::error_code ec, std::size_t n) {
      read_total += n;
      if (!ec && read_total < 10 + big.size()) pump();
    });
  };
  pump();
  p.ioc.run_for(std::chrono::seconds(10));
  EXPECT_TRUE(rest_done);
  EXPECT_FALSE(ec2) << ec2.message();
  EXPECT_EQ(read_total, 10 + big.size());  // every byte once, in order checked by the count
  // A closed peer: an error, not a hang or a signal.
  p.b.close();
  std::array<net::const_buffer, 1> again{net::buffer(big)};
  boost::system::error_code ec3;
  p.ioc.restart();
  net::co_spawn(
      p.ioc,
      [&]() -> awaitable<void> {
        for (int i = 0; i < 4 && !ec3; ++i) {
          std::size_t sent = 0;
          if (!write_now(p.a, again, ec3, sent)) ec3 = co_await write_rest(p.a, again, sent);
        }
      },
      net::detached);
  p.ioc.run_for(std::chrono::seconds(10));
  EXPECT_TRUE(ec3);
}

TEST(Deadline, ArmCallRunsTheCallbackOnceUnlessDisarmed) {
  // What the proxy's client watch uses: a callback after a delay instead of a socket cancel.
  // Many short ones armed and disarmed around it (one per request) leave it alone.
  net::io_context ioc{1};
  int calls = 0;
  Clock::duration waited{};
  const auto t0 = Clock::now();
  struct Ctx {
    int* calls;
    Clock::duration* waited;
    Clock::time_point t0;
  } ctx{&calls, &waited, t0};
  Deadline kept(ioc.get_executor()), dropped(ioc.get_executor());
  std::vector<std::unique_ptr<Deadline>> many;
  for (int i = 0; i < 100; ++i) {
    many.push_back(std::make_unique<Deadline>(ioc.get_executor()));
    many.back()->arm_call(std::chrono::milliseconds(20), nullptr, [](void*) { ADD_FAILURE() << "disarmed"; });
  }
  kept.arm_call(std::chrono::milliseconds(20), &ctx, [](void* p) {
    auto* c = static_cast<Ctx*>(p);
    ++*c->calls;
    *c->waited = Clock::now() - c->t0;
  });
  dropped.arm_call(std::chrono::milliseconds(20), nullptr, [](void*) { ADD_FAILURE() << "disarmed"; });
  dropped.disarm();
  for (auto& d : many) d->disarm();
  ioc.run_for(std::chrono::milliseconds(150));
  EXPECT_EQ(calls, 1);
  EXPECT_TRUE(kept.fired());
  EXPECT_FALSE(dropped.fired());
  EXPECT_GE(waited, std::chrono::milliseconds(20));
  EXPECT_LT(waited, std::chrono::milliseconds(20) + 3 * DeadlineService::kTick + std::chrono::milliseconds(40));
}
