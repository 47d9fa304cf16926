#include "config/yaml_reader.hpp"

#include <cctype>
#include <cmath>
#include <cstdlib>
#include <limits>
#include <stdexcept>

namespace llmgate::config_detail {

namespace {

std::string trim(const std::string& s) {
  std::size_t b = 0, e = s.size();
  while (b < e && std::isspace(static_cast<unsigned char>(s[b]))) ++b;
  while (e > b && std::isspace(static_cast<unsigned char>(s[e - 1]))) --e;
  return s.substr(b, e - b);
}

std::string lower(std::string s) {
  for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

bool valid_env_name(const std::string& n) {
  if (n.empty() || std::isdigit(static_cast<unsigned char>(n[0]))) return false;
  for (char c : n)
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '_')) return false;
  return true;
}

// Parses a finite double occupying the whole string; false otherwise.
bool parse_double(const std::string& s, double& out) {
  if (s.empty()) return false;
  const char* b = s.c_str();
  char* end = nullptr;
  errno = 0;
  double v = std::strtod(b, &end);
  if (end != b + s.size() || errno == ERANGE || !std::isfinite(v)) return false;
  out = v;
  return true;
}

std::string show_value(const std::string& v) {
  std::string s = v.size() > 60 ? v.substr(0, 60) + "..." : v;
  return "'" + s + "'";
}

}  // namespace

const char* node_kind(const YAML::Node& n) {
  switch (n.Type()) {
    case YAML::NodeType::Map: return "a map";
    case YAML::NodeType::Sequence: return "a list";
    case YAML::NodeType::Null: return "null";
    case YAML::NodeType::Scalar: return "a scalar";
    default: return "nothing";
  }
}

void Reader::fail(const YAML::Mark& m, const std::string& path, const std::string& msg) const {
  std::string out = source_;
  if (m.line >= 0) out += ":" + std::to_string(m.line + 1);
  out += ": ";
  if (!path.empty()) out += path + ": ";
  out += msg;
  throw ConfigError(out);
}

void Reader::fail(const YAML::Node& at, const std::string& path, const std::string& msg) const {
  fail(at.IsDefined() ? at.Mark() : YAML::Mark::null_mark(), path, msg);
}

void Reader::warn(const std::string& path, const std::string& msg) {
  std::string w = path + ": " + msg;
  if (warned_.insert(w).second) warnings_.push_back(std::move(w));
}

std::string Reader::resolve_env(const std::string& v, const YAML::Node& at, const std::string& path) const {
  static const std::string kPrefix = "os.environ/";
  auto lookup = [&](const std::string& name) -> std::string {
    const char* val = std::getenv(name.c_str());
    if (!val) fail(at, path, "environment variable " + name + " is not set");
    return val;
  };
  if (v.compare(0, kPrefix.size(), kPrefix) == 0) {
    std::string name = trim(v.substr(kPrefix.size()));
    if (!valid_env_name(name))
      fail(at, path, "invalid environment variable name " + show_value(name) + " after os.environ/");
    return lookup(name);
  }
  if (v.find("${") == std::string::npos) return v;
  std::string out;
  out.reserve(v.size());
  std::size_t pos = 0;
  while (pos < v.size()) {
    std::size_t open = v.find("${", pos);
    if (open == std::string::npos) break;
    std::size_t close = v.find('}', open + 2);
    if (close == std::string::npos) break;
    std::string name = v.substr(open + 2, close - open - 2);
    out.append(v, pos, open - pos);
    if (valid_env_name(name)) {
      out += lookup(name);
    } else {
      out.append(v, open, close + 1 - open);  // not a placeholder: kept literally
    }
    pos = close + 1;
  }
  out.append(v, pos, std::string::npos);
  return out;
}

std::string Reader::scalar(const YAML::Node& n, const std::string& path, const char* expected) const {
  if (!n.IsScalar()) fail(n, path, std::string("expected ") + expected + ", got " + node_kind(n));
  return resolve_env(n.Scalar(), n, path);
}

std::string Reader::str(const YAML::Node& n, const std::string& path) const { return scalar(n, path, "a string"); }

double Reader::number(const YAML::Node& n, const std::string& path) const {
  std::string s = trim(scalar(n, path, "a number"));
  double v = 0;
  if (!parse_double(s, v)) fail(n, path, "expected a number, got " + show_value(s));
  return v;
}

double Reader::non_negative(const YAML::Node& n, const std::string& path) const {
  double v = number(n, path);
  if (v < 0) fail(n, path, "must not be negative");
  return v;
}

std::int64_t Reader::integer(const YAML::Node& n, const std::string& path, std::int64_t min, std::int64_t max) const {
  std::string s = trim(scalar(n, path, "an integer"));
  const char* b = s.c_str();
  char* end = nullptr;
  errno = 0;
  long long v = s.empty() ? 0 : std::strtoll(b, &end, 10);
  if (s.empty() || end != b + s.size() || errno == ERANGE) {
    // "600.0" is accepted when it is integral, as Python's int(float(...)) would.
    double d = 0;
    if (!parse_double(s, d) || d != std::floor(d) || std::fabs(d) > 9e15)
      fail(n, path, "expected an integer, got " + show_value(s));
    v = static_cast<long long>(d);
  }
  if (v < min || v > max)
    fail(n, path,
         "must be between " + std::to_string(min) + " and " + std::to_string(max) + ", got " + std::to_string(v));
  return v;
}

bool Reader::boolean(const YAML::Node& n, const std::string& path) const {
  std::string s = lower(trim(scalar(n, path, "true or false")));
  if (s == "true" || s == "yes" || s == "on" || s == "1") return true;
  if (s == "false" || s == "no" || s == "off" || s == "0") return false;
  fail(n, path, "expected true or false, got " + show_value(s));
}

double Reader::duration(const YAML::Node& n, const std::string& path) const {
  std::string s = lower(trim(scalar(n, path, "a duration")));
  double v = 0;
  if (parse_double(s, v)) {
    if (v < 0) fail(n, path, "must not be negative");
    return v;
  }
  static const std::pair<const char*, double> units[] = {{"ms", 0.001}, {"s", 1},     {"m", 60},
                                                         {"h", 3600},   {"d", 86400}, {"w", 7 * 86400}};
  for (const auto& [u, mult] : units) {
    std::string unit(u);
    if (s.size() > unit.size() && s.compare(s.size() - unit.size(), unit.size(), unit) == 0) {
      std::string num = trim(s.substr(0, s.size() - unit.size()));
      // "5ms" must not be read as "5m" + "s": only accept when the rest is a plain number.
      if (parse_double(num, v)) {
        if (v < 0) fail(n, path, "must not be negative");
        return v * mult;
      }
    }
  }
  fail(n, path, "expected a duration (seconds, or a number followed by ms, s, m, h, d or w), got " + show_value(s));
}

std::size_t Reader::size(const YAML::Node& n, const std::string& path) const {
  std::string s = trim(scalar(n, path, "a size in bytes"));
  std::string ls = lower(s);
  static const std::pair<const char*, double> units[] = {{"kib", 1024.0}, {"mib", 1048576.0}, {"gib", 1073741824.0},
                                                         {"kb", 1024.0},  {"mb", 1048576.0},  {"gb", 1073741824.0},
                                                         {"b", 1.0}};
  double mult = 1;
  for (const auto& [u, m] : units) {
    std::string unit(u);
    if (ls.size() > unit.size() && ls.compare(ls.size() - unit.size(), unit.size(), unit) == 0) {
      ls = trim(ls.substr(0, ls.size() - unit.size()));
      mult = m;
      break;
    }
  }
  double v = 0;
  if (!parse_double(ls, v) || v < 0 || v * mult > 9e15 || v * mult != std::floor(v * mult))
    fail(n, path, "expected a size in bytes (e.g. 65536 or 64KiB), got " + show_value(s));
  return static_cast<std::size_t>(v * mult);
}

nlohmann::json Reader::to_json(const YAML::Node& n, const std::string& path) const {
  switch (n.Type()) {
    case YAML::NodeType::Map: {
      nlohmann::json o = nlohmann::json::object();
      for (auto it = n.begin(); it != n.end(); ++it) {
        std::string k = it->first.Scalar();
        o[k] = to_json(it->second, path + "." + k);
      }
      return o;
    }
    case YAML::NodeType::Sequence: {
      nlohmann::json a = nlohmann::json::array();
      std::size_t i = 0;
      for (auto it = n.begin(); it != n.end(); ++it, ++i)
        a.push_back(to_json(*it, path + "[" + std::to_string(i) + "]"));
      return a;
    }
    case YAML::NodeType::Scalar: {
      std::string v = resolve_env(n.Scalar(), n, path);
      if (n.Tag() == "!") return v;  // quoted in the YAML: stays a string
      if (v == "true" || v == "True") return true;
      if (v == "false" || v == "False") return false;
      if (v == "null" || v == "~") return nullptr;
      const char* b = v.c_str();
      char* end = nullptr;
      long long iv = v.empty() ? 0 : std::strtoll(b, &end, 10);
      if (!v.empty() && end == b + v.size()) return iv;
      double d = 0;
      if (parse_double(v, d)) return d;
      return v;
    }
    default: return nullptr;
  }
}

void Reader::expect_map(const YAML::Node& n, const std::string& path) const {
  if (!n.IsMap() && !n.IsNull()) fail(n, path, std::string("expected a map, got ") + node_kind(n));
}

std::string sqlite_path_from_url(const std::string& url) {
  std::string l = lower(url);
  if (l.rfind("postgresql://", 0) == 0 || l.rfind("postgres://", 0) == 0)
    throw std::invalid_argument("PostgreSQL is not supported yet; use sqlite:///path");
  if (l.rfind("sqlite:///", 0) == 0) {
    std::string p = url.substr(10);  // "sqlite:////abs" leaves "/abs"
    if (p.empty()) throw std::invalid_argument("sqlite URL has no file path; use sqlite:///path");
    return p;
  }
  if (url.find("://") != std::string::npos)
    throw std::invalid_argument(
        "unsupported database URL scheme; use sqlite:///relative/path or "
        "sqlite:////absolute/path");
  if (url.empty()) throw std::invalid_argument("empty database URL");
  return url;  // a plain file path
}

}  // namespace llmgate::config_detail
