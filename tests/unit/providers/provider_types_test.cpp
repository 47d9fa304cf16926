// Every dialect with fields of the wrong JSON type: each field of a rich request, and of rich
// upstream answers, replaced in turn by a value of every other type. The translation answers
// `ok` or an error and never throws. An exception there escaped the exchange: the connection
// ended with no answer and no ledger row (robustness seed 187: {"role": [...]} to ollama_chat).
// The proxy now answers such a failure with a 500 and logs it, but a client's mistake is a 400.
#include <sstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "json_variants.hpp"
#include "llmgate/providers.hpp"
#include "provider_fixtures.hpp"
#include "providers/mock.hpp"

namespace llmgate {
namespace {

using json = nlohmann::json;
using test::type_variants;

using test::provider_fixture;

Deployment deployment(ProviderKind kind) {
  Deployment d;
  d.id = "dep-0";
  d.model_name = "alias";
  d.provider = kind;
  d.provider_prefix = to_string(kind);
  d.upstream_model = "upstream-model";
  d.url.host = "127.0.0.1";
  d.url.port = "9";
  if (kind == ProviderKind::azure) {
    d.api_key = Secret("azure-key-123");
    d.api_version = "2024-10-21";
  }
  return d;
}

const ProviderKind kKinds[] = {ProviderKind::openai, ProviderKind::hosted_vllm, ProviderKind::azure,
                               ProviderKind::ollama, ProviderKind::ollama_chat};

const char* kChatBody = R"({
  "model": "alias",
  "messages": [
    {"role": "system", "content": "be brief"},
    {"role": "developer", "content": [{"type": "text", "text": "rules"}]},
    {"role": "user", "content": [{"type": "text", "text": "what is this?"},
                                 {"type": "image_url", "image_url": {"url": "data:image/png;base64,AAAA"}}]},
    {"role": "assistant", "content": null, "reasoning_content": "hm",
     "tool_calls": [{"id": "call_1", "type": "function", "function": {"name": "lookup", "arguments": "{\"q\":\"x\"}"}}]},
    {"role": "tool", "tool_call_id": "call_1", "name": "lookup", "content": "found"},
    {"role": "function", "name": "old", "content": "legacy"},
    {"role": "user", "content": "thanks"}
  ],
  "temperature": 0.2, "top_p": 1, "max_tokens": 64, "max_completion_tokens": 64, "seed": 1, "n": 1,
  "stop": ["\n\n"], "presence_penalty": 0, "frequency_penalty": 0, "user": "u-1",
  "stream": true, "stream_options": {"include_usage": true},
  "response_format": {"type": "json_schema", "json_schema": {"name": "s", "schema": {"type": "object"}}},
  "tools": [{"type": "function", "function": {"name": "lookup", "parameters": {"type": "object"}}}],
  "tool_choice": "auto", "reasoning_effort": "low", "keep_alive": "5m", "format": "json",
  "options": {"num_ctx": 4096}, "metadata": {"team": "a"}
})";
const char* kCompletionBody =
    R"({"model": "alias", "prompt": ["say hi", "again"], "max_tokens": 8, "suffix": "", "echo": false, "stream": false})";
const char* kEmbeddingBody =
    R"({"model": "alias", "input": ["one", "two"], "encoding_format": "base64", "dimensions": 8})";

TEST(ProviderTypes, WronglyTypedRequestFieldsAreAnsweredNotThrown) {
  const struct {
    Endpoint ep;
    const char* body;
  } cases[] = {
      {Endpoint::chat, kChatBody}, {Endpoint::completions, kCompletionBody}, {Endpoint::embeddings, kEmbeddingBody}};
  std::size_t calls = 0;
  for (const auto& c : cases) {
    for (const auto& [what, doc] : type_variants(json::parse(c.body))) {
      for (ProviderKind k : kKinds) {
        const Deployment d = deployment(k);
        for (bool stream : {false, true}) {
          json body = doc;
          UpstreamRequest out;
          std::string err;
          EXPECT_NO_THROW(provider_for(k).build_request(c.ep, d, body, stream, out, err))
              << to_string(k) << " " << to_string(c.ep) << " with " << what;
          ++calls;
        }
      }
      const Deployment m = deployment(ProviderKind::mock);
      EXPECT_NO_THROW({
        const MockReply r = mock_reply(m, doc, c.ep);
        (void)mock_response_body(m, r, c.ep, "id-1", 1, doc);
        for (std::size_t i = 0; i <= r.pieces.size(); ++i) (void)mock_stream_event(m, r, c.ep, "id-1", 1, i, false);
      }) << "mock "
         << to_string(c.ep) << " with " << what;
    }
  }
  EXPECT_GT(calls, 5000u);
}

TEST(ProviderTypes, AMessageRoleThatIsNotAStringIsAClientError) {
  json body = json::parse(R"({"model": "alias", "messages": [{"role": ["user"], "content": "hi"}]})");
  for (ProviderKind k : {ProviderKind::ollama, ProviderKind::ollama_chat}) {
    json b = body;
    UpstreamRequest out;
    std::string err;
    EXPECT_EQ(provider_for(k).build_request(Endpoint::chat, deployment(k), b, false, out, err), Errc::bad_request)
        << to_string(k);
    EXPECT_EQ(err, "each message's role must be a string");
  }
}

// Upstream answers: the success bodies and stream units each dialect translates.
TEST(ProviderTypes, WronglyTypedUpstreamFieldsAreContainedNotThrown) {
  struct Case {
    ProviderKind kind;
    Endpoint ep;
    std::string body;
    bool stream;
  };
  std::vector<Case> cases = {
      {ProviderKind::ollama_chat, Endpoint::chat, provider_fixture("ollama_chat_response.json"), false},
      {ProviderKind::ollama_chat, Endpoint::chat, provider_fixture("ollama_chat_tools_response.json"), false},
      {ProviderKind::ollama, Endpoint::chat, provider_fixture("ollama_generate_response.json"), false},
      {ProviderKind::ollama, Endpoint::completions, provider_fixture("ollama_generate_response.json"), false},
      {ProviderKind::ollama_chat, Endpoint::embeddings, provider_fixture("ollama_embed_response.json"), false},
      {ProviderKind::azure, Endpoint::chat, provider_fixture("azure_chat_response.json"), false},
      {ProviderKind::openai, Endpoint::chat,
       R"({"id":"c","object":"chat.completion","choices":[{"index":0,"message":{"role":"assistant","content":"hi"},
           "finish_reason":"stop"}],"usage":{"prompt_tokens":3,"completion_tokens":1,"total_tokens":4,
           "prompt_tokens_details":{"cached_tokens":1},"completion_tokens_details":{"reasoning_tokens":0}}})",
       false},
  };
  // Stream units: every line of the NDJSON fixtures, every event of the Azure SSE fixture.
  for (const char* f : {"ollama_chat_stream.ndjson", "ollama_chat_thinking_stream.ndjson"}) {
    std::istringstream in(provider_fixture(f));
    for (std::string line; std::getline(in, line);)
      if (!line.empty()) cases.push_back({ProviderKind::ollama_chat, Endpoint::chat, line, true});
  }
  {
    const std::string sse = provider_fixture("azure_chat_stream.sse");
    for (std::size_t pos = 0; (pos = sse.find("data: ", pos)) != std::string::npos;) {
      const std::size_t end = sse.find('\n', pos);
      const std::string data = sse.substr(pos + 6, end - pos - 6);
      if (data != "[DONE]") cases.push_back({ProviderKind::azure, Endpoint::chat, data, true});
      pos = end;
    }
  }
  std::size_t calls = 0;
  for (const auto& c : cases) {
    const json doc = json::parse(c.body);
    const Deployment d = deployment(c.kind);
    for (const auto& [what, v] : type_variants(doc)) {
      const std::string text = v.dump();
      if (c.stream) {
        StreamState st;
        st.include_usage = true;
        std::string out;
        EXPECT_NO_THROW(provider_for(c.kind).translate_stream_unit(c.ep, d, st, text, out))
            << to_string(c.kind) << " stream unit with " << what;
      } else {
        std::string out;
        Usage u;
        EXPECT_NO_THROW((void)provider_for(c.kind).translate_response(c.ep, d, text, out, u))
            << to_string(c.kind) << " " << to_string(c.ep) << " with " << what;
      }
      ++calls;
    }
  }
  EXPECT_GT(calls, 1000u);
  // Health probes' answers (read by the health monitor, whose loop an exception would end).
  const struct {
    ProviderKind kind;
    const char* fixture;
  } probes[] = {{ProviderKind::ollama_chat, "ollama_tags.json"}, {ProviderKind::azure, "azure_401_error.json"}};
  for (const auto& p : probes) {
    for (const auto& [what, v] : type_variants(json::parse(provider_fixture(p.fixture)))) {
      std::string detail;
      for (int status : {200, 401})
        EXPECT_NO_THROW((void)provider_for(p.kind).health_ok(deployment(p.kind), status, v.dump(), detail))
            << to_string(p.kind) << " health answer with " << what;
    }
  }
}

// Upstream errors: whatever the types inside, the client gets OpenAI's shape with a string
// message and type (SDKs read them; the ledger records them).
TEST(ProviderTypes, UpstreamErrorsKeepOpenAIsShapeWhateverTheirFieldTypes) {
  const std::string bodies[] = {
      R"({"error":{"message":"bad","type":"invalid_request_error","param":"model","code":"c1",
                   "innererror":{"code":"ResponsibleAIPolicyViolation"}}})",
      R"({"error":"model 'x' not found"})",
      R"({"detail":"nope"})",
  };
  for (const auto& b : bodies) {
    for (const auto& [what, v] : type_variants(json::parse(b))) {
      for (ProviderKind k : kKinds) {
        for (int status : {400, 404, 429, 500}) {
          std::string out;
          ASSERT_NO_THROW(out = provider_for(k).translate_error(status, v.dump())) << to_string(k) << " " << what;
          const json e = json::parse(out, nullptr, false);
          ASSERT_TRUE(e.is_object() && e.contains("error") && e["error"].is_object()) << out;
          EXPECT_TRUE(e["error"].contains("message") && e["error"]["message"].is_string())
              << to_string(k) << " " << what << " -> " << out;
          EXPECT_TRUE(e["error"].contains("type") && e["error"]["type"].is_string())
              << to_string(k) << " " << what << " -> " << out;
        }
      }
    }
  }
}

}  // namespace
}  // namespace llmgate
