// Linked into the test-only binary llmgate-fault (tests/CMakeLists.txt) in place of the gateway's
// no-op fault_point (include/llmgate/fault_point.hpp): a request for the alias "fault-<where>"
// throws at that point.
#include <stdexcept>
#include <string>

#include "llmgate/fault_point.hpp"

namespace llmgate {

void fault_point(std::string_view where, std::string_view model) {
  constexpr std::string_view kPrefix = "fault-";
  if (model.size() == kPrefix.size() + where.size() && model.substr(0, kPrefix.size()) == kPrefix &&
      model.substr(kPrefix.size()) == where)
    throw std::runtime_error("injected fault at " + std::string(where));
}

}  // namespace llmgate
