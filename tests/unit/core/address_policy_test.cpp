// The upstream address policy: address classes in every spelling the resolver accepts, the
// config-file/API split, the allowlist, and the names that become part of an upstream URL.
#include <gtest/gtest.h>

#include "llmgate/address_policy.hpp"
#include "llmgate/config.hpp"

namespace llmgate {
namespace {

std::optional<AddressClass> api(std::string_view host, const UpstreamAllowlist* allow = nullptr) {
  return refused_upstream_host(host, true, allow);
}
std::optional<AddressClass> file(std::string_view host, const UpstreamAllowlist* allow = nullptr) {
  return refused_upstream_host(host, false, allow);
}

TEST(AddressPolicy, OddIpv4SpellingsAreReadAsTheResolverReadsThem) {
  const auto loop = parse_ip_literal("127.0.0.1");
  ASSERT_TRUE(loop);
  for (const char* s :
       {"127.1", "0x7f000001", "2130706433", "0177.0.0.1", "0x7f.1", "127.0.1", "0x7F.0.0.01", "::ffff:127.0.0.1",
        "::ffff:7f00:1", "::127.0.0.1", "64:ff9b::127.0.0.1", "0:0:0:0:0:ffff:7f00:0001"}) {
    auto a = parse_ip_literal(s);
    ASSERT_TRUE(a) << s;
    EXPECT_EQ(*a, *loop) << s;
    EXPECT_EQ(format_address(*a), "127.0.0.1") << s;
    EXPECT_EQ(classify_address(*a), AddressClass::loopback) << s;
  }
  EXPECT_EQ(format_address(*parse_ip_literal("0xa9fea9fe")), "169.254.169.254");
  EXPECT_EQ(format_address(*parse_ip_literal("2852039166")), "169.254.169.254");
  EXPECT_EQ(format_address(*parse_ip_literal("0251.0376.0251.0376")), "169.254.169.254");
  for (const char* name : {"localhost", "example.com", "vm", "127.0.0.1.nip.io", "0x7g000001", "", "1.2.3.4.5", "::gg"})
    EXPECT_FALSE(parse_ip_literal(name)) << name;
}

TEST(AddressPolicy, ClassesOfAddresses) {
  auto cls = [](const char* s) {
    auto a = parse_ip_literal(s);
    EXPECT_TRUE(a) << s;
    return a ? classify_address(*a) : AddressClass::global;
  };
  for (const char* s : {"169.254.169.254", "fd00:ec2::254", "100.100.100.200", "169.254.170.2", "fd20:ce::254",
                        "::ffff:169.254.169.254", "::ffff:a9fe:a9fe", "192.0.0.192"})
    EXPECT_EQ(cls(s), AddressClass::metadata) << s;
  for (const char* s : {"169.254.0.1", "169.254.255.255", "fe80::1", "febf::1", "::ffff:169.254.1.1"})
    EXPECT_EQ(cls(s), AddressClass::link_local) << s;
  for (const char* s : {"0.0.0.0", "0", "0.1.2.3", "::", "::ffff:0.0.0.0"})
    EXPECT_EQ(cls(s), AddressClass::unspecified) << s;
  for (const char* s : {"127.0.0.1", "127.255.255.254", "::1", "::ffff:127.0.0.2"})
    EXPECT_EQ(cls(s), AddressClass::loopback) << s;
  for (const char* s : {"10.0.0.1", "10.255.255.255", "172.16.0.1", "172.31.255.255", "192.168.1.1", "100.64.0.1",
                        "100.127.255.255", "fc00::1", "fd12:3456::1", "fec0::1", "::ffff:10.1.2.3"})
    EXPECT_EQ(cls(s), AddressClass::private_net) << s;
  for (const char* s : {"224.0.0.1", "239.1.1.1", "240.0.0.1", "255.255.255.255", "ff02::1"})
    EXPECT_EQ(cls(s), AddressClass::reserved) << s;
  for (const char* s : {"8.8.8.8", "1.1.1.1", "172.15.255.255", "172.32.0.0", "192.169.0.1", "100.63.255.255",
                        "100.128.0.0", "169.253.255.255", "2001:4860:4860::8888", "2606:4700::1111", "11.0.0.1"})
    EXPECT_EQ(cls(s), AddressClass::global) << s;
  // Raw resolver output: 4 and 16 bytes.
  const std::uint8_t v4[4] = {169, 254, 169, 254};
  EXPECT_EQ(classify_address(v4, 4), AddressClass::metadata);
  const std::uint8_t v6[16] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 127, 0, 0, 1};
  EXPECT_EQ(classify_address(v6, 16), AddressClass::loopback);
  const std::uint8_t loop4[4] = {127, 0, 0, 1};
  EXPECT_EQ(normalize_address(loop4, 4), normalize_address(v6, 16));
}

TEST(AddressPolicy, ApiModelsAreRefusedInternalAddressesInAnySpelling) {
  for (const char* h : {"169.254.169.254",
                        "fd00:ec2::254",
                        "127.1",
                        "0x7f000001",
                        "2130706433",
                        "0177.0.0.1",
                        "::ffff:127.0.0.1",
                        "localhost",
                        "LOCALHOST",
                        "localhost.",
                        "api.localhost",
                        "10.0.0.5",
                        "192.168.1.10",
                        "172.20.0.1",
                        "100.64.1.1",
                        "::1",
                        "fd00::1",
                        "0.0.0.0",
                        "::",
                        "fe80::1",
                        "100.100.100.200",
                        "224.0.0.1"})
    EXPECT_TRUE(api(h)) << h;
  EXPECT_EQ(api("127.1"), AddressClass::loopback);
  for (const char* h : {"api.openai.com", "8.8.8.8", "2606:4700::1111", "my-vllm.internal", "localhost.example.com"})
    EXPECT_FALSE(api(h)) << h;
}

TEST(AddressPolicy, ConfigFileModelsMayUseLoopbackAndPrivateButNotMetadata) {
  for (const char* h : {"127.0.0.1", "localhost", "127.1", "::1", "10.0.0.5", "192.168.1.10", "fd00::1", "100.64.0.1"})
    EXPECT_FALSE(file(h)) << h;
  for (const char* h : {"169.254.169.254", "fd00:ec2::254", "100.100.100.200", "fe80::1", "169.254.1.1", "0.0.0.0",
                        "::", "0", "0xa9fea9fe", "::ffff:169.254.169.254"})
    EXPECT_TRUE(file(h)) << h;
  EXPECT_EQ(file("0xa9fea9fe"), AddressClass::metadata);
  EXPECT_EQ(file("fe80::1"), AddressClass::link_local);
  EXPECT_EQ(file("0.0.0.0"), AddressClass::unspecified);
}

TEST(AddressPolicy, AllowlistEntriesExemptRangesAndNames) {
  UpstreamAllowlist l;
  for (const char* e : {"10.0.0.0/8", "fd00::/8", "169.254.169.254", "Ollama.Internal.", "127.0.0.0/8"})
    EXPECT_TRUE(add_allowlist_entry(l, e)) << e;
  for (const char* e : {"10.0.0.0/33", "fd00::/129", "10.0.0.0/", "bad host", "a/b", "http://x", "fe80::1%eth0", ""})
    EXPECT_FALSE(add_allowlist_entry(l, e)) << e;
  EXPECT_FALSE(api("10.1.2.3", &l));
  EXPECT_FALSE(api("::ffff:10.1.2.3", &l));  // mapped forms match IPv4 ranges
  EXPECT_FALSE(api("fd12::1", &l));
  EXPECT_FALSE(api("169.254.169.254", &l));
  EXPECT_FALSE(file("169.254.169.254", &l));
  EXPECT_FALSE(api("localhost", &l));  // 127.0.0.0/8 allowlisted
  EXPECT_FALSE(api("127.1", &l));
  EXPECT_TRUE(api("192.168.1.1", &l));
  EXPECT_TRUE(file("169.254.169.253", &l));  // one address, not the range
  EXPECT_TRUE(api("fe80::1", &l));
  // A host name entry allows that name whatever it resolves to.
  const auto loop = *parse_ip_literal("127.0.0.1");
  EXPECT_FALSE(refused_upstream_address(loop, "ollama.internal", true, &l));
  EXPECT_FALSE(refused_upstream_address(*parse_ip_literal("172.20.0.1"), "OLLAMA.internal", true, &l));
  EXPECT_TRUE(refused_upstream_address(*parse_ip_literal("172.20.0.1"), "other.internal", true, &l));
  // Prefix bits past the length are ignored; /0 is everything.
  UpstreamAllowlist all;
  ASSERT_TRUE(add_allowlist_entry(all, "10.9.9.9/8"));
  EXPECT_FALSE(api("10.200.0.1", &all));
  ASSERT_TRUE(add_allowlist_entry(all, "0.0.0.0/0"));
  EXPECT_FALSE(api("169.254.169.254", &all));
  EXPECT_TRUE(api("fe80::1", &all));  // IPv4 /0 is not IPv6
}

TEST(AddressPolicy, RefusalMessageNamesHostAddressClassAndTheSetting) {
  const auto a = *parse_ip_literal("0x7f000001");
  const std::string m = address_refusal_message("0x7f000001", &a, AddressClass::loopback, true);
  EXPECT_NE(m.find("0x7f000001"), std::string::npos) << m;
  EXPECT_NE(m.find("127.0.0.1"), std::string::npos) << m;
  EXPECT_NE(m.find("loopback"), std::string::npos) << m;
  EXPECT_NE(m.find("through the API"), std::string::npos) << m;
  EXPECT_NE(m.find("llmgate_settings.upstream_allowlist"), std::string::npos) << m;
  const IpBytes meta = *parse_ip_literal("169.254.169.254");
  const std::string md = address_refusal_message("169.254.169.254", &meta, AddressClass::metadata, false);
  EXPECT_NE(md.find("cloud metadata"), std::string::npos) << md;
  EXPECT_NE(md.find("no model"), std::string::npos) << md;
}

TEST(AddressPolicy, UrlNamesAndPaths) {
  for (const char* s : {"gpt-4o", "my_deploy.v2", "2024-10-21", "2024-05-01-preview", "v1", "latest", "A"})
    EXPECT_TRUE(is_url_name(s)) << s;
  for (const char* s : {"", "a#b", "#@evil/", "a@b", "a/b", "a?b", "..", "a..b", "a b", "a%2fb", "a\\b", "é"})
    EXPECT_FALSE(is_url_name(s)) << s;
  for (const char* s : {"", "/v1", "/openai", "/v1/ab-c_d.e~f", "/serving-endpoints", "/api/v1:beta", "/a.b/c"})
    EXPECT_TRUE(is_url_path(s)) << s;
  for (const char* s : {"/..", "/v1/../admin", "/./x", "/v1/.", "/a%2e%2e", "/a;b", "/a\\b", "v1", "/a'b", "/a\"b"})
    EXPECT_FALSE(is_url_path(s)) << s;
}

TEST(AddressPolicy, ConfigLoaderValidatesUrlPiecesAndReadsTheAllowlist) {
  auto load = [](const std::string& params, const std::string& extra = "") {
    return load_config_string("model_list:\n  - model_name: m\n    litellm_params:\n" + params + extra, "t.yaml");
  };
  const std::string azure = "      model: azure/my-deploy\n      api_base: https://x.openai.azure.com\n";
  EXPECT_NO_THROW(load(azure));
  for (const char* bad :
       {"azure/#@evil/", "azure/a@b", "azure/a/b", "azure/a?b", "azure/..", "azure/a..b", "azure/a#b"}) {
    try {
      load(std::string("      model: \"") + bad + "\"\n      api_base: https://x.openai.azure.com\n");
      ADD_FAILURE() << bad << " accepted";
    } catch (const ConfigError& e) {
      EXPECT_NE(std::string(e.what()).find("litellm_params.model"), std::string::npos) << e.what();
    }
  }
  EXPECT_THROW(load(azure + "      api_version: \"2024-10-21#x\"\n"), ConfigError);
  EXPECT_THROW(load(azure + "      api_version: \"../x\"\n"), ConfigError);
  EXPECT_THROW(load("      model: openai/x\n      api_base: http://127.0.0.1/v1/../admin\n"), ConfigError);
  EXPECT_THROW(load("      model: openai/x\n      api_base: http://127.0.0.1/v1%2f\n"), ConfigError);

  Config c = load("      model: openai/x\n      api_base: http://10.0.0.1/v1\n",
                  "llmgate_settings:\n  upstream_allowlist: [10.0.0.0/8, \"ollama.lan\", \"fd00::/8\"]\n");
  ASSERT_TRUE(c.server.upstream_allowlist);
  ASSERT_EQ(c.deployments.size(), 1u);
  EXPECT_EQ(c.deployments[0].upstream_allowlist, c.server.upstream_allowlist);
  EXPECT_FALSE(c.deployments[0].from_api);
  EXPECT_EQ(c.server.upstream_allowlist->nets.size(), 2u);
  EXPECT_TRUE(c.server.upstream_allowlist->allows_host("ollama.lan"));
  EXPECT_THROW(load("      model: mock/x\n", "llmgate_settings:\n  upstream_allowlist: [\"10.0.0.0/40\"]\n"),
               ConfigError);
  EXPECT_THROW(load("      model: mock/x\n", "llmgate_settings:\n  upstream_allowlist: 10.0.0.0/8\n"), ConfigError);
}

}  // namespace
}  // namespace llmgate
