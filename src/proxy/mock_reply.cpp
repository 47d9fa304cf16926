// The mock provider as an in-process upstream: providers/mock.cpp makes the bytes an
// OpenAI-compatible upstream would send (a JSON body, or SSE events), and they go through the
// same response building, usage, cost, body capture and stream relay as a real upstream's. No
// socket and no thread: the latency and pacing it simulates are timers on the worker.
#include "proxy/exchange.hpp"
#include "proxy/stream_relay.hpp"

namespace llmgate::proxy {

namespace {

// The time between two streamed pieces (zero: as fast as the client takes them).
clock_t_::duration mock_pace(const Deployment& d) {
  if (d.mock_tokens_per_second <= 0) return clock_t_::duration(0);
  return std::chrono::duration_cast<clock_t_::duration>(std::chrono::duration<double>(1.0 / d.mock_tokens_per_second));
}

}  // namespace

std::string ProxyExchange::mock_id() const {
  const std::string& rid = info_.request_id;
  return (ep_ == Endpoint::chat ? "chatcmpl-" : "cmpl-") + (rid.size() > 24 ? rid.substr(rid.size() - 24) : rid);
}

awaitable<bool> ProxyExchange::mock_latency(const Deployment& d) {
  const auto t_up = clock_t_::now();
  net::steady_timer timer(sock_.get_executor());
  ClientWatch watch(sock_, [&timer] { timer.cancel(); });
  timer.expires_after(std::chrono::milliseconds(d.mock_latency_ms));
  co_await timer.async_wait(use_nothrow);
  upstream_us_ += us_since(t_up);
  co_return !watch.gone();
}

awaitable<Outcome> ProxyExchange::serve_mock(const Deployment& d, bool last) {
  const MockReply r = mock_reply(d, dom(), ep_);
  const std::string id = mock_id();
  if (d.mock_latency_ms > 0 && !co_await mock_latency(d))
    co_return client_gone("client closed the connection before the response");
  if (stream_) co_return co_await stream_mock(d, r, id);
  co_return co_await answer_mock(d, r, id, last);
}

awaitable<Outcome> ProxyExchange::answer_mock(const Deployment& d, const MockReply& r, const std::string& id,
                                              bool last) {
  const auto t_up = clock_t_::now();
  std::string ubody = mock_response_body(d, r, ep_, id, info_.start_us / 1000000, dom());
  upstream_us_ += us_since(t_up);
  Outcome o;
  ResponseHead res(200);
  std::string res_body;
  if (build_response(d, mock_provider(), nullptr, 200, last, false, ubody, res, res_body, o) != Built::respond) {
    const std::string err = not_json_object_message(d, 200);  // named: no temporary inside a co_await (GCC 12)
    co_return co_await answer_error(Errc::upstream_protocol, err);
  }
  boost::system::error_code ec;
  if (!respond_now(200, res, res_body, ec)) ec = co_await write_rest(sock_, chunk_bufs_, chunk_sent_);
  responded(ec, res_body, o);
  co_return o;
}

// The mock's stream in the reads an upstream's would arrive in: one per piece, the finish
// chunk, then the usage chunk with [DONE]. Each goes through the passthrough decoder (usage,
// the usage chunk dropped unless asked, TTFT, body capture) and is written as one chunk.
awaitable<Outcome> ProxyExchange::stream_mock(const Deployment& d, const MockReply& r, const std::string& id) {
  release_request_bodies(ureq_);
  rec_.status = 200;
  start_stream_response();
  StreamRelay s(cfg_->server.limits.max_sse_event_bytes);
  const int64_t created = info_.start_us / 1000000;
  const auto pace = mock_pace(d);
  std::optional<net::steady_timer> timer;  // paced streams only
  for (std::size_t i = 0; i <= r.pieces.size() + 1; ++i) {
    if (pace.count() > 0 && i > 0 && i < r.pieces.size()) {
      if (!timer) timer.emplace(sock_.get_executor());
      const auto tp = clock_t_::now();
      timer->expires_after(pace);
      co_await timer->async_wait(use_nothrow);
      upstream_us_ += us_since(tp);
    }
    s.in.clear();
    if (i <= r.pieces.size()) {
      s.in += mock_stream_event(d, r, ep_, id, created, i, false);
    } else {
      s.in += mock_stream_event(d, r, ep_, id, created, 0, true);
      s.in += "data: [DONE]\n\n";
    }
    s.out.clear();
    if (!decode_passthrough(s, d) || s.end_error != Errc::ok) break;
    if (s.out.empty()) continue;
    bool ok = true;
    if (!write_chunk_now(s.out, ok)) ok = co_await write_chunk_rest();
    if (!ok) {
      s.end_error = Errc::client_closed;
      break;
    }
  }
  stream_usage(s);
  co_return co_await end_stream(nullptr, nullptr, s.end_error, s.end_message);
}

}  // namespace llmgate::proxy
