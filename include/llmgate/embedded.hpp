#pragma once
// Files compiled into the binary at build time (cmake/Embed.cmake).
#include <cstddef>
#include <string_view>

namespace llmgate {

struct EmbeddedFile {
  const char* path;  // relative to the embedded root, '/'-separated
  const char* data;  // NUL-terminated for convenience; size excludes the NUL
  std::size_t size;
};

// Returns the embedded file at `path` or nullptr. `set` is "prices" or "ui".
const EmbeddedFile* find_embedded(std::string_view set, std::string_view path);

}  // namespace llmgate

extern const llmgate::EmbeddedFile* llmgate_embedded_prices(std::size_t* count);
extern const llmgate::EmbeddedFile* llmgate_embedded_ui(std::size_t* count);
