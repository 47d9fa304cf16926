#pragma once
// Fields of JSON that came from outside (a client's body, an upstream's answer), read without
// exceptions: nlohmann's `value(key, default)` throws when the field is there with another type
// ({"role": [..]}), and an exception there used to end the connection without an answer.
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

namespace llmgate {

// The string under `key`, or `def` when `o` is not an object or the field is absent or not a string.
inline std::string string_field(const nlohmann::json& o, const char* key, std::string_view def = {}) {
  if (o.is_object())
    if (auto it = o.find(key); it != o.end() && it->is_string()) return it->get<std::string>();
  return std::string(def);
}

// The boolean under `key`, or `def` when `o` is not an object or the field is absent or not a boolean.
inline bool bool_field(const nlohmann::json& o, const char* key, bool def) {
  if (o.is_object())
    if (auto it = o.find(key); it != o.end() && it->is_boolean()) return it->get<bool>();
  return def;
}

}  // namespace llmgate
