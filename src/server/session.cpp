// One client connection: read requests with limits and timeouts, dispatch, write responses.
#include <spdlog/spdlog.h>

#include "llmgate/version.hpp"
#include "net/spare_buffers.hpp"
#include "server/session.hpp"

#include <array>
#include <cstring>

namespace llmgate {

using namespace std::string_view_literals;  // "..."sv appends with a known length (no strlen)

awaitable<bool> write_response(tcp::socket& sock, http::response<http::string_body>& res, const RequestInfo& info) {
  res.set("x-request-id", info.request_id);
  res.keep_alive(info.keep_alive);
  res.prepare_payload();
  if (info.head_only) {  // the length the body would have, and no body (RFC 9110, 9.3.2)
    http::response_serializer<http::string_body> sr{res};
    auto [ec, n] = co_await http::async_write_header(sock, sr, use_nothrow);
    co_return !ec;
  }
  auto [ec, n] = co_await http::async_write(sock, res, use_nothrow);
  co_return !ec;
}

ResponseHead::ResponseHead(int status) {
  s_.reserve(512);
  s_ += "HTTP/1.1 "sv;
  s_ += std::to_string(status);
  s_ += ' ';
  s_ += http::obsolete_reason(static_cast<http::status>(status));
  s_ += "\r\n"sv;
}

void ResponseHead::set(std::string_view name, std::string_view value) {
  const std::size_t at = s_.size();
  s_ += name;
  s_ += ": "sv;
  s_ += value;
  // A CR or LF would split the header block: blanked. (Two memchr calls: values rarely have one.)
  const char* b = s_.data() + at;
  const std::size_t n = s_.size() - at;
  if (std::memchr(b, '\r', n) || std::memchr(b, '\n', n))
    for (std::size_t i = at; i < s_.size(); ++i)
      if (s_[i] == '\r' || s_[i] == '\n') s_[i] = ' ';
  s_ += "\r\n"sv;
}

std::array<net::const_buffer, 2> finish_response(ResponseHead& head, std::string_view body, const RequestInfo& info) {
  head.set("x-request-id", info.request_id);
  if (!info.keep_alive) head.set("Connection", "close");
  std::string& h = head.str();
  h += "Content-Length: "sv;
  h += std::to_string(body.size());
  h += "\r\n\r\n"sv;
  if (info.head_only) body = {};  // the length stays, the body goes (RFC 9110, 9.3.2)
  return {net::buffer(h), net::buffer(body.data(), body.size())};
}

awaitable<bool> write_response(tcp::socket& sock, ResponseHead& head, std::string_view body, const RequestInfo& info) {
  const std::array<net::const_buffer, 2> bufs = finish_response(head, body, info);
  boost::system::error_code ec;
  std::size_t sent = 0;
  if (!write_now(sock, bufs, ec, sent)) ec = co_await write_rest(sock, bufs, sent);
  co_return !ec;
}

awaitable<bool> write_error(tcp::socket& sock, Errc e, std::string_view message, const RequestInfo& info,
                            std::string_view param, std::string_view code) {
  http::response<http::string_body> res{static_cast<http::status>(map_error(e).status), 11};
  res.set(http::field::content_type, "application/json");
  res.body() = error_json(e, message, param, code);
  co_return co_await write_response(sock, res, info);
}

std::string_view field_value(const BeastRequest& req, http::field name) {
  for (const auto& f : req)
    if (f.name() == name) return f.value();
  return {};
}

std::string_view field_value(const BeastRequest& req, std::string_view lower_name) {
  for (const auto& f : req) {
    const std::string_view n = f.name_string();
    if (n.size() == lower_name.size() && beast::iequals(n, lower_name)) return f.value();
  }
  return {};
}

std::string_view presented_key(const BeastRequest& req) {
  // The rule is auth.hpp's (shared with the routes); Authorization is looked up by its enum.
  return presented_key_from([&](std::string_view name) {
    return name == "authorization" ? field_value(req, http::field::authorization) : field_value(req, name);
  });
}

Errc authenticate(App& app, const Config& cfg, const BeastRequest& req, std::string_view model_group, Principal& who,
                  std::string& message) {
  const std::string_view key = presented_key(req);

  if (cfg.master_key.empty()) {  // open gateway, as LiteLLM without a master key (warned at startup)
    who.master = true;
    return Errc::ok;
  }
  if (!key.empty() && !cfg.master_key.empty() && constant_time_equals(key, cfg.master_key.reveal())) {
    who.master = true;
    return Errc::ok;
  }
  if (!key.empty() && app.keys) return app.keys->authorize(key, model_group, who, message);
  if (key.empty() && app.ui_sessions && !field_value(req, http::field::cookie).empty()) {
    Errc err = Errc::unauthorized;
    HttpRequest hr = to_http_request(req, RequestInfo{});
    if (app.ui_sessions->authorize(hr, err)) {
      who.master = true;
      who.ui_session = true;
      return Errc::ok;
    }
    message = err == Errc::forbidden ? "Cross-site request rejected." : "Your dashboard session has expired.";
    return err;
  }
  message = key.empty() ? "Missing API key. Send it as 'Authorization: Bearer <key>'." : "Invalid API key.";
  return Errc::unauthorized;
}

HttpRequest to_http_request(const BeastRequest& req, const RequestInfo& info) {
  HttpRequest r;
  r.method = std::string(req.method_string());
  r.target = std::string(req.target());
  auto q = r.target.find('?');
  r.path = url_decode(std::string_view(r.target).substr(0, q), false);
  if (q != std::string::npos) r.query = parse_query(std::string_view(r.target).substr(q + 1));
  for (const auto& f : req) {
    std::string name(f.name_string());
    for (auto& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    r.headers.emplace_back(std::move(name), std::string(f.value()));
  }
  r.body = req.body();
  r.client_ip = info.client_ip;
  return r;
}

namespace {

bool path_is(std::string_view path, std::string_view a, std::string_view b) { return path == a || path == b; }

// Which proxy endpoint a POST path names; sets azure_model for Azure-style paths.
std::optional<Endpoint> proxy_endpoint(std::string_view path, std::string& azure_model) {
  if (path_is(path, "/v1/chat/completions", "/chat/completions")) return Endpoint::chat;
  if (path_is(path, "/v1/completions", "/completions")) return Endpoint::completions;
  if (path_is(path, "/v1/embeddings", "/embeddings")) return Endpoint::embeddings;
  constexpr std::string_view az = "/openai/deployments/";
  if (path.starts_with(az)) {
    auto rest = path.substr(az.size());
    auto slash = rest.find('/');
    if (slash == std::string_view::npos || slash == 0) return std::nullopt;
    auto tail = rest.substr(slash);
    std::optional<Endpoint> ep;
    if (tail == "/chat/completions") ep = Endpoint::chat;
    else if (tail == "/completions") ep = Endpoint::completions;
    else if (tail == "/embeddings") ep = Endpoint::embeddings;
    if (ep) azure_model = url_decode(rest.substr(0, slash), false);
    return ep;
  }
  return std::nullopt;
}

awaitable<bool> run_route(Worker& w, tcp::socket& sock, const Route& route, BeastRequest& req, RequestInfo& info) {
  auto cfg = w.config();
  Principal who;
  if (route.needs_master_key || route.needs_key) {
    std::string msg;
    Errc e = authenticate(w.app, *cfg, req, "", who, msg);
    if (e == Errc::ok && route.needs_master_key && !who.master) {
      e = Errc::forbidden;
      msg = "This endpoint needs the master key.";
    }
    if (e != Errc::ok) co_return co_await write_error(sock, e, msg, info) && info.keep_alive;
  }
  HttpRequest hr = to_http_request(req, info);
  hr.allowed_models = std::move(who.allowed_models);
  HttpResponse out;
  auto call = [&route, &w](const HttpRequest& r) {
    try {
      return route.handler(r, w.app);
    } catch (const std::exception& ex) {
      spdlog::error("handler {} {} failed: {}", r.method, r.path, ex.what());
      return error_response(Errc::internal, "Internal error.");
    }
  };
  if (route.blocking) {
    // Database work runs on the reader pool; the worker keeps serving other connections.
    out = co_await net::co_spawn(
        w.readers, [&]() -> awaitable<HttpResponse> { co_return call(hr); }, net::use_awaitable);
  } else {
    out = call(hr);
  }
  http::response<http::string_body> res{static_cast<http::status>(out.status), 11};
  res.set(http::field::content_type, out.content_type);
  for (auto& [k, v] : out.headers) res.insert(k, v);
  res.body() = std::move(out.body);
  co_return co_await write_response(sock, res, info) && info.keep_alive;
}

awaitable<bool> reject(tcp::socket& sock, const BeastRequest& req, bool path_known, RequestInfo& info) {
  const std::string msg = path_known ? "Method " + std::string(req.method_string()) + " is not allowed on this path."
                                     : std::string("Unknown path.");
  co_return co_await write_error(sock, path_known ? Errc::method_not_allowed : Errc::not_found, msg, info) &&
      info.keep_alive;
}

// Not a coroutine: it returns the handler's awaitable, which serve_connection awaits, so a
// request costs one coroutine frame (~1.9 KB, often past Asio's frame cache) and one resumption
// hop less. Whatever the handler uses must outlive this call, and (session.hpp's coroutine
// rule) reach it by reference: the request, socket and info are serve_connection's (the Azure
// deployment name goes in info), the routes the worker's.
awaitable<bool> dispatch(Worker& w, tcp::socket& sock, BeastRequest& req, RequestInfo& info) {
  std::string_view target = req.target();
  std::string_view path = target.substr(0, target.find('?'));
  info.azure_model.clear();
  if (req.method() == http::verb::post) {
    if (auto ep = proxy_endpoint(path, info.azure_model)) return handle_proxy(w, sock, req, *ep, info);
  }
  bool path_known = false;
  for (const Route& r : w.routes) {
    if (!route_matches(r, path)) continue;
    path_known = true;
    // HEAD is served wherever GET is, as GET without the body.
    if (r.method == "*" || r.method == req.method_string() || (info.head_only && r.method == "GET"))
      return run_route(w, sock, r, req, info);
  }
  std::string tmp;
  return reject(sock, req, path_known || proxy_endpoint(path, tmp), info);
}

// Closes after an error response without resetting: stop sending, discard what the client is
// still sending for a short while, then close (so the client reads our response).
awaitable<void> lingering_close(tcp::socket& sock) {
  boost::system::error_code ig;
  sock.shutdown(tcp::socket::shutdown_send, ig);
  Deadline dl(sock.get_executor());
  dl.arm(sock, std::chrono::milliseconds(500));
  char sink[16384];
  std::size_t total = 0;
  for (;;) {
    auto [ec, n] = co_await sock.async_read_some(net::buffer(sink), use_nothrow);
    total += n;
    if (ec || total > (8u << 20)) break;
  }
  dl.disarm();
  sock.close(ig);
}

// Feeds the bytes already buffered to the parser; returns how many it used (`need_more` is not
// an error). An async read that needs no I/O would complete through the scheduler (a posted
// completion and an epoll_wait(0)), so buffered bytes are parsed here first.
std::size_t parse_buffered(BeastRequestParser& parser, beast::flat_buffer& buffer, boost::system::error_code& ec) {
  if (buffer.size() == 0) return 0;
  const std::size_t used = parser.put(buffer.data(), ec);
  buffer.consume(used);
  if (ec == http::error::need_more) ec = {};
  return used;
}

constexpr std::size_t kFieldArenaBytes = 1024;

// Obsolete line folding (a header line starting with SP or HTAB, RFC 9112 section 5.2): Beast
// would join it into the value, which peers may read differently (request smuggling), so it is
// refused. Looks at the buffered header bytes from `scanned` on, up to the header's end, and
// returns true on a fold; `scanned` is where the next look starts (a trailing LF waits for the
// byte after it). Bytes are scanned before the parser consumes them, so each is seen once.
bool folded_header_line(const beast::flat_buffer& buf, std::size_t& scanned) {
  const char* p = static_cast<const char*>(buf.data().data());
  const std::size_t n = buf.size();
  std::size_t i = scanned;
  while (i < n) {
    const void* lf = std::memchr(p + i, '\n', n - i);
    if (!lf) {
      i = n;
      break;
    }
    const std::size_t at = static_cast<std::size_t>(static_cast<const char*>(lf) - p);
    if (at + 1 == n) {
      i = at;
      break;
    }
    const char next = p[at + 1];
    if (next == ' ' || next == '\t') return true;
    i = next == '\r' ? n : at + 1;  // CR after LF ends the header: the body is not looked at
  }
  scanned = i;
  return false;
}

bool request_line_too_long(const beast::flat_buffer& buf, std::size_t max_line) {
  std::string_view s(static_cast<const char*>(buf.data().data()), buf.size());
  auto eol = s.find('\n');
  return eol == std::string_view::npos ? s.size() > max_line : eol > max_line;
}

}  // namespace

awaitable<void> serve_connection(Worker& w, tcp::socket sock) {
  boost::system::error_code ig;
  sock.set_option(tcp::no_delay(true), ig);
  ConnSlot slot{&sock, true};
  w.conns.insert(&slot);
  struct Unregister {
    Worker& w;
    ConnSlot* s;
    ~Unregister() { w.conns.erase(s); }
  } unregister{w, &slot};

  RequestInfo info;
  {
    auto ep = sock.remote_endpoint(ig);
    if (!ig) info.client_ip = ep.address().to_string();
  }
  // Read buffer: one read gets the head and a typical body (an SDK's ~17 header fields and a
  // few KB of messages); larger bodies grow it. It lives as long as the connection, so it is
  // kept small (16 KB before; with 1 KB requests most of it was never touched, so 1,000 open
  // streams held ~1 MB more, not 16) and given back after a large body (below).
  constexpr std::size_t kReadBytes = 4096;
  beast::flat_buffer buffer;
  Deadline dl(sock.get_executor());
  bool close_gracefully = false;
  // The arena for each request's header fields (BeastRequest). 1 KB holds curl's or wrk's
  // handful and most of an SDK's ~17 (the rest spills into one heap chunk until the arena is
  // reset for the next request); it is held per connection: ~1 MB per 1,000 connections.
  auto field_mem = std::make_unique<std::byte[]>(kFieldArenaBytes);
  std::pmr::monotonic_buffer_resource field_arena(field_mem.get(), kFieldArenaBytes);

  for (;;) {
    auto cfg = w.config();
    const Limits& L = cfg->server.limits;
    if (buffer.size() == 0) {  // keep-alive idle: wait for the next request's first byte
      slot.idle = true;
      if (w.stopping) break;
      dl.arm(sock, seconds_d(L.keepalive_idle_s));
      auto [ec, n] = co_await sock.async_read_some(buffer.prepare(kReadBytes), use_nothrow);
      dl.disarm();
      if (ec) break;
      buffer.commit(n);
    }
    slot.idle = false;
    w.busy_poll_kick();  // the upstream's answer is next (when polling is configured)
    info.t0 = std::chrono::steady_clock::now();
    info.start_us = now_unix_us();
    info.request_id.clear();
    info.keep_alive = true;
    info.head_only = false;

    field_arena.release();  // the previous request and its parser are gone (loop-body scope)
    BeastRequestParser parser(std::piecewise_construct, std::make_tuple(),
                              std::make_tuple(RequestFieldAlloc(&field_arena)));
    parser.get().body() = SpareBuffers::take();
    parser.header_limit(static_cast<std::uint32_t>(L.max_request_line + L.max_header_bytes));
    parser.body_limit(L.max_body_bytes);
    // The header is usually whole in what the keep-alive read got; the rest is read on below.
    // Each read is checked for folded lines before the parser sees it.
    boost::system::error_code hec;
    std::size_t fold_scan = 0;
    bool folded = false;
    auto feed_header = [&] {
      if (folded_header_line(buffer, fold_scan)) {
        folded = true;
        return;
      }
      const std::size_t used = parse_buffered(parser, buffer, hec);
      fold_scan = fold_scan > used ? fold_scan - used : 0;
    };
    feed_header();
    if (!hec && !folded && !parser.is_header_done()) {
      dl.arm(sock, seconds_d(L.header_timeout_s));
      while (!hec && !folded && !parser.is_header_done()) {
        auto [rec, rn] = co_await sock.async_read_some(buffer.prepare(beast::read_size(buffer, 65536)), use_nothrow);
        if (rec == net::error::eof) {  // the client stopped mid-header (as async_read_header says it)
          hec = parser.got_some() ? http::error::partial_message : http::error::end_of_stream;
        } else if (rec) {
          hec = rec;
        } else {
          buffer.commit(rn);
          feed_header();
        }
      }
      dl.disarm();
    }
    if (hec || folded) {
      info.request_id = info.record_id = w.new_request_id();
      info.keep_alive = false;
      Errc e;
      std::string msg;
      // The parser has the target once the request line is whole (fields still to come).
      const std::string_view target = parser.get().target();
      if (dl.fired()) {
        e = Errc::request_timeout;
        msg = "The request headers did not arrive in time.";
      } else if (folded) {
        e = Errc::bad_request;
        msg = "Malformed HTTP request: obsolete line folding in the headers.";
      } else if (hec == http::error::header_limit) {
        if (target.empty() ? request_line_too_long(buffer, L.max_request_line) : target.size() > L.max_request_line) {
          e = Errc::uri_too_long;
          msg = "The request line is longer than " + std::to_string(L.max_request_line) + " bytes.";
        } else {
          e = Errc::headers_too_large;
          msg = "The request headers are larger than " + std::to_string(L.max_header_bytes) + " bytes.";
        }
      } else if (hec == http::error::body_limit) {
        e = Errc::payload_too_large;
        msg = "The request body is larger than " + std::to_string(L.max_body_bytes) + " bytes.";
      } else if (hec.category() == http::make_error_code(http::error::end_of_stream).category()) {
        if (hec == http::error::end_of_stream && buffer.size() == 0) break;
        e = Errc::bad_request;
        msg = "Malformed HTTP request: " + hec.message() + ".";
      } else {
        break;  // connection reset / closed mid-header: nobody to answer
      }
      co_await write_error(sock, e, msg, info);
      close_gracefully = true;
      break;
    }

    BeastRequest& hdr = parser.get();
    info.record_id = w.new_request_id();
    if (const std::string_view rid = field_value(hdr, "x-request-id");
        !rid.empty() && rid.size() <= 128 &&
        std::all_of(rid.begin(), rid.end(), [](char c) { return c > 32 && c < 127; })) {
      info.request_id = std::string(rid);
    } else {
      info.request_id = info.record_id;
    }
    info.keep_alive = hdr.keep_alive() && !w.stopping;
    info.head_only = hdr.method() == http::verb::head;

    std::size_t nfields = 0, header_bytes = 0;
    for (const auto& f : hdr) {
      ++nfields;
      header_bytes += f.name_string().size() + f.value().size() + 4;
    }
    Errc limit_err = Errc::ok;
    std::string limit_msg;
    if (hdr.target().size() > L.max_request_line) {
      limit_err = Errc::uri_too_long;
      limit_msg = "The request line is longer than " + std::to_string(L.max_request_line) + " bytes.";
    } else if (nfields > L.max_header_fields || header_bytes > L.max_header_bytes) {
      limit_err = Errc::headers_too_large;
      limit_msg = nfields > L.max_header_fields
                      ? "The request has more than " + std::to_string(L.max_header_fields) + " header fields."
                      : "The request headers are larger than " + std::to_string(L.max_header_bytes) + " bytes.";
    }
    if (limit_err != Errc::ok) {
      info.keep_alive = false;
      co_await write_error(sock, limit_err, limit_msg, info);
      close_gracefully = true;
      break;
    }

    if (!parser.is_done()) {
      if (auto it = hdr.find(http::field::expect); it != hdr.end() && beast::iequals(it->value(), "100-continue")) {
        static constexpr std::string_view cont = "HTTP/1.1 100 Continue\r\n\r\n";
        auto [cec, cn] = co_await net::async_write(sock, net::buffer(cont), use_nothrow);
        if (cec) break;
      }
      Errc body_err = Errc::ok;
      std::string body_msg;
      // Two limits on one Deadline: each read waits at most the idle gap, and never past the
      // whole body's deadline (a trickle of bytes keeps resetting the gap). The deadline is set
      // at the first read that waits: a body already buffered with the header needs no clock.
      std::chrono::steady_clock::time_point body_due{};
      const auto idle_gap = seconds_d(L.body_idle_timeout_s);
      bool whole_body = false;  // the deadline that fired was the whole body's
      while (!parser.is_done()) {
        // Bytes read with the header (usually the whole body) first; with no progress (none
        // buffered, or a partial chunk header), read more.
        boost::system::error_code bec;
        if (parse_buffered(parser, buffer, bec) > 0 && !bec) continue;
        if (!bec) {
          const auto now = std::chrono::steady_clock::now();
          if (body_due == std::chrono::steady_clock::time_point{}) body_due = now + seconds_d(L.body_timeout_s);
          const auto left = body_due - now;
          whole_body = left <= idle_gap;
          if (left <= std::chrono::steady_clock::duration::zero()) {
            body_err = Errc::request_timeout;
          } else {
            dl.arm(sock, whole_body ? left : idle_gap);
            auto [rec, rn] = co_await http::async_read_some(sock, buffer, parser, use_nothrow);
            dl.disarm();
            bec = rec;
            if (bec && dl.fired()) body_err = Errc::request_timeout;
          }
        }
        if (body_err == Errc::ok && !bec) continue;
        if (body_err == Errc::request_timeout) {
          body_msg = whole_body ? fmt::format("The request body did not arrive within {:g} s.", L.body_timeout_s)
                                : fmt::format("The request body stalled for more than {:g} s.", L.body_idle_timeout_s);
        } else if (bec == http::error::body_limit) {
          body_err = Errc::payload_too_large;
          body_msg = "The request body is larger than " + std::to_string(L.max_body_bytes) + " bytes.";
        } else if (bec.category() == http::make_error_code(http::error::end_of_stream).category() &&
                   bec != http::error::end_of_stream && bec != http::error::partial_message) {
          body_err = Errc::bad_request;
          body_msg = "Malformed HTTP request body: " + bec.message() + ".";
        } else {
          body_err = Errc::client_closed;
        }
        break;
      }
      if (body_err == Errc::client_closed) break;
      if (body_err != Errc::ok) {
        info.keep_alive = false;
        co_await write_error(sock, body_err, body_msg, info);
        close_gracefully = true;
        break;
      }
    }

    BeastRequest req = parser.release();
    // A large body grew the read buffer; it is empty now (unless the client pipelines), and a
    // stream or a keep-alive connection can last: give the memory back rather than hold it.
    if (buffer.size() == 0 && buffer.capacity() > kReadBytes) buffer.shrink_to_fit();
    bool keep = co_await dispatch(w, sock, req, info);
    SpareBuffers::give(req.body());
    w.busy_poll_kick();  // and then the client's next request
    if (!keep || !info.keep_alive || w.stopping) {
      close_gracefully = keep;
      break;
    }
  }
  if (close_gracefully && sock.is_open()) co_await lingering_close(sock);
  sock.close(ig);
}

}  // namespace llmgate
