#pragma once
// Prometheus metrics with LiteLLM's names (prometheus-cpp core; /metrics served by us).
// Thread-safe. Label values only ever come from configured names (never from client input).
#include <memory>
#include <string>

#include "llmgate/config.hpp"
#include "llmgate/ledger.hpp"
#include "llmgate/record.hpp"

namespace llmgate {

enum class DeploymentState { healthy = 0, partial_outage = 1, outage = 2 };

class Metrics {
 public:
  explicit Metrics(const Config& cfg);
  ~Metrics();
  // After a config reload (any thread): the new model groups / deployments become label values.
  // Existing series stay.
  void reconfigure(const Config& cfg);
  // Worker threads, hot path.
  void in_flight_add(int delta);
  void observe(const RequestRecord& r);  // once per finished request
  // Health monitor thread.
  void set_deployment_state(const Deployment& d, DeploymentState s);
  // Any thread: Prometheus text exposition, including the ledger's internal gauges.
  std::string serialize(const LedgerStats* ledger) const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace llmgate
