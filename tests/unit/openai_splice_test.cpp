// The OpenAI-compatible provider splices "model" into the client's bytes instead of
// re-serialising the body; the result must be what a full rewrite would send.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "llmgate/providers.hpp"

using namespace llmgate;
using nlohmann::json;

namespace {

Deployment dep() {
  Deployment d;
  d.model_name = "alias";
  d.upstream_model = "gpt-4o-mini";
  d.url = *parse_url("http://127.0.0.1:9/v1");
  d.api_key = Secret("sk-upstream");
  return d;
}

UpstreamRequest build(const std::string& raw, bool stream, Endpoint ep = Endpoint::chat) {
  json body = json::parse(raw);
  UpstreamRequest out;
  out.client_body = raw;
  std::string err;
  EXPECT_EQ(openai_compatible_provider().build_request(ep, dep(), body, stream, out, err), Errc::ok);
  return out;
}

TEST(FindTopLevelString, FindsOnlyTopLevelKeys) {
  std::string s = R"({"messages":[{"model":"inner"}],"x":{"model":"nested"}, "model" : "m\"1" ,"y":1})";
  auto span = find_top_level_string(s, "model");
  ASSERT_TRUE(span);
  EXPECT_EQ(s.substr(span->first, span->second - span->first), R"("m\"1")");
  EXPECT_FALSE(find_top_level_string(R"({"model":1})", "model"));
  EXPECT_FALSE(find_top_level_string(R"({"a":"model"})", "model"));
  EXPECT_FALSE(find_top_level_string(R"([{"model":"x"}])", "model"));
}

TEST(FindTopLevelString, DuplicateOrEscapedKeysAreNeverSpliced) {
  EXPECT_FALSE(find_top_level_string(R"({"model":"a","model":"b"})", "model"));
  EXPECT_FALSE(find_top_level_string(R"({"model":"a","mod\u0065l":"b"})", "model"));
  EXPECT_FALSE(find_top_level_string(R"({"model":"a")", "model"));  // unterminated
}

TEST(OpenAISplice, NonStreamingKeepsEveryOtherByte) {
  std::string raw = R"({"model":"alias","messages":[{"role":"user","content":"h\u00e9 \"q\""}],"vendor":{"k":[1,2.50]}})";
  auto out = build(raw, false);
  EXPECT_EQ(out.body, R"({"model":"gpt-4o-mini","messages":[{"role":"user","content":"h\u00e9 \"q\""}],"vendor":{"k":[1,2.50]}})");
  EXPECT_EQ(out.target, "/v1/chat/completions");
  ASSERT_EQ(out.headers.size(), 1u);
  EXPECT_EQ(out.headers[0].second, "Bearer sk-upstream");
}

TEST(OpenAISplice, StreamGetsUsageRequested) {
  auto out = build(R"({"messages":[],"model":"alias","stream":true})", true);
  json j = json::parse(out.body);
  EXPECT_EQ(j["model"], "gpt-4o-mini");
  EXPECT_EQ(j["stream_options"]["include_usage"], true);
  // Client already has stream_options without include_usage: full rewrite keeps its fields.
  auto out2 = build(R"({"model":"alias","stream":true,"stream_options":{"other":1}})", true);
  json j2 = json::parse(out2.body);
  EXPECT_EQ(j2["stream_options"]["include_usage"], true);
  EXPECT_EQ(j2["stream_options"]["other"], 1);
}

TEST(OpenAISplice, RedirectFieldsForceAFullRewrite) {
  auto out = build(R"({"model":"alias","api_base":"http://evil","messages":[]})", false);
  json j = json::parse(out.body);
  EXPECT_FALSE(j.contains("api_base"));
  EXPECT_EQ(j["model"], "gpt-4o-mini");
}

TEST(OpenAISplice, DuplicateModelKeyIsRewrittenNotSpliced) {
  auto out = build(R"({"model":"alias","messages":[],"model":"alias"})", false);
  EXPECT_EQ(out.body.find("alias"), std::string::npos) << out.body;
  EXPECT_EQ(json::parse(out.body)["model"], "gpt-4o-mini");
}

}  // namespace
