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

using llmgate::read_openai_response;
using llmgate::ResponseBody;

TEST(ReadOpenAIResponse, ReadsUsageFromAnObject) {
  Usage u;
  EXPECT_EQ(
      read_openai_response(
          R"({"id":"x","choices":[{"message":{"content":"\"usage\":{\"prompt_tokens\":99}"}}],)"
          R"("usage":{"prompt_tokens":12,"completion_tokens":5,"total_tokens":17,"prompt_tokens_details":{"cached_tokens":3}}})",
          u),
      ResponseBody::forward);
  EXPECT_TRUE(u.present);
  EXPECT_EQ(u.prompt_tokens, 12);
  EXPECT_EQ(u.total_tokens, 17);
  EXPECT_EQ(u.cached_tokens, 3);
  Usage none;
  EXPECT_EQ(read_openai_response(R"({"data":[{"embedding":[0.1,-2e-3]}],"usage":null})", none), ResponseBody::forward);
  EXPECT_FALSE(none.present);
  Usage spaced;
  EXPECT_EQ(read_openai_response(" \n{\"usage\" : {\"prompt_tokens\":4,\"completion_tokens\":1}}\r\n", spaced),
            ResponseBody::forward);
  EXPECT_EQ(spaced.total_tokens, 5);
}

TEST(ReadOpenAIResponse, AnythingButAJsonObjectIsInvalid) {
  for (const char* body : {"", "  ", "<html><body>502 Bad Gateway</body></html>", "[1,2]", "\"ok\"", "null",
                           R"({"id":"x","choices":[)", R"({"id":"x"} trailing)",
                           // Object-shaped without a usage object: parsed, so checked whole.
                           "{\"id\":\"\xff\"}", R"({"n":1e999})", R"({"a":1,,"b":{}})"}) {
    Usage u;
    EXPECT_EQ(read_openai_response(body, u), ResponseBody::invalid) << body;
    EXPECT_FALSE(u.present) << body;
  }
}

TEST(ReadOpenAIResponse, AnObjectWithUsageIsNotCheckedByteByByte) {
  // The documented limit: the shape and the usage object are checked, not every byte before it.
  Usage u;
  EXPECT_EQ(read_openai_response(R"({"id":"x",,"choices":[],"usage":{"prompt_tokens":2,"completion_tokens":1}})", u),
            ResponseBody::forward);
  EXPECT_EQ(u.total_tokens, 3);
}

TEST(ReadOpenAIResponse, AbsurdTokenCountsReadAsZero) {
  Usage u;
  ASSERT_EQ(read_openai_response(
                R"({"usage":{"prompt_tokens":-5,"completion_tokens":1e300,"total_tokens":99999999999999999999}})", u),
            ResponseBody::forward);
  EXPECT_EQ(u.prompt_tokens, 0);
  EXPECT_EQ(u.completion_tokens, 0);
  EXPECT_EQ(u.total_tokens, 0);
  Usage v;
  ASSERT_EQ(read_openai_response(R"({"usage":{"prompt_tokens":3,"completion_tokens":2.0,"total_tokens":-1}})", v),
            ResponseBody::forward);
  EXPECT_EQ(v.prompt_tokens, 3);
  EXPECT_EQ(v.completion_tokens, 2);
  EXPECT_EQ(v.total_tokens, 5);  // the sum when the reported total is unusable
}
