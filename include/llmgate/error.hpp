#pragma once
// The gateway's one error enum and the one place that maps it to HTTP + OpenAI error JSON.
#include <string>
#include <string_view>
#include <system_error>

namespace llmgate {

enum class Errc {
  ok = 0,
  bad_request,          // 400 generic invalid request
  invalid_json,         // 400 body is not JSON / not an object
  missing_model,        // 400 param "model"
  unauthorized,         // 401 missing or wrong key
  forbidden,            // 403 key not allowed / CSRF / origin
  model_not_found,      // 404 code model_not_found
  not_found,            // 404 unknown path
  method_not_allowed,   // 405
  request_timeout,      // 408 client too slow
  payload_too_large,    // 413
  uri_too_long,         // 414
  headers_too_large,    // 431
  rate_limited,         // 429
  budget_exceeded,      // 429 (LiteLLM answers 400 for budget; we use 429 with code budget_exceeded)
  unsupported,          // 400 feature/provider not supported yet
  client_closed,        // 499 (never sent; recorded)
  internal,             // 500
  upstream_connect,     // 502 could not connect / reset before response
  upstream_tls,         // 502 TLS handshake / verification failure
  upstream_protocol,    // 502 malformed upstream response
  upstream_stream_cut,  // 502 upstream died mid-stream
  service_unavailable,  // 503 draining / no healthy deployment
  upstream_timeout,     // 504
};

struct ErrorMapping {
  int status;
  std::string_view type;  // OpenAI error.type
  std::string_view code;  // OpenAI error.code ("" -> null)
  bool retryable;         // may another deployment / retry help?
};

// Pure; callable from any thread.
ErrorMapping map_error(Errc e);

// OpenAI-shaped error body: {"error":{"message","type","param","code"}}.
// `param` empty -> null. `code_override` replaces the mapped code when non-empty.
std::string error_json(Errc e, std::string_view message, std::string_view param = {},
                       std::string_view code_override = {});

const std::error_category& gateway_category();
std::error_code make_error_code(Errc e);

}  // namespace llmgate

namespace std {
template <>
struct is_error_code_enum<llmgate::Errc> : true_type {};
}  // namespace std
