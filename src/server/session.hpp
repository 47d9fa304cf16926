#pragma once
// Per-connection and per-request helpers shared by session.cpp and the proxy handler.
//
// Coroutine rule (GCC 12): never pass a non-trivial object by value to a coroutine, and never
// build a temporary (std::string, ...) inside a co_await expression: GCC 12 can destroy such
// objects twice (a double free seen under load). Name the value first, pass it by reference.
#include <array>
#include <chrono>
#include <memory_resource>
#include <string>

#include "llmgate/auth.hpp"
#include "llmgate/clock.hpp"
#include "llmgate/provider.hpp"
#include "server/worker.hpp"

namespace llmgate {

// A request's header fields come from a per-connection arena that is reset for each request
// (serve_connection): Beast's fields allocate every field on its own, nine or more per request.
using RequestFieldAlloc = std::pmr::polymorphic_allocator<char>;
using BeastRequest = http::request<http::string_body, http::basic_fields<RequestFieldAlloc>>;
using BeastRequestParser = http::request_parser<http::string_body, RequestFieldAlloc>;

struct RequestInfo {
  std::string request_id;  // x-request-id: the client's own when it sent one, else record_id
  std::string record_id;   // always generated (unique): the ledger's request_id
  std::string client_ip;
  std::chrono::steady_clock::time_point t0;  // first byte of the request seen
  int64_t start_us = 0;                      // unix epoch microseconds
  bool keep_alive = true;
  bool head_only = false;   // a HEAD request: responses carry their head (and length), no body
  std::string azure_model;  // the deployment name of an Azure-style proxy path, else empty
};

// A response's status line and header fields written straight into one string: the proxy's
// hot path (Beast's fields allocate one node per field). CR and LF in values become spaces.
class ResponseHead {
 public:
  explicit ResponseHead(int status);
  void set(std::string_view name, std::string_view value);
  const std::string& str() const { return s_; }
  std::string& str() { return s_; }

 private:
  std::string s_;
};
// Writes `head` + x-request-id, Connection and Content-Length, then `body`, in one write.
// Returns false when the client is gone.
awaitable<bool> write_response(tcp::socket& sock, ResponseHead& head, std::string_view body, const RequestInfo& info);
// write_response's first half: completes `head` and returns the buffers to send (the body
// dropped for HEAD); with write_now/write_rest a caller needs no coroutine frame for the write.
std::array<net::const_buffer, 2> finish_response(ResponseHead& head, std::string_view body, const RequestInfo& info);

// Writes a complete response with the common headers (x-request-id, content-type).
// Returns false when the client is gone.
awaitable<bool> write_response(tcp::socket& sock, http::response<http::string_body>& res, const RequestInfo& info);
awaitable<bool> write_error(tcp::socket& sock, Errc e, std::string_view message, const RequestInfo& info,
                            std::string_view param = {}, std::string_view code = {});

// A field's value ("" when absent; the first of repeated fields), found by a linear scan: a
// request carries a handful of fields, and Beast's find() walks its case-insensitive set
// (~600 instructions for one Authorization lookup). `lower_name` must be lower case.
std::string_view field_value(const BeastRequest& req, http::field name);
std::string_view field_value(const BeastRequest& req, std::string_view lower_name);

// The key presented in Authorization: Bearer, api-key or x-api-key ("" when none).
std::string_view presented_key(const BeastRequest& req);
// Who is calling, for the proxy endpoints and master-key routes. `model_group` is checked
// against a virtual key's allowed models ("" = no model check).
Errc authenticate(App& app, const Config& cfg, const BeastRequest& req, std::string_view model_group, Principal& who,
                  std::string& message);
// Beast-free copy of the request for Route handlers.
HttpRequest to_http_request(const BeastRequest& req, const RequestInfo& info);

// The proxy endpoints (src/proxy/exchange.cpp). `info.azure_model` is the deployment name from an
// Azure-style path, empty otherwise. Returns whether the connection may be kept alive.
awaitable<bool> handle_proxy(Worker& w, tcp::socket& sock, BeastRequest& req, Endpoint ep, RequestInfo& info);

}  // namespace llmgate
