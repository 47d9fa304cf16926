// constant_time_equals, hash_key, presented_key.
#include <gtest/gtest.h>

#include <string>
#include <thread>
#include <vector>

#include "llmgate/auth.hpp"

namespace llmgate {
namespace {

HttpRequest with_headers(std::vector<std::pair<std::string, std::string>> h) {
  HttpRequest r;
  r.method = "POST";
  r.path = "/v1/chat/completions";
  r.headers = std::move(h);
  return r;
}

TEST(ConstantTimeEquals, ComparesContentAndLength) {
  EXPECT_TRUE(constant_time_equals("sk-1234", "sk-1234"));
  EXPECT_TRUE(constant_time_equals("", ""));
  EXPECT_FALSE(constant_time_equals("sk-1234", "sk-1235"));
  EXPECT_FALSE(constant_time_equals("sk-1234", "sk-123"));
  EXPECT_FALSE(constant_time_equals("sk-123", "sk-1234"));
  EXPECT_FALSE(constant_time_equals("", "x"));
  EXPECT_FALSE(constant_time_equals("Xk-1234", "sk-1234"));  // first byte differs
}

TEST(HashKey, IsSha256Hex) {
  // FIPS 180-2 test vectors.
  EXPECT_EQ(hash_key("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(hash_key(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  const std::string h = hash_key("sk-some-virtual-key");
  EXPECT_EQ(h.size(), 64u);
  EXPECT_EQ(h.find("sk-"), std::string::npos);
  EXPECT_NE(hash_key("sk-a"), hash_key("sk-b"));
}

TEST(HashKey, ReusedContextsGiveTheSameDigestOnEveryThread) {
  // Each thread keeps one digest context (auth_util.cpp): a longer input (several SHA-256
  // blocks) between two short ones must not leave state behind, on any thread.
  const std::string long_key(1000, 'k');
  const std::string abc = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";
  const std::string long_hash = hash_key(long_key);
  std::vector<std::thread> threads;
  std::vector<int> ok(4, 0);
  for (int t = 0; t < 4; ++t)
    threads.emplace_back([&, t] {
      bool all = true;
      for (int i = 0; i < 200; ++i) {
        all = all && hash_key("abc") == abc;
        all = all && hash_key(long_key) == long_hash;
      }
      ok[static_cast<std::size_t>(t)] = all ? 1 : 0;
    });
  for (auto& th : threads) th.join();
  for (int v : ok) EXPECT_EQ(v, 1);
  EXPECT_EQ(hash_key("abc"), abc);
}

TEST(PresentedKey, BearerSchemeIsCaseInsensitive) {
  EXPECT_EQ(presented_key(with_headers({{"authorization", "Bearer sk-abc"}})), "sk-abc");
  EXPECT_EQ(presented_key(with_headers({{"authorization", "bearer sk-abc"}})), "sk-abc");
  EXPECT_EQ(presented_key(with_headers({{"authorization", "BEARER   sk-abc  "}})), "sk-abc");
}

TEST(PresentedKey, FallsBackToApiKeyThenXApiKey) {
  EXPECT_EQ(presented_key(with_headers({{"api-key", "azure-style"}})), "azure-style");
  EXPECT_EQ(presented_key(with_headers({{"x-api-key", "anthropic-style"}})), "anthropic-style");
  EXPECT_EQ(presented_key(with_headers({{"x-api-key", "second"}, {"api-key", "first"}})), "first");
  // Authorization wins over the others.
  EXPECT_EQ(presented_key(with_headers({{"api-key", "b"}, {"authorization", "Bearer a"}})), "a");
}

TEST(PresentedKey, IgnoresOtherSchemesAndEmptyValues) {
  EXPECT_EQ(presented_key(with_headers({})), "");
  EXPECT_EQ(presented_key(with_headers({{"authorization", "Basic dXNlcjpwYXNz"}})), "");
  EXPECT_EQ(presented_key(with_headers({{"authorization", "Bearer "}})), "");
  EXPECT_EQ(presented_key(with_headers({{"authorization", "Bearersk-abc"}})), "");
  EXPECT_EQ(presented_key(with_headers({{"authorization", "Basic xyz"}, {"api-key", "k"}})), "k");
  // A bare key is not a Bearer token; api-key and x-api-key values are taken as they are.
  EXPECT_EQ(presented_key(with_headers({{"authorization", "sk-abc"}})), "");
  EXPECT_EQ(presented_key(with_headers({{"api-key", "Bearer sk-abc"}})), "Bearer sk-abc");
  EXPECT_EQ(presented_key(with_headers({{"authorization", "\tBearer\tsk-abc"}})), "sk-abc");
}

}  // namespace
}  // namespace llmgate
