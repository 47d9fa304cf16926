// SSE framing: what the streaming proxy relies on to forward events unchanged and spot [DONE].
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "llmgate/sse.hpp"

using namespace llmgate;

namespace {

struct Got {
  std::string raw, data, event;
  bool has_data, comment_only, done;
};

// Feeds `chunks` in order; returns every event (raw copied: the view dies after the callback).
std::vector<Got> feed_all(SseParser& p, const std::vector<std::string>& chunks, bool* ok = nullptr) {
  std::vector<Got> out;
  bool all_ok = true;
  for (const auto& c : chunks) {
    all_ok = p.feed(c, [&](const SseEvent& e) {
      out.push_back({std::string(e.raw), e.data, e.event, e.has_data, e.comment_only, e.is_done()});
    }) && all_ok;
  }
  if (ok) *ok = all_ok;
  return out;
}

std::vector<Got> parse_whole(const std::string& s) {
  SseParser p;
  return feed_all(p, {s});
}

std::string concat_raw(const std::vector<Got>& evs) {
  std::string s;
  for (const auto& e : evs) s += e.raw;
  return s;
}

const std::string kOpenAIStream =
    "data: {\"id\":\"c1\",\"choices\":[{\"delta\":{\"content\":\"Hel\"}}]}\n\n"
    ": keep-alive\n\n"
    "event: message\n"
    "data: {\"id\":\"c1\",\"choices\":[{\"delta\":{\"content\":\"lo\"}}]}\n\n"
    "data: line one\n"
    "data: line two\n\n"
    "data: [DONE]\n\n";

}  // namespace

TEST(SseParser, ParsesOpenAIStream) {
  auto evs = parse_whole(kOpenAIStream);
  ASSERT_EQ(evs.size(), 5u);
  EXPECT_EQ(evs[0].data, "{\"id\":\"c1\",\"choices\":[{\"delta\":{\"content\":\"Hel\"}}]}");
  EXPECT_TRUE(evs[0].has_data);
  EXPECT_FALSE(evs[0].comment_only);
  EXPECT_TRUE(evs[1].comment_only);
  EXPECT_FALSE(evs[1].has_data);
  EXPECT_EQ(evs[1].raw, ": keep-alive\n\n");
  EXPECT_EQ(evs[2].event, "message");
  EXPECT_EQ(evs[3].data, "line one\nline two");  // multi-line data joined with \n
  EXPECT_TRUE(evs[4].done);
  for (int i = 0; i < 4; ++i) EXPECT_FALSE(evs[i].done) << i;
  EXPECT_EQ(concat_raw(evs), kOpenAIStream);  // forwarded bytes are exactly the input
}

TEST(SseParser, SplitAtEveryBytePositionGivesTheSameEvents) {
  const auto whole = parse_whole(kOpenAIStream);
  for (std::size_t cut = 0; cut <= kOpenAIStream.size(); ++cut) {
    SseParser p;
    auto evs = feed_all(p, {kOpenAIStream.substr(0, cut), kOpenAIStream.substr(cut)});
    ASSERT_EQ(evs.size(), whole.size()) << "cut at " << cut;
    for (std::size_t i = 0; i < evs.size(); ++i) {
      EXPECT_EQ(evs[i].raw, whole[i].raw) << "cut at " << cut;
      EXPECT_EQ(evs[i].data, whole[i].data) << "cut at " << cut;
      EXPECT_EQ(evs[i].comment_only, whole[i].comment_only) << "cut at " << cut;
    }
    EXPECT_EQ(p.pending(), 0u);
  }
}

TEST(SseParser, OneByteAtATime) {
  SseParser p;
  std::vector<std::string> bytes;
  for (char c : kOpenAIStream) bytes.emplace_back(1, c);
  auto evs = feed_all(p, bytes);
  ASSERT_EQ(evs.size(), 5u);
  EXPECT_EQ(concat_raw(evs), kOpenAIStream);
  EXPECT_TRUE(evs[4].done);
}

TEST(SseParser, EventIsReportedAsSoonAsItsBlankLineArrives) {
  SseParser p;
  int n = 0;
  p.feed("data: a\n", [&](const SseEvent&) { ++n; });
  EXPECT_EQ(n, 0);
  EXPECT_EQ(p.pending(), 8u);
  p.feed("\n", [&](const SseEvent&) { ++n; });
  EXPECT_EQ(n, 1);  // no waiting for the next event or a full buffer
  EXPECT_EQ(p.pending(), 0u);
  p.feed("data: b\n\ndata: c", [&](const SseEvent&) { ++n; });
  EXPECT_EQ(n, 2);
  EXPECT_EQ(p.pending_bytes(), "data: c");
}

TEST(SseParser, CrLfLineEndings) {
  const std::string s = "data: a\r\ndata: b\r\n\r\n: ping\r\n\r\ndata: [DONE]\r\n\r\n";
  for (std::size_t cut = 0; cut <= s.size(); ++cut) {
    SseParser p;
    auto evs = feed_all(p, {s.substr(0, cut), s.substr(cut)});
    ASSERT_EQ(evs.size(), 3u) << "cut at " << cut;
    EXPECT_EQ(evs[0].data, "a\nb");
    EXPECT_EQ(evs[0].raw, "data: a\r\ndata: b\r\n\r\n");
    EXPECT_TRUE(evs[1].comment_only);
    EXPECT_TRUE(evs[2].done);
    EXPECT_EQ(concat_raw(evs), s);
  }
}

TEST(SseParser, CrOnlyLineEndings) {
  // A lone CR ending the last event cannot be told from the start of a CRLF until one more
  // byte arrives; everything before that is reported at once.
  const std::string s = "data: a\rdata: b\r\rdata: [DONE]\r\r";
  SseParser p;
  auto evs = feed_all(p, {s, "\r"});  // the stream's next byte (here another CR) settles it
  ASSERT_GE(evs.size(), 2u);
  EXPECT_EQ(evs[0].data, "a\nb");
  EXPECT_EQ(evs[0].raw, "data: a\rdata: b\r\r");
  EXPECT_TRUE(evs[1].done);
  for (std::size_t cut = 0; cut <= s.size(); ++cut) {
    SseParser q;
    auto e2 = feed_all(q, {s.substr(0, cut), s.substr(cut), "\n"});
    ASSERT_GE(e2.size(), 2u) << "cut at " << cut;
    EXPECT_EQ(e2[0].data, "a\nb") << "cut at " << cut;
    EXPECT_EQ(e2[0].raw, "data: a\rdata: b\r\r") << "cut at " << cut;
    EXPECT_TRUE(e2[1].done) << "cut at " << cut;
  }
}

TEST(SseParser, MixedLineEndingsAndFieldForms) {
  // "data:x" (no space), "data" alone (empty value), only one leading space stripped, unknown
  // fields and id/retry ignored for data.
  auto evs = parse_whole("data:x\ndata\ndata:  two spaces\nid: 7\nretry: 10\nfoo: bar\n\n");
  ASSERT_EQ(evs.size(), 1u);
  EXPECT_EQ(evs[0].data, "x\n\n two spaces");
  EXPECT_TRUE(evs[0].has_data);
  EXPECT_FALSE(evs[0].comment_only);
}

TEST(SseParser, CommentsMixedWithDataAreNotCommentOnly) {
  auto evs = parse_whole(": note\ndata: {}\n\n:\n\n");
  ASSERT_EQ(evs.size(), 2u);
  EXPECT_FALSE(evs[0].comment_only);
  EXPECT_EQ(evs[0].data, "{}");
  EXPECT_TRUE(evs[1].comment_only);
}

TEST(SseParser, DoneOnlyWhenTheWholeDataIsDone) {
  EXPECT_TRUE(parse_whole("data: [DONE]\n\n").at(0).done);
  EXPECT_TRUE(parse_whole("data:[DONE]\n\n").at(0).done);
  EXPECT_FALSE(parse_whole("data: [DONE] \n\n").at(0).done);
  EXPECT_FALSE(parse_whole("data: {\"text\":\"[DONE]\"}\n\n").at(0).done);
  EXPECT_FALSE(parse_whole(": [DONE]\n\n").at(0).done);
}

TEST(SseParser, RawBytesArePreservedExactly) {
  // NUL, invalid UTF-8 and high bytes pass through untouched.
  std::string s = "data: a";
  s.push_back('\0');
  s += "\xff\xfe\xc3(";
  s += "\n\n";
  auto evs = parse_whole(s);
  ASSERT_EQ(evs.size(), 1u);
  EXPECT_EQ(evs[0].raw, s);
  EXPECT_EQ(evs[0].data.size(), 1 + 1 + 4u);
  EXPECT_EQ(evs[0].data[1], '\0');
}

TEST(SseParser, ExtraBlankLinesBetweenEvents) {
  // A blank line with no event before it yields an empty event; its bytes are still forwarded.
  const std::string s = "data: a\n\n\n\ndata: b\n\n";
  auto evs = parse_whole(s);
  EXPECT_EQ(concat_raw(evs), s);
  int with_data = 0;
  for (const auto& e : evs) with_data += e.has_data;
  EXPECT_EQ(with_data, 2);
}

TEST(SseParser, MaxEventSizeExceededFailsTheFeed) {
  SseParser p(64);
  bool ok = p.feed("data: " + std::string(40, 'x') + "\n\n", [](const SseEvent&) {});
  EXPECT_TRUE(ok);  // complete events below the cap are fine
  ok = p.feed("data: " + std::string(40, 'y'), [](const SseEvent&) {});
  EXPECT_TRUE(ok);  // pending 46 bytes <= 64
  int n = 0;
  ok = p.feed(std::string(40, 'y'), [&](const SseEvent&) { ++n; });
  EXPECT_FALSE(ok);  // 86 bytes without an end: the stream is unusable
  EXPECT_EQ(n, 0);
}

TEST(SseParser, ManyEventsInOneFeedUnderTheCapAreFine) {
  // The cap is per event, not per read: one read holding many small events never fails.
  SseParser p(32);
  std::string many;
  for (int i = 0; i < 100; ++i) many += "data: " + std::to_string(i) + "\n\n";
  int n = 0;
  EXPECT_TRUE(p.feed(many, [&](const SseEvent&) { ++n; }));
  EXPECT_EQ(n, 100);
}

TEST(SseParser, OversizedEventFailsEvenWhenItArrivesInOneRead) {
  // The cap is on the event, not on what happens to be buffered between reads: an event larger
  // than the cap must not be reported (and forwarded) just because one read delivered all of it.
  SseParser p(64);
  int n = 0;
  bool ok = p.feed("data: " + std::string(100, 'x') + "\n\n", [&](const SseEvent&) { ++n; });
  EXPECT_FALSE(ok);
  EXPECT_EQ(n, 0);
  // Events before the oversized one in the same read are still delivered, in order.
  SseParser q(64);
  std::vector<std::string> got;
  ok = q.feed("data: small\n\ndata: " + std::string(100, 'x') + "\n\ndata: after\n\n",
              [&](const SseEvent& e) { got.push_back(e.data); });
  EXPECT_FALSE(ok);
  EXPECT_EQ(got, (std::vector<std::string>{"small"}));
}

TEST(SseParser, EventOfExactlyTheCapIsAccepted) {
  const std::string ev = "data: " + std::string(56, 'x') + "\n\n";  // 64 bytes
  ASSERT_EQ(ev.size(), 64u);
  SseParser p(64);
  int n = 0;
  EXPECT_TRUE(p.feed(ev, [&](const SseEvent&) { ++n; }));
  EXPECT_EQ(n, 1);
}
