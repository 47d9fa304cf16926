#pragma once
// Small text helpers for the ledger and its backends. Pure, any thread.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "llmgate/clock.hpp"   // iso8601_us
#include "llmgate/digest.hpp"  // sha256_hex

namespace llmgate::store {

// Returns `s` as valid UTF-8 without NUL bytes: every byte that is not part of a well-formed
// UTF-8 sequence (including CESU-encoded surrogates and overlongs) and every NUL becomes the
// four ASCII characters "\xNN". Valid input is returned unchanged (fast path, no copy when
// `changed` is not needed).
std::string sanitize_utf8(std::string_view s, bool* changed = nullptr);

// True when sanitize_utf8 would return `s` unchanged.
bool is_clean_utf8(std::string_view s);

// Cuts `s` to at most `max_bytes` without splitting a UTF-8 sequence. Returns true if cut.
bool truncate_utf8(std::string& s, std::size_t max_bytes);

// Parses unix seconds ("1700000000", "1700000000.5"), "YYYY-MM-DD", "YYYY-MM-DDTHH:MM:SS[Z]" or
// "YYYY-MM-DD HH:MM:SS" (UTC) into unix microseconds. nullopt when unparseable.
std::optional<int64_t> parse_time_us(std::string_view s);

}  // namespace llmgate::store
