// The validating scan must accept exactly what nlohmann::json::parse accepts (the proxy answers
// 400 from it without building a document) and report the same top-level members.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <random>
#include <string>
#include <vector>

#include "llmgate/json_scan.hpp"

using llmgate::JsonObjectScan;
using R = JsonObjectScan::Result;

namespace {

// Checks the scan against the parser on one input; returns the scan's result.
R check(const std::string& text) {
  JsonObjectScan s;
  const R r = s.scan(text);
  const auto j = nlohmann::json::parse(text, nullptr, false);
  SCOPED_TRACE(text);
  switch (r) {
    case R::invalid: EXPECT_TRUE(j.is_discarded()); break;
    case R::not_object:
      EXPECT_FALSE(j.is_discarded());
      EXPECT_FALSE(j.is_object());
      break;
    case R::unsupported: break;                                               // the caller parses: nothing to compare
    case R::too_deep: EXPECT_FALSE(llmgate::json_depth_within(text)); break;  // refused, never parsed
    case R::object: {
      EXPECT_FALSE(j.is_discarded());
      if (j.is_discarded()) break;
      EXPECT_TRUE(j.is_object());
      EXPECT_EQ(s.size(), j.size());
      for (const auto& m : s) {
        auto it = j.find(std::string(m.key));
        EXPECT_NE(it, j.end()) << m.key;
        if (it == j.end()) continue;
        EXPECT_EQ(nlohmann::json::parse(m.value), *it) << m.key;
      }
      break;
    }
  }
  return r;
}

const char* kChat =
    R"({"model":"gpt-4o","messages":[{"role":"system","content":"Be brief. \"Quotes\", \\ and \u00e9 \ud83d\ude00"},)"
    R"({"role":"user","content":"héllo – 日本語 😀"}],"temperature":0.2,"max_tokens":256,"top_p":1e0,)"
    R"("stream":true,"stream_options":{"include_usage":true},"user":"u-1","metadata":{"a":[1,-2.5,3E+2,null,false]}})";

}  // namespace

TEST(JsonScan, ReadsTheTopLevelMembersOfAChatBody) {
  JsonObjectScan s;
  ASSERT_EQ(s.scan(kChat), R::object);
  check(kChat);
  ASSERT_NE(s.find("model"), nullptr);
  EXPECT_EQ(s.find("model")->value, "\"gpt-4o\"");
  EXPECT_EQ(s.find("stream")->value, "true");
  EXPECT_EQ(s.find("stream_options")->value, R"({"include_usage":true})");
  EXPECT_EQ(s.find("absent"), nullptr);
  EXPECT_EQ(*llmgate::json_string_value(s.find("user")->value), "u-1");
  EXPECT_EQ(*llmgate::json_bool_value(s.find("stream")->value), true);
  EXPECT_FALSE(llmgate::json_bool_value(s.find("user")->value).has_value());
  EXPECT_FALSE(llmgate::json_string_value(s.find("stream")->value).has_value());
  EXPECT_EQ(*llmgate::json_string_value(R"("a\"b\u00e9")"), "a\"b\xc3\xa9");
}

TEST(JsonScan, AgreesWithTheParserOnEdgeCases) {
  const std::vector<std::string> cases = {
      "",
      " ",
      "{",
      "}",
      "{}",
      " { } ",
      "[]",
      "1",
      "\"s\"",
      "null",
      "true",
      "nul",
      "{} x",
      "{}{}",
      R"({"a":1,})",
      R"({"a":1 "b":2})",
      R"({"a"})",
      R"({"a":})",
      R"({a:1})",
      R"({"a":1}})",
      R"({"a":[1,]})",
      R"({"a":[1 2]})",
      R"({"a":[[[]]]})",
      R"({"a":{"b":{"c":{}}}})",
      R"({"a":01})",
      R"({"a":-})",
      R"({"a":-0})",
      R"({"a":1.})",
      R"({"a":.5})",
      R"({"a":1e})",
      R"({"a":1e+})",
      R"({"a":1e5})",
      R"({"a":1e999})",
      R"({"a":-1e999})",
      R"({"a":1e-999})",
      R"({"a":+1})",
      R"({"a":0x10})",
      R"({"a":1.5E-3})",
      R"({"a":tru})",
      R"({"a":truex})",
      R"({"a":nulll})",
      R"({"a":"\x"})",
      R"({"a":"\u12"})",
      R"({"a":"\u12g4"})",
      R"({"a":"\ud800"})",
      R"({"a":"\udc00"})",
      R"({"a":"\ud800\u0041"})",
      R"({"a":"\ud800\udc00"})",
      R"({"a":"\u0000"})",
      "{\"a\":\"\t\"}",
      "{\"a\":\"\x01\"}",
      "{\"a\":\"\x7f\"}",
      "{\"a\":\"\xc3\xa9\"}",
      "{\"a\":\"\xc3\"}",
      "{\"a\":\"\xc0\xaf\"}",
      "{\"a\":\"\xe0\x80\xaf\"}",
      "{\"a\":\"\xed\xa0\x80\"}",
      "{\"a\":\"\xf4\x90\x80\x80\"}",
      "{\"a\":\"\xf0\x9f\x98\x80\"}",
      "{\"a\":\"\xff\"}",
      "{\"a\":\"\x80\"}",
      R"({"a":"unterminated)",
      R"({"a":1,"a":2})",
      R"({"m\u006fdel":"x"})",
      "\xef\xbb\xbf{}",
      R"({"a" : 1 , "b" : [ 1 , { "c" : "d" } ] })",
      "\n{\r\n\t\"a\"\t:\n1\r}\n",
      R"({"":1})",
      std::string(R"({"a":"x)") + '\0' + R"("})",
      std::string("{\"a\":1}") + '\0',
      std::string(3000, '[') + std::string(3000, ']'),
      "{\"a\":" + std::string(5000, '[') + std::string(5000, ']') + "}",
      "{\"a\":" + std::string(400, '9') + "}",
      "{\"a\":1" + std::string(400, '0') + "}",
  };
  for (const auto& c : cases) check(c);
  JsonObjectScan s;
  EXPECT_EQ(s.scan(R"({"a":1,"a":2})"), R::unsupported);
  EXPECT_EQ(s.scan(R"({"m\u006fdel":"x"})"), R::unsupported);
  EXPECT_EQ(s.scan("\xef\xbb\xbf{}"), R::unsupported);
  EXPECT_EQ(s.scan("{\"a\":" + std::string(5000, '[') + std::string(5000, ']') + "}"), R::too_deep);
  EXPECT_EQ(s.scan(R"({"a":1e999})"), R::invalid);
  EXPECT_EQ(s.scan(R"({"a":"\ud800"})"), R::invalid);
  EXPECT_EQ(s.scan("[]"), R::not_object);
}

// The string scan skips plain bytes 16 at a time: every byte that must stop it (quote, backslash,
// control, DEL's neighbours, UTF-8 lead bytes valid or not) is tried at every offset of a block,
// and at the end of the input, against the parser.
TEST(JsonScan, StopBytesAtEveryOffsetOfAStringAgreeWithTheParser) {
  const std::vector<std::string> stops = {"\"",   "\\",   "\\n",      "\\u00e9", "\x01",         "\x1f",
                                          "\x7f", "\x80", "\xc3\xa9", "\xc3",    "\xe2\x80\x93", "\xf0\x9f\x98\x80",
                                          "\xff", " ",    "~"};
  for (std::size_t before = 0; before < 40; ++before) {
    for (const auto& stop : stops) {
      const std::string s = std::string(before, 'a') + stop + std::string(40 - before, 'b');
      check("{\"a\":\"" + s + "\"}");
      check("{\"a\":\"" + std::string(before, 'a') + stop);  // unterminated at every length
    }
  }
}

TEST(JsonScan, ManyMembersFallBackToTheParser) {
  std::string t = "{";
  for (int i = 0; i < 60; ++i) t += (i ? "," : "") + std::string("\"k") + std::to_string(i) + "\":" + std::to_string(i);
  t += "}";
  JsonObjectScan s;
  EXPECT_EQ(s.scan(t), R::unsupported);
}

TEST(JsonScan, AgreesWithTheParserOnMutatedBodies) {
  // Random byte edits of a realistic body: every verdict must match the parser's.
  std::mt19937 rng(42);
  const std::string base = kChat;
  const char alphabet[] = "{}[]\",:\\ntrufalse0123456789.eE+-u \x80\xc3\xa9\xed\xf0";
  int objects = 0, invalid = 0;
  for (int iter = 0; iter < 20000; ++iter) {
    std::string t = base;
    const int edits = 1 + static_cast<int>(rng() % 3);
    for (int e = 0; e < edits; ++e) {
      const std::size_t pos = rng() % t.size();
      switch (rng() % 3) {
        case 0: t[pos] = alphabet[rng() % (sizeof alphabet - 1)]; break;
        case 1: t.erase(pos, 1); break;
        default: t.insert(pos, 1, alphabet[rng() % (sizeof alphabet - 1)]); break;
      }
    }
    const R r = check(t);
    objects += r == R::object;
    invalid += r == R::invalid;
    if (HasFailure()) break;
  }
  EXPECT_GT(objects, 1000);
  EXPECT_GT(invalid, 1000);
}

TEST(JsonScan, NestingAcrossStackWordsAgreesWithTheParser) {
  // The open containers are kept as bits, 64 to a word: mixed objects and arrays up to 200 deep,
  // closed right, and closed with one wrong bracket at each depth in turn.
  std::mt19937 rng(7);
  for (int run = 0; run < 20; ++run) {
    const int depth = 60 + static_cast<int>(rng() % 140);
    std::vector<bool> obj(depth);
    std::string open, close;
    for (int d = 0; d < depth; ++d) {
      obj[d] = d == 0 || rng() % 2;
      open += obj[d] ? (d + 1 < depth ? "{\"k\":" : "{\"k\":1") : (d + 1 < depth ? "[" : "[1");
    }
    for (int d = depth - 1; d >= 0; --d) close += obj[d] ? '}' : ']';
    EXPECT_EQ(check(open + close), R::object);
    for (int wrong = 0; wrong < depth; wrong += 1 + static_cast<int>(rng() % 7)) {
      std::string bad = close;
      char& c = bad[static_cast<std::size_t>(depth - 1 - wrong)];
      c = c == '}' ? ']' : '}';
      EXPECT_EQ(check(open + bad), R::invalid);
    }
  }
}

TEST(JsonScan, RepeatedTopLevelKeysAreLeftToTheParser) {
  // Keys whose length and last byte match share a bit of the duplicate filter; only a real
  // repeat is refused.
  EXPECT_EQ(check(R"({"ab":1,"cb":2,"model":"m","stream":true})"), R::object);
  EXPECT_EQ(check(R"({"ab":1,"cb":2,"ab":3})"), R::unsupported);
  EXPECT_EQ(check(R"({"":1,"x":2,"":3})"), R::unsupported);
  EXPECT_EQ(check(R"({"":1,"x":2})"), R::object);
}

// Nesting past the limit is refused as such, never left to the parser: the document would be
// built, then dumped or copied recursively (100,000 levels overflowed a worker's stack).
TEST(JsonScan, NestingPastTheLimitIsTooDeep) {
  auto arrays = [](std::size_t n) { return std::string(n, '[') + std::string(n, ']'); };
  const std::size_t max = llmgate::kMaxJsonDepth;
  EXPECT_EQ(JsonObjectScan::kMaxDepth, max);
  EXPECT_EQ(check(R"({"messages":)" + arrays(max - 1) + "}"), R::object);
  EXPECT_EQ(check(R"({"messages":)" + arrays(max) + "}"), R::too_deep);
  EXPECT_EQ(check(arrays(max)), R::not_object);
  EXPECT_EQ(check(arrays(max + 1)), R::too_deep);
  for (std::size_t n : {std::size_t{100'000}, std::size_t{1'000'000}}) {
    JsonObjectScan s;
    EXPECT_EQ(s.scan(R"({"model":"m","messages":[{"role":"user","content":)" + arrays(n) + "}]}"), R::too_deep) << n;
    EXPECT_EQ(s.scan(R"({"model":"m","tools":)" + std::string(n, '[')), R::too_deep) << n;  // never closed
    std::string objs;
    for (std::size_t i = 0; i < n; ++i) objs += R"({"a":)";
    EXPECT_EQ(s.scan(objs + "1" + std::string(n, '}')), R::too_deep) << n;
  }
  // A fault before the limit is reached is reported as what it is.
  EXPECT_EQ(check(R"({"a":x,"b":)" + arrays(max + 1) + "}"), R::invalid);
}
