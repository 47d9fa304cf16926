#pragma once
// Beast-free request/response views for the non-proxy endpoints (admin API, spend, UI, metrics).
// Handlers taking these compile without Asio and are unit-testable without sockets.
#include <functional>
#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "llmgate/error.hpp"

namespace llmgate {

struct HttpRequest {
  std::string method;                                        // "GET", "POST", ...
  std::string target;                                        // path + query as received
  std::string path;                                          // decoded path without query
  std::multimap<std::string, std::string> query;             // decoded query parameters
  std::vector<std::pair<std::string, std::string>> headers;  // lower-cased names
  std::string body;
  std::string client_ip;
  bool tls = false;
  std::vector<std::string> allowed_models;  // set by the server for virtual keys (empty = all)
  // First header with that (lower-case) name, or "".
  std::string_view header(std::string_view lower_name) const;
  // First query parameter, or `def`.
  std::string query_param(const std::string& name, const std::string& def = {}) const;
};

struct HttpResponse {
  int status = 200;
  std::string content_type = "application/json";
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;  // extra headers (Set-Cookie, ...)
};

// An OpenAI-shaped error ({"error":{"message","type","param","code"}}) with the status that
// map_error(e) gives; `param` names the offending field or query parameter, when there is one.
HttpResponse error_response(Errc e, std::string_view message, std::string_view param = {});

// Decodes %XX and '+' (for query strings). Invalid escapes are kept literally.
std::string url_decode(std::string_view s, bool plus_is_space);
// Splits "a=1&b=2" into a multimap with decoded keys and values.
std::multimap<std::string, std::string> parse_query(std::string_view q);

}  // namespace llmgate
