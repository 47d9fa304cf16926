// Pure helpers for authentication: constant-time compare, key hashing, presented key.
// Callable from any thread; no I/O.
#include <openssl/evp.h>

#include <cctype>

#include "llmgate/auth.hpp"

namespace llmgate {

bool constant_time_equals(std::string_view a, std::string_view b) {
  // The length is not secret (it leaks through timing anyway); the content is.
  if (a.size() != b.size()) return false;
  unsigned char diff = 0;
  for (std::size_t i = 0; i < a.size(); ++i)
    diff |= static_cast<unsigned char>(a[i]) ^ static_cast<unsigned char>(b[i]);
  // Keep the compiler from short-circuiting the loop through the accumulated value.
  volatile unsigned char sink = diff;
  return sink == 0;
}

std::string hash_key(std::string_view raw_key) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  if (EVP_Digest(raw_key.data(), raw_key.size(), md, &len, EVP_sha256(), nullptr) != 1) return {};
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out(static_cast<std::size_t>(len) * 2, '0');
  for (unsigned int i = 0; i < len; ++i) {
    out[2 * i] = kHex[md[i] >> 4];
    out[2 * i + 1] = kHex[md[i] & 0x0f];
  }
  return out;
}

namespace {

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i)
    if (std::tolower(static_cast<unsigned char>(a[i])) !=
        std::tolower(static_cast<unsigned char>(b[i])))
      return false;
  return true;
}

}  // namespace

std::string_view presented_key(const HttpRequest& req) {
  // 1. Authorization: Bearer <key> (scheme case-insensitive, as RFC 7235 says).
  std::string_view auth = trim(req.header("authorization"));
  if (auth.size() > 6 && iequals(auth.substr(0, 6), "bearer") &&
      (auth[6] == ' ' || auth[6] == '\t')) {
    std::string_view k = trim(auth.substr(7));
    if (!k.empty()) return k;
  }
  // 2. api-key (Azure SDKs), 3. x-api-key (Anthropic-style clients).
  if (std::string_view k = trim(req.header("api-key")); !k.empty()) return k;
  if (std::string_view k = trim(req.header("x-api-key")); !k.empty()) return k;
  return {};
}

}  // namespace llmgate
