// The OpenAI-compatible provider splices "model" into the client's bytes instead of
// re-serialising the body (what the proxy does: scan, read_body_facts, build_request_spliced,
// else build_request on the document); the result must be what a full rewrite would send.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "llmgate/json_scan.hpp"
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

// The proxy's path; `spliced` says whether the bytes were spliced.
UpstreamRequest build(const std::string& raw, bool stream, Endpoint ep = Endpoint::chat, bool* spliced = nullptr) {
  UpstreamRequest out;
  JsonObjectScan scan;
  bool done = false;
  if (scan.scan(raw) == JsonObjectScan::Result::object) {
    BodyFacts f;
    read_body_facts(scan, f);
    done = !f.model.empty() && openai_compatible_provider().build_request_spliced(ep, dep(), f, stream, out);
  }
  if (spliced) *spliced = done;
  if (!done) {
    out = UpstreamRequest{};
    json body = json::parse(raw);
    std::string err;
    EXPECT_EQ(openai_compatible_provider().build_request(ep, dep(), body, stream, out, err), Errc::ok);
  }
  return out;
}

// The model value the splice replaces (empty when the body would not be spliced).
std::string model_span(const std::string& raw) {
  JsonObjectScan scan;
  if (scan.scan(raw) != JsonObjectScan::Result::object) return {};
  BodyFacts f;
  read_body_facts(scan, f);
  return json_string_value(f.model) ? std::string(f.model) : std::string();
}

TEST(BodyFacts, FindsOnlyTopLevelKeys) {
  std::string s = R"({"messages":[{"model":"inner"}],"x":{"model":"nested"}, "model" : "m\"1" ,"y":1})";
  EXPECT_EQ(model_span(s), R"("m\"1")");
  EXPECT_EQ(model_span(R"({"model":1})"), "");
  EXPECT_EQ(model_span(R"({"a":"model"})"), "");
  EXPECT_EQ(model_span(R"([{"model":"x"}])"), "");
}

TEST(BodyFacts, DuplicateOrEscapedKeysAreNeverSpliced) {
  EXPECT_EQ(model_span(R"({"model":"a","model":"b"})"), "");
  EXPECT_EQ(model_span(R"({"model":"a","mod\u0065l":"b"})"), "");
  EXPECT_EQ(model_span(R"({"model":"a")"), "");  // unterminated
}

TEST(BodyFacts, StreamOptionsAndForbiddenFields) {
  JsonObjectScan scan;
  ASSERT_EQ(scan.scan(R"({"model":"m","api_key":"x","stream_options":{"include_usage":true}})"),
            JsonObjectScan::Result::object);
  BodyFacts f;
  read_body_facts(scan, f);
  EXPECT_TRUE(f.has_forbidden);
  EXPECT_TRUE(f.has_stream_options);
  EXPECT_TRUE(f.include_usage);
  ASSERT_EQ(scan.scan(R"({"model":"m","stream_options":{"include_usage":"yes","include_usage":true}})"),
            JsonObjectScan::Result::object);
  read_body_facts(scan, f);  // duplicate inner key: the parser decides (last wins)
  EXPECT_FALSE(f.has_forbidden);
  EXPECT_TRUE(f.include_usage);
  ASSERT_EQ(scan.scan(R"({"model":"m","stream_options":null})"), JsonObjectScan::Result::object);
  read_body_facts(scan, f);
  EXPECT_TRUE(f.has_stream_options);
  EXPECT_FALSE(f.include_usage);
}

TEST(OpenAISplice, NonStreamingKeepsEveryOtherByte) {
  std::string raw =
      R"({"model":"alias","messages":[{"role":"user","content":"h\u00e9 \"q\""}],"vendor":{"k":[1,2.50]}})";
  bool spliced = false;
  auto out = build(raw, false, Endpoint::chat, &spliced);
  EXPECT_TRUE(spliced);
  EXPECT_EQ(
      out.body,
      R"({"model":"gpt-4o-mini","messages":[{"role":"user","content":"h\u00e9 \"q\""}],"vendor":{"k":[1,2.50]}})");
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
  bool spliced = true;
  auto out = build(R"({"model":"alias","messages":[],"model":"alias"})", false, Endpoint::chat, &spliced);
  EXPECT_FALSE(spliced);
  EXPECT_EQ(out.body.find("alias"), std::string::npos) << out.body;
  EXPECT_EQ(json::parse(out.body)["model"], "gpt-4o-mini");
}

}  // namespace

TEST(OpenAISplice, UpstreamModelNamesAreJsonEncoded) {
  // Plain names are copied between quotes; quotes, backslashes, control and non-ASCII
  // characters go through the JSON encoder (invalid UTF-8 replaced).
  for (const std::string name : {"org/model:7b-q4_K_M", "we\"ird\\name", "tab\there", "modèle", "bad\xff"}) {
    Deployment d = dep();
    d.upstream_model = name;
    const std::string raw = R"({"model":"alias","messages":[]})";
    JsonObjectScan scan;
    ASSERT_EQ(scan.scan(raw), JsonObjectScan::Result::object);
    BodyFacts f;
    read_body_facts(scan, f);
    UpstreamRequest out;
    ASSERT_TRUE(openai_compatible_provider().build_request_spliced(Endpoint::chat, d, f, false, out));
    const json j = json::parse(out.body);
    const std::string want = name == "bad\xff" ? std::string("bad\xef\xbf\xbd") : name;
    EXPECT_EQ(j["model"], want) << out.body;
    EXPECT_EQ(j["messages"], json::array());
  }
}
