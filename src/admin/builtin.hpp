#pragma once
#include <vector>

#include "llmgate/app.hpp"

namespace llmgate {
// /v1/models, /health*, /metrics, /llmgate/api/config.
void register_builtin_routes(std::vector<Route>& routes);
}  // namespace llmgate
