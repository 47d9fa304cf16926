#pragma once
// Cost of a request in USD from LiteLLM's price table (embedded) with per-deployment overrides.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

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
  // The same for a price already found (the proxy caches find(d) per deployment).
  static double cost(const ModelPrice& p, const RequestRecord& r);
  std::size_t size() const { return entries_.size(); }

 private:
  // ~2,100 models stay resident for the daemon's life, so they are kept compact: one string of
  // all names and a vector sorted by name (binary search), ~100 bytes a model instead of ~180 in
  // a node-based map. Absent optional prices are NaN.
  struct Entry {
    std::uint32_t name_offset = 0;
    std::uint32_t name_size = 0;
    double input = 0, output = 0, cache_read = 0, reasoning = 0;
    std::int64_t max_input = 0, max_output = 0;
  };
  std::string_view name(const Entry& e) const { return {names_.data() + e.name_offset, e.name_size}; }
  void add(std::string_view model, const ModelPrice& p);
  struct Loader;  // the SAX pass that fills the table
  void seal();    // sorts by name; a later duplicate name replaces an earlier one, as in the JSON

  std::string names_;
  std::vector<Entry> entries_;
};

}  // namespace llmgate
