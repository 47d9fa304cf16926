#pragma once
// SHA-256 and comparisons of secrets. Pure, any thread.
#include <string>
#include <string_view>

namespace llmgate {

// Lower-case hex SHA-256 of `s` (64 characters); "" only if OpenSSL fails. Each thread keeps its
// digest context, so hashing a key per request allocates nothing but the result.
std::string sha256_hex(std::string_view s);

// a == b in a time that depends on the lengths only: for secrets whose length is not secret
// (it leaks through timing anyway), such as the master key on every request.
bool constant_time_equals(std::string_view a, std::string_view b);

// a == b in a time that depends on neither content nor lengths (the SHA-256 digests are
// compared): for credentials typed by a person and CSRF tokens.
bool secret_equals(std::string_view a, std::string_view b);

}  // namespace llmgate
