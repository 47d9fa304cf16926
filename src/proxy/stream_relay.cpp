// A stream's relay: SSE passed through or translated, NDJSON translated, written to the client
// as chunks (the first carries the response head).
#include "proxy/stream_relay.hpp"
#include "proxy/exchange.hpp"

namespace llmgate::proxy {

bool ProxyExchange::write_chunk_now(std::string_view data, bool& ok) {
  ok = true;
  if (data.empty() && !head_pending_) return true;
  const int n = std::snprintf(chunk_size_line_, sizeof chunk_size_line_, "%zx\r\n", data.size());
  chunk_bufs_ = {net::buffer(stream_head_), net::buffer(chunk_size_line_, static_cast<std::size_t>(n)),
                 net::buffer(data.data(), data.size()), net::buffer("\r\n", 2)};
  if (!head_pending_) chunk_bufs_[0] = net::const_buffer();
  if (data.empty())
    chunk_bufs_[1] = chunk_bufs_[3] = net::const_buffer();  // the head alone (an empty chunk would end the body)
  wrote_ = true;
  boost::system::error_code ec;
  if (!write_now(sock_, chunk_bufs_, ec, chunk_sent_)) return false;
  ok = !ec;
  chunk_written(ok);
  return true;
}

awaitable<bool> ProxyExchange::write_chunk_rest() {
  const auto ec = co_await write_rest(sock_, chunk_bufs_, chunk_sent_);
  chunk_written(!ec);
  co_return !ec;
}

awaitable<bool> ProxyExchange::write_chunk(std::string_view data) {
  bool ok = true;
  if (!write_chunk_now(data, ok)) ok = co_await write_chunk_rest();
  co_return ok;
}

awaitable<bool> ProxyExchange::write_last_chunk() {
  std::array<net::const_buffer, 2> bufs{net::buffer(stream_head_), net::buffer("0\r\n\r\n", 5)};
  if (!head_pending_) bufs[0] = net::const_buffer();
  wrote_ = true;
  boost::system::error_code ec;
  std::size_t sent = 0;
  if (!write_now(sock_, bufs, ec, sent)) ec = co_await write_rest(sock_, bufs, sent);
  chunk_written(!ec);
  co_return !ec;
}

bool ProxyExchange::start_stream_response() {
  // Only prepared here: the head goes out with the first chunk, in one write (a separate write
  // wakes the client for the head alone, which delayed the first token by ~0.2 ms at 1
  // connection), and a stream that fails before its first event can still get an HTTP error.
  ResponseHead res(200);
  res.set("Content-Type", "text/event-stream");
  res.set("Cache-Control", "no-cache");
  res.set("x-request-id", info_.request_id);
  set_common_headers(res, us_since(info_.t0) - upstream_us_);
  if (!info_.keep_alive) res.set("Connection", "close");
  res.set("Transfer-Encoding", "chunked");
  stream_head_ = std::move(res.str());
  stream_head_ += "\r\n";
  head_pending_ = true;
  return true;
}

bool ProxyExchange::decode_passthrough(StreamRelay& s, const Deployment& d) {
  bool malformed = false;
  bool ok = s.parser.feed(s.in, [&](const SseEvent& ev) {
    if (malformed) return;  // nothing after a malformed event reaches the client
    if (!ev.has_data) {
      if (ev.comment_only) s.out.append(ev.raw);
      return;
    }
    if (ev.is_done()) {
      s.out.append(ev.raw);
      return;
    }
    if (!event_is_json_object(ev.data)) {
      malformed = true;
      return;
    }
    ++s.data_events;
    bool forward = true;
    if (ev.data.find("\"usage\"") != std::string::npos) {
      Usage u;
      if (extract_usage_fast(ev.data, u) && u.present) s.usage = u;
      // The usage-only chunk we asked for on the client's behalf: drop it unless asked.
      if (!client_include_usage && ev.data.find("\"choices\":[]") != std::string::npos) forward = false;
    }
    if (forward) {
      if (rec_.ttft_us == 0) rec_.ttft_us = us_since(info_.t0);
      s.out.append(ev.raw);
      capture_response(ev.data);
      capture_response("\n");
    }
  });
  if (malformed) {
    s.end_error = Errc::upstream_stream_cut;
    s.end_message = "upstream " + d.url.host + " sent a stream event that is not a JSON object";
  } else if (!ok) {
    s.end_error = Errc::upstream_protocol;
    s.end_message = "upstream sent an SSE event larger than the limit";
    return false;
  }
  return true;
}

bool ProxyExchange::decode_sse(StreamRelay& s, const Deployment& d, const Provider& prov) {
  // A dialect of SSE that needs translation (Azure): one call per event's data.
  std::size_t before = s.out.size();
  bool ok = s.parser.feed(s.in, [&](const SseEvent& ev) {
    if (!ev.has_data || !s.st.error.empty()) return;  // nothing after a failed event
    ++s.data_events;
    prov.translate_stream_unit(ep_, d, s.st, ev.data, s.out);
  });
  if (s.out.size() > before && rec_.ttft_us == 0) rec_.ttft_us = us_since(info_.t0);
  if (!ok) {
    s.end_error = Errc::upstream_protocol;
    s.end_message = "upstream sent an SSE event larger than the limit";
    return false;
  }
  if (!s.st.error.empty()) {
    s.end_error = Errc::upstream_stream_cut;
    s.end_message = s.st.error;
  }
  capture_response(s.out);
  return true;
}

bool ProxyExchange::decode_ndjson(StreamRelay& s, const Deployment& d, const Provider& prov, bool done) {
  s.ndjson_pending += s.in;
  std::size_t pos = 0;
  for (;;) {
    auto nl = s.ndjson_pending.find('\n', pos);
    if (nl == std::string::npos) break;
    std::string_view line(s.ndjson_pending.data() + pos, nl - pos);
    pos = nl + 1;
    if (line.empty() || line == "\r") continue;
    std::size_t before = s.out.size();
    prov.translate_stream_unit(ep_, d, s.st, line, s.out);
    if (!s.st.error.empty()) break;  // nothing after a failed line reaches the client
    if (s.out.size() > before && rec_.ttft_us == 0) rec_.ttft_us = us_since(info_.t0);
    ++s.data_events;
  }
  s.ndjson_pending.erase(0, pos);
  if (s.ndjson_pending.size() > s.max_event) {  // a line that never ends must not grow without bound
    s.end_error = Errc::upstream_protocol;
    s.end_message = "upstream sent an NDJSON line larger than the limit";
    return false;
  }
  if (done && !s.ndjson_pending.empty() && s.st.error.empty()) {
    prov.translate_stream_unit(ep_, d, s.st, s.ndjson_pending, s.out);
    s.ndjson_pending.clear();
  }
  if (!s.st.error.empty()) {
    s.end_error = Errc::upstream_stream_cut;
    s.end_message = s.st.error;
  }
  capture_response(s.out);
  return true;
}

// Usage as reported, or estimated (about one token per content event) and flagged.
void ProxyExchange::stream_usage(StreamRelay& s) {
  if (s.format != StreamRelay::Format::passthrough && s.st.usage.present) s.usage = s.st.usage;
  if (s.usage.present) {
    apply_usage(s.usage, false);
    return;
  }
  Usage est;
  est.prompt_tokens = static_cast<int64_t>(request_bytes_ / 4);
  est.completion_tokens = std::max<int64_t>(0, s.data_events - 1);
  est.total_tokens = est.prompt_tokens + est.completion_tokens;
  apply_usage(est, true);
}

clock_t_::duration ProxyExchange::stream_wait(const StreamRelay& s, clock_t_::time_point last_data) const {
  const auto remaining = s.gap_limit - (clock_t_::now() - last_data);
  auto wait = std::min(s.keepalive, std::max(remaining, clock_t_::duration(0)));
  // While the head waits for the first event, wait at most kHeadHold: a slow first token
  // (long prefill, reasoning models) must not keep the client without response headers.
  if (head_pending_) wait = std::min<clock_t_::duration>(wait, kHeadHold);
  return wait;
}

void ProxyExchange::stream_read_failed(StreamRelay& s, const Deployment& d, Errc e, const ClientWatch& watch) {
  s.end_error = watch.gone() ? Errc::client_closed : e;
  s.end_message = e == Errc::upstream_timeout ? "upstream " + d.url.host + " stopped sending events"
                                              : "upstream " + d.url.host + " closed the stream before it ended";
}

bool ProxyExchange::decode(StreamRelay& s, const Deployment& d, const Provider& prov, bool done) {
  s.out.clear();
  switch (s.format) {
    case StreamRelay::Format::passthrough: return decode_passthrough(s, d);
    case StreamRelay::Format::sse:
      if (!decode_sse(s, d, prov)) return false;
      break;
    case StreamRelay::Format::ndjson:
      if (!decode_ndjson(s, d, prov, done)) return false;
      break;
  }
  if (done && !s.st.finished && s.end_error == Errc::ok) {
    // A translated stream that ended before its final event was cut short upstream.
    s.end_error = Errc::upstream_stream_cut;
    s.end_message = "upstream " + d.url.host + " ended the stream before its final event";
  }
  return true;
}

void ProxyExchange::start_relay(StreamRelay& s, const Deployment& d, const Provider& prov) {
  s.format = prov.passthrough_stream()                      ? StreamRelay::Format::passthrough
             : prov.stream_format(ep_) == StreamFormat::sse ? StreamRelay::Format::sse
                                                            : StreamRelay::Format::ndjson;
  s.keepalive = seconds_d(cfg_->server.stream_keepalive_s);
  s.gap_limit = seconds_d(d.stream_timeout_s > 0 ? d.stream_timeout_s : d.timeout_s);
  s.st.include_usage = client_include_usage;
  s.st.model = d.model_name;
}

awaitable<Outcome> ProxyExchange::stream_upstream(const Deployment& d, UpstreamCall& call, const Provider& prov,
                                                  ClientWatch& watch) {
  rec_.status = 200;
  const auto t_up_stream = clock_t_::now();
  start_stream_response();
  StreamRelay s(cfg_->server.limits.max_sse_event_bytes);
  start_relay(s, d, prov);
  auto last_data = clock_t_::now();
  for (;;) {
    s.in.clear();
    bool done = false;
    const Errc e = co_await call.read_some(stream_wait(s, last_data), s.in, done);
    if (e == Errc::upstream_timeout && clock_t_::now() - last_data < s.gap_limit) {
      // Silence: the head alone while it waits for the first event, else a comment that keeps
      // intermediaries (e.g. the OpenShift router's 30 s idle timeout) from cutting us.
      const std::string_view filler = head_pending_ ? std::string_view() : std::string_view(": keep-alive\n\n");
      if (co_await write_chunk(filler)) continue;
      s.end_error = Errc::client_closed;
      break;
    }
    if (e != Errc::ok) {
      stream_read_failed(s, d, e, watch);
      break;
    }
    if (!s.in.empty()) last_data = clock_t_::now();
    if (!decode(s, d, prov, done)) break;
    if (!s.out.empty()) {
      bool ok = true;
      if (!write_chunk_now(s.out, ok)) ok = co_await write_chunk_rest();
      if (!ok) {
        s.end_error = Errc::client_closed;
        break;
      }
      fault_point("mid-stream", rec_.model);
    }
    if (done || s.end_error != Errc::ok) break;
  }
  upstream_us_ += std::chrono::duration_cast<std::chrono::microseconds>(clock_t_::now() - t_up_stream).count();
  stream_usage(s);
  co_return co_await end_stream(&call, &watch, s.end_error, s.end_message);
}

// The stream's end: closed by the client, failed (an HTTP error while nothing was sent, else an
// `event: error`), or complete.
awaitable<Outcome> ProxyExchange::end_stream(UpstreamCall* call, ClientWatch* watch, Errc end_error,
                                             const std::string& end_message) {
  Outcome o;
  o.done = true;
  if (end_error == Errc::client_closed) {
    if (call) call->abort();
    co_return client_gone("client closed the connection during the stream");
  }
  if (end_error != Errc::ok) {
    if (call) call->abort();
    if (head_pending_) {  // nothing reached the client yet: a plain HTTP error says it best
      if (watch) watch->stop();
      co_return co_await answer_error(end_error, end_message);
    }
    // Never a fabricated finish_reason: tell the client the stream failed, then end it.
    record_error(end_error, end_message);
    std::string ev = "event: error\ndata: " + error_json(end_error, end_message) + "\n\n";
    bool ok = co_await write_chunk(ev);
    if (ok) ok = co_await write_last_chunk();
    o.keep_alive = false;
    co_return o;
  }
  if (call) call->release();
  if (watch) watch->stop();
  const bool ended = co_await write_last_chunk();
  if (!ended) rec_.status = 499;
  o.keep_alive = ended;
  co_return o;
}

}  // namespace llmgate::proxy
