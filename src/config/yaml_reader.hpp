#pragma once
// Internal to src/config: typed, env-resolving reads of yaml-cpp nodes. Every failure is a
// ConfigError of the form "<source>:<line>: <yaml.path>: <message>".
#include <cstdint>
#include <set>
#include <string>
#include <vector>

#include <yaml-cpp/yaml.h>
#include <nlohmann/json.hpp>

#include "llmgate/config.hpp"

namespace llmgate::config_detail {

class Reader {
 public:
  Reader(std::string source, std::vector<std::string>& warnings) : source_(std::move(source)), warnings_(warnings) {}

  [[noreturn]] void fail(const YAML::Node& at, const std::string& path, const std::string& msg) const;
  [[noreturn]] void fail(const YAML::Mark& at, const std::string& path, const std::string& msg) const;
  // Appends "path: msg" once (a second identical warning is dropped).
  void warn(const std::string& path, const std::string& msg);
  void not_supported(const std::string& path) { warn(path, "not supported yet, ignored"); }
  void unknown(const std::string& path) { warn(path, "unknown key, ignored"); }

  // A null node (`key:` with no value) counts as absent for every typed read.
  static bool present(const YAML::Node& n) { return n.IsDefined() && !n.IsNull(); }

  // String scalar with os.environ/VAR and ${VAR} resolved.
  std::string str(const YAML::Node& n, const std::string& path) const;
  double number(const YAML::Node& n, const std::string& path) const;  // finite
  double non_negative(const YAML::Node& n, const std::string& path) const;
  std::int64_t integer(const YAML::Node& n, const std::string& path, std::int64_t min, std::int64_t max) const;
  bool boolean(const YAML::Node& n, const std::string& path) const;
  // Seconds: a number, or "<n>ms|s|m|h|d|w" ("30d", "90m", "1.5h"). Must be >= 0.
  double duration(const YAML::Node& n, const std::string& path) const;
  // Bytes: an integer, or "<n>KiB|MiB|GiB" (also KB/MB/GB, read as binary multiples).
  std::size_t size(const YAML::Node& n, const std::string& path) const;
  // Whole subtree as JSON, scalars env-resolved (numbers/bools typed when unquoted).
  nlohmann::json to_json(const YAML::Node& n, const std::string& path) const;
  // Fails unless the node is a map (or null, which is treated as an empty map).
  void expect_map(const YAML::Node& n, const std::string& path) const;

  // Resolves placeholders in an already-read scalar string.
  std::string resolve_env(const std::string& v, const YAML::Node& at, const std::string& path) const;

  const std::string& source() const { return source_; }

 private:
  std::string scalar(const YAML::Node& n, const std::string& path, const char* expected) const;
  std::string source_;
  std::vector<std::string>& warnings_;
  std::set<std::string> warned_;
};

const char* node_kind(const YAML::Node& n);  // "a map", "a list", "null", "a scalar"

// "sqlite:///rel" -> "rel", "sqlite:////abs" -> "/abs"; throws std::invalid_argument with a
// user-facing message on anything else.
std::string sqlite_path_from_url(const std::string& url);

}  // namespace llmgate::config_detail
