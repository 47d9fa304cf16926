// Error mapping: one enum, one place that decides status, OpenAI type and code, and the body shape
// the OpenAI SDKs turn into their typed exceptions.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "llmgate/error.hpp"

using namespace llmgate;

namespace {

struct Row {
  Errc e;
  int status;
  const char* type;
  const char* code;  // nullptr -> JSON null
  bool retryable;
};

// What clients see. The SDKs pick the exception from the status (401 AuthenticationError,
// 404 NotFoundError, 400 BadRequestError, 429 RateLimitError, ...).
const Row kTable[] = {
    {Errc::bad_request, 400, "invalid_request_error", nullptr, false},
    {Errc::invalid_json, 400, "invalid_request_error", "invalid_json", false},
    {Errc::missing_model, 400, "invalid_request_error", "missing_model", false},
    {Errc::unsupported, 400, "invalid_request_error", "unsupported", false},
    {Errc::unauthorized, 401, "authentication_error", "invalid_api_key", false},
    {Errc::forbidden, 403, "permission_error", "forbidden", false},
    {Errc::model_not_found, 404, "invalid_request_error", "model_not_found", false},
    {Errc::not_found, 404, "invalid_request_error", "not_found", false},
    {Errc::method_not_allowed, 405, "invalid_request_error", "method_not_allowed", false},
    {Errc::request_timeout, 408, "invalid_request_error", "request_timeout", false},
    {Errc::payload_too_large, 413, "invalid_request_error", "request_too_large", false},
    {Errc::uri_too_long, 414, "invalid_request_error", "uri_too_long", false},
    {Errc::headers_too_large, 431, "invalid_request_error", "headers_too_large", false},
    {Errc::rate_limited, 429, "rate_limit_error", "rate_limit_exceeded", true},
    {Errc::budget_exceeded, 429, "rate_limit_error", "budget_exceeded", false},
    {Errc::client_closed, 499, "client_closed_request", "client_closed", false},
    {Errc::internal, 500, "api_error", "internal_error", false},
    {Errc::upstream_connect, 502, "api_error", "upstream_connection_error", true},
    {Errc::upstream_tls, 502, "api_error", "upstream_tls_error", true},
    {Errc::upstream_protocol, 502, "api_error", "upstream_protocol_error", true},
    {Errc::upstream_stream_cut, 502, "api_error", "upstream_stream_error", false},
    {Errc::service_unavailable, 503, "api_error", "service_unavailable", true},
    {Errc::upstream_timeout, 504, "timeout_error", "upstream_timeout", true},
};

nlohmann::json parse(const std::string& s) {
  auto j = nlohmann::json::parse(s, nullptr, false);
  EXPECT_FALSE(j.is_discarded()) << "not valid JSON: " << s;
  return j;
}

}  // namespace

TEST(ErrorMapping, StatusTypeCodeForEveryErrc) {
  for (const auto& r : kTable) {
    SCOPED_TRACE(static_cast<int>(r.e));
    const auto m = map_error(r.e);
    EXPECT_EQ(m.status, r.status);
    EXPECT_EQ(m.type, r.type);
    EXPECT_EQ(m.code, r.code ? r.code : "");
    EXPECT_EQ(m.retryable, r.retryable);

    auto j = parse(error_json(r.e, "boom"));
    ASSERT_TRUE(j.is_object());
    ASSERT_EQ(j.size(), 1u);
    const auto& err = j.at("error");
    EXPECT_EQ(err.size(), 4u);
    EXPECT_EQ(err.at("message"), "boom");
    EXPECT_EQ(err.at("type"), r.type);
    EXPECT_TRUE(err.at("param").is_null());
    if (r.code) EXPECT_EQ(err.at("code"), r.code);
    else EXPECT_TRUE(err.at("code").is_null());
  }
}

TEST(ErrorMapping, EveryClientErrorIsA4xxAndEveryUpstreamErrorA5xx) {
  for (int i = 1; i <= static_cast<int>(Errc::upstream_timeout); ++i) {
    const auto m = map_error(static_cast<Errc>(i));
    EXPECT_GE(m.status, 400) << i;
    EXPECT_LT(m.status, 600) << i;
    EXPECT_FALSE(m.type.empty()) << i;
  }
}

TEST(ErrorJson, MissingModelNamesTheParam) {
  auto j = parse(error_json(Errc::missing_model, "you must provide a model parameter", "model"));
  EXPECT_EQ(j["error"]["param"], "model");
  EXPECT_EQ(j["error"]["code"], "missing_model");
}

TEST(ErrorJson, CodeOverrideReplacesTheMappedCode) {
  auto j = parse(error_json(Errc::bad_request, "m", {}, "context_length_exceeded"));
  EXPECT_EQ(j["error"]["code"], "context_length_exceeded");
  EXPECT_EQ(j["error"]["type"], "invalid_request_error");
}

TEST(ErrorJson, HostileMessagesStillGiveValidJson) {
  const std::string nasty = "quote \" backslash \\ newline\n tab\t cr\r ctl\x01 </script>";
  auto j = parse(error_json(Errc::bad_request, nasty, "a\"b"));
  EXPECT_EQ(j["error"]["message"], nasty);
  EXPECT_EQ(j["error"]["param"], "a\"b");

  std::string bad_utf8 = "model 'x\xff\xfe\xc3(' not found";
  auto j2 = parse(error_json(Errc::model_not_found, bad_utf8));
  ASSERT_TRUE(j2["error"]["message"].is_string());
  const std::string msg = j2["error"]["message"];
  EXPECT_EQ(msg.rfind("model 'x", 0), 0u);  // the valid part survives, bad bytes are replaced
  EXPECT_NE(msg.find("' not found"), std::string::npos);

  std::string with_nul("a\0b", 3);
  auto j3 = parse(error_json(Errc::bad_request, with_nul));
  EXPECT_EQ(j3["error"]["message"].get<std::string>(), with_nul);
}

TEST(ErrorCode, StdErrorCodeInterop) {
  std::error_code ec = Errc::upstream_timeout;
  EXPECT_EQ(&ec.category(), &gateway_category());
  EXPECT_STREQ(ec.category().name(), "llmgate");
  EXPECT_EQ(ec.message(), "upstream_timeout");
  EXPECT_TRUE(static_cast<bool>(ec));
  EXPECT_FALSE(static_cast<bool>(make_error_code(Errc::ok)));
  EXPECT_EQ(make_error_code(Errc::bad_request).message(), "invalid_request_error");
}
