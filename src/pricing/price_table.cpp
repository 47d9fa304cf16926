// PriceTable: LiteLLM's model_prices_and_context_window.json (embedded) with per-deployment
// overrides. Loaded with a SAX pass that keeps only the fields we price with (fast startup).
#include "llmgate/pricing.hpp"

#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <fstream>
#include <sstream>
#include <stdexcept>

#include "llmgate/embedded.hpp"

namespace llmgate {

using json = nlohmann::json;

struct PriceTable::Loader : json::json_sax_t {
  PriceTable& out;
  int depth = 0;
  std::string model, field;
  ModelPrice cur;
  bool has_token_price = false;

  explicit Loader(PriceTable& o) : out(o) {}

  bool number(double v) {  // NOLINT
    if (depth != 2) return true;
    if (field == "input_cost_per_token") {
      cur.input_cost_per_token = v;
      has_token_price = true;
    } else if (field == "output_cost_per_token") {
      cur.output_cost_per_token = v;
      has_token_price = true;
    } else if (field == "cache_read_input_token_cost") cur.cache_read_input_token_cost = v;
    else if (field == "output_cost_per_reasoning_token") cur.output_cost_per_reasoning_token = v;
    else if (field == "max_input_tokens") cur.max_input_tokens = static_cast<int64_t>(v);
    else if (field == "max_output_tokens") cur.max_output_tokens = static_cast<int64_t>(v);
    return true;
  }
  bool null() override { return true; }
  bool boolean(bool) override { return true; }
  bool number_integer(number_integer_t v) override { return number(static_cast<double>(v)); }
  bool number_unsigned(number_unsigned_t v) override { return number(static_cast<double>(v)); }
  bool number_float(number_float_t v, const string_t&) override { return number(v); }
  bool string(string_t&) override { return true; }
  bool binary(binary_t&) override { return true; }
  bool start_object(std::size_t) override {
    ++depth;
    if (depth == 2) {
      cur = ModelPrice{};
      has_token_price = false;
    }
    return true;
  }
  bool key(string_t& k) override {
    if (depth == 1) model = k;
    else if (depth == 2) field = k;
    return true;
  }
  bool end_object() override {
    if (depth == 2 && has_token_price && model != "sample_spec") out.add(model, cur);
    --depth;
    return true;
  }
  bool start_array(std::size_t) override {
    ++depth;
    return true;
  }
  bool end_array() override {
    --depth;
    return true;
  }
  bool parse_error(std::size_t pos, const std::string&, const nlohmann::detail::exception& e) override {
    throw std::runtime_error("price table: invalid JSON at byte " + std::to_string(pos) + ": " + e.what());
  }
};

namespace {

// The embedded table is 1.3 MB of read-only, file-backed pages that the parse has just faulted
// in; only the ~2,500 prices it yielded are kept. Dropping the mapping's pages returns them to
// the page cache (a later read would fault them back from the binary), so they stop counting
// toward the process's RSS. Only whole pages inside the table are released.
void release_pages(const char* data, std::size_t size) {
  const auto page = static_cast<std::uintptr_t>(sysconf(_SC_PAGESIZE));
  if (page == 0 || page == static_cast<std::uintptr_t>(-1)) return;
  const auto begin = (reinterpret_cast<std::uintptr_t>(data) + page - 1) & ~(page - 1);
  const auto end = (reinterpret_cast<std::uintptr_t>(data) + size) & ~(page - 1);
  if (end > begin) madvise(reinterpret_cast<void*>(begin), end - begin, MADV_DONTNEED);
}

std::optional<double> json_number(const json& obj, const char* name) {
  if (!obj.is_object()) return std::nullopt;
  auto it = obj.find(name);
  if (it == obj.end() || !it->is_number()) return std::nullopt;
  return it->get<double>();
}

}  // namespace

PriceTable PriceTable::load(const std::string& path) {
  std::string owned;
  std::string_view text;
  const bool embedded = path.empty();
  if (embedded) {
    const EmbeddedFile* f = find_embedded("prices", "model_prices_and_context_window.json");
    if (!f) throw std::runtime_error("price table: embedded table missing from this build");
    text = std::string_view(f->data, f->size);
  } else {
    std::ifstream in(path, std::ios::binary);
    if (!in) throw std::runtime_error("price table: cannot read '" + path + "'");
    std::ostringstream ss;
    ss << in.rdbuf();
    owned = ss.str();
    text = owned;
  }
  PriceTable t;
  t.entries_.reserve(4096);
  t.names_.reserve(128 * 1024);
  Loader sax(t);
  if (!json::sax_parse(text.begin(), text.end(), &sax)) throw std::runtime_error("price table: invalid JSON");
  t.seal();
  if (t.entries_.empty()) throw std::runtime_error("price table: no model has a per-token price");
  if (embedded) release_pages(text.data(), text.size());
  return t;
}

void PriceTable::add(std::string_view model, const ModelPrice& p) {
  if (names_.size() + model.size() > UINT32_MAX) throw std::runtime_error("price table: too large");
  Entry e;
  e.name_offset = static_cast<std::uint32_t>(names_.size());
  e.name_size = static_cast<std::uint32_t>(model.size());
  names_.append(model);
  e.input = p.input_cost_per_token;
  e.output = p.output_cost_per_token;
  e.cache_read = p.cache_read_input_token_cost.value_or(NAN);
  e.reasoning = p.output_cost_per_reasoning_token.value_or(NAN);
  e.max_input = p.max_input_tokens;
  e.max_output = p.max_output_tokens;
  entries_.push_back(e);
}

void PriceTable::seal() {
  // Stable, so among equal names the later one comes last and is the one kept.
  std::stable_sort(entries_.begin(), entries_.end(), [&](const Entry& a, const Entry& b) { return name(a) < name(b); });
  std::vector<Entry> kept;
  kept.reserve(entries_.size());
  for (std::size_t i = 0; i < entries_.size(); ++i) {
    if (i + 1 < entries_.size() && name(entries_[i]) == name(entries_[i + 1])) continue;
    kept.push_back(entries_[i]);
  }
  entries_ = std::move(kept);  // exact size: the reserve's slack is released
  names_.shrink_to_fit();      // offsets stay valid: shrinking copies the bytes in order
}

std::optional<ModelPrice> PriceTable::find(const std::string& model_key) const {
  if (model_key.empty()) return std::nullopt;
  auto it = std::lower_bound(entries_.begin(), entries_.end(), std::string_view(model_key),
                             [&](const Entry& e, std::string_view k) { return name(e) < k; });
  if (it == entries_.end() || name(*it) != model_key) return std::nullopt;
  ModelPrice p;
  p.input_cost_per_token = it->input;
  p.output_cost_per_token = it->output;
  if (!std::isnan(it->cache_read)) p.cache_read_input_token_cost = it->cache_read;
  if (!std::isnan(it->reasoning)) p.output_cost_per_reasoning_token = it->reasoning;
  p.max_input_tokens = it->max_input;
  p.max_output_tokens = it->max_output;
  return p;
}

std::optional<ModelPrice> PriceTable::find(const Deployment& d) const {
  // 1. Table entry: model_info.base_model (also with the provider prefix, e.g. azure/<base>),
  //    then "<provider>/<upstream_model>", then upstream_model.
  std::optional<ModelPrice> base;
  const std::string& pfx = d.provider_prefix.empty() ? std::string(to_string(d.provider)) : d.provider_prefix;
  if (!d.base_model.empty()) {
    base = find(d.base_model);
    if (!base) base = find(pfx + "/" + d.base_model);
  }
  if (!base && !d.upstream_model.empty()) {
    base = find(pfx + "/" + d.upstream_model);
    if (!base) base = find(d.upstream_model);
  }
  // 2. Deployment overrides (litellm_params, then model_info) win field by field.
  auto in = d.input_cost_per_token;
  auto out = d.output_cost_per_token;
  if (!in) in = json_number(d.model_info, "input_cost_per_token");
  if (!out) out = json_number(d.model_info, "output_cost_per_token");
  auto cache_read = json_number(d.model_info, "cache_read_input_token_cost");
  auto reasoning = json_number(d.model_info, "output_cost_per_reasoning_token");
  if (!in && !out && !cache_read && !reasoning) return base;
  if (!base && !(in || out)) return std::nullopt;
  ModelPrice p = base.value_or(ModelPrice{});
  if (base && (in || out)) {
    // A custom input/output price makes the table's cached/reasoning rates meaningless.
    p.cache_read_input_token_cost.reset();
    p.output_cost_per_reasoning_token.reset();
  }
  if (in) p.input_cost_per_token = *in;
  if (out) p.output_cost_per_token = *out;
  if (cache_read) p.cache_read_input_token_cost = cache_read;
  if (reasoning) p.output_cost_per_reasoning_token = reasoning;
  return p;
}

std::optional<double> PriceTable::cost(const Deployment& d, const RequestRecord& r) const {
  auto p = find(d);
  if (!p) return std::nullopt;
  return cost(*p, r);
}

double PriceTable::cost(const ModelPrice& p, const RequestRecord& r) {
  if (r.cache_hit) return 0.0;  // answered from the gateway's cache: nothing was billed upstream
  const int64_t prompt = std::max<int64_t>(0, r.prompt_tokens);
  const int64_t completion = std::max<int64_t>(0, r.completion_tokens);
  // Cached and reasoning tokens are included in prompt/completion tokens (OpenAI usage): charge
  // them at their own rate instead of the plain one when the table has that rate.
  int64_t cached = std::clamp<int64_t>(r.cached_tokens, 0, prompt);
  int64_t reasoning = std::clamp<int64_t>(r.reasoning_tokens, 0, completion);
  if (!p.cache_read_input_token_cost) cached = 0;
  if (!p.output_cost_per_reasoning_token) reasoning = 0;
  double c = static_cast<double>(prompt - cached) * p.input_cost_per_token +
             static_cast<double>(completion - reasoning) * p.output_cost_per_token;
  if (cached) c += static_cast<double>(cached) * *p.cache_read_input_token_cost;
  if (reasoning) c += static_cast<double>(reasoning) * *p.output_cost_per_reasoning_token;
  return c;
}

}  // namespace llmgate
