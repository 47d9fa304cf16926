// url_decode / parse_query: what the admin, spend and dashboard endpoints see of a query string.
#include <gtest/gtest.h>

#include "llmgate/http_types.hpp"

using namespace llmgate;

TEST(UrlDecode, PercentEscapes) {
  EXPECT_EQ(url_decode("a%20b%2Fc", false), "a b/c");
  EXPECT_EQ(url_decode("%41%6a%4A", false), "AjJ");
  EXPECT_EQ(url_decode("%e2%9c%93", false), "\xe2\x9c\x93");
  EXPECT_EQ(url_decode("%00", false), std::string("\0", 1));
}

TEST(UrlDecode, PlusIsSpaceOnlyInQueries) {
  EXPECT_EQ(url_decode("a+b", true), "a b");
  EXPECT_EQ(url_decode("a+b", false), "a+b");
  EXPECT_EQ(url_decode("a%2Bb", true), "a+b");
}

TEST(UrlDecode, InvalidEscapesAreKeptLiterally) {
  EXPECT_EQ(url_decode("100%", false), "100%");
  EXPECT_EQ(url_decode("%4", false), "%4");
  EXPECT_EQ(url_decode("%zz", false), "%zz");
  EXPECT_EQ(url_decode("%%41", false), "%A");
  EXPECT_EQ(url_decode("a%4g", false), "a%4g");
  EXPECT_EQ(url_decode("%41%", false), "A%");
  EXPECT_EQ(url_decode("", true), "");
}

TEST(ParseQuery, SplitsAndDecodes) {
  auto q = parse_query("api_key=sk-1&start_date=2024-01-01&user_id=a%40b.c&note=hello+world");
  ASSERT_EQ(q.size(), 4u);
  EXPECT_EQ(q.find("api_key")->second, "sk-1");
  EXPECT_EQ(q.find("start_date")->second, "2024-01-01");
  EXPECT_EQ(q.find("user_id")->second, "a@b.c");
  EXPECT_EQ(q.find("note")->second, "hello world");
}

TEST(ParseQuery, RepeatedKeysEmptyPartsAndBareKeys) {
  auto q = parse_query("a=1&&a=2&flag&=v&b=x=y&");
  EXPECT_EQ(q.count("a"), 2u);
  auto [lo, hi] = q.equal_range("a");
  EXPECT_EQ(lo->second, "1");
  EXPECT_EQ(std::next(lo)->second, "2");
  EXPECT_EQ(q.find("flag")->second, "");
  EXPECT_EQ(q.find("")->second, "v");
  EXPECT_EQ(q.find("b")->second, "x=y");  // only the first '=' separates
  EXPECT_TRUE(parse_query("").empty());
  EXPECT_TRUE(parse_query("&&&").empty());
}

TEST(ParseQuery, EncodedKeysAndSeparators) {
  auto q = parse_query("k%3D1=v%261&sp%20ace=1");
  EXPECT_EQ(q.find("k=1")->second, "v&1");  // encoded '=' and '&' are data, not syntax
  EXPECT_EQ(q.find("sp ace")->second, "1");
}

TEST(HttpRequest, HeaderAndQueryParamLookups) {
  HttpRequest r;
  r.headers = {{"content-type", "application/json"}, {"x-a", "1"}, {"x-a", "2"}};
  r.query = parse_query("page=3");
  EXPECT_EQ(r.header("x-a"), "1");
  EXPECT_EQ(r.header("missing"), "");
  EXPECT_EQ(r.query_param("page"), "3");
  EXPECT_EQ(r.query_param("size", "50"), "50");
}
