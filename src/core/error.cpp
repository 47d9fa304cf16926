#include "llmgate/error.hpp"

#include <nlohmann/json.hpp>

namespace llmgate {

ErrorMapping map_error(Errc e) {
  switch (e) {
    case Errc::ok: return {200, "", "", false};
    case Errc::bad_request: return {400, "invalid_request_error", "", false};
    case Errc::invalid_json: return {400, "invalid_request_error", "invalid_json", false};
    case Errc::missing_model: return {400, "invalid_request_error", "missing_model", false};
    case Errc::unsupported: return {400, "invalid_request_error", "unsupported", false};
    case Errc::unauthorized: return {401, "authentication_error", "invalid_api_key", false};
    case Errc::forbidden: return {403, "permission_error", "forbidden", false};
    case Errc::model_not_found: return {404, "invalid_request_error", "model_not_found", false};
    case Errc::not_found: return {404, "invalid_request_error", "not_found", false};
    case Errc::method_not_allowed: return {405, "invalid_request_error", "method_not_allowed", false};
    case Errc::request_timeout: return {408, "invalid_request_error", "request_timeout", false};
    case Errc::payload_too_large: return {413, "invalid_request_error", "request_too_large", false};
    case Errc::uri_too_long: return {414, "invalid_request_error", "uri_too_long", false};
    case Errc::headers_too_large: return {431, "invalid_request_error", "headers_too_large", false};
    case Errc::rate_limited: return {429, "rate_limit_error", "rate_limit_exceeded", true};
    case Errc::budget_exceeded: return {429, "rate_limit_error", "budget_exceeded", false};
    case Errc::client_closed: return {499, "client_closed_request", "client_closed", false};
    case Errc::internal: return {500, "api_error", "internal_error", false};
    case Errc::upstream_connect: return {502, "api_error", "upstream_connection_error", true};
    case Errc::upstream_tls: return {502, "api_error", "upstream_tls_error", true};
    case Errc::upstream_protocol: return {502, "api_error", "upstream_protocol_error", true};
    case Errc::upstream_stream_cut: return {502, "api_error", "upstream_stream_error", false};
    case Errc::service_unavailable: return {503, "api_error", "service_unavailable", true};
    case Errc::upstream_timeout: return {504, "timeout_error", "upstream_timeout", true};
  }
  return {500, "api_error", "internal_error", false};
}

std::string error_json(Errc e, std::string_view message, std::string_view param, std::string_view code_override) {
  const ErrorMapping m = map_error(e);
  nlohmann::json err = {
      {"message", message},
      {"type", m.type},
      {"param", param.empty() ? nlohmann::json(nullptr) : nlohmann::json(param)},
      {"code", !code_override.empty() ? nlohmann::json(code_override)
               : m.code.empty()       ? nlohmann::json(nullptr)
                                      : nlohmann::json(m.code)},
  };
  return nlohmann::json{{"error", std::move(err)}}.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

namespace {
class Category final : public std::error_category {
 public:
  const char* name() const noexcept override { return "llmgate"; }
  std::string message(int ev) const override {
    const auto m = map_error(static_cast<Errc>(ev));
    return std::string(m.code.empty() ? m.type : m.code);
  }
};
}  // namespace

const std::error_category& gateway_category() {
  static const Category c;
  return c;
}

std::error_code make_error_code(Errc e) { return {static_cast<int>(e), gateway_category()}; }

}  // namespace llmgate
