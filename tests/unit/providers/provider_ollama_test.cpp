// Ollama dialects (ollama_chat -> /api/chat, ollama -> /api/generate): request and response
// translation, NDJSON stream -> OpenAI SSE, health. Fixtures in tests/fixtures/providers/
// follow Ollama's API reference (see its README.md).
#include <sstream>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "fake_upstream.hpp"
#include "http_call.hpp"
#include "llmgate/embedding_encoding.hpp"
#include "llmgate/providers.hpp"
#include "provider_fixtures.hpp"

namespace llmgate {
namespace {

using json = nlohmann::json;

using test::provider_fixture;

Deployment ollama_deployment(ProviderKind kind = ProviderKind::ollama_chat, const std::string& model = "llama3.2") {
  Deployment d;
  d.id = "ollama-0";
  d.model_name = "local-llama";
  d.provider = kind;
  d.provider_prefix = kind == ProviderKind::ollama ? "ollama" : "ollama_chat";
  d.upstream_model = model;
  d.url.host = "localhost";
  d.url.port = "11434";
  return d;
}

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

std::string run_stream(const Provider& p, Endpoint ep, StreamState& st, const std::string& ndjson) {
  std::string out;
  std::istringstream in(ndjson);
  std::string line;
  while (std::getline(in, line))
    if (!line.empty()) p.translate_stream_unit(ep, ollama_deployment(), st, line, out);
  return out;
}

const char* kPng = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==";

TEST(OllamaProvider, ChatRequestTranslation) {
  json body = {
      {"model", "local-llama"},
      {"messages",
       {{{"role", "system"}, {"content", "Be brief."}},
        {{"role", "user"},
         {"content",
          {{{"type", "text"}, {"text", "What is this?"}},
           {{"type", "image_url"}, {"image_url", {{"url", std::string("data:image/png;base64,") + kPng}}}}}}},
        {{"role", "assistant"},
         {"content", nullptr},
         {"tool_calls",
          {{{"id", "call_1"},
            {"type", "function"},
            {"function", {{"name", "get_weather"}, {"arguments", "{\"city\":\"Paris\"}"}}}}}}},
        {{"role", "tool"}, {"tool_call_id", "call_1"}, {"content", "18C"}}}},
      {"temperature", 0.2},
      {"top_p", 0.9},
      {"seed", 7},
      {"stop", "END"},
      {"max_tokens", 50},
      {"max_completion_tokens", 64},
      {"response_format", {{"type", "json_object"}}},
      {"tools",
       {{{"type", "function"}, {"function", {{"name", "get_weather"}, {"parameters", {{"type", "object"}}}}}}}},
      {"stream_options", {{"include_usage", true}}},
      {"user", "u-1"}};
  UpstreamRequest r;
  std::string err;
  ASSERT_EQ(ollama_chat_provider().build_request(Endpoint::chat, ollama_deployment(), body, true, r, err), Errc::ok)
      << err;
  EXPECT_EQ(r.method, "POST");
  EXPECT_EQ(r.target, "/api/chat");
  EXPECT_TRUE(r.headers.empty());  // no api_key configured: no Authorization
  json s = json::parse(r.body);
  EXPECT_EQ(s["model"], "llama3.2");
  EXPECT_EQ(s["stream"], true);
  EXPECT_EQ(s["options"],
            json({{"temperature", 0.2}, {"top_p", 0.9}, {"seed", 7}, {"stop", {"END"}}, {"num_predict", 64}}));
  EXPECT_EQ(s["format"], "json");
  EXPECT_EQ(s["tools"][0]["function"]["name"], "get_weather");
  EXPECT_FALSE(s.contains("stream_options"));
  EXPECT_FALSE(s.contains("user"));
  const json& m = s["messages"];
  ASSERT_EQ(m.size(), 4u);
  EXPECT_EQ(m[0], json({{"role", "system"}, {"content", "Be brief."}}));
  EXPECT_EQ(m[1]["content"], "What is this?");
  EXPECT_EQ(m[1]["images"], json::array({kPng}));  // base64 without the data: prefix
  EXPECT_EQ(m[2]["content"], "");
  EXPECT_EQ(m[2]["tool_calls"][0]["function"]["arguments"], json({{"city", "Paris"}}));  // object, not string
  EXPECT_EQ(m[3], json({{"role", "tool"}, {"content", "18C"}, {"tool_name", "get_weather"}}));
}

TEST(OllamaProvider, JsonSchemaToolChoiceNoneAndReasoning) {
  json body = {{"messages", {{{"role", "user"}, {"content", "hi"}}}},
               {"response_format",
                {{"type", "json_schema"}, {"json_schema", {{"name", "x"}, {"schema", {{"type", "object"}}}}}}},
               {"tools", {{{"type", "function"}, {"function", {{"name", "f"}}}}}},
               {"tool_choice", "none"},
               {"reasoning_effort", "high"},
               {"keep_alive", "10m"}};
  UpstreamRequest r;
  std::string err;
  ASSERT_EQ(ollama_chat_provider().build_request(Endpoint::chat, ollama_deployment(), body, false, r, err), Errc::ok);
  json s = json::parse(r.body);
  EXPECT_EQ(s["format"], json({{"type", "object"}}));
  EXPECT_FALSE(s.contains("tools"));
  EXPECT_EQ(s["think"], true);
  EXPECT_EQ(s["keep_alive"], "10m");
  EXPECT_EQ(s["stream"], false);
  EXPECT_FALSE(s.contains("options"));
}

TEST(OllamaProvider, RejectsWhatOllamaCannotTake) {
  std::string err;
  UpstreamRequest r;
  json remote_image = {
      {"messages",
       {{{"role", "user"},
         {"content", {{{"type", "image_url"}, {"image_url", {{"url", "https://example.com/cat.png"}}}}}}}}}};
  EXPECT_EQ(ollama_chat_provider().build_request(Endpoint::chat, ollama_deployment(), remote_image, false, r, err),
            Errc::unsupported);
  EXPECT_NE(err.find("data:"), std::string::npos);
  json n2 = {{"messages", {{{"role", "user"}, {"content", "hi"}}}}, {"n", 2}};
  EXPECT_EQ(ollama_chat_provider().build_request(Endpoint::chat, ollama_deployment(), n2, false, r, err),
            Errc::unsupported);
  json tokens = {{"input", {1, 2, 3}}};
  EXPECT_EQ(ollama_chat_provider().build_request(Endpoint::embeddings, ollama_deployment(), tokens, false, r, err),
            Errc::unsupported);
  json bad_args = {
      {"messages",
       {{{"role", "assistant"},
         {"tool_calls",
          {{{"id", "c"}, {"type", "function"}, {"function", {{"name", "f"}, {"arguments", "{not json"}}}}}}}}}};
  EXPECT_EQ(ollama_chat_provider().build_request(Endpoint::chat, ollama_deployment(), bad_args, false, r, err),
            Errc::bad_request);
}

TEST(OllamaProvider, GenerateBuildsLiteLLMsPrompt) {
  json body = {{"messages",
                {{{"role", "system"}, {"content", "Be brief."}},
                 {{"role", "user"}, {"content", "Hi"}},
                 {{"role", "user"},
                  {"content",
                   {{{"type", "text"}, {"text", " there"}},
                    {{"type", "image_url"}, {"image_url", std::string("data:image/png;base64,") + kPng}}}}},
                 {{"role", "assistant"}, {"content", "Hello!"}},
                 {{"role", "user"}, {"content", "Bye"}}}},
               {"max_tokens", 5}};
  UpstreamRequest r;
  std::string err;
  Deployment d = ollama_deployment(ProviderKind::ollama);
  d.api_key = Secret("sk-behind-proxy");
  ASSERT_EQ(ollama_generate_provider().build_request(Endpoint::chat, d, body, false, r, err), Errc::ok) << err;
  EXPECT_EQ(r.target, "/api/generate");
  ASSERT_EQ(r.headers.size(), 1u);
  EXPECT_EQ(r.headers[0], std::make_pair(std::string("Authorization"), std::string("Bearer sk-behind-proxy")));
  json s = json::parse(r.body);
  EXPECT_EQ(s["prompt"],
            "### System:\nBe brief.\n\n### User:\nHi there\n\n### Assistant:\nHello!\n\n### User:\nBye\n\n");
  EXPECT_EQ(s["images"], json::array({kPng}));
  EXPECT_EQ(s["options"]["num_predict"], 5);
  EXPECT_FALSE(s.contains("messages"));
}

TEST(OllamaProvider, CompletionsUseGenerateAndEmbeddingsUseEmbed) {
  std::string err;
  UpstreamRequest r;
  Deployment d = ollama_deployment();
  d.url.base_path = "/ollama";  // behind a reverse proxy path
  json c = {{"prompt", "def f():"}, {"suffix", "return 1"}, {"temperature", 0}};
  ASSERT_EQ(ollama_chat_provider().build_request(Endpoint::completions, d, c, true, r, err), Errc::ok);
  EXPECT_EQ(r.target, "/ollama/api/generate");
  json s = json::parse(r.body);
  EXPECT_EQ(s["prompt"], "def f():");
  EXPECT_EQ(s["suffix"], "return 1");
  EXPECT_EQ(s["stream"], true);
  UpstreamRequest e;
  json emb = {{"input", {"a", "b"}}, {"encoding_format", "base64"}, {"dimensions", 4}};
  ASSERT_EQ(ollama_generate_provider().build_request(Endpoint::embeddings, d, emb, false, e, err), Errc::ok);
  EXPECT_EQ(e.target, "/ollama/api/embed");
  EXPECT_EQ(json::parse(e.body), json({{"model", "llama3.2"}, {"input", {"a", "b"}}, {"dimensions", 4}}));
  // An api_base written with LiteLLM's /api/chat suffix is accepted.
  d.url.base_path = "/api/chat";
  json m = {{"messages", json::array()}};
  ASSERT_EQ(ollama_chat_provider().build_request(Endpoint::chat, d, m, false, r, err), Errc::ok);
  EXPECT_EQ(r.target, "/api/chat");
}

TEST(OllamaProvider, ChatResponseTranslation) {
  std::string out;
  Usage u;
  ASSERT_EQ(ollama_chat_provider().translate_response(Endpoint::chat, ollama_deployment(),
                                                      provider_fixture("ollama_chat_response.json"), out, u),
            ResponseBody::translated);
  json j = json::parse(out);
  EXPECT_EQ(j["object"], "chat.completion");
  EXPECT_EQ(j["id"].get<std::string>().rfind("chatcmpl-", 0), 0u);
  EXPECT_EQ(j["model"], "local-llama");
  EXPECT_EQ(j["choices"][0]["message"]["role"], "assistant");
  EXPECT_EQ(j["choices"][0]["message"]["content"], "The sky looks blue because air scatters short wavelengths more.");
  EXPECT_EQ(j["choices"][0]["finish_reason"], "stop");
  EXPECT_EQ(j["usage"], json({{"prompt_tokens", 26}, {"completion_tokens", 14}, {"total_tokens", 40}}));
  EXPECT_TRUE(u.present);
  EXPECT_EQ(u.total_tokens, 40);
}

TEST(OllamaProvider, ToolCallResponseTranslation) {
  std::string out;
  Usage u;
  ASSERT_EQ(ollama_chat_provider().translate_response(Endpoint::chat, ollama_deployment(),
                                                      provider_fixture("ollama_chat_tools_response.json"), out, u),
            ResponseBody::translated);
  json c = json::parse(out)["choices"][0];
  EXPECT_EQ(c["finish_reason"], "tool_calls");
  EXPECT_TRUE(c["message"]["content"].is_null());
  const json& tc = c["message"]["tool_calls"][0];
  EXPECT_EQ(tc["type"], "function");
  EXPECT_EQ(tc["id"].get<std::string>().rfind("call_", 0), 0u);
  EXPECT_EQ(tc["function"]["name"], "get_current_weather");
  EXPECT_EQ(json::parse(tc["function"]["arguments"].get<std::string>()),
            json({{"format", "celsius"}, {"location", "Paris, FR"}}));
  EXPECT_EQ(u.prompt_tokens, 122);
}

TEST(OllamaProvider, GenerateAndCompletionsResponses) {
  std::string out;
  Usage u;
  ASSERT_EQ(ollama_generate_provider().translate_response(Endpoint::chat, ollama_deployment(ProviderKind::ollama),
                                                          provider_fixture("ollama_generate_response.json"), out, u),
            ResponseBody::translated);
  json j = json::parse(out);
  EXPECT_EQ(j["choices"][0]["message"]["content"], "The sky is blue because of Rayleigh scattering.");
  EXPECT_EQ(j["choices"][0]["finish_reason"], "length");
  EXPECT_EQ(j["usage"]["completion_tokens"], 290);
  ASSERT_EQ(
      ollama_generate_provider().translate_response(Endpoint::completions, ollama_deployment(ProviderKind::ollama),
                                                    provider_fixture("ollama_generate_response.json"), out, u),
      ResponseBody::translated);
  j = json::parse(out);
  EXPECT_EQ(j["object"], "text_completion");
  EXPECT_EQ(j["choices"][0]["text"], "The sky is blue because of Rayleigh scattering.");
  EXPECT_EQ(j["choices"][0]["finish_reason"], "length");
}

TEST(OllamaProvider, EmbedResponseTranslationAndBase64) {
  std::string out;
  Usage u;
  ASSERT_EQ(ollama_chat_provider().translate_response(Endpoint::embeddings, ollama_deployment(),
                                                      provider_fixture("ollama_embed_response.json"), out, u),
            ResponseBody::translated);
  json j = json::parse(out);
  EXPECT_EQ(j["object"], "list");
  ASSERT_EQ(j["data"].size(), 2u);
  EXPECT_EQ(j["data"][1]["object"], "embedding");
  EXPECT_EQ(j["data"][1]["index"], 1);
  EXPECT_FLOAT_EQ(j["data"][1]["embedding"][1].get<float>(), 0.06042469f);
  EXPECT_EQ(j["usage"], json({{"prompt_tokens", 8}, {"total_tokens", 8}}));
  EXPECT_TRUE(u.present);
  EXPECT_EQ(u.prompt_tokens, 8);

  EXPECT_TRUE(wants_base64_embeddings(json{{"encoding_format", "base64"}}));
  EXPECT_FALSE(wants_base64_embeddings(json{{"input", "x"}}));
  std::string b = R"({"object":"list","data":[{"object":"embedding","index":0,"embedding":[1.0,-2.0]}],"model":"m"})";
  ASSERT_TRUE(embeddings_floats_to_base64(b));
  EXPECT_EQ(json::parse(b)["data"][0]["embedding"], "AACAPwAAAMA=");  // float32 LE of 1.0, -2.0
}

TEST(OllamaProvider, StreamBecomesOpenAIChunksWithUsageWhenAsked) {
  const Provider& p = ollama_chat_provider();
  EXPECT_FALSE(p.passthrough_stream());
  EXPECT_EQ(p.stream_format(Endpoint::chat), StreamFormat::ndjson);
  StreamState st;
  st.id = "chatcmpl-abc";
  st.model = "local-llama";
  st.created = 1700000000;
  st.include_usage = true;
  auto ev = sse_data(run_stream(p, Endpoint::chat, st, provider_fixture("ollama_chat_stream.ndjson")));
  ASSERT_EQ(ev.size(), 3u + 1 + 1 + 1);  // three content chunks, finish, usage, [DONE]
  std::string text;
  for (int i = 0; i < 3; ++i) {
    json j = json::parse(ev[i]);
    EXPECT_EQ(j["object"], "chat.completion.chunk");
    EXPECT_EQ(j["id"], "chatcmpl-abc");
    EXPECT_EQ(j["model"], "local-llama");
    EXPECT_EQ(j["created"], 1700000000);
    EXPECT_TRUE(j["choices"][0]["finish_reason"].is_null());
    EXPECT_EQ(j["choices"][0]["delta"].contains("role"), i == 0);
    text += j["choices"][0]["delta"]["content"].get<std::string>();
  }
  EXPECT_EQ(text, "The sky is blue.");
  json fin = json::parse(ev[3]);
  EXPECT_EQ(fin["choices"][0]["finish_reason"], "stop");
  EXPECT_EQ(fin["choices"][0]["delta"], json::object());
  json usage = json::parse(ev[4]);
  EXPECT_TRUE(usage["choices"].empty());
  EXPECT_EQ(usage["usage"], json({{"prompt_tokens", 26}, {"completion_tokens", 3}, {"total_tokens", 29}}));
  EXPECT_EQ(ev[5], "[DONE]");
  EXPECT_TRUE(st.finished);
  EXPECT_EQ(st.text, "The sky is blue.");
  EXPECT_EQ(st.usage.total_tokens, 29);
}

TEST(OllamaProvider, StreamWithoutIncludeUsageStillCountsTokens) {
  StreamState st;
  st.include_usage = false;
  auto ev = sse_data(
      run_stream(ollama_chat_provider(), Endpoint::chat, st, provider_fixture("ollama_chat_stream.ndjson")));
  ASSERT_EQ(ev.size(), 5u);
  for (auto& e : ev) EXPECT_EQ(e.find("\"usage\""), std::string::npos);
  EXPECT_TRUE(st.usage.present);
  EXPECT_EQ(st.usage.prompt_tokens, 26);
  EXPECT_FALSE(st.id.empty());  // generated when the proxy left it empty
}

TEST(OllamaProvider, ThinkingStreamsAsReasoningContent) {
  StreamState st;
  auto ev = sse_data(
      run_stream(ollama_chat_provider(), Endpoint::chat, st, provider_fixture("ollama_chat_thinking_stream.ndjson")));
  ASSERT_EQ(ev.size(), 5u);
  json first = json::parse(ev[0])["choices"][0]["delta"];
  EXPECT_EQ(first["role"], "assistant");
  EXPECT_EQ(first["reasoning_content"], "Count the r letters:");
  EXPECT_EQ(json::parse(ev[1])["choices"][0]["delta"]["reasoning_content"], " s-t-r-a-w-b-e-r-r-y has three.");
  EXPECT_EQ(json::parse(ev[2])["choices"][0]["delta"]["content"], "There are 3.");
  EXPECT_EQ(st.text, "There are 3.");
}

TEST(OllamaProvider, StreamErrorLineAndTextCompletionChunks) {
  StreamState st;
  std::string out;
  ollama_chat_provider().translate_stream_unit(Endpoint::chat, ollama_deployment(), st,
                                               R"({"error":"an error was encountered while running the model"})", out);
  EXPECT_TRUE(out.empty());
  EXPECT_NE(st.error.find("an error was encountered"), std::string::npos);

  StreamState tc;
  tc.include_usage = true;
  std::string lines =
      R"({"model":"llama3.2","created_at":"2024-01-01T00:00:00Z","response":"def","done":false})"
      "\n"
      R"({"model":"llama3.2","created_at":"2024-01-01T00:00:00Z","response":"","done":true,"done_reason":"stop","context":[1],"prompt_eval_count":4,"eval_count":1})"
      "\n";
  auto ev = sse_data(run_stream(ollama_generate_provider(), Endpoint::completions, tc, lines));
  ASSERT_EQ(ev.size(), 4u);
  json j = json::parse(ev[0]);
  EXPECT_EQ(j["object"], "text_completion");
  EXPECT_EQ(j["choices"][0]["text"], "def");
  EXPECT_EQ(json::parse(ev[1])["choices"][0]["finish_reason"], "stop");
  EXPECT_EQ(json::parse(ev[2])["usage"]["total_tokens"], 5);
  EXPECT_EQ(ev[3], "[DONE]");
}

TEST(OllamaProvider, ErrorsBecomeOpenAIErrors) {
  json e = json::parse(
      ollama_chat_provider().translate_error(404, provider_fixture("ollama_error_not_found.json")))["error"];
  EXPECT_EQ(e["code"], "model_not_found");
  EXPECT_EQ(e["type"], "invalid_request_error");
  EXPECT_NE(e["message"].get<std::string>().find("try pulling it first"), std::string::npos);
  json s = json::parse(
      ollama_chat_provider().translate_error(500, R"({"error":"llama runner process has terminated"})"))["error"];
  EXPECT_EQ(s["type"], "api_error");
}

TEST(OllamaProvider, HealthReportsWhetherTheModelIsPulled) {
  const Provider& p = ollama_chat_provider();
  auto probe = p.health_probe(ollama_deployment());
  ASSERT_TRUE(probe);
  EXPECT_EQ(probe->method, "GET");
  EXPECT_EQ(probe->target, "/api/tags");
  const std::string tags = provider_fixture("ollama_tags.json");
  std::string detail;
  for (const char* m : {"llama3.2", "llama3.2:latest", "qwen2.5:0.5b", "deepseek-r1"})
    EXPECT_TRUE(p.health_ok(ollama_deployment(ProviderKind::ollama_chat, m), 200, tags, detail)) << m;
  for (const char* m : {"qwen2.5", "mistral", "llama3.2:1b"}) {
    detail.clear();
    EXPECT_FALSE(p.health_ok(ollama_deployment(ProviderKind::ollama_chat, m), 200, tags, detail)) << m;
    EXPECT_NE(detail.find("not pulled"), std::string::npos);
    EXPECT_NE(detail.find("llama3.2:latest"), std::string::npos);  // lists what is there
  }
  EXPECT_FALSE(p.health_ok(ollama_deployment(), 500, "", detail));
}

// Both dialects against the fake Ollama upstream over loopback.
TEST(OllamaProvider, RoundTripAgainstTheFakeUpstream) {
  test::FakeUpstream up;
  for (const Provider* p : {&ollama_chat_provider(), &ollama_generate_provider()}) {
    Deployment d = ollama_deployment(p == &ollama_chat_provider() ? ProviderKind::ollama_chat : ProviderKind::ollama);
    json body = {{"messages", {{{"role", "user"}, {"content", "hi"}}}}, {"stream", true}};
    UpstreamRequest r;
    std::string err;
    ASSERT_EQ(p->build_request(Endpoint::chat, d, body, true, r, err), Errc::ok);
    auto res = test::http_call(up.port(), r.method, r.target, r.headers, r.body);
    ASSERT_EQ(res.status, 200) << res.error;
    EXPECT_EQ(res.content_type, "application/x-ndjson");
    StreamState st;
    st.include_usage = true;
    auto ev = sse_data(run_stream(*p, Endpoint::chat, st, res.body));
    EXPECT_EQ(st.text, test::FakeUpstream::stream_text(5));
    EXPECT_EQ(ev.back(), "[DONE]");
    EXPECT_TRUE(st.usage.present);

    json nb = {{"messages", {{{"role", "user"}, {"content", "hi"}}}}};
    UpstreamRequest r2;
    ASSERT_EQ(p->build_request(Endpoint::chat, d, nb, false, r2, err), Errc::ok);
    auto res2 = test::http_call(up.port(), r2.method, r2.target, r2.headers, r2.body);
    std::string out;
    Usage u;
    ASSERT_EQ(p->translate_response(Endpoint::chat, d, res2.body, out, u), ResponseBody::translated);
    EXPECT_EQ(json::parse(out)["choices"][0]["message"]["content"], test::FakeUpstream::kContent);
    EXPECT_EQ(u.prompt_tokens, test::FakeUpstream::kPromptTokens);
  }
  auto probe = ollama_chat_provider().health_probe(ollama_deployment());
  auto tags = test::http_call(up.port(), probe->method, probe->target, probe->headers);
  std::string detail;
  EXPECT_TRUE(ollama_chat_provider().health_ok(ollama_deployment(), tags.status, tags.body, detail)) << detail;
  EXPECT_FALSE(ollama_chat_provider().health_ok(ollama_deployment(ProviderKind::ollama_chat, "mistral"), tags.status,
                                                tags.body, detail));
}

// Found by tests/fuzz/ollama_stream: lines after the final one ("done": true) were translated
// too, so the client got chunks, a second usage chunk and a second [DONE] after the end.
TEST(OllamaProvider, LinesAfterTheFinalOneAreIgnored) {
  StreamState st;
  st.include_usage = true;
  const std::string stream = provider_fixture("ollama_chat_stream.ndjson");
  auto ev = sse_data(run_stream(ollama_chat_provider(), Endpoint::chat, st, stream + stream));
  ASSERT_EQ(ev.size(), 3u + 1 + 1 + 1);  // three content chunks, finish, usage, [DONE]
  EXPECT_EQ(ev.back(), "[DONE]");
  EXPECT_EQ(st.text, "The sky is blue.");
  EXPECT_EQ(st.usage.total_tokens, 29);
}

}  // namespace
}  // namespace llmgate
