#include "llmgate/fault_point.hpp"

namespace llmgate {

// Weak, and alone in its file: a definition elsewhere (the test-only binary) replaces it, and no
// caller can inline this one away.
[[gnu::weak]] void fault_point(std::string_view, std::string_view) {}

}  // namespace llmgate
