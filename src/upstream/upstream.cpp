#include "upstream/upstream.hpp"

#include <sys/socket.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <vector>

#include <openssl/ssl.h>
#include <spdlog/spdlog.h>

#include "llmgate/address_policy.hpp"

namespace llmgate {

using namespace std::string_view_literals;  // "..."sv appends with a known length (no strlen)

namespace {
constexpr std::size_t kReadChunkMax = 64 * 1024;  // body bytes per read when the length is unknown
constexpr std::size_t kMaxRead = 1024 * 1024;     // ... and at most, when it is known
constexpr auto kFreshFor = std::chrono::milliseconds(250);

bool socket_looks_alive(tcp::socket& s) {
  if (!s.is_open()) return false;
  char c;
  ssize_t r = ::recv(s.native_handle(), &c, 1, MSG_PEEK | MSG_DONTWAIT);
  if (r == 0) return false;                        // peer closed
  if (r > 0) return false;                         // unexpected bytes: not safe to reuse
  return errno == EAGAIN || errno == EWOULDBLOCK;  // nothing pending: alive
}
}  // namespace

void serialize_request_head(const UpstreamRequest& req, const Deployment& d, std::string& out) {
  // Host and User-Agent first, then the dialect's headers (which replace a default of the same
  // name, as Beast's set() did), Content-Type and Content-Length last for a body.
  const bool has_body = req.method != "GET";
  auto overridden = [&](std::string_view name) {
    for (const auto& [k, v] : req.headers)
      if (beast::iequals(k, name)) return true;
    return false;
  };
  // (A plain loop: find_first_of with a set of characters calls memchr once per byte.)
  auto splits = [](std::string_view s, bool name) {
    for (const char c : s)
      if (c == '\r' || c == '\n' || (name && c == ':')) return true;
    return false;
  };
  auto field = [&](std::string_view k, std::string_view v) {
    if (splits(k, true) || splits(v, false)) return;  // never split the header block (config-supplied names and values)
    out += k;
    out += ": "sv;
    out += v;
    out += "\r\n"sv;
  };
  out.clear();
  out.reserve(256 + req.target.size());
  out += req.method;
  out += ' ';
  out += req.target;
  out += " HTTP/1.1\r\n"sv;
  if (!overridden("Host")) {
    // RFC 9112: the port too when it is not the scheme's default (virtual hosts, ingresses).
    // (parse_url refuses CR, LF and spaces in the authority.)
    const bool default_port = d.url.port.empty() || d.url.port == (d.url.tls ? "443" : "80");
    const bool ipv6 = d.url.host.find(':') != std::string::npos;
    out += "Host: "sv;
    if (ipv6) out += '[';
    out += d.url.host;
    if (ipv6) out += ']';
    if (!default_port) {
      out += ':';
      out += d.url.port;
    }
    out += "\r\n"sv;
  }
  if (!overridden("User-Agent")) field("User-Agent", "llmgate/" LLMGATE_VERSION);
  for (std::size_t i = 0; i < req.headers.size(); ++i) {
    const auto& [k, v] = req.headers[i];
    if (has_body && (beast::iequals(k, "Content-Type") || beast::iequals(k, "Content-Length"))) continue;
    bool later = false;  // the last of duplicate names wins
    for (std::size_t j = i + 1; j < req.headers.size() && !later; ++j) later = beast::iequals(k, req.headers[j].first);
    if (!later) field(k, v);
  }
  if (has_body) {
    field("Content-Type", "application/json");
    out += "Content-Length: "sv;
    out += std::to_string(req.body.size());
    out += "\r\n"sv;
  }
  out += "\r\n"sv;
}

const std::string& build_request_head(const UpstreamRequest& req, const Deployment& d, RequestHeadCache& cache) {
  // (The cache lives on one connection, so the scheme, and with it the default port, is fixed.)
  std::string& head = cache.text;
  const bool has_body = req.method != "GET";
  const bool hit = has_body && cache.length_at != 0 && cache.target == req.target && cache.method == req.method &&
                   cache.headers == req.headers && cache.host == d.url.host && cache.port == d.url.port;
  if (!hit) {
    serialize_request_head(req, d, head);
    cache.length_at = 0;
    if (!has_body) return head;  // (health probes: GET, rare)
    constexpr std::string_view cl = "\r\nContent-Length: ";
    const std::size_t at = head.rfind(cl);
    if (at == std::string::npos) return head;
    cache.method = req.method;
    cache.target = req.target;
    cache.host = d.url.host;
    cache.port = d.url.port;
    cache.headers = req.headers;
    cache.length_at = at + cl.size();
  }
  head.resize(cache.length_at);
  char digits[24];
  const auto r = std::to_chars(digits, digits + sizeof digits, req.body.size());
  head.append(digits, r.ptr);
  head += "\r\n\r\n"sv;
  return head;
}

void UpstreamConn::close() {
  boost::system::error_code ec;
  auto& s = lowest();
  s.shutdown(tcp::socket::shutdown_both, ec);
  s.close(ec);
}

UpstreamPool::UpstreamPool(net::io_context& ioc, double idle_seconds, double connect_timeout_seconds)
    : ioc_(ioc), idle_(seconds_d(idle_seconds)), connect_timeout_(seconds_d(connect_timeout_seconds)) {}

UpstreamPool::~UpstreamPool() { close_all(); }

std::string UpstreamPool::key_for(const Deployment& d) {
  std::string k = d.url.origin();
  // A model added through the API never takes a connection a config-file model opened to the
  // same origin: its own connections pass the stricter address check.
  if (d.from_api) k += "|api";
  if (d.url.tls) {
    k += d.ssl_verify ? "|verify" : "|noverify";
    if (!d.ssl_ca_bundle.empty()) k += "|ca=" + d.ssl_ca_bundle;
  }
  return k;
}

std::unique_ptr<UpstreamConn> UpstreamPool::take(const Deployment& d) {
  auto it = idle_conns_.find(key_for(d));
  if (it == idle_conns_.end()) return nullptr;
  auto& v = it->second;
  const auto now = std::chrono::steady_clock::now();
  while (!v.empty()) {
    auto c = std::move(v.back());  // most recently used first: warmest, least likely stale
    v.pop_back();
    // A connection idle for a while is checked with a peek (one syscall) before reuse; one
    // that was busy a moment ago is taken as is (a stale one is retried, see UpstreamCall).
    const auto idle_for = now - c->idle_since;
    if (idle_for < idle_ && (idle_for < kFreshFor || socket_looks_alive(c->lowest()))) return c;
    c->close();
  }
  return nullptr;
}

void UpstreamPool::put(std::unique_ptr<UpstreamConn> c) {
  c->idle_since = std::chrono::steady_clock::now();
  auto& v = idle_conns_[c->key];
  if (v.size() >= 256) {  // cap idle connections per origin
    c->close();
    return;
  }
  v.push_back(std::move(c));
}

void UpstreamPool::sweep() {
  const auto now = std::chrono::steady_clock::now();
  for (auto& [k, v] : idle_conns_) {
    std::erase_if(v, [&](std::unique_ptr<UpstreamConn>& c) {
      if (now - c->idle_since >= idle_) {
        c->close();
        return true;
      }
      return false;
    });
  }
}

void UpstreamPool::close_all() {
  for (auto& [k, v] : idle_conns_)
    for (auto& c : v) c->close();
  idle_conns_.clear();
}

std::size_t UpstreamPool::idle_count() const {
  std::size_t n = 0;
  for (auto& [k, v] : idle_conns_) n += v.size();
  return n;
}

ssl::context& UpstreamPool::ssl_context(const Deployment& d) {
  std::string k = std::string(d.ssl_verify ? "v" : "n") + "|" + d.ssl_ca_bundle;
  auto& slot = ssl_ctx_[k];
  if (!slot) {
    slot = std::make_unique<ssl::context>(ssl::context::tls_client);
    SSL_CTX_set_min_proto_version(slot->native_handle(), TLS1_2_VERSION);
    boost::system::error_code ec;
    if (d.ssl_verify) {
      slot->set_verify_mode(ssl::verify_peer, ec);
      if (!d.ssl_ca_bundle.empty()) {
        slot->load_verify_file(d.ssl_ca_bundle, ec);
        if (ec) spdlog::error("cannot load CA bundle {}: {}", d.ssl_ca_bundle, ec.message());
      } else {
        slot->set_default_verify_paths(ec);
      }
    } else {
      slot->set_verify_mode(ssl::verify_none, ec);
    }
  }
  return *slot;
}

awaitable<std::unique_ptr<UpstreamConn>> UpstreamPool::connect(const Deployment& d, Errc& errc, std::string& err) {
  auto ex = co_await net::this_coro::executor;
  auto c = std::make_unique<UpstreamConn>();
  c->key = key_for(d);
  c->plain.emplace(ex);
  const auto deadline_at = std::chrono::steady_clock::now() + connect_timeout_;

  tcp::resolver resolver(ex);
  net::steady_timer guard(ex);
  // The timeout handler may already be queued when this coroutine returns: it reaches the
  // frame's objects only while `active` (cleared by `off` before they are destroyed).
  struct GuardState {
    bool active = true;
    bool timed_out = false;
  };
  auto gs = std::make_shared<GuardState>();
  struct Off {
    std::shared_ptr<GuardState> g;
    ~Off() { g->active = false; }
  } off{gs};
  bool& timed_out = gs->timed_out;
  guard.expires_at(deadline_at);
  guard.async_wait([gs, rp = &resolver, cp = c.get()](boost::system::error_code ec) {
    if (ec || !gs->active) return;
    gs->timed_out = true;
    rp->cancel();
    boost::system::error_code ig;
    cp->lowest().cancel(ig);
    cp->lowest().close(ig);
  });
  // An IP address needs no lookup: Asio's resolver runs getaddrinfo on a thread of its own (one
  // per event loop, started on first use), so a literal skips that thread and two hand-overs.
  std::vector<tcp::endpoint> endpoints;
  boost::system::error_code aec;
  const net::ip::address literal = net::ip::make_address(d.url.host, aec);
  unsigned short port = 0;
  const char* const pe = d.url.port.data() + d.url.port.size();
  if (!aec && std::from_chars(d.url.port.data(), pe, port).ptr == pe && port != 0) {
    endpoints.emplace_back(literal, port);
  } else {
    auto [rec, results] = co_await resolver.async_resolve(d.url.host, d.url.port, use_nothrow);
    if (rec) {
      guard.cancel();
      errc = timed_out ? Errc::upstream_timeout : Errc::upstream_connect;
      err = timed_out ? "timed out resolving " + d.url.host : "cannot resolve upstream host " + d.url.host;
      co_return nullptr;
    }
    for (const auto& entry : results) endpoints.push_back(entry.endpoint());
  }
  // Each resolved address in turn. Not asio::async_connect: when a socket cannot be opened (no
  // descriptor left) it reports "operation canceled", and that shortage is the gateway's, not the
  // provider's: a 503 saying so, without trying further addresses.
  auto shortage = [](const boost::system::error_code& e) {
    return e == boost::system::errc::too_many_files_open || e == boost::system::errc::too_many_files_open_in_system ||
           e == boost::system::errc::no_buffer_space || e == boost::system::errc::not_enough_memory;
  };
  // The upstream address policy, on each address after resolution (a name that resolves, or
  // rebinds, to an internal address gains nothing) and before the socket is opened. Once per new
  // connection: pooled connections are not checked again.
  std::string refusal;
  std::size_t tried = 0;
  boost::system::error_code cec = net::error::host_not_found;
  for (const tcp::endpoint& ep : endpoints) {
    if (timed_out) break;
    const net::ip::address ip = ep.address();
    const IpBytes addr = ip.is_v4() ? normalize_address(ip.to_v4().to_bytes().data(), 4)
                                    : normalize_address(ip.to_v6().to_bytes().data(), 16);
    if (auto refused = refused_upstream_address(addr, d.url.host, d.from_api, d.upstream_allowlist.get())) {
      if (refusal.empty()) refusal = address_refusal_message(d.url.host, &addr, *refused, d.from_api);
      continue;
    }
    ++tried;
    boost::system::error_code oc;
    c->plain->close(oc);
    c->plain->open(ep.protocol(), oc);
    if (oc) {
      cec = oc;
      if (shortage(oc)) break;
      continue;  // e.g. no IPv6 here: the next address may be IPv4
    }
    auto [e] = co_await c->plain->async_connect(ep, use_nothrow);
    cec = e;
    if (!cec) break;
  }
  if (!timed_out && tried == 0 && !refusal.empty()) {
    guard.cancel();
    errc = Errc::upstream_connect;
    err = std::move(refusal);
    co_return nullptr;
  }
  if (!timed_out && shortage(cec)) {
    guard.cancel();
    errc = Errc::service_unavailable;
    err = "the gateway cannot open a connection to the upstream now (" + cec.message() + "); try again";
    co_return nullptr;
  }
  if (cec || timed_out) {
    guard.cancel();
    errc = timed_out ? Errc::upstream_timeout : Errc::upstream_connect;
    err = timed_out ? "timed out connecting to " + d.url.host + ":" + d.url.port
                    : "cannot connect to " + d.url.host + ":" + d.url.port + " (" + cec.message() + ")";
    co_return nullptr;
  }
  boost::system::error_code ig;
  c->plain->set_option(tcp::no_delay(true), ig);
  if (d.url.tls) {
    auto& ctx = ssl_context(d);
    c->tls.emplace(std::move(*c->plain), ctx);
    c->plain.reset();
    if (!SSL_set_tlsext_host_name(c->tls->native_handle(), d.url.host.c_str())) {
      guard.cancel();
      errc = Errc::upstream_tls;
      err = "cannot set TLS server name for " + d.url.host;
      co_return nullptr;
    }
    if (d.ssl_verify) c->tls->set_verify_callback(ssl::host_name_verification(d.url.host));
    auto [hec] = co_await c->tls->async_handshake(ssl::stream_base::client, use_nothrow);
    if (hec || timed_out) {
      guard.cancel();
      errc = timed_out ? Errc::upstream_timeout : Errc::upstream_tls;
      std::string why = hec.message();
      long vr = SSL_get_verify_result(c->tls->native_handle());
      if (vr != X509_V_OK) why = X509_verify_cert_error_string(vr);
      err = timed_out ? "timed out in TLS handshake with " + d.url.host
                      : "TLS handshake with " + d.url.host + " failed: " + why;
      co_return nullptr;
    }
  }
  guard.cancel();
  co_return c;
}

UpstreamCall::~UpstreamCall() {
  if (conn_) conn_->close();
}

void UpstreamResponseParser::on_field_impl(http::field name, beast::string_view, beast::string_view value,
                                           boost::system::error_code&) {
  if (name == http::field::content_type && !content_type_seen_) {
    content_type_seen_ = true;
    const std::string_view v(value.data(), value.size());
    auto contains = [v](std::string_view needle) {  // media types are case-insensitive
      for (std::size_t i = 0; i + needle.size() <= v.size(); ++i)
        if (beast::iequals(v.substr(i, needle.size()), needle)) return true;
      return false;
    };
    event_stream_ = contains("text/event-stream");
    not_json_ = !event_stream_ && !contains("json");
  } else if (name == http::field::retry_after && retry_after_.empty()) {
    retry_after_.assign(value.data(), value.size());
  }
}

std::size_t UpstreamResponseParser::put_body(beast::string_view body, boost::system::error_code& ec) {
  if (!room_.data) {
    ec = http::error::need_buffer;
    return 0;
  }
  const std::size_t n = std::min(body.size(), room_.size);
  if (n) std::memcpy(room_.data, body.data(), n);
  room_.data += n;
  room_.size -= n;
  if (n < body.size()) ec = http::error::need_buffer;
  return n;
}

awaitable<Errc> UpstreamCall::start(const Deployment& d, const UpstreamRequest& req, double header_timeout_s,
                                    std::string& err) {
  const auto header_timeout = seconds_d(header_timeout_s);
  Deadline dl(co_await net::this_coro::executor);
  for (int attempt = 0; attempt < 2; ++attempt) {
    conn_ = attempt == 0 ? pool_.take(d) : nullptr;
    reused_ = conn_ != nullptr;
    if (!conn_) {
      Errc ec = Errc::ok;
      conn_ = co_await pool_.connect(d, ec, err);
      if (!conn_) co_return ec;
    }
    if (aborted_) co_return Errc::client_closed;
    // The exchange: the request out, the response header in within `header_timeout`. Here,
    // not in a helper coroutine (a frame more per request).
    Errc ec = Errc::ok;
    bool any_byte = false;
    const std::string& head = build_request_head(req, d, conn_->head);
    beast::flat_buffer& buf = conn_->buf;
    const std::array<net::const_buffer, 2> bufs{net::buffer(head), net::buffer(req.body.data(), req.body.size())};
    dl.arm(conn_->lowest(), header_timeout);
    boost::system::error_code wec;
    if (conn_->tls) {
      auto [wc, wn] = co_await net::async_write(*conn_->tls, bufs, use_nothrow);
      wec = wc;
    } else {
      std::size_t sent = 0;
      if (!write_now(*conn_->plain, bufs, wec, sent)) wec = co_await write_rest(*conn_->plain, bufs, sent);
    }
    if (wec) {
      dl.disarm();
      err = "cannot send request to upstream " + d.url.host + ": " + wec.message();
      ec = dl.fired() ? Errc::upstream_timeout : Errc::upstream_connect;
    } else {
      parser_.emplace();
      parser_->body_limit(boost::none);
      buf.clear();
      // Beast reads at most the buffer's free space (512 bytes when empty): room for a typical
      // response in one recv().
      buf.reserve(4096);
      auto [hec, hn] = conn_->tls ? co_await http::async_read_header(*conn_->tls, buf, *parser_, use_nothrow)
                                  : co_await http::async_read_header(*conn_->plain, buf, *parser_, use_nothrow);
      any_byte = buf.size() > 0 || parser_->got_some();
      dl.disarm();
      if (!hec) {
        status_ = parser_->status();
      } else if (dl.fired()) {
        err = "upstream " + d.url.host + " did not answer within " + std::to_string(d.timeout_s) + " s";
        ec = Errc::upstream_timeout;
      } else if (aborted_) {
        ec = Errc::client_closed;
      } else {
        err = "upstream " + d.url.host + " closed the connection: " + hec.message();
        ec = any_byte ? Errc::upstream_protocol : Errc::upstream_connect;
      }
    }
    ++conn_->uses;
    if (ec == Errc::ok) co_return ec;
    conn_->close();
    conn_.reset();
    // A pooled connection the upstream closed while idle: retry once on a fresh one.
    if (reused_ && !any_byte && ec == Errc::upstream_connect && !aborted_) {
      spdlog::debug("stale pooled connection to {}; retrying on a fresh one", d.url.host);
      continue;
    }
    co_return ec;
  }
  co_return Errc::upstream_connect;
}

UpstreamCall::Room UpstreamCall::open_room(std::string& out, std::size_t most) {
  const auto rem = parser_->content_length_remaining();
  Room r;
  r.known = rem && *rem > 0;
  r.at = out.size();
  r.size = r.known ? std::min<std::size_t>(*rem, most) : read_cap_;
  out.resize(r.at + r.size);
  return r;
}

void UpstreamCall::close_room(std::string& out, const Room& r, std::size_t got) {
  out.resize(r.at + got);
  if (!r.known && got == r.size) read_cap_ = std::min(read_cap_ * 2, kReadChunkMax);
}

bool UpstreamCall::parse_buffered_body(char* b, std::size_t cap, std::size_t& got, boost::system::error_code& ec) {
  auto& body = parser_->room();
  body.data = b;
  body.size = cap;
  got = 0;
  ec = {};
  beast::flat_buffer& buf = conn_->buf;
  if (buf.size() == 0) return false;
  // Bytes already buffered (a body or first events that came with the header, several events
  // in one read): parsed here, without an async operation whose immediate completion costs a
  // round trip through the scheduler.
  // put() returns after each element it completes (a chunk's size line, a chunk's data), so
  // it is called again while it makes progress without body bytes: a buffered chunk that
  // follows a chunk header (the benchmark's mock sends "data: ..." and "\n\n" as two chunks
  // in one write) is parsed here too, not by an async read that completes at once.
  boost::system::error_code pec;
  for (;;) {
    const std::size_t used = parser_->put(buf.data(), pec);
    buf.consume(used);
    got = cap - body.size;
    if (pec || got || used == 0 || buf.size() == 0 || parser_->is_done()) break;
  }
  if (pec == http::error::need_buffer) return true;  // body room full
  if (pec && pec != http::error::need_more) {
    ec = pec;
    return true;
  }
  return got || parser_->is_done();
}

awaitable<Errc> UpstreamCall::read_some(std::chrono::steady_clock::duration timeout, std::string& out, bool& done) {
  done = false;
  if (!conn_ || !parser_) co_return aborted_ ? Errc::client_closed : Errc::upstream_stream_cut;
  if (parser_->is_done()) {
    done = done_ = true;
    co_return Errc::ok;
  }
  // The body is parsed straight into `out` (no 64 KB chunk on this coroutine's frame, which
  // was allocated per call: per response, and per event of a stream).
  Deadline dl(co_await net::this_coro::executor);
  for (;;) {
    dl.arm(conn_->lowest(), timeout);
    std::size_t got = 0;
    const Room room = open_room(out, kMaxRead);
    // What is buffered first; a read only when that did not settle it. (Awaited here, not in a
    // helper coroutine: per stream event that was one more frame.)
    boost::system::error_code ec;
    if (!parse_buffered_body(out.data() + room.at, room.size, got, ec)) {
      auto [rec, n] = conn_->tls ? co_await http::async_read_some(*conn_->tls, conn_->buf, *parser_, use_nothrow)
                                 : co_await http::async_read_some(*conn_->plain, conn_->buf, *parser_, use_nothrow);
      got = room.size - parser_->room().size;
      ec = rec == http::error::need_buffer ? boost::system::error_code{} : rec;
    }
    close_room(out, room, got);
    dl.disarm();
    if (ec) {
      if (aborted_) co_return Errc::client_closed;
      if (dl.fired()) co_return Errc::upstream_timeout;
      co_return Errc::upstream_stream_cut;
    }
    if (parser_->is_done()) done = done_ = true;
    if (got || done) co_return Errc::ok;
  }
}

bool UpstreamCall::read_all_buffered(std::string& out, std::size_t max_bytes, Errc& result) {
  if (!conn_ || !parser_ || aborted_) return false;
  if (auto cl = parser_->content_length(); cl && *cl <= max_bytes) out.reserve(*cl);
  while (!parser_->is_done()) {
    if (conn_->buf.size() == 0) return false;  // the rest is on the wire: read_all goes on from here
    // As read_some does, without the socket (and, for a known length, with room for no more
    // than is buffered).
    const Room room = open_room(out, std::min(kMaxRead, conn_->buf.size()));
    std::size_t got = 0;
    boost::system::error_code ec;
    const bool settled = parse_buffered_body(out.data() + room.at, room.size, got, ec);
    close_room(out, room, got);
    if (ec) {
      result = Errc::upstream_stream_cut;
      return true;
    }
    if (out.size() > max_bytes) {
      result = Errc::upstream_protocol;
      return true;
    }
    if (!settled) return false;  // a partial chunk header: read_all goes on from here
  }
  done_ = true;
  result = Errc::ok;
  return true;
}

awaitable<Errc> UpstreamCall::read_all(std::chrono::steady_clock::duration timeout, std::string& out,
                                       std::size_t max_bytes) {
  bool done = false;
  if (auto cl = parser_ ? parser_->content_length() : boost::none; cl && *cl <= max_bytes) out.reserve(*cl);
  while (!done) {
    Errc ec = co_await read_some(timeout, out, done);
    if (ec != Errc::ok) co_return ec;
    if (out.size() > max_bytes) co_return Errc::upstream_protocol;
  }
  co_return Errc::ok;
}

void UpstreamCall::release() {
  if (!conn_) return;
  if (done_ && parser_ && parser_->keep_alive() && conn_->buf.size() == 0 && !aborted_) {
    pool_.put(std::move(conn_));
  } else {
    conn_->close();
    conn_.reset();
  }
}

void UpstreamCall::abort() {
  aborted_ = true;
  if (conn_) {
    boost::system::error_code ig;
    conn_->lowest().cancel(ig);
    conn_->lowest().shutdown(tcp::socket::shutdown_both, ig);
    conn_->lowest().close(ig);
  }
}

}  // namespace llmgate
