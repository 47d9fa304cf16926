#include "json_variants.hpp"

namespace llmgate::test {
namespace {

using json = nlohmann::json;

// Every location in the document except the root.
void pointers(const json& j, const json::json_pointer& at, std::vector<json::json_pointer>& out) {
  if (j.is_object()) {
    for (auto it = j.begin(); it != j.end(); ++it) {
      out.push_back(at / it.key());
      pointers(it.value(), at / it.key(), out);
    }
  } else if (j.is_array()) {
    for (std::size_t i = 0; i < j.size(); ++i) {
      out.push_back(at / i);
      pointers(j[i], at / i, out);
    }
  }
}

}  // namespace

std::vector<std::pair<std::string, json>> type_variants(const json& doc) {
  static const json kValues[] = {nullptr,        true,          7, -1.5, "text", json::array(), json::array({1, "a"}),
                                 json::object(), json{{"k", 1}}};
  std::vector<json::json_pointer> ps;
  pointers(doc, json::json_pointer(), ps);
  std::vector<std::pair<std::string, json>> out;
  for (const auto& p : ps) {
    for (const auto& v : kValues) {
      if (v.type() == doc[p].type()) continue;
      json d = doc;
      d[p] = v;
      out.emplace_back(p.to_string() + " = " + v.dump(), std::move(d));
    }
  }
  return out;
}

}  // namespace llmgate::test
