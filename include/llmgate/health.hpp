#pragma once
// Background health checks that never spend tokens (GET {api_base}/models, Ollama /api/tags).
// Runs its own thread and io_context; snapshot() may be called from any thread.
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace llmgate {

struct App;

struct DeploymentHealth {
  std::string id, model_name, provider, upstream_model, api_base;
  bool healthy = true;
  bool probed = false;     // false: no probe applies (mock) or not checked yet
  std::string error;       // why it is unhealthy (never a secret)
  int64_t checked_at = 0;  // unix seconds
  double latency_ms = 0;
};

class HealthMonitor {
 public:
  explicit HealthMonitor(App& app);
  ~HealthMonitor();
  void start();  // first round now, then every health_check_interval
  void stop();
  std::vector<DeploymentHealth> snapshot() const;
  // Runs one round now and waits for it (reader-pool threads only; never a worker).
  void check_now();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace llmgate
