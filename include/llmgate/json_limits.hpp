#pragma once
// How deep JSON from outside may nest (client bodies, management calls, upstream answers and
// stream events, stored documents). nlohmann parses and destroys documents without recursion,
// but dump(), copies and comparisons recurse once per level: a chat body of 100,000 nested
// arrays overflowed a worker's stack when the mock provider or a dialect dumped it. So no
// document is built from outside input that nests deeper than kMaxJsonDepth.
#include <cstddef>
#include <string_view>

#include <nlohmann/json_fwd.hpp>

namespace llmgate {

// Arrays and objects, counted together: 512 leaves room for any real tool schema (Python's
// json module stops near 1,000) and keeps a recursive walk's stack use near 100 KiB.
inline constexpr std::size_t kMaxJsonDepth = 512;

// The message of the 400 a client gets for such a body.
inline constexpr std::string_view kJsonTooDeepMessage =
    "The JSON body nests arrays and objects deeper than 512 levels, the gateway's limit.";

// False when the arrays and objects of `text` nest deeper than `max_depth`. Does not validate:
// brackets inside strings do not count, unmatched closing brackets are ignored, so the answer is
// exact for valid JSON (and invalid JSON is refused by the parser anyway). Linear, allocates
// nothing; any thread.
bool json_depth_within(std::string_view text, std::size_t max_depth = kMaxJsonDepth);

// nlohmann::json::parse(text, nullptr, false) for input from outside: a discarded value when
// `text` is not JSON or nests deeper than kMaxJsonDepth (then `*too_deep` is set, when given).
// Never throws; any thread.
nlohmann::json parse_json_bounded(std::string_view text, bool* too_deep = nullptr);

}  // namespace llmgate
