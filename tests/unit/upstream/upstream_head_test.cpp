// The upstream request's header block is serialised by hand (no Beast fields on the hot path):
// it must keep what Beast's set() gave (one field per name, the dialect's value winning, the
// body's Content-Type/Length last) and never let a value split the header block.
#include <gtest/gtest.h>

#include "upstream/upstream.hpp"

using namespace llmgate;

namespace {
Deployment dep() {
  Deployment d;
  d.url.host = "api.example.com";
  return d;
}
}  // namespace

TEST(UpstreamHead, PostCarriesHostAgentTypeAndLength) {
  UpstreamRequest r;
  r.target = "/v1/chat/completions";
  r.body = R"({"model":"m"})";
  r.headers = {{"Authorization", "Bearer sk-x"}};
  std::string h;
  serialize_request_head(r, dep(), h);
  EXPECT_EQ(h, "POST /v1/chat/completions HTTP/1.1\r\nHost: api.example.com\r\nUser-Agent: llmgate/" LLMGATE_VERSION
               "\r\nAuthorization: Bearer sk-x\r\nContent-Type: application/json\r\nContent-Length: 13\r\n\r\n");
}

TEST(UpstreamHead, HostCarriesANonDefaultPort) {
  UpstreamRequest r;
  r.method = "GET";
  r.target = "/v1/models";
  Deployment d = dep();
  d.url.port = "8443";
  d.url.tls = true;
  std::string h;
  serialize_request_head(r, d, h);
  EXPECT_NE(h.find("\r\nHost: api.example.com:8443\r\n"), std::string::npos) << h;
  d.url.port = "443";
  serialize_request_head(r, d, h);
  EXPECT_NE(h.find("\r\nHost: api.example.com\r\n"), std::string::npos) << h;
}

TEST(UpstreamHead, DialectHeadersReplaceDefaultsAndTheLastDuplicateWins) {
  UpstreamRequest r;
  r.method = "GET";
  r.target = "/api/tags";
  r.headers = {{"host", "other"}, {"X-A", "1"}, {"x-a", "2"}};
  std::string h;
  serialize_request_head(r, dep(), h);
  EXPECT_EQ(h, "GET /api/tags HTTP/1.1\r\nUser-Agent: llmgate/" LLMGATE_VERSION "\r\nhost: other\r\nx-a: 2\r\n\r\n");
}

TEST(UpstreamHead, ValuesWithLineBreaksAreDropped) {
  UpstreamRequest r;
  r.target = "/v1/embeddings";
  r.headers = {{"X-Evil", "a\r\nInjected: yes"}, {"Bad\nName", "v"}, {"Content-Type", "text/plain"}};
  std::string h;
  serialize_request_head(r, dep(), h);
  EXPECT_EQ(h.find("Injected"), std::string::npos) << h;
  EXPECT_EQ(h.find("Bad"), std::string::npos) << h;
  EXPECT_EQ(h.find("text/plain"), std::string::npos) << h;  // the body's type is ours
  EXPECT_NE(h.find("Content-Length: 0\r\n\r\n"), std::string::npos) << h;
}

TEST(UpstreamHead, ACachedHeadOnlyRewritesContentLengthAndFollowsEveryChange) {
  RequestHeadCache cache;
  auto check = [&](const UpstreamRequest& r, const Deployment& d) {
    const std::string& head = build_request_head(r, d, cache);
    std::string fresh;
    serialize_request_head(r, d, fresh);
    EXPECT_EQ(head, fresh);
  };
  UpstreamRequest r;
  r.target = "/v1/chat/completions";
  r.headers = {{"Authorization", "Bearer sk-x"}};
  Deployment d = dep();
  r.body = std::string(13, 'x');
  check(r, d);
  EXPECT_NE(cache.length_at, 0u);
  r.body = std::string(12345, 'x');  // longer length
  check(r, d);
  r.body.clear();  // "0"
  check(r, d);
  r.target = "/v1/embeddings";
  check(r, d);
  r.headers = {{"Authorization", "Bearer sk-y"}};
  check(r, d);
  r.headers.emplace_back("api-key", "k");
  check(r, d);
  d.url.port = "8443";
  check(r, d);
  d.url.host = "other.example.com";
  check(r, d);
  r.method = "GET";  // no body: serialized, not cached
  check(r, d);
  EXPECT_EQ(cache.length_at, 0u);
  r.method = "POST";
  r.body = "{}";
  check(r, d);
}
