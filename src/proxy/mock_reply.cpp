// The in-process mock provider's answer, plain or streamed.
#include "proxy/exchange.hpp"

namespace llmgate::proxy {

awaitable<Outcome> ProxyExchange::serve_mock(const Deployment& d, const nlohmann::json& body) {
  Outcome o;
  o.done = true;
  MockReply r = mock_reply(d, body, ep_);
  const std::string id = (ep_ == Endpoint::chat ? "chatcmpl-" : "cmpl-") + 
                       (info_.request_id.size() > 24 ? info_.request_id.substr(info_.request_id.size() - 24) : info_.request_id);
  const int64_t created = info_.start_us / 1000000;
  net::steady_timer timer(sock_.get_executor());
  const auto t_up = clock_t_::now();
  if (d.mock_latency_ms > 0) {
    ClientWatch watch(sock_, [&timer] { timer.cancel(); });
    timer.expires_after(std::chrono::milliseconds(d.mock_latency_ms));
    co_await timer.async_wait(use_nothrow);
    if (watch.gone()) {
      upstream_us_ += us_since(t_up);
      co_return client_gone("client closed the connection before the response");
    }
  }
  apply_usage(r.usage, false);
  if (!stream_) {
    http::response<http::string_body> res{http::status::ok, 11};
    res.set(http::field::content_type, "application/json");
    res.body() = mock_response_body(d, r, ep_, id, created, body);
    if (ep_ == Endpoint::embeddings && wants_base64_embeddings(body)) embeddings_floats_to_base64(res.body());
    upstream_us_ += us_since(t_up);
    if (w_.app.prices) {
      rec_.cost_usd = w_.cost_of(d, rec_);
      if (rec_.cost_usd) res.set("x-litellm-response-cost", fmt::format("{}", *rec_.cost_usd));
    }
    rec_.status = 200;
    capture_response(res.body());
    set_common_headers(res.base(), us_since(info_.t0) - upstream_us_);
    rec_.first_byte_us = now_unix_us();
    wrote_ = true;
    o.keep_alive = co_await write_response(sock_, res, info_);
    if (!o.keep_alive) rec_.status = 499;
    co_return o;
  }
  upstream_us_ += us_since(t_up);
  rec_.status = 200;
  start_stream_response();
  const auto pace = d.mock_tokens_per_second > 0
                        ? std::chrono::duration_cast<clock_t_::duration>(std::chrono::duration<double>(1.0 / d.mock_tokens_per_second))
                        : clock_t_::duration(0);
  Usage delivered;
  for (std::size_t i = 0; i <= r.pieces.size(); ++i) {
    if (pace.count() > 0 && i > 0 && i < r.pieces.size()) {
      const auto tp = clock_t_::now();
      timer.expires_after(pace);
      co_await timer.async_wait(use_nothrow);
      upstream_us_ += us_since(tp);
    }
    std::string ev = mock_stream_event(d, r, ep_, id, created, i, false);
    if (i == 0) rec_.ttft_us = us_since(info_.t0);
    if (cfg_->ledger.store_bodies && rec_.response_body.size() < cfg_->ledger.max_body_log_bytes)
      rec_.response_body.append(ev);
    if (!co_await write_chunk(ev)) {
      // Client left: record what was delivered.
      delivered = r.usage;
      delivered.completion_tokens = static_cast<int64_t>(i);
      delivered.total_tokens = delivered.prompt_tokens + delivered.completion_tokens;
      apply_usage(delivered, false);
      co_return client_gone("client closed the connection during the stream");
    }
  }
  std::string tail;
  if (client_include_usage) tail += mock_stream_event(d, r, ep_, id, created, 0, true);
  tail += "data: [DONE]\n\n";
  bool ok = co_await write_chunk(tail);
  if (ok) ok = co_await write_last_chunk();
  if (!ok) rec_.status = 499;
  o.keep_alive = ok;
  co_return o;
}

}  // namespace llmgate::proxy
