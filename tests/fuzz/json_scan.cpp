// The client's request body scan (src/core/json_scan.cpp) and the splice built on it
// (src/providers/provider.cpp): the scan must accept exactly what nlohmann::json::parse accepts,
// report the top-level members the parser sees, and a spliced body must be the client's object
// with only "model" (and stream_options) changed.
#include "llmgate/json_scan.hpp"
#include "fuzz_support.hpp"
#include "llmgate/json_limits.hpp"
#include "llmgate/provider.hpp"

using namespace llmgate;
using namespace llmgate::fuzz;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text = as_text(data, size);
  JsonObjectScan scan;
  const auto r = scan.scan(text);
  const json doc = json::parse(text, nullptr, false);
  switch (r) {
    case JsonObjectScan::Result::invalid:
      check(doc.is_discarded(), "scan refused a body nlohmann parses", text);
      return 0;
    case JsonObjectScan::Result::not_object:
      check(!doc.is_discarded() && !doc.is_object(), "scan: not_object disagrees with nlohmann", text);
      return 0;
    case JsonObjectScan::Result::unsupported: return 0;
    case JsonObjectScan::Result::too_deep:  // refused before any parse: must really be too deep
      check(!json_depth_within(text), "scan: too_deep for a body within the depth limit", text);
      return 0;
    case JsonObjectScan::Result::object: break;
  }
  check(doc.is_object(), "scan accepted an object nlohmann refuses", text);
  check(doc.size() == scan.size(), "scan: member count differs", text);
  for (const JsonMember& m : scan) {
    const std::string key(m.key);
    check(doc.contains(key), "scan: a member nlohmann does not see", key);
    const json v = json::parse(m.value, nullptr, false);
    check(!v.is_discarded() && v == doc[key], "scan: a member's value bytes differ", m.value);
    const auto s = json_string_value(m.value);
    check(s.has_value() == v.is_string() && (!s || *s == v.get<std::string>()), "json_string_value differs", m.value);
    const auto b = json_bool_value(m.value);
    check(b.has_value() == v.is_boolean() && (!b || *b == v.get<bool>()), "json_bool_value differs", m.value);
  }

  // The proxy splices only bodies that have a "model" member.
  BodyFacts facts;
  read_body_facts(scan, facts);
  if (facts.model.empty()) return 0;
  const auto so = doc.find("stream_options");
  check(facts.has_stream_options == (so != doc.end()), "body facts: stream_options", text);
  check(facts.include_usage == (so != doc.end() && include_usage_requested(*so)), "body facts: include_usage", text);
  for (bool add_usage : {false, true}) {
    if (add_usage && facts.has_stream_options) continue;  // the proxy never adds a second one
    for (std::string_view model : {std::string_view("gpt-4o"), std::string_view("we\"ird\\\x01\xff")}) {
      std::string out;
      splice_body(facts, model, add_usage, out);
      json got = json::parse(out, nullptr, false);
      check(got.is_object(), "spliced body is not a JSON object", out);
      json want = doc;
      want["model"] = json(std::string(model)).dump(-1, ' ', false, json::error_handler_t::replace);
      want["model"] = json::parse(want["model"].get<std::string>());
      if (add_usage) want["stream_options"] = {{"include_usage", true}};
      check(got == want, "spliced body differs from the client's with the model replaced", out);
    }
  }
  return 0;
}
