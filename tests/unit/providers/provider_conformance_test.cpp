// What every registered provider must do, run over the whole registry: a new dialect gets
// these checks by adding its entry and its recorded answers to
// tests/fixtures/providers/conformance.json (a provider missing there fails).
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "llmgate/provider.hpp"
#include "llmgate/provider_registry.hpp"
#include "provider_fixtures.hpp"

namespace llmgate {

// GoogleTest prints a parameter in a test's description (ctest shows it for a skipped case): the
// provider's name, not the entry's address. Outside the unnamed namespace so ADL finds it.
void PrintTo(const ProviderEntry* e, std::ostream* os) { *os << (e ? e->name : "null"); }

namespace {

using json = nlohmann::json;
using test::provider_fixture;

constexpr const char* kApiKey = "sk-conformance-key-0123456789";
constexpr const char* kOtherSecret = "conformance-secret-token-9876";

// The deployment the loader makes for "<name>/upstream-model", with every credential set.
Config load_for(const ProviderEntry& e, bool with_base = true) {
  std::string yaml = std::string("model_list:\n  - model_name: alias\n    litellm_params:\n") +
                     "      model: " + e.name + "/upstream-model\n      api_key: " + kApiKey + "\n";
  if (with_base) yaml += "      api_base: http://127.0.0.1:9/base\n";
  for (const char* p : e.params)
    if (looks_like_credential_name(p)) yaml += std::string("      ") + p + ": " + kOtherSecret + "\n";
  return load_config_string(yaml, "conformance");
}

const json& expectations(const ProviderEntry& e) {
  static const json all = json::parse(provider_fixture("conformance.json"));
  static const json none;
  auto it = all.find(e.name);
  return it == all.end() ? none : *it;
}

class ProviderConformance : public ::testing::TestWithParam<const ProviderEntry*> {
 protected:
  void SetUp() override {
    cfg_ = load_for(entry());
    ASSERT_EQ(cfg_.deployments.size(), 1u);
  }
  const ProviderEntry& entry() const { return *GetParam(); }
  const Deployment& dep() const { return cfg_.deployments.front(); }
  const Provider& dialect() const { return entry().dialect(); }
  // Upstream-facing checks do not apply to a provider the gateway answers itself.
  bool upstream() const { return !entry().in_process; }
  Config cfg_;
};

TEST_P(ProviderConformance, EntryIsCompleteAndFoundByItsPrefix) {
  const ProviderEntry& e = entry();
  ASSERT_NE(e.name, nullptr);
  EXPECT_FALSE(std::string(e.name).empty());
  EXPECT_EQ(find_provider(e.name), &e);
  EXPECT_NE(e.dialect, nullptr);
  EXPECT_EQ(e.params.empty(), e.read_param == nullptr) << "params and read_param go together";
  EXPECT_TRUE(expectations(e).is_object()) << "add " << e.name << " to tests/fixtures/providers/conformance.json";
  EXPECT_EQ(dep().provider, ProviderKind(e));
  EXPECT_STREQ(to_string(dep().provider), e.name);
  EXPECT_EQ(dep().provider_prefix, e.name);
  EXPECT_EQ(dep().upstream_model, "upstream-model");
}

TEST_P(ProviderConformance, ApiBaseHasADefaultOrIsRequired) {
  if (!upstream()) GTEST_SKIP() << "served in-process";
  const ProviderEntry& e = entry();
  for (const char* env : {e.defaults.api_base_env, e.defaults.api_base_env2})
    if (env && std::getenv(env)) GTEST_SKIP() << env << " is set";
  if (e.defaults.api_base) {
    const Config c = load_for(e, false);
    ASSERT_EQ(c.deployments.size(), 1u);
    EXPECT_EQ(c.deployments[0].api_base, e.defaults.api_base);
    EXPECT_TRUE(parse_url(e.defaults.api_base)) << e.defaults.api_base;
  } else {
    try {
      (void)load_for(e, false);
      ADD_FAILURE() << e.name << " has no api_base default, so a deployment without one must be refused";
    } catch (const ConfigError& err) {
      EXPECT_NE(std::string(err.what()).find(std::string("required for ") + e.name + "/ deployments"),
                std::string::npos)
          << err.what();
    }
  }
}

TEST_P(ProviderConformance, DescriptionsNameTheProviderAndHideSecrets) {
  const json effective = describe_config(cfg_);
  const json& d = effective["deployments"][0];
  EXPECT_EQ(d["provider"], entry().name);
  EXPECT_EQ(d["upstream_model"], "upstream-model");
  if (upstream()) {
    EXPECT_EQ(d["api_base"], "http://127.0.0.1:9/base");
  } else {
    EXPECT_TRUE(d["api_base"].is_null());
  }
  const std::string text = effective.dump();
  EXPECT_EQ(text.find(kApiKey), std::string::npos) << text;
  EXPECT_EQ(text.find(kOtherSecret), std::string::npos) << text;
  if (entry().describe_params) {
    json p = json::object();
    entry().describe_params(dep(), p);
    EXPECT_EQ(p.dump().find(kApiKey), std::string::npos) << p.dump();
    EXPECT_EQ(p.dump().find(kOtherSecret), std::string::npos) << p.dump();
  }
}

// The client's OpenAI body: the alias is replaced, fields that would redirect the request or
// carry credentials are never sent.
TEST_P(ProviderConformance, BuildsAChatRequestFromAnOpenAIBody) {
  if (!upstream()) GTEST_SKIP() << "served in-process";
  for (bool stream : {false, true}) {
    json body = json::parse(R"({"model": "alias", "messages": [{"role": "user", "content": "hi"}],
        "api_base": "http://evil.example", "base_url": "http://evil.example", "api_key": "sk-client-evil",
        "extra_headers": {"X-Evil": "1"}, "azure_ad_token": "evil-token", "api_version": "evil-version",
        "custom_llm_provider": "evil-provider"})");
    UpstreamRequest out;
    std::string err;
    ASSERT_EQ(dialect().build_request(Endpoint::chat, dep(), body, stream, out, err), Errc::ok) << err;
    std::string all = out.method + " " + out.target + "\n" + out.body;
    for (const auto& [k, v] : out.headers) all += "\n" + k + ": " + v;
    EXPECT_EQ(all.find("evil"), std::string::npos) << all;
    EXPECT_EQ(all.find("Evil"), std::string::npos) << all;
    EXPECT_NE(all.find("upstream-model"), std::string::npos) << all;
    const json sent = json::parse(out.body, nullptr, false);
    ASSERT_TRUE(sent.is_object()) << out.body;
    if (sent.contains("model")) {
      EXPECT_EQ(sent["model"], "upstream-model");
    }
    EXPECT_EQ(out.method, "POST");
    EXPECT_EQ(out.target.rfind("/base/", 0), 0u) << out.target;
  }
}

TEST_P(ProviderConformance, TranslatesASuccessAnswerToOpenAIShape) {
  if (!upstream()) GTEST_SKIP() << "served in-process";
  const std::string body = provider_fixture(expectations(entry()).value("chat_response", ""));
  std::string out;
  Usage u;
  const ResponseBody r = dialect().translate_response(Endpoint::chat, dep(), body, out, u);
  ASSERT_NE(r, ResponseBody::invalid);
  const json j = json::parse(r == ResponseBody::translated ? out : body);
  EXPECT_EQ(j.value("object", ""), "chat.completion");
  ASSERT_TRUE(j.contains("choices") && j["choices"].is_array() && !j["choices"].empty()) << j.dump();
  EXPECT_TRUE(j["choices"][0]["message"]["content"].is_string()) << j.dump();
  EXPECT_TRUE(u.present);
  EXPECT_GT(u.total_tokens, 0);
  // Not a JSON object at all: the proxy answers 502 instead.
  EXPECT_EQ(dialect().translate_response(Endpoint::chat, dep(), "<html>bad gateway</html>", out, u),
            ResponseBody::invalid);
}

TEST_P(ProviderConformance, TranslatesAnErrorAnswerToOpenAIShape) {
  if (!upstream()) GTEST_SKIP() << "served in-process";
  const json& x = expectations(entry())["error"];
  ASSERT_TRUE(x.is_object());
  for (const std::string& body : {provider_fixture(x.value("file", "")), std::string("<html>oops</html>")}) {
    const json e = json::parse(dialect().translate_error(x.value("status", 500), body), nullptr, false);
    ASSERT_TRUE(e.is_object() && e["error"].is_object()) << e.dump();
    EXPECT_TRUE(e["error"]["message"].is_string() && !e["error"]["message"].get<std::string>().empty()) << e.dump();
    EXPECT_TRUE(e["error"]["type"].is_string()) << e.dump();
  }
}

// The stream's units as the relay hands them over: SSE data payloads, or NDJSON lines.
std::vector<std::string> stream_units(const std::string& text, StreamFormat f) {
  std::vector<std::string> units;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (f == StreamFormat::ndjson && !line.empty()) units.push_back(line);
    if (f == StreamFormat::sse && line.rfind("data: ", 0) == 0) units.push_back(line.substr(6));
  }
  return units;
}

TEST_P(ProviderConformance, TranslatesAStreamsUnits) {
  if (!upstream()) GTEST_SKIP() << "served in-process";
  if (dialect().passthrough_stream()) {
    EXPECT_EQ(dialect().stream_format(Endpoint::chat), StreamFormat::sse) << "forwarded byte for byte";
    return;
  }
  const std::string fixture = expectations(entry()).value("stream", "");
  ASSERT_FALSE(fixture.empty()) << "a translated stream needs a recorded stream in conformance.json";
  StreamState st;
  st.id = "chatcmpl-1";
  st.model = "alias";
  st.include_usage = true;
  std::string out;
  for (const std::string& unit : stream_units(provider_fixture(fixture), dialect().stream_format(Endpoint::chat)))
    dialect().translate_stream_unit(Endpoint::chat, dep(), st, unit, out);
  EXPECT_TRUE(st.error.empty()) << st.error;
  EXPECT_TRUE(st.usage.present);
  const std::vector<std::string> events = stream_units(out, StreamFormat::sse);
  ASSERT_GE(events.size(), 2u) << out;
  EXPECT_EQ(events.back(), "[DONE]") << out;
  for (std::size_t i = 0; i + 1 < events.size(); ++i) {
    const json ev = json::parse(events[i], nullptr, false);
    EXPECT_EQ(ev.value("object", ""), "chat.completion.chunk") << events[i];
  }
  // A unit that is not JSON ends the stream with an error, not with [DONE].
  StreamState bad;
  std::string bad_out;
  dialect().translate_stream_unit(Endpoint::chat, dep(), bad, "{\"cut", bad_out);
  EXPECT_FALSE(bad.error.empty());
  EXPECT_EQ(bad_out.find("[DONE]"), std::string::npos) << bad_out;
}

TEST_P(ProviderConformance, EmbeddingsAreTranslatedWhenSupported) {
  if (!upstream()) GTEST_SKIP() << "served in-process";
  const std::string fixture = expectations(entry()).value("embeddings_response", "");
  json body = json::parse(R"({"model": "alias", "input": ["one"]})");
  UpstreamRequest req;
  std::string err;
  const Errc built = dialect().build_request(Endpoint::embeddings, dep(), body, false, req, err);
  if (fixture.empty()) {
    EXPECT_NE(built, Errc::ok) << "no embeddings fixture: the dialect must refuse embeddings";
    return;
  }
  ASSERT_EQ(built, Errc::ok) << err;
  const std::string answer = provider_fixture(fixture);
  std::string out;
  Usage u;
  const ResponseBody r = dialect().translate_response(Endpoint::embeddings, dep(), answer, out, u);
  ASSERT_NE(r, ResponseBody::invalid);
  const json j = json::parse(r == ResponseBody::translated ? out : answer);
  EXPECT_EQ(j.value("object", ""), "list");
  ASSERT_TRUE(j["data"].is_array() && !j["data"].empty()) << j.dump();
  EXPECT_TRUE(j["data"][0]["embedding"].is_array()) << j.dump();
}

TEST_P(ProviderConformance, HealthProbeIsAGetOnTheUpstream) {
  if (!upstream()) GTEST_SKIP() << "served in-process";
  const auto probe = dialect().health_probe(dep());
  ASSERT_TRUE(probe);
  EXPECT_EQ(probe->method, "GET");
  EXPECT_EQ(probe->target.rfind("/base/", 0), 0u) << probe->target;
  EXPECT_TRUE(probe->body.empty());
}

// Another provider's litellm_params: a warning naming their owner, the value not applied.
TEST_P(ProviderConformance, OtherProvidersParamsAreIgnoredWithAWarning) {
  const ProviderEntry& e = entry();
  for (const ProviderEntry* other : provider_entries()) {
    if (other == &e) continue;
    for (const char* key : other->params) {
      bool own = false;
      for (const char* k : e.params) own = own || std::string(k) == key;
      if (own) continue;
      const Config c = load_config_string(std::string("model_list:\n  - model_name: alias\n    litellm_params:\n") +
                                              "      model: " + e.name + "/m\n      api_base: http://127.0.0.1:9\n" +
                                              "      " + key + ": \"42\"\n",
                                          "conformance");
      const std::string want = std::string("model_list[0].litellm_params.") + key + ": only used by " + other->name +
                               "/ deployments, ignored";
      ASSERT_EQ(c.warnings.size(), 1u) << key;
      EXPECT_EQ(c.warnings[0], want);
      const json effective = describe_config(c)["deployments"][0];
      EXPECT_EQ(effective.dump().find("\"42\""), std::string::npos) << key << ": " << effective.dump();
    }
  }
}

TEST(ProviderRegistry, NamesAreUnique) {
  std::set<std::string> names;
  for (const ProviderEntry* e : provider_entries()) EXPECT_TRUE(names.insert(e->name).second) << e->name;
  EXPECT_EQ(find_provider("no_such_provider"), nullptr);
}

std::string param_name(const ::testing::TestParamInfo<const ProviderEntry*>& info) { return info.param->name; }

INSTANTIATE_TEST_SUITE_P(Registry, ProviderConformance,
                         ::testing::ValuesIn(provider_entries().begin(), provider_entries().end()), param_name);

}  // namespace
}  // namespace llmgate
