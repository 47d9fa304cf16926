#include "llmgate/embedded.hpp"

namespace llmgate {

const EmbeddedFile* find_embedded(std::string_view set, std::string_view path) {
  std::size_t n = 0;
  const EmbeddedFile* files = nullptr;
  if (set == "prices") files = llmgate_embedded_prices(&n);
  else if (set == "ui") files = llmgate_embedded_ui(&n);
  for (std::size_t i = 0; files && i < n; ++i) {
    if (files[i].path && path == files[i].path) return &files[i];
  }
  return nullptr;
}

}  // namespace llmgate
