#pragma once
// Cost of a request in USD from LiteLLM's price table (embedded) with per-deployment overrides.
#include <optional>
#include <string>
#include <unordered_map>

#include "llmgate/config.hpp"
#include "llmgate/record.hpp"

namespace llmgate {

struct ModelPrice {
  double input_cost_per_token = 0;
  double output_cost_per_token = 0;
  std::optional<double> cache_read_input_token_cost;
  std::optional<double> output_cost_per_reasoning_token;
  int64_t max_input_tokens = 0;
  int64_t max_output_tokens = 0;
};

class PriceTable {
 public:
  // Loads the embedded table, or `path` when non-empty. Throws std::runtime_error.
  static PriceTable load(const std::string& path = {});
  // Lookup order: deployment overrides (litellm_params / model_info), model_info.base_model,
  // upstream model with the provider prefix, then without. nullopt when unknown.
  std::optional<ModelPrice> find(const Deployment& d) const;
  std::optional<ModelPrice> find(const std::string& model_key) const;
  // Cost for the record's token counts; nullopt when the price is unknown.
  std::optional<double> cost(const Deployment& d, const RequestRecord& r) const;
  std::size_t size() const { return prices_.size(); }

 private:
  std::unordered_map<std::string, ModelPrice> prices_;
};

}  // namespace llmgate
