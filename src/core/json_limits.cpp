#include "llmgate/json_limits.hpp"

#include <nlohmann/json.hpp>

#include <cstdint>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

namespace llmgate {

namespace {

// The first byte at or after p that may change the state: outside a string `"` and the four
// brackets, inside one `"` and `\`. Response bodies are mostly string text or long runs of
// numbers (embeddings), so both are skipped 16 bytes a step where SSE2 is there.
template <bool InString>
const unsigned char* next_stop(const unsigned char* p, const unsigned char* e) {
#if defined(__SSE2__)
  const __m128i quote = _mm_set1_epi8('"');
  while (e - p >= 16) {
    const __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
    __m128i stop = _mm_cmpeq_epi8(v, quote);
    if constexpr (InString) {
      stop = _mm_or_si128(stop, _mm_cmpeq_epi8(v, _mm_set1_epi8('\\')));
    } else {
      // '[' 0x5B and '{' 0x7B differ in one bit, as do ']' 0x5D and '}' 0x7D.
      const __m128i folded = _mm_or_si128(v, _mm_set1_epi8(0x20));
      stop = _mm_or_si128(
          stop, _mm_or_si128(_mm_cmpeq_epi8(folded, _mm_set1_epi8(0x7B)), _mm_cmpeq_epi8(folded, _mm_set1_epi8(0x7D))));
    }
    const int mask = _mm_movemask_epi8(stop);
    if (mask != 0) return p + __builtin_ctz(static_cast<unsigned>(mask));
    p += 16;
  }
#endif
  for (; p < e; ++p) {
    const unsigned char c = *p;
    if (c == '"') return p;
    if constexpr (InString) {
      if (c == '\\') return p;
    } else {
      if ((c | 0x20) == 0x7B || (c | 0x20) == 0x7D) return p;
    }
  }
  return e;
}

// True when `[` and `{` bytes, counted everywhere (strings too), are at most `max`: then
// nothing can nest deeper. Branch-free per 16 bytes, so a typical answer of a few KB costs a
// few hundred instructions and never reaches the exact walk below, which stops at every quote.
bool few_openers(const unsigned char* p, const unsigned char* e, std::size_t max) {
  std::size_t n = 0;
#if defined(__SSE2__)
  const __m128i lower = _mm_set1_epi8(0x20);
  const __m128i open = _mm_set1_epi8(0x7B);
  while (e - p >= 16) {
    // Per-byte counters (a match is -1), summed before any can wrap.
    __m128i acc = _mm_setzero_si128();
    for (int i = 0; i < 255 && e - p >= 16; ++i, p += 16) {
      const __m128i v = _mm_or_si128(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p)), lower);
      acc = _mm_sub_epi8(acc, _mm_cmpeq_epi8(v, open));
    }
    const __m128i sums = _mm_sad_epu8(acc, _mm_setzero_si128());
    n += static_cast<std::size_t>(_mm_cvtsi128_si32(sums)) +
         static_cast<std::size_t>(_mm_cvtsi128_si32(_mm_srli_si128(sums, 8)));
    if (n > max) return false;
  }
#endif
  for (; p < e; ++p) n += (*p | 0x20) == 0x7B;
  return n <= max;
}

}  // namespace

bool json_depth_within(std::string_view text, std::size_t max_depth) {
  const auto* p = reinterpret_cast<const unsigned char*>(text.data());
  const auto* const e = p + text.size();
  if (text.size() <= max_depth || few_openers(p, e, max_depth)) return true;
  std::size_t depth = 0;
  for (;;) {
    p = next_stop<false>(p, e);
    if (p == e) return true;
    const unsigned char c = *p++;
    if (c == '"') {
      for (;;) {
        p = next_stop<true>(p, e);
        if (p == e) return true;  // unterminated string: not JSON, the parser refuses it
        if (*p == '"') {
          ++p;
          break;
        }
        if (e - p < 2) return true;
        p += 2;  // the backslash and the byte it escapes
      }
    } else if (c == '[' || c == '{') {
      if (++depth > max_depth) return false;
    } else if (depth > 0) {  // ']' or '}'
      --depth;
    }
  }
}

nlohmann::json parse_json_bounded(std::string_view text, bool* too_deep) {
  const bool deep = !json_depth_within(text);
  if (too_deep) *too_deep = deep;
  if (deep) return nlohmann::json(nlohmann::json::value_t::discarded);
  return nlohmann::json::parse(text, nullptr, false);
}

}  // namespace llmgate
