#pragma once
// Logging for the daemon (src/app/logging.cpp). Called once at startup, before the workers run.

namespace llmgate {

// Installs the default logger: asynchronous, on stdout; one JSON object per line when `json`.
void setup_logging(bool json);

}  // namespace llmgate
