#pragma once
// Upstream HTTP/1.1 client: a per-worker keep-alive pool per origin (plain or TLS) and one
// request/response exchange on a pooled connection. Single-threaded: everything here runs on
// the owning worker's io_context.
#include <chrono>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "llmgate/config.hpp"
#include "llmgate/error.hpp"
#include "llmgate/provider.hpp"
#include "net/net.hpp"

namespace llmgate {

// The HTTP/1.1 request line and header block for `req` (ends with the blank line).
void serialize_request_head(const UpstreamRequest& req, const Deployment& d, std::string& out);

// A connection's last request head and its inputs. Requests of one deployment and endpoint
// share method, target and header fields, so the next head differs only in Content-Length:
// build_request_head() then rewrites that value instead of serializing again (~2k
// instructions per request).
struct RequestHeadCache {
  std::string text;  // the head as last sent
  std::string method, target, host, port;
  std::vector<std::pair<std::string, std::string>> headers;
  std::size_t length_at = 0;  // where the Content-Length value starts in `text`; 0 = no entry
};
// serialize_request_head's result, reusing `cache` when its inputs match. Returns cache.text.
const std::string& build_request_head(const UpstreamRequest& req, const Deployment& d, RequestHeadCache& cache);

struct UpstreamConn {
  std::string key;  // pool key: origin + TLS settings
  std::optional<tcp::socket> plain;
  std::optional<ssl::stream<tcp::socket>> tls;
  std::chrono::steady_clock::time_point idle_since{};
  int uses = 0;
  // Kept with the connection across its exchanges (no allocation per request): the response
  // read buffer and the request's header block.
  beast::flat_buffer buf;
  RequestHeadCache head;
  tcp::socket& lowest() { return tls ? tls->next_layer() : *plain; }
  void close();
};

class UpstreamPool {
 public:
  UpstreamPool(net::io_context& ioc, double idle_seconds, double connect_timeout_seconds);
  ~UpstreamPool();
  // A live idle connection for the deployment's origin, or nullptr.
  std::unique_ptr<UpstreamConn> take(const Deployment& d);
  // Returns a connection whose last exchange completed cleanly.
  void put(std::unique_ptr<UpstreamConn> c);
  // Opens a new connection (resolve, connect, TLS handshake with SNI + host verification)
  // within the connect timeout. On failure returns nullptr and sets `ec`/`err`.
  awaitable<std::unique_ptr<UpstreamConn>> connect(const Deployment& d, Errc& ec, std::string& err);
  // Drops idle connections older than the idle limit (called by a per-worker timer).
  void sweep();
  void close_all();
  std::size_t idle_count() const;
  net::io_context& context() { return ioc_; }

 private:
  static std::string key_for(const Deployment& d);
  ssl::context& ssl_context(const Deployment& d);
  net::io_context& ioc_;
  std::chrono::steady_clock::duration idle_;
  std::chrono::steady_clock::duration connect_timeout_;
  std::map<std::string, std::vector<std::unique_ptr<UpstreamConn>>> idle_conns_;
  std::map<std::string, std::unique_ptr<ssl::context>> ssl_ctx_;
};

// Parses an upstream response into room the caller provides (as http::parser with buffer_body
// does) and keeps only what the gateway reads from the header: the status, whether the body is
// an event stream, and Retry-After. Beast's own parser stores every field in its own allocation.
class UpstreamResponseParser : public http::basic_parser<false> {
 public:
  struct Room {
    char* data = nullptr;
    std::size_t size = 0;
  };
  Room& room() { return room_; }
  int status() const { return status_; }
  // The first Content-Type contains "text/event-stream".
  bool event_stream() const { return event_stream_; }
  // There is a Content-Type and it names neither JSON ("json": application/json, x-ndjson,
  // problem+json) nor an event stream: text/html, text/plain...
  bool not_json() const { return not_json_; }
  const std::string& retry_after() const { return retry_after_; }

 private:
  void on_request_impl(http::verb, beast::string_view, beast::string_view, int, boost::system::error_code&) override {}
  void on_response_impl(int code, beast::string_view, int, boost::system::error_code&) override { status_ = code; }
  void on_field_impl(http::field name, beast::string_view, beast::string_view value,
                     boost::system::error_code&) override;
  void on_header_impl(boost::system::error_code&) override {}
  void on_body_init_impl(boost::optional<std::uint64_t> const&, boost::system::error_code&) override {}
  std::size_t on_body_impl(beast::string_view body, boost::system::error_code& ec) override {
    return put_body(body, ec);
  }
  void on_chunk_header_impl(std::uint64_t, beast::string_view, boost::system::error_code&) override {}
  std::size_t on_chunk_body_impl(std::uint64_t, beast::string_view body, boost::system::error_code& ec) override {
    return put_body(body, ec);
  }
  void on_finish_impl(boost::system::error_code&) override {}
  // Copies what fits into the room; need_buffer when the room is full (buffer_body's rule).
  std::size_t put_body(beast::string_view body, boost::system::error_code& ec);

  Room room_;
  int status_ = 0;
  bool event_stream_ = false;
  bool not_json_ = false;
  bool content_type_seen_ = false;
  std::string retry_after_;
};

// One request/response exchange.
class UpstreamCall {
 public:
  explicit UpstreamCall(UpstreamPool& pool) : pool_(pool) {}
  ~UpstreamCall();
  // Sends the request and reads the response header within `header_timeout`. A pooled
  // connection that fails before any response byte is retried once on a fresh connection.
  awaitable<Errc> start(const Deployment& d, const UpstreamRequest& req, double header_timeout_s, std::string& err);
  int status() const { return status_; }
  // From the response header: Content-Type is an event stream; the Retry-After value ("" if none).
  bool event_stream() const { return parser_ && parser_->event_stream(); }
  bool content_type_not_json() const { return parser_ && parser_->not_json(); }
  std::string retry_after() const { return parser_ ? parser_->retry_after() : std::string(); }
  // Appends the next piece of body to `out`; sets `done` at the end of the body. Returns
  // upstream_timeout when nothing arrived within `timeout`, upstream_stream_cut when the
  // connection broke, client_closed after abort().
  awaitable<Errc> read_some(std::chrono::steady_clock::duration timeout, std::string& out, bool& done);
  // Reads the whole body (capped at `max_bytes`).
  awaitable<Errc> read_all(std::chrono::steady_clock::duration timeout, std::string& out, std::size_t max_bytes);
  // read_all's usual case without a coroutine frame: the rest of the body is already buffered
  // (it came with the header). Returns true with the outcome in `result` when it settled the
  // read; false when the socket must be read: co_await read_all, which goes on from here.
  bool read_all_buffered(std::string& out, std::size_t max_bytes, Errc& result);
  // Returns the connection to the pool when the body was read completely and the upstream
  // allows keep-alive; closes it otherwise. Idempotent.
  void release();
  // Closes the connection now (the client went away). Pending reads complete with an error.
  void abort();
  bool aborted() const { return aborted_; }
  bool reused() const { return reused_; }

 private:
  // Room for the next piece of body, appended to `out` (zero-filled): all that remains of a known
  // length, up to `most`; else (chunked, streams) read_cap_, small at first since a stream
  // event is a few hundred bytes, doubled by close_room() after a piece that filled it.
  struct Room {
    std::size_t at = 0, size = 0;
    bool known = false;
  };
  Room open_room(std::string& out, std::size_t most);
  // Trims `out` to the `got` bytes the room received.
  void close_room(std::string& out, const Room& r, std::size_t got);
  // Parses buffered body bytes into [b, b + cap); true when that settled the read (bytes got,
  // the body done, or an error in `ec`), false when the socket must be read.
  bool parse_buffered_body(char* b, std::size_t cap, std::size_t& got, boost::system::error_code& ec);

  UpstreamPool& pool_;
  std::unique_ptr<UpstreamConn> conn_;
  std::optional<UpstreamResponseParser> parser_;
  std::size_t read_cap_ = 1024;  // body bytes per read when the length is unknown (grows)
  int status_ = 0;
  bool done_ = false;
  bool aborted_ = false;
  bool reused_ = false;
};

}  // namespace llmgate
