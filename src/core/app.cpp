#include "llmgate/app.hpp"

namespace llmgate {

// Here rather than beside the reloader: the Beast-free builds (the fuzz targets) link the model
// routes, which take it too.
std::mutex& config_change_mutex() {
  static std::mutex m;
  return m;
}

}  // namespace llmgate
