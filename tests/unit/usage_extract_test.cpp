#include <gtest/gtest.h>

#include <string>

#include "llmgate/provider.hpp"
#include "llmgate/providers.hpp"

using llmgate::extract_usage_fast;
using llmgate::Usage;

TEST(ExtractUsageFast, ReadsTheLastUsageKeyWithDetails) {
  const std::string body =
      R"({"id":"x","choices":[{"message":{"content":"the \"usage\": {\"prompt_tokens\": 99} text"}}],)"
      R"("usage":{"prompt_tokens":12,"completion_tokens":5,"total_tokens":17,)"
      R"("prompt_tokens_details":{"cached_tokens":3},"completion_tokens_details":{"reasoning_tokens":2}}})";
  Usage u;
  ASSERT_TRUE(extract_usage_fast(body, u));
  EXPECT_EQ(u.prompt_tokens, 12);
  EXPECT_EQ(u.completion_tokens, 5);
  EXPECT_EQ(u.total_tokens, 17);
  EXPECT_EQ(u.cached_tokens, 3);
  EXPECT_EQ(u.reasoning_tokens, 2);
}

TEST(ExtractUsageFast, SkipsAUsageStringThatIsNotAKey) {
  // The last "usage" is a value, not a key: the key before it counts.
  const std::string body = R"({"usage" : {"prompt_tokens":7,"completion_tokens":1},"kind":"usage"})";
  Usage u;
  ASSERT_TRUE(extract_usage_fast(body, u));
  EXPECT_EQ(u.prompt_tokens, 7);
  EXPECT_EQ(u.completion_tokens, 1);
}

TEST(ExtractUsageFast, NoUsageOrNullUsage) {
  Usage u;
  EXPECT_FALSE(extract_usage_fast(R"({"id":"x","choices":[]})", u));
  EXPECT_FALSE(extract_usage_fast(R"({"usage":null})", u));
  EXPECT_FALSE(extract_usage_fast("", u));
  EXPECT_FALSE(extract_usage_fast(R"("usage")", u));
  EXPECT_FALSE(extract_usage_fast(R"({"usage":{"prompt_tokens":1)", u));  // cut off
  EXPECT_EQ(u.prompt_tokens, 0);
}
