#pragma once
// Type confusion for tests: a JSON document with one location (any depth, containers included)
// replaced by a value of another JSON type, for every location and every such value.
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

namespace llmgate::test {

// {"<pointer> = <value>", document} pairs; the label names the change for failure messages.
std::vector<std::pair<std::string, nlohmann::json>> type_variants(const nlohmann::json& doc);

}  // namespace llmgate::test
