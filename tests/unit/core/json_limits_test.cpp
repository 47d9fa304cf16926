// The nesting bound every document built from outside input goes through (json_limits.hpp).
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <chrono>
#include <random>
#include <string>

#include "llmgate/json_limits.hpp"

using llmgate::json_depth_within;
using llmgate::kMaxJsonDepth;
using llmgate::parse_json_bounded;

namespace {

std::string arrays(std::size_t n) { return std::string(n, '[') + std::string(n, ']'); }

std::string objects(std::size_t n) {
  std::string s;
  for (std::size_t i = 0; i < n; ++i) s += R"({"k":)";
  s += "1";
  return s + std::string(n, '}');
}

// The same count, byte by byte: what the fast path must agree with.
bool reference_within(const std::string& t, std::size_t max) {
  std::size_t depth = 0;
  bool in_string = false;
  for (std::size_t i = 0; i < t.size(); ++i) {
    const char c = t[i];
    if (in_string) {
      if (c == '\\') ++i;
      else if (c == '"') in_string = false;
    } else if (c == '"') {
      in_string = true;
    } else if (c == '[' || c == '{') {
      if (++depth > max) return false;
    } else if ((c == ']' || c == '}') && depth > 0) {
      --depth;
    }
  }
  return true;
}

}  // namespace

TEST(JsonLimits, CountsArraysAndObjectsTogether) {
  EXPECT_TRUE(json_depth_within("", 0));
  EXPECT_TRUE(json_depth_within("1", 0));
  EXPECT_FALSE(json_depth_within("[]", 0));
  EXPECT_TRUE(json_depth_within("[]", 1));
  EXPECT_TRUE(json_depth_within("[[],[],{}]", 2));
  EXPECT_FALSE(json_depth_within(R"({"a":[{"b":1}]})", 2));
  EXPECT_TRUE(json_depth_within(R"({"a":[{"b":1}]})", 3));
  EXPECT_TRUE(json_depth_within(arrays(kMaxJsonDepth)));
  EXPECT_FALSE(json_depth_within(arrays(kMaxJsonDepth + 1)));
  EXPECT_TRUE(json_depth_within(objects(kMaxJsonDepth)));
  EXPECT_FALSE(json_depth_within(objects(kMaxJsonDepth + 1)));
  // Unclosed or unbalanced text counts what it opens.
  EXPECT_FALSE(json_depth_within(std::string(kMaxJsonDepth + 1, '[')));
  EXPECT_TRUE(json_depth_within("]]]]][]", 1));
  // Many brackets, little depth: more openers than the limit, counted past one 4 KiB batch.
  std::string siblings = "[";
  for (int i = 0; i < 3000; ++i) siblings += R"([{"a":1}],)";
  siblings += "[]]";
  EXPECT_TRUE(json_depth_within(siblings));
  EXPECT_FALSE(json_depth_within(siblings, 2));
  EXPECT_FALSE(json_depth_within("[" + arrays(kMaxJsonDepth) + "," + siblings.substr(1)));
}

TEST(JsonLimits, BracketsInsideStringsDoNotCount) {
  EXPECT_TRUE(json_depth_within(R"(["[[[[{{{{"])", 1));
  EXPECT_TRUE(json_depth_within(R"(["\"[[[[", "\\", "]]]]"])", 1));
  EXPECT_FALSE(json_depth_within(R"(["\\"[[])", 2));  // the string ends after the escaped backslash
  EXPECT_TRUE(json_depth_within(R"(["abc\)", 1));     // cut inside an escape
  EXPECT_TRUE(json_depth_within(R"(["unterminated [[[[)", 1));
  // Long strings, where 16 bytes are skipped at a time.
  const std::string text(40, 'x');
  EXPECT_TRUE(json_depth_within("[\"" + text + "[[[" + text + "\\\"" + text + "{{{\"]", 1));
  EXPECT_FALSE(json_depth_within("[\"" + text + "\\\\\"" + text + "[]]", 1));
  EXPECT_TRUE(json_depth_within("[\"" + std::string(100'000, '[') + "\"]"));
  EXPECT_TRUE(json_depth_within("{\"a\":\"" + std::string(100'000, '{') + "\"}", 1));
}

TEST(JsonLimits, AgreesWithAByteByByteCountOnRandomText) {
  // Short alphabets make every state change land at every offset of a 16-byte block.
  const std::string alphabet = R"([]{}"\ax[]{}"\)";
  std::mt19937 rng(26);
  for (int i = 0; i < 20000; ++i) {
    std::string t(rng() % 80, ' ');
    for (char& c : t) c = alphabet[rng() % alphabet.size()];
    const std::size_t max = rng() % 6;
    ASSERT_EQ(json_depth_within(t, max), reference_within(t, max)) << t << " max " << max;
  }
  // Long texts with limits around their number of opening brackets.
  for (int i = 0; i < 300; ++i) {
    std::string t(rng() % 9000, ' ');
    for (char& c : t) c = alphabet[rng() % alphabet.size()];
    const std::size_t max = rng() % (t.size() / 2 + 1);
    ASSERT_EQ(json_depth_within(t, max), reference_within(t, max)) << "length " << t.size() << " max " << max;
  }
}

TEST(JsonLimits, BoundedParseRefusesDeepDocumentsOnly) {
  bool deep = true;
  auto j = parse_json_bounded(R"({"a":[1,{"b":"[[["}]})", &deep);
  EXPECT_FALSE(deep);
  ASSERT_TRUE(j.is_object());
  EXPECT_EQ(j["a"][1]["b"], "[[[");

  j = parse_json_bounded("{not json", &deep);
  EXPECT_TRUE(j.is_discarded());
  EXPECT_FALSE(deep);

  j = parse_json_bounded(arrays(kMaxJsonDepth), &deep);
  EXPECT_FALSE(deep);
  EXPECT_TRUE(j.is_array());
  // What the bound is for: a document at the limit dumps and copies (recursively) on any stack.
  EXPECT_EQ(j.dump(), arrays(kMaxJsonDepth));
  nlohmann::json copy = j;
  EXPECT_EQ(copy, j);

  for (std::size_t n : {kMaxJsonDepth + 1, std::size_t{100'000}, std::size_t{1'000'000}}) {
    const auto t0 = std::chrono::steady_clock::now();
    j = parse_json_bounded(R"({"messages":)" + arrays(n) + "}", &deep);
    EXPECT_TRUE(deep) << n;
    EXPECT_TRUE(j.is_discarded()) << n;
    EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::seconds(1)) << n;
  }
}
