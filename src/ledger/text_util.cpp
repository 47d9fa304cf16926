#include "ledger/text_util.hpp"

#include <charconv>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <ctime>

namespace llmgate::store {

namespace {
// Length of the well-formed UTF-8 sequence starting at p (Unicode Table 3-7), 0 if invalid.
std::size_t utf8_seq_len(const unsigned char* p, std::size_t n) {
  unsigned char c = p[0];
  if (c < 0x80) return c == 0 ? 0 : 1;
  auto cont = [&](std::size_t i, unsigned char lo = 0x80, unsigned char hi = 0xBF) {
    return i < n && p[i] >= lo && p[i] <= hi;
  };
  if (c >= 0xC2 && c <= 0xDF) return cont(1) ? 2 : 0;
  if (c == 0xE0) return cont(1, 0xA0, 0xBF) && cont(2) ? 3 : 0;
  if ((c >= 0xE1 && c <= 0xEC) || c == 0xEE || c == 0xEF) return cont(1) && cont(2) ? 3 : 0;
  if (c == 0xED) return cont(1, 0x80, 0x9F) && cont(2) ? 3 : 0;  // no surrogates
  if (c == 0xF0) return cont(1, 0x90, 0xBF) && cont(2) && cont(3) ? 4 : 0;
  if (c >= 0xF1 && c <= 0xF3) return cont(1) && cont(2) && cont(3) ? 4 : 0;
  if (c == 0xF4) return cont(1, 0x80, 0x8F) && cont(2) && cont(3) ? 4 : 0;
  return 0;
}

// The index of the first byte at or after i that is not plain ASCII (0x01-0x7F), found eight
// bytes at a time: the ledger checks every text field of every record, nearly all ASCII.
std::size_t skip_ascii(const unsigned char* p, std::size_t n, std::size_t i) {
  constexpr uint64_t kOnes = 0x0101010101010101ULL, kHigh = 0x8080808080808080ULL;
  for (; i + 8 <= n; i += 8) {
    uint64_t v;
    std::memcpy(&v, p + i, 8);
    if (((v | ((v - kOnes) & ~v)) & kHigh) != 0) break;  // a byte >= 0x80, or a zero byte
  }
  while (i < n && p[i] >= 0x01 && p[i] < 0x80) ++i;
  return i;
}
}  // namespace

bool is_clean_utf8(std::string_view s) {
  const auto* p = reinterpret_cast<const unsigned char*>(s.data());
  const std::size_t n = s.size();
  for (std::size_t i = 0; (i = skip_ascii(p, n, i)) < n;) {
    const std::size_t l = utf8_seq_len(p + i, n - i);
    if (l == 0) return false;
    i += l;
  }
  return true;
}

std::string sanitize_utf8(std::string_view s, bool* changed) {
  const auto* p = reinterpret_cast<const unsigned char*>(s.data());
  const std::size_t n = s.size();
  std::size_t i = 0;
  // Fast path: scan until the first problem.
  while ((i = skip_ascii(p, n, i)) < n) {
    std::size_t l = utf8_seq_len(p + i, n - i);
    if (l == 0) break;
    i += l;
  }
  if (changed) *changed = i < n;
  if (i == n) return std::string(s);
  std::string out;
  out.reserve(n + 16);
  out.append(s.data(), i);
  static const char* hex = "0123456789abcdef";
  while (i < n) {
    std::size_t l = utf8_seq_len(p + i, n - i);
    if (l == 0) {
      out += "\\x";
      out += hex[p[i] >> 4];
      out += hex[p[i] & 15];
      ++i;
    } else {
      out.append(s.data() + i, l);
      i += l;
    }
  }
  return out;
}

bool truncate_utf8(std::string& s, std::size_t max_bytes) {
  if (s.size() <= max_bytes) return false;
  std::size_t cut = max_bytes;
  // Step back over continuation bytes so we never split a sequence.
  while (cut > 0 && (static_cast<unsigned char>(s[cut]) & 0xC0) == 0x80) --cut;
  s.resize(cut);
  return true;
}

static bool all_digits(std::string_view s) {
  if (s.empty()) return false;
  for (char c : s)
    if (c < '0' || c > '9') return false;
  return true;
}

std::optional<int64_t> parse_time_us(std::string_view s) {
  while (!s.empty() && s.front() == ' ') s.remove_prefix(1);
  while (!s.empty() && s.back() == ' ') s.remove_suffix(1);
  if (s.empty() || s.size() > 40) return std::nullopt;
  // Unix seconds (optionally fractional).
  auto dot = s.find('.');
  std::string_view ip = s.substr(0, dot);
  if (all_digits(ip) && (dot == std::string_view::npos || all_digits(s.substr(dot + 1)))) {
    double v = 0;
    std::string tmp(s);
    char* end = nullptr;
    v = std::strtod(tmp.c_str(), &end);
    if (!end || *end || !std::isfinite(v) || v > 1e11) return std::nullopt;
    return static_cast<int64_t>(std::llround(v * 1e6));
  }
  // YYYY-MM-DD[(T| )HH:MM:SS[Z|+00:00]], digits exactly where the pattern has them (no signs,
  // no spaces), and a day that exists in its month (2026-02-30 is refused, not March 2nd).
  auto num = [&](std::size_t at, std::size_t len, int& out) {
    if (s.size() < at + len) return false;
    out = 0;
    for (std::size_t k = at; k < at + len; ++k) {
      if (s[k] < '0' || s[k] > '9') return false;
      out = out * 10 + (s[k] - '0');
    }
    return true;
  };
  int Y = 0, M = 0, D = 0, h = 0, m = 0, sec = 0;
  if (s.size() < 10 || !num(0, 4, Y) || s[4] != '-' || !num(5, 2, M) || s[7] != '-' || !num(8, 2, D))
    return std::nullopt;
  std::string_view rest = s.substr(10);
  if (!rest.empty()) {
    if (rest.size() < 9 || (rest[0] != 'T' && rest[0] != ' ') || !num(11, 2, h) || s[13] != ':' || !num(14, 2, m) ||
        s[16] != ':' || !num(17, 2, sec))
      return std::nullopt;
    std::string_view tail = rest.substr(1 + 8);
    if (!tail.empty() && tail != "Z" && tail != "+00:00") return std::nullopt;
  }
  static constexpr int kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  const bool leap = (Y % 4 == 0 && Y % 100 != 0) || Y % 400 == 0;
  if (M < 1 || M > 12 || D < 1 || D > kDays[M - 1] + (M == 2 && leap) || h > 23 || m > 59 || sec > 60 || Y < 1970 ||
      Y > 9999)
    return std::nullopt;
  std::tm tm{};
  tm.tm_year = Y - 1900;
  tm.tm_mon = M - 1;
  tm.tm_mday = D;
  tm.tm_hour = h;
  tm.tm_min = m;
  tm.tm_sec = sec;
  time_t t = timegm(&tm);
  return static_cast<int64_t>(t) * 1000000;
}

}  // namespace llmgate::store
