#include "llmgate/json_scan.hpp"

#include <nlohmann/json.hpp>

#include <cmath>
#include <cstdint>
#include <cstdlib>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

namespace llmgate {

namespace {

// 1 for the bytes a string may hold as they are: printable ASCII except '"' and '\'.
constexpr std::array<std::uint8_t, 256> make_plain() {
  std::array<std::uint8_t, 256> t{};
  for (int c = 0x20; c < 0x80; ++c) t[c] = 1;
  t['"'] = 0;
  t['\\'] = 0;
  return t;
}
constexpr auto kPlain = make_plain();

inline bool is_ws(unsigned char c) { return c == ' ' || c == '\n' || c == '\r' || c == '\t'; }

inline int hex(unsigned char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

struct Cursor {
  const unsigned char* p;
  const unsigned char* e;

  void ws() {
    // One compare for the usual case (no whitespace, or a byte above the space).
    while (p < e && *p <= ' ' && is_ws(*p)) ++p;
  }
  bool cont(unsigned char lo = 0x80, unsigned char hi = 0xBF) {
    if (p >= e || *p < lo || *p > hi) return false;
    ++p;
    return true;
  }
  // \uXXXX after the backslash and 'u' were consumed; the code unit in `cu`.
  bool u4(unsigned& cu) {
    if (e - p < 4) return false;
    cu = 0;
    for (int i = 0; i < 4; ++i) {
      const int h = hex(p[i]);
      if (h < 0) return false;
      cu = cu << 4 | static_cast<unsigned>(h);
    }
    p += 4;
    return true;
  }
  // Advances p over plain bytes (kPlain). Chat bodies are mostly message text, so this loop is
  // most of the scan: 16 bytes a step where SSE2 is there (every x86-64), then byte by byte.
  void skip_plain() {
#if defined(__SSE2__)
    const __m128i quote = _mm_set1_epi8('"');
    const __m128i backslash = _mm_set1_epi8('\\');
    const __m128i space = _mm_set1_epi8(0x20);
    while (e - p >= 16) {
      const __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
      // Signed compare: bytes >= 0x80 are negative, so "< 0x20" catches controls and non-ASCII.
      const __m128i stop = _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(v, quote), _mm_cmpeq_epi8(v, backslash)),
                                        _mm_cmplt_epi8(v, space));
      const int mask = _mm_movemask_epi8(stop);
      if (mask != 0) {
        p += __builtin_ctz(static_cast<unsigned>(mask));
        return;
      }
      p += 16;
    }
#endif
    while (p < e && kPlain[*p]) ++p;
  }
  // p at the opening quote; on success p is one past the closing quote.
  bool string(bool& escaped) {
    ++p;
    for (;;) {
      skip_plain();
      if (p >= e) return false;
      const unsigned char c = *p++;
      if (c == '"') return true;
      if (c == '\\') {
        escaped = true;
        if (p >= e) return false;
        const unsigned char x = *p++;
        switch (x) {
          case '"':
          case '\\':
          case '/':
          case 'b':
          case 'f':
          case 'n':
          case 'r':
          case 't': break;
          case 'u': {
            unsigned cu;
            if (!u4(cu)) return false;
            if (cu >= 0xDC00 && cu <= 0xDFFF) return false;  // a low surrogate alone
            if (cu >= 0xD800 && cu <= 0xDBFF) {              // must pair with a low one
              if (e - p < 2 || p[0] != '\\' || p[1] != 'u') return false;
              p += 2;
              if (!u4(cu) || cu < 0xDC00 || cu > 0xDFFF) return false;
            }
            break;
          }
          default: return false;
        }
        continue;
      }
      if (c < 0x80) return false;  // control character
      // UTF-8 (RFC 3629): no overlong forms, no surrogates, nothing above U+10FFFF.
      if (c >= 0xC2 && c <= 0xDF) {
        if (!cont()) return false;
      } else if (c == 0xE0) {
        if (!cont(0xA0) || !cont()) return false;
      } else if ((c >= 0xE1 && c <= 0xEC) || c == 0xEE || c == 0xEF) {
        if (!cont() || !cont()) return false;
      } else if (c == 0xED) {
        if (!cont(0x80, 0x9F) || !cont()) return false;
      } else if (c == 0xF0) {
        if (!cont(0x90) || !cont() || !cont()) return false;
      } else if (c >= 0xF1 && c <= 0xF3) {
        if (!cont() || !cont() || !cont()) return false;
      } else if (c == 0xF4) {
        if (!cont(0x80, 0x8F) || !cont() || !cont()) return false;
      } else {
        return false;
      }
    }
  }
  bool digits() {
    const unsigned char* s = p;
    while (p < e && *p >= '0' && *p <= '9') ++p;
    return p > s;
  }
  bool number() {
    const unsigned char* s = p;
    if (*p == '-') ++p;
    if (p >= e) return false;
    if (*p == '0') ++p;
    else if (*p >= '1' && *p <= '9') digits();
    else return false;
    bool exp = false;
    if (p < e && *p == '.') {
      ++p;
      if (!digits()) return false;
    }
    if (p < e && (*p == 'e' || *p == 'E')) {
      exp = true;
      ++p;
      if (p < e && (*p == '+' || *p == '-')) ++p;
      if (!digits()) return false;
    }
    // A parser refuses numbers that overflow a double ("number overflow"); only an exponent or
    // a very long mantissa can.
    if (exp || p - s > 300) {
      const std::string copy(reinterpret_cast<const char*>(s), static_cast<std::size_t>(p - s));
      if (!std::isfinite(std::strtod(copy.c_str(), nullptr))) return false;
    }
    return true;
  }
  bool literal(std::string_view lit) {
    if (static_cast<std::size_t>(e - p) < lit.size()) return false;
    for (char c : lit)
      if (*p++ != static_cast<unsigned char>(c)) return false;
    return true;
  }
};

}  // namespace

const JsonMember* JsonObjectScan::find(std::string_view key) const {
  for (std::size_t i = 0; i < n_; ++i)
    if (members_[i].key == key) return &members_[i];
  return nullptr;
}

JsonObjectScan::Result JsonObjectScan::scan(std::string_view text) {
  text_ = text;
  n_ = 0;
  Cursor c{reinterpret_cast<const unsigned char*>(text.data()),
           reinterpret_cast<const unsigned char*>(text.data()) + text.size()};
  if (text.size() >= 3 && c.p[0] == 0xEF && c.p[1] == 0xBB && c.p[2] == 0xBF) return Result::unsupported;
  c.ws();
  if (c.p >= c.e) return Result::invalid;
  const bool top_object = *c.p == '{';

  // The open containers: bit set = object, clear = array. A word is zeroed when the depth
  // first reaches it (not the whole 64 bytes per scan: usage objects are scanned per response).
  std::array<std::uint64_t, kMaxDepth / 64> stack;
  std::size_t depth = 0;
  auto push = [&](bool obj) {
    if (depth >= kMaxDepth) return false;
    if (depth % 64 == 0) stack[depth / 64] = 0;
    if (obj) stack[depth / 64] |= std::uint64_t{1} << (depth % 64);
    else stack[depth / 64] &= ~(std::uint64_t{1} << (depth % 64));
    ++depth;
    return true;
  };
  auto in_object = [&] { return (stack[(depth - 1) / 64] >> ((depth - 1) % 64)) & 1u; };

  std::string_view key;    // the top-level member being read
  std::uint64_t seen = 0;  // a bit per top-level key read, from its length and last byte
  const unsigned char* vstart = nullptr;
  const auto* base = reinterpret_cast<const unsigned char*>(text.data());
  auto span = [&](const unsigned char* a, const unsigned char* b) {
    return text.substr(static_cast<std::size_t>(a - base), static_cast<std::size_t>(b - a));
  };

  enum class Next { value, key, after };
  Next next = Next::value;
  for (;;) {
    switch (next) {
      case Next::value: {
        c.ws();
        if (c.p >= c.e) return Result::invalid;
        const unsigned char ch = *c.p;
        if (ch == '{' || ch == '[') {
          if (!push(ch == '{')) return Result::too_deep;
          ++c.p;
          c.ws();
          if (c.p < c.e && *c.p == (ch == '{' ? '}' : ']')) {
            ++c.p;
            --depth;
            next = Next::after;
          } else {
            next = ch == '{' ? Next::key : Next::value;
          }
          continue;
        }
        bool escaped = false;
        bool ok;
        if (ch == '"') ok = c.string(escaped);
        else if (ch == '-' || (ch >= '0' && ch <= '9')) ok = c.number();
        else if (ch == 't') ok = c.literal("true");
        else if (ch == 'f') ok = c.literal("false");
        else if (ch == 'n') ok = c.literal("null");
        else ok = false;
        if (!ok) return Result::invalid;
        next = Next::after;
        continue;
      }
      case Next::key: {
        c.ws();
        if (c.p >= c.e || *c.p != '"') return Result::invalid;
        const unsigned char* ks = c.p;
        bool escaped = false;
        if (!c.string(escaped)) return Result::invalid;
        const unsigned char* ke = c.p;
        c.ws();
        if (c.p >= c.e || *c.p != ':') return Result::invalid;
        ++c.p;
        if (depth == 1) {
          if (escaped) return Result::unsupported;
          key = span(ks + 1, ke - 1);
          c.ws();
          vstart = c.p;
        }
        next = Next::value;
        continue;
      }
      case Next::after: {
        if (depth == 0) {
          c.ws();
          // nlohmann's lexer takes a NUL byte for the end of input: leave that quirk to it.
          if (c.p != c.e) return *c.p == 0 ? Result::unsupported : Result::invalid;
          return top_object ? Result::object : Result::not_object;
        }
        if (depth == 1 && top_object) {
          // Duplicate keys (a parser keeps the last one): a key can only repeat one seen before
          // when its bit in `seen` is set, so most members skip the search.
          const std::size_t last = key.empty() ? 0 : static_cast<unsigned char>(key.back());
          const std::uint64_t bit = std::uint64_t{1} << ((key.size() * 7 + last) & 63);
          if ((seen & bit) && find(key)) return Result::unsupported;
          seen |= bit;
          if (n_ == kMaxMembers) return Result::unsupported;
          members_[n_++] = JsonMember{key, span(vstart, c.p)};
        }
        c.ws();
        if (c.p >= c.e) return Result::invalid;
        const bool obj = in_object();
        const unsigned char ch = *c.p++;
        if (ch == ',') {
          next = obj ? Next::key : Next::value;
        } else if (ch == (obj ? '}' : ']')) {
          --depth;
          next = Next::after;
        } else {
          return Result::invalid;
        }
        continue;
      }
    }
  }
}

std::optional<std::string> json_string_value(std::string_view raw) {
  if (raw.size() < 2 || raw.front() != '"') return std::nullopt;
  const std::string_view inner = raw.substr(1, raw.size() - 2);
  if (inner.find('\\') == std::string_view::npos) return std::string(inner);
  auto j = nlohmann::json::parse(raw, nullptr, false);
  if (!j.is_string()) return std::nullopt;
  return j.get<std::string>();
}

std::optional<bool> json_bool_value(std::string_view raw) {
  if (raw == "true") return true;
  if (raw == "false") return false;
  return std::nullopt;
}

}  // namespace llmgate
