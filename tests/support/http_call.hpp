#pragma once
// A blocking HTTP/1.1 client for tests (loopback only; every read bounded by a 10 s receive
// timeout). Keeps Beast out of the test files that include it.
#include <string>
#include <utility>
#include <vector>

namespace llmgate::test {

struct HttpResult {
  int status = 0;  // 0: connection or protocol failure (see error)
  std::string content_type;
  std::string body;                                          // de-chunked
  std::vector<std::pair<std::string, std::string>> headers;  // lower-case names
  std::string error;
};

HttpResult http_call(unsigned short port, const std::string& method, const std::string& target,
                     const std::vector<std::pair<std::string, std::string>>& headers = {},
                     const std::string& body = {});

}  // namespace llmgate::test
