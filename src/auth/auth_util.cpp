// Pure helpers for authentication: the presented key.
// Callable from any thread; no I/O.
#include <cctype>

#include "llmgate/auth.hpp"

namespace llmgate {

std::string_view trim_ows(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

std::string_view bearer_token(std::string_view authorization) {
  const std::string_view v = trim_ows(authorization);
  constexpr std::string_view kScheme = "bearer";
  if (v.size() <= kScheme.size() || (v[6] != ' ' && v[6] != '\t')) return {};
  for (std::size_t i = 0; i < kScheme.size(); ++i)
    if (std::tolower(static_cast<unsigned char>(v[i])) != kScheme[i]) return {};
  return trim_ows(v.substr(kScheme.size() + 1));
}

std::string_view presented_key(const HttpRequest& req) {
  return presented_key_from([&](std::string_view name) { return req.header(name); });
}

}  // namespace llmgate
