#pragma once
// A validating scan of a JSON object that builds no document: the hot path needs only a few
// top-level fields of the client's body (model, stream, user, stream_options) and forwards the
// rest byte for byte, so building a DOM of the whole ~1 KB body (allocating every string) was the
// largest user-space cost per request. The scan accepts exactly what nlohmann::json::parse
// accepts (RFC 8259: UTF-8 checked, lone surrogates and non-finite numbers refused) and records
// the raw byte spans of the top-level members.
#include <array>
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

#include "llmgate/json_limits.hpp"

namespace llmgate {

struct JsonMember {
  std::string_view key;    // between the quotes, raw (never contains a backslash, see below)
  std::string_view value;  // the value's bytes, e.g. `"gpt-4o"`, `true`, `{"include_usage":true}`
};

class JsonObjectScan {
 public:
  enum class Result {
    object,       // a valid JSON object: members() are its top-level members, keys unique
    not_object,   // valid JSON, but not an object
    invalid,      // not valid JSON
    unsupported,  // valid as far as the scan can tell, but outside what it handles (a byte
                  // order mark, a top-level key written with escapes, a duplicate top-level key,
                  // more than kMaxMembers members): parse instead
    too_deep,     // arrays and objects nest deeper than kMaxDepth before any other fault is
                  // seen: refuse it, never parse it (json_limits.hpp)
  };
  static constexpr std::size_t kMaxMembers = 48;
  static constexpr std::size_t kMaxDepth = kMaxJsonDepth;

  Result scan(std::string_view text);

  std::size_t size() const { return n_; }
  const JsonMember* begin() const { return members_.data(); }
  const JsonMember* end() const { return members_.data() + n_; }
  const JsonMember* find(std::string_view key) const;
  std::string_view text() const { return text_; }

 private:
  std::string_view text_;
  std::array<JsonMember, kMaxMembers> members_{};
  std::size_t n_ = 0;
};

// Helpers on a member's raw value.
// The string a JSON string value decodes to, or nullopt when the value is not a string.
std::optional<std::string> json_string_value(std::string_view raw);
// true / false for the literals, nullopt otherwise.
std::optional<bool> json_bool_value(std::string_view raw);

}  // namespace llmgate
