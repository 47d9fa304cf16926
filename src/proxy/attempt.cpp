// One upstream attempt: build the provider's request, call the upstream, then either relay a
// stream (stream_relay.cpp) or read the whole answer and build the client's response.
#include "proxy/exchange.hpp"

namespace llmgate::proxy {

ProxyExchange::Built ProxyExchange::build_response(const Deployment& d, const Provider& prov, const UpstreamCall* call,
                                                   int status, bool last, bool want_b64, std::string& ubody,
                                                   ResponseHead& res, std::string& res_body, Outcome& o) {
  res.set("Content-Type", "application/json");
  if (status >= 400) {
    if ((status == 429 || status >= 500) && !last) {
      o.retry_error = status == 429 ? Errc::rate_limited : Errc::upstream_protocol;
      retry_message_ = fmt::format("upstream {} answered HTTP {}", d.url.host, status);
      retry_status_ = status;
      return Built::retry;
    }
    res_body = prov.translate_error(status, ubody);
    auto ej = nlohmann::json::parse(res_body, nullptr, false);
    record_error(status, ej.is_object() ? string_field(ej["error"], "type", "api_error") : "api_error",
                 ej.is_object() ? string_field(ej["error"], "message") : "");
    if (auto ra = call ? call->retry_after() : std::string(); !ra.empty()) res.set("Retry-After", ra);
    return Built::respond;
  }
  Usage u;
  std::string translated;
  const ResponseBody rb = call && call->content_type_not_json() ? ResponseBody::invalid
                                                                : prov.translate_response(ep_, d, ubody, translated, u);
  if (rb == ResponseBody::invalid) return Built::invalid;
  if (rb == ResponseBody::translated) {
    res_body = std::move(translated);
    if (want_b64) embeddings_floats_to_base64(res_body);
  } else {
    res_body = std::move(ubody);
  }
  if (u.present) apply_usage(u, false);
  record_cost(d);
  if (rec_.cost_usd) res.set("x-litellm-response-cost", fmt::format("{}", *rec_.cost_usd));
  return Built::respond;
}

Errc ProxyExchange::build_upstream_request(const Deployment& d, const Provider& prov, std::string& err) {
  UpstreamRequest& ureq = ureq_;
  SpareBuffers::give(ureq.body);  // a retry's: the next line takes it back
  ureq = UpstreamRequest{};
  ureq.body = SpareBuffers::take();
  if (fast_ && prov.build_request_spliced(ep_, d, facts_, stream_, ureq)) return Errc::ok;
  SpareBuffers::give(ureq.body);  // kept for the next request: the dialect builds its own body
  ureq = UpstreamRequest{};
  const Errc e = prov.build_request(ep_, d, dom(), stream_, ureq, err);
  dom_dirty_ = true;  // the dialect may have changed the document: parse again for a retry
  return e;
}

bool ProxyExchange::respond_now(int status, ResponseHead& res, std::string_view res_body,
                                boost::system::error_code& ec) {
  rec_.status = status;
  capture_response(res_body);
  set_common_headers(res, us_since(info_.t0) - upstream_us_);
  rec_.first_byte_us = now_unix_us();
  wrote_ = true;
  const std::array<net::const_buffer, 2> out = finish_response(res, res_body, info_);
  chunk_bufs_ = {out[0], out[1], net::const_buffer(), net::const_buffer()};
  return write_now(sock_, chunk_bufs_, ec, chunk_sent_);
}

void ProxyExchange::responded(const boost::system::error_code& ec, std::string& res_body, Outcome& o) {
  o.done = true;
  o.keep_alive = !ec;
  if (!o.keep_alive) rec_.status = 499;
  SpareBuffers::give(res_body);
}

// Not a JSON object: an HTML page from a proxy in front of the upstream, a cut body.
std::string not_json_object_message(const Deployment& d, int status) {
  return fmt::format("upstream {} answered HTTP {} with a body that is not a JSON object", d.url.host, status);
}

awaitable<Outcome> ProxyExchange::attempt(const Deployment& d, bool last) {
  if (d.provider == ProviderKind::mock) co_return co_await serve_mock(d, last);

  const Provider& prov = provider_for(d.provider);
  // The OpenAI SDKs ask for base64 embeddings by default; dialects that only return floats
  // (Ollama) are re-encoded below.
  const bool want_b64 = ep_ == Endpoint::embeddings && wants_base64_embeddings(dom());
  std::string err;
  if (const Errc be = build_upstream_request(d, prov, err); be != Errc::ok) co_return co_await answer_error(be, err);

  fault_point("before-upstream", rec_.model);  // a no-op outside the tests' llmgate-fault
  UpstreamCall call(*w_.pool);
  ClientWatch watch(sock_, [&call] { call.abort(); });
  const auto t_up = clock_t_::now();
  Errc e = co_await call.start(d, ureq_, d.timeout_s, err);
  const int status = call.status();
  if (e == Errc::ok && (status < 200 || status > 599)) {  // an interim 1xx as the answer, or outside 100-599
    e = Errc::upstream_protocol;
    err = fmt::format("upstream {} answered with status {}, which is not a final HTTP status", d.url.host, status);
  }
  if (e != Errc::ok) {
    upstream_us_ += us_since(t_up);
    co_return co_await upstream_failed(e, err, last, watch);
  }
  if (status >= 200 && status < 300 && stream_ && (call.event_stream() || !prov.passthrough_stream())) {
    release_request_bodies(ureq_);
    co_return co_await stream_upstream(d, call, prov, watch);  // SSE, or an NDJSON dialect
  }

  std::string ubody = SpareBuffers::take();
  Errc re = Errc::ok;
  if (!call.read_all_buffered(ubody, kMaxUpstreamBody, re))
    re = co_await call.read_all(seconds_d(d.timeout_s), ubody, kMaxUpstreamBody);
  upstream_us_ += us_since(t_up);
  if (re != Errc::ok) {
    err = fmt::format("upstream {} {}", d.url.host,
                      re == Errc::upstream_timeout ? "stopped sending the response" : "broke off the response");
    co_return co_await upstream_failed(re, err, last, watch);
  }
  call.release();
  watch.stop();
  Outcome o;
  ResponseHead res(status);
  std::string res_body;
  switch (build_response(d, prov, &call, status, last, want_b64, ubody, res, res_body, o)) {
    case Built::respond: break;
    case Built::retry: co_return o;
    case Built::invalid:  // the client's SDK could not read it; the ledger must not count it a success
      err = not_json_object_message(d, status);  // named: no temporary inside a co_await (GCC 12)
      co_return co_await upstream_failed(Errc::upstream_protocol, err, last, watch);
  }
  boost::system::error_code wec;
  if (!respond_now(status, res, res_body, wec)) wec = co_await write_rest(sock_, chunk_bufs_, chunk_sent_);
  responded(wec, res_body, o);
  co_return o;
}

}  // namespace llmgate::proxy
