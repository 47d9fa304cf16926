// The upstream address policy against the real daemon: /model/new and /model/update refuse
// internal api_bases in every spelling (400), the connect-time check refuses what a host name
// resolves to (502, with its ledger row), config-file models keep loopback, and the allowlist
// opens what it lists.
#include <gtest/gtest.h>
#include <netdb.h>
#include <unistd.h>

#include <SQLiteCpp/SQLiteCpp.h>
#include <nlohmann/json.hpp>

#include <chrono>
#include <thread>

#include "fake_upstream.hpp"
#include "harness.hpp"
#include "llmgate/address_policy.hpp"

namespace llmgate::test {
namespace {

using json = nlohmann::json;
using namespace std::chrono;

std::string config(const FakeUpstream& up, const std::string& llmgate_extra = "", const std::string& models = "") {
  return R"(model_list:
  - model_name: gpt-test
    litellm_params:
      model: openai/gpt-4o-mini
      api_base: )" +
         up.base_url() + "\n" + models + R"(
general_settings:
  master_key: )" +
         kMasterKey + R"(
  database_url: "sqlite:///ledger.db"
  proxy_batch_write_at: 0.05
  background_health_checks: false
  store_model_in_db: true
litellm_settings:
  request_timeout: 5
  num_retries: 0
llmgate_settings:
  drain_seconds: 0.1
  connect_timeout_seconds: 2
)" + llmgate_extra;
}

RawResponse post(Daemon& gw, const std::string& path, const json& body) {
  return request(gw.port(), "POST", path, body.dump(), {auth_header()});
}

json new_model(const std::string& id, const std::string& model, const std::string& api_base) {
  return {{"model_name", id},
          {"litellm_params", {{"model", model}, {"api_base", api_base}, {"api_key", "sk-x"}}},
          {"model_info", {{"id", id}}}};
}

void expect_refused_400(const RawResponse& r, const std::string& what, const std::string& param) {
  EXPECT_EQ(r.status, 400) << what << ": " << r.body;
  const json j = json::parse(r.body, nullptr, false);
  ASSERT_TRUE(j.is_object()) << r.body;
  EXPECT_EQ(j["error"]["type"], "invalid_request_error") << what;
  if (!param.empty()) {
    EXPECT_EQ(j["error"]["param"], param) << what << ": " << r.body;
    EXPECT_NE(j["error"]["message"].get<std::string>().find("upstream_allowlist"), std::string::npos) << r.body;
  }
  EXPECT_NE(j["error"]["message"].get<std::string>().find(param.empty() ? "litellm_params" : param), std::string::npos)
      << r.body;
}

// Each spelling of an internal address that the API must refuse.
const std::vector<std::string> kBadBases = {
    "http://169.254.169.254/v1", "http://[fd00:ec2::254]/v1",    "http://127.1/v1",          "http://0x7f000001/v1",
    "http://2130706433/v1",      "http://[::ffff:127.0.0.1]/v1", "http://localhost:8000/v1", "http://0177.0.0.1/v1",
    "http://0.0.0.0:8000/v1",    "http://[fe80::1]/v1",          "http://[::1]:8000/v1",     "http://10.1.2.3/v1",
    "http://192.168.0.10/v1",    "http://100.100.100.200/v1",    "http://LocalHost./v1",     "https://api.localhost/v1",
    "http://0xa9fea9fe/latest"};

TEST(UpstreamPolicy, ModelNewAndUpdateRefuseInternalApiBases) {
  FakeUpstream up;
  Daemon gw(config(up));
  for (const std::string& base : kBadBases)
    expect_refused_400(post(gw, "/model/new", new_model("bad", "openai/x", base)), base, "litellm_params.api_base");
  // A host name is not resolved at creation (its addresses are checked at connect time).
  ASSERT_EQ(post(gw, "/model/new", new_model("named", "openai/x", "https://llm.example.com/v1")).status, 200);
  for (const std::string& base : kBadBases) {
    const json upd = {{"model_info", {{"id", "named"}}}, {"litellm_params", {{"api_base", base}}}};
    expect_refused_400(post(gw, "/model/update", upd), base, "litellm_params.api_base");
  }
  auto info = json::parse(request(gw.port(), "GET", "/model/info?litellm_model_id=named", "", {auth_header()}).body,
                          nullptr, false);
  EXPECT_EQ(info["data"][0]["litellm_params"]["api_base"], "https://llm.example.com/v1");
  EXPECT_EQ(json::parse(request(gw.port(), "GET", "/model/info", "", {auth_header()}).body)["data"].size(), 2u);

  // Names that become part of the upstream URL.
  for (const char* name :
       {"azure/#@evil/", "azure/a#b", "azure/a@b", "azure/a/b", "azure/a?b", "azure/..", "azure/a..b"})
    expect_refused_400(post(gw, "/model/new", new_model("az", name, "https://x.openai.azure.com")), name, "");
  json az = new_model("az", "azure/my-deploy", "https://x.openai.azure.com");
  az["litellm_params"]["api_version"] = "2024-10-21&x=1#";
  expect_refused_400(post(gw, "/model/new", az), "api_version", "");
  az["litellm_params"]["api_version"] = "2024-10-21";
  EXPECT_EQ(post(gw, "/model/new", az).status, 200);
  expect_refused_400(post(gw, "/model/new", new_model("p", "openai/x", "https://llm.example.com/v1/../admin")), "path",
                     "");

  // The config-file model on 127.0.0.1 still serves.
  EXPECT_EQ(request(gw.port(), "POST", "/v1/chat/completions", chat_body("gpt-test"), {auth_header()}).status, 200);
}

TEST(UpstreamPolicy, AllowlistedPrivateAddressIsAcceptedAndServes) {
  FakeUpstream up;
  Daemon gw(config(up, "  upstream_allowlist: [127.0.0.0/8]\n"));
  ASSERT_EQ(post(gw, "/model/new", new_model("runtime", "openai/x", up.base_url())).status, 200);
  const std::string spelled = "http://127.1:" + up.base_url().substr(up.base_url().rfind(':') + 1);
  EXPECT_EQ(post(gw, "/model/new", new_model("runtime2", "openai/x", spelled)).status, 200);
  EXPECT_EQ(request(gw.port(), "POST", "/v1/chat/completions", chat_body("runtime"), {auth_header()}).status, 200);
  EXPECT_EQ(request(gw.port(), "POST", "/v1/chat/completions", chat_body("runtime2"), {auth_header()}).status, 200);
  // Not allowlisted: still refused.
  expect_refused_400(post(gw, "/model/new", new_model("meta", "openai/x", "http://169.254.169.254/v1")), "metadata",
                     "litellm_params.api_base");
}

// A host name (not an address) that the system resolver maps to an address an API model may not
// use: this machine's own name, from /etc/hosts (127.0.x.1, or a private container address).
std::string internal_host_name() {
  char name[256] = {};
  if (::gethostname(name, sizeof name - 1) != 0 || !*name) return {};
  if (parse_ip_literal(name)) return {};
  addrinfo hints{};
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* res = nullptr;
  if (::getaddrinfo(name, "80", &hints, &res) != 0 || !res) return {};
  bool all_internal = true;
  for (addrinfo* a = res; a; a = a->ai_next) {
    IpBytes n{};
    if (a->ai_family == AF_INET)
      n = normalize_address(
          reinterpret_cast<const std::uint8_t*>(&reinterpret_cast<sockaddr_in*>(a->ai_addr)->sin_addr), 4);
    else if (a->ai_family == AF_INET6)
      n = normalize_address(
          reinterpret_cast<const std::uint8_t*>(&reinterpret_cast<sockaddr_in6*>(a->ai_addr)->sin6_addr), 16);
    all_internal = all_internal && refused_upstream_address(n, name, true, nullptr).has_value();
  }
  ::freeaddrinfo(res);
  return all_internal ? name : std::string{};
}

int ledger_rows_with(const std::string& db, int status, const std::string& needle) {
  const auto deadline = steady_clock::now() + seconds(10);
  while (steady_clock::now() < deadline) {
    try {
      SQLite::Database d(db, SQLite::OPEN_READONLY);
      SQLite::Statement q(d, "SELECT count(*) FROM spend_logs WHERE status_code = ? AND error_message LIKE ?");
      q.bind(1, status);
      q.bind(2, "%" + needle + "%");
      if (q.executeStep() && q.getColumn(0).getInt() > 0) return q.getColumn(0).getInt();
    } catch (const std::exception&) {
    }
    std::this_thread::sleep_for(milliseconds(20));
  }
  return 0;
}

TEST(UpstreamPolicy, ApiModelWhoseNameResolvesToAnInternalAddressIsRefusedAtConnect) {
  const std::string host = internal_host_name();
  if (host.empty()) GTEST_SKIP() << "this machine's name does not resolve to an internal address";
  FakeUpstream up;
  Daemon gw(config(up));
  const std::string port = up.base_url().substr(up.base_url().rfind(':') + 1);  // "<port>/v1"
  ASSERT_EQ(post(gw, "/model/new", new_model("rebound", "openai/x", "http://" + host + ":" + port)).status, 200);
  const int before = up.requests();
  for (bool stream : {false, true}) {
    auto r = request(gw.port(), "POST", "/v1/chat/completions", chat_body("rebound", stream), {auth_header()});
    EXPECT_EQ(r.status, 502) << r.body;
    EXPECT_NE(r.body.find("upstream_allowlist"), std::string::npos) << r.body;
    EXPECT_NE(r.body.find(host), std::string::npos) << r.body;
    EXPECT_EQ(r.body.find("sk-x"), std::string::npos) << r.body;
  }
  EXPECT_EQ(up.requests(), before);  // never connected
  EXPECT_EQ(ledger_rows_with(gw.dir() + "/ledger.db", 502, "upstream_allowlist"), 2);
  // The config-file model on the same upstream is unaffected.
  EXPECT_EQ(request(gw.port(), "POST", "/v1/chat/completions", chat_body("gpt-test"), {auth_header()}).status, 200);
}

TEST(UpstreamPolicy, UnspecifiedAddressIsRefusedForConfigFileModelsUnlessAllowlisted) {
  // Connecting to 0.0.0.0 reaches this host on Linux: a config-file model there is refused too.
  FakeUpstream up;
  const std::string port = up.base_url().substr(up.base_url().rfind(':') + 1);
  const std::string models =
      "  - model_name: zero\n    litellm_params:\n      model: openai/x\n      api_base: http://0.0.0.0:" + port + "\n";
  {
    Daemon gw(config(up, "", models));
    auto r = request(gw.port(), "POST", "/v1/chat/completions", chat_body("zero"), {auth_header()});
    EXPECT_EQ(r.status, 502) << r.body;
    EXPECT_NE(r.body.find("unspecified"), std::string::npos) << r.body;
    EXPECT_EQ(request(gw.port(), "POST", "/v1/chat/completions", chat_body("gpt-test"), {auth_header()}).status, 200);
  }
  Daemon gw(config(up, "  upstream_allowlist: [0.0.0.0/32]\n", models));
  auto r = request(gw.port(), "POST", "/v1/chat/completions", chat_body("zero"), {auth_header()});
  EXPECT_EQ(r.status, 200) << r.body;
}

}  // namespace
}  // namespace llmgate::test
