// Azure OpenAI dialect: URL layout, auth header, stream filtering, error shapes. Fixtures in
// tests/fixtures/providers/ follow the Azure OpenAI reference (see its README.md).
#include <sstream>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "fake_upstream.hpp"
#include "http_call.hpp"
#include "llmgate/providers.hpp"
#include "llmgate/sse.hpp"
#include "provider_fixtures.hpp"

namespace llmgate {
namespace {

using json = nlohmann::json;

using test::provider_fixture;

Deployment azure_deployment(const std::string& base_path = "") {
  Deployment d;
  d.id = "azure-0";
  d.model_name = "gpt-4o";
  d.provider = ProviderKind::azure;
  d.provider_prefix = "azure";
  d.upstream_model = "my-gpt4o";
  d.url.host = "example.openai.azure.com";
  d.url.port = "443";
  d.url.tls = true;
  d.url.base_path = base_path;
  d.api_key = Secret("azure-key-123");
  d.api_version = "2024-10-21";
  return d;
}

std::string header(const UpstreamRequest& r, const std::string& name) {
  for (const auto& [k, v] : r.headers)
    if (k == name) return v;
  return "";
}

// Data payloads of "data: ..." events.
std::vector<std::string> sse_data(const std::string& s) {
  std::vector<std::string> out;
  std::size_t pos = 0;
  while ((pos = s.find("data: ", pos)) != std::string::npos) {
    auto end = s.find("\n\n", pos);
    out.push_back(s.substr(pos + 6, end - pos - 6));
    pos = end;
  }
  return out;
}

TEST(AzureProvider, ChatTargetsTheDeploymentWithApiVersionAndApiKey) {
  const Provider& p = azure_provider();
  Deployment d = azure_deployment();
  json body = {{"model", "gpt-4o"}, {"messages", json::array()}, {"api_base", "http://evil"}, {"x_extra", 1}};
  UpstreamRequest r;
  std::string err;
  ASSERT_EQ(p.build_request(Endpoint::chat, d, body, false, r, err), Errc::ok);
  EXPECT_EQ(r.method, "POST");
  EXPECT_EQ(r.target, "/openai/deployments/my-gpt4o/chat/completions?api-version=2024-10-21");
  EXPECT_EQ(header(r, "api-key"), "azure-key-123");
  EXPECT_EQ(header(r, "Authorization"), "");
  json sent = json::parse(r.body);
  EXPECT_FALSE(sent.contains("api_base"));  // never lets a client redirect the request
  EXPECT_EQ(sent["x_extra"], 1);            // unknown fields pass through
  EXPECT_FALSE(sent.contains("stream_options"));
}

TEST(AzureProvider, CompletionsEmbeddingsAndBasePaths) {
  const Provider& p = azure_provider();
  std::string err;
  for (auto [ep, op] :
       {std::pair{Endpoint::completions, "/completions"}, std::pair{Endpoint::embeddings, "/embeddings"}}) {
    Deployment d = azure_deployment();
    json body = {{"model", "x"}, {"input", "hi"}};
    UpstreamRequest r;
    ASSERT_EQ(p.build_request(ep, d, body, false, r, err), Errc::ok);
    EXPECT_EQ(r.target, std::string("/openai/deployments/my-gpt4o") + op + "?api-version=2024-10-21");
  }
  // An api_base behind a path prefix keeps it; one that already ends in /openai is not doubled.
  for (auto [base, want] :
       {std::pair{"/gw", "/gw/openai/deployments/"}, std::pair{"/openai", "/openai/deployments/"}}) {
    Deployment d = azure_deployment(base);
    json body = {{"messages", json::array()}};
    UpstreamRequest r;
    ASSERT_EQ(p.build_request(Endpoint::chat, d, body, false, r, err), Errc::ok);
    EXPECT_EQ(r.target.rfind(want, 0), 0u) << r.target;
  }
}

TEST(AzureProvider, AzureAdTokenIsSentAsBearerInsteadOfApiKey) {
  Deployment d = azure_deployment();
  d.azure_ad_token = Secret("eyJ-token");
  json body = {{"messages", json::array()}};
  UpstreamRequest r;
  std::string err;
  ASSERT_EQ(azure_provider().build_request(Endpoint::chat, d, body, false, r, err), Errc::ok);
  EXPECT_EQ(header(r, "Authorization"), "Bearer eyJ-token");
  EXPECT_EQ(header(r, "api-key"), "");
}

TEST(AzureProvider, StreamsAskForUsageOnlyWhereTheApiVersionSupportsIt) {
  for (auto [version, expect] : {std::pair{"2024-10-21", true}, std::pair{"2024-09-01-preview", true},
                                 std::pair{"2024-02-01", false}, std::pair{"2023-05-15", false}}) {
    Deployment d = azure_deployment();
    d.api_version = version;
    json body = {{"messages", json::array()}, {"stream", true}};
    UpstreamRequest r;
    std::string err;
    ASSERT_EQ(azure_provider().build_request(Endpoint::chat, d, body, true, r, err), Errc::ok);
    json sent = json::parse(r.body);
    EXPECT_EQ(sent.contains("stream_options") && sent["stream_options"]["include_usage"] == true, expect) << version;
  }
}

TEST(AzureProvider, NonStreamingResponseIsForwardedWithUsage) {
  Usage u;
  std::string out;
  EXPECT_EQ(azure_provider().translate_response(Endpoint::chat, azure_deployment(),
                                                provider_fixture("azure_chat_response.json"), out, u),
            ResponseBody::forward);
  EXPECT_TRUE(u.present);
  EXPECT_EQ(u.prompt_tokens, 13);
  EXPECT_EQ(u.completion_tokens, 5);
  EXPECT_EQ(u.total_tokens, 18);
}

TEST(AzureProvider, ContentFilterErrorBecomesAnOpenAIError) {
  json e = json::parse(
      azure_provider().translate_error(400, provider_fixture("azure_content_filter_error.json")))["error"];
  EXPECT_EQ(e["code"], "content_filter");
  EXPECT_EQ(e["type"], "invalid_request_error");  // Azure sends type: null
  EXPECT_EQ(e["param"], "prompt");
  EXPECT_NE(e["message"].get<std::string>().find("content management policy"), std::string::npos);
  EXPECT_EQ(e["innererror"]["code"], "ResponsibleAIPolicyViolation");
  EXPECT_TRUE(e["innererror"]["content_filter_result"]["violence"]["filtered"]);
  EXPECT_FALSE(e.contains("status"));
}

TEST(AzureProvider, AuthErrorGetsATypeAndKeepsAzureCode) {
  json e = json::parse(azure_provider().translate_error(401, provider_fixture("azure_401_error.json")))["error"];
  EXPECT_EQ(e["type"], "authentication_error");
  EXPECT_EQ(e["code"], "401");
  EXPECT_TRUE(e["param"].is_null());
  EXPECT_NE(e["message"].get<std::string>().find("Access denied"), std::string::npos);
  // Not JSON at all (a proxy's HTML page): still an OpenAI error.
  json h = json::parse(azure_provider().translate_error(502, "<html>bad gateway</html>"));
  EXPECT_TRUE(h["error"]["message"].is_string());
}

// Feeds the fixture the way the proxy does (one line at a time) and returns the client's bytes.
std::string run_stream(StreamState& st, const std::string& sse) {
  std::string out;
  std::istringstream in(sse);
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty()) continue;
    azure_provider().translate_stream_unit(Endpoint::chat, azure_deployment(), st, line, out);
  }
  return out;
}

TEST(AzureProvider, StreamDropsPromptFilterAndAnnotationEventsAndTheUnaskedUsage) {
  StreamState st;
  st.include_usage = false;
  std::string out = run_stream(st, provider_fixture("azure_chat_stream.sse"));
  auto ev = sse_data(out);
  ASSERT_EQ(ev.size(), 5u);  // role, "This", " is a test.", finish, [DONE]
  for (std::size_t i = 0; i + 1 < ev.size(); ++i) {
    json j = json::parse(ev[i]);
    ASSERT_FALSE(j["choices"].empty()) << ev[i];
    EXPECT_TRUE(j["choices"][0].contains("delta")) << ev[i];
    EXPECT_EQ(j["id"], "chatcmpl-AzFake0000000000000000000002");
  }
  EXPECT_EQ(json::parse(ev[3])["choices"][0]["finish_reason"], "stop");
  EXPECT_EQ(ev.back(), "[DONE]");
  EXPECT_EQ(st.text, "This is a test.");
  EXPECT_TRUE(st.finished);
  EXPECT_TRUE(st.usage.present);  // counted for the ledger even though the client gets none
  EXPECT_EQ(st.usage.prompt_tokens, 13);
  EXPECT_EQ(st.usage.completion_tokens, 5);
  EXPECT_TRUE(st.error.empty());
}

TEST(AzureProvider, StreamKeepsTheUsageEventWhenTheClientAskedAndForwardsBytesUnchanged) {
  StreamState st;
  st.include_usage = true;
  std::string sse = provider_fixture("azure_chat_stream.sse");
  std::string out = run_stream(st, sse);
  auto ev = sse_data(out);
  ASSERT_EQ(ev.size(), 6u);
  json usage = json::parse(ev[4]);
  EXPECT_TRUE(usage["choices"].empty());
  EXPECT_EQ(usage["usage"]["total_tokens"], 18);
  // Kept events are the upstream's bytes, not a re-serialisation.
  EXPECT_NE(sse.find(ev[1]), std::string::npos);
}

TEST(AzureProvider, StreamUnitMayAlsoBeAnEventsDataAndErrorsAreReported) {
  StreamState st;
  std::string out;
  azure_provider().translate_stream_unit(
      Endpoint::chat, azure_deployment(), st,
      R"({"id":"c","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,"delta":{"content":"x"},"finish_reason":null}]})",
      out);
  EXPECT_EQ(sse_data(out).size(), 1u);
  azure_provider().translate_stream_unit(
      Endpoint::chat, azure_deployment(), st,
      R"(data: {"error":{"message":"The server had an error","type":"server_error"}})", out);
  EXPECT_NE(st.error.find("The server had an error"), std::string::npos);
}

TEST(AzureProvider, HealthProbeListsModelsWithTheKey) {
  auto probe = azure_provider().health_probe(azure_deployment());
  ASSERT_TRUE(probe);
  EXPECT_EQ(probe->method, "GET");
  EXPECT_EQ(probe->target, "/openai/models?api-version=2024-10-21");
  EXPECT_EQ(header(*probe, "api-key"), "azure-key-123");
  std::string detail;
  EXPECT_FALSE(azure_provider().health_ok(azure_deployment(), 401, provider_fixture("azure_401_error.json"), detail));
  EXPECT_NE(detail.find("401"), std::string::npos);
  EXPECT_EQ(detail.find("azure-key-123"), std::string::npos);
}

// The provider against the fake Azure upstream over loopback: request accepted, stream cleaned.
TEST(AzureProvider, RoundTripAgainstTheFakeUpstream) {
  test::FakeUpstream up;
  Deployment d = azure_deployment();
  json body = {{"model", "gpt-4o"}, {"messages", {{{"role", "user"}, {"content", "hi"}}}}, {"stream", true}};
  UpstreamRequest r;
  std::string err;
  ASSERT_EQ(azure_provider().build_request(Endpoint::chat, d, body, true, r, err), Errc::ok);
  auto res = test::http_call(up.port(), r.method, r.target, r.headers, r.body);
  ASSERT_EQ(res.status, 200) << res.error << res.body;
  EXPECT_EQ(up.last_headers()["api-key"], "azure-key-123");
  StreamState st;
  std::string out = run_stream(st, res.body);
  auto ev = sse_data(out);
  ASSERT_FALSE(ev.empty());
  EXPECT_FALSE(json::parse(ev[0])["choices"].empty());  // the prompt-filter event is gone
  EXPECT_EQ(ev.back(), "[DONE]");
  EXPECT_EQ(st.text, test::FakeUpstream::stream_text(5));
  EXPECT_TRUE(st.usage.present);
  for (auto& e : ev) EXPECT_EQ(e.find("\"usage\":{"), std::string::npos);  // client did not ask

  auto probe = azure_provider().health_probe(d);
  auto h = test::http_call(up.port(), probe->method, probe->target, probe->headers);
  std::string detail;
  EXPECT_TRUE(azure_provider().health_ok(d, h.status, h.body, detail)) << h.status << detail;

  d.upstream_model = "content-filter";
  json body2 = {{"messages", {{{"role", "user"}, {"content", "bad"}}}}};
  UpstreamRequest r2;
  ASSERT_EQ(azure_provider().build_request(Endpoint::chat, d, body2, false, r2, err), Errc::ok);
  auto res2 = test::http_call(up.port(), r2.method, r2.target, r2.headers, r2.body);
  ASSERT_EQ(res2.status, 400);
  EXPECT_EQ(json::parse(azure_provider().translate_error(400, res2.body))["error"]["code"], "content_filter");
}

// Found by tests/fuzz/azure_response: an event's data may span several "data:" lines (SSE joins
// them with '\n'); forwarded as one "data:" line, the client read only the first line of it.
TEST(AzureProvider, AnEventWhoseDataSpansLinesReachesTheClientWhole) {
  StreamState st;
  st.include_usage = true;
  std::string out;
  SseParser upstream;
  upstream.feed(
      "data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"a\"},\"finish_reason\":null}]\n"
      "data: }\n\n"
      "data: {\"choices\":[],\n"
      "data: \"usage\":{\"prompt_tokens\":3,\"completion_tokens\":1,\"total_tokens\":4}}\n\n",
      [&](const SseEvent& ev) {
        azure_provider().translate_stream_unit(Endpoint::chat, azure_deployment(), st, ev.data, out);
      });
  std::vector<json> got;  // what the client's SSE parser reads
  SseParser client;
  client.feed(out, [&](const SseEvent& ev) { got.push_back(json::parse(ev.data, nullptr, false)); });
  EXPECT_EQ(client.pending(), 0u);
  ASSERT_EQ(got.size(), 2u) << out;
  ASSERT_TRUE(got[0].is_object()) << out;
  EXPECT_EQ(got[0]["choices"][0]["delta"]["content"], "a");
  ASSERT_TRUE(got[1].is_object()) << out;
  EXPECT_EQ(got[1]["usage"]["total_tokens"], 4);
  EXPECT_EQ(st.usage.total_tokens, 4);
}

TEST(AzureProvider, NothingFollowsDone) {
  StreamState st;
  std::string out;
  const auto& d = azure_deployment();
  for (std::string_view unit :
       {"data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"a\"},\"finish_reason\":\"stop\"}]}", "data: [DONE]",
        "data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"late\"},\"finish_reason\":null}]}", "data: [DONE]"})
    azure_provider().translate_stream_unit(Endpoint::chat, d, st, unit, out);
  EXPECT_EQ(out.find("late"), std::string::npos) << out;
  const std::size_t done = out.find("data: [DONE]");
  ASSERT_NE(done, std::string::npos) << out;
  EXPECT_EQ(out.find("data: [DONE]", done + 1), std::string::npos) << out;
  EXPECT_EQ(out.substr(done), "data: [DONE]\n\n") << out;
}

}  // namespace
}  // namespace llmgate
