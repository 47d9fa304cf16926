#pragma once
// A test seam in the request path. The gateway's own definition (src/core/fault_point.cpp) does
// nothing. The test-only binary llmgate-fault links tests/fault/fault_injection.cpp instead,
// whose definition throws for requests to the model alias "fault-<where>": the integration tests
// use it to check that an exception inside a proxied exchange is still answered, logged and
// recorded (handle_proxy's safety net), which no real input reaches any more.
#include <string_view>

namespace llmgate {

// where: "before-upstream" (nothing written to the client yet) or "mid-stream" (after a stream
// chunk reached the client). model: the alias the client asked for.
void fault_point(std::string_view where, std::string_view model);

}  // namespace llmgate
