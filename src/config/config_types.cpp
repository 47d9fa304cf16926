// Small pieces of config.hpp: Secret masking, URL parsing, Config lookups.
#include <algorithm>
#include <cctype>

#include "llmgate/config.hpp"

namespace llmgate {

std::string Secret::masked() const {
  if (v_.empty()) return {};
  // Short secrets reveal nothing; longer ones at most 4 characters (e.g. "sk-1****").
  if (v_.size() < 8) return "****";
  return v_.substr(0, 4) + "****";
}

bool looks_like_credential_name(std::string_view name) {
  std::string n(name);
  for (char& c : n) c = c == '-' ? '_' : static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  auto has = [&](std::string_view part) { return n.find(part) != std::string::npos; };
  auto ends = [&](std::string_view tail) {
    return n.size() >= tail.size() && n.compare(n.size() - tail.size(), tail.size(), tail) == 0;
  };
  if (has("secret") || has("password") || has("passwd") || has("credential") || has("authorization")) return true;
  if (n == "key" || ends("_key") || ends("apikey") || has("api_key") || has("access_key")) return true;
  // Token counts and prices (input_cost_per_token, max_tokens) are not tokens of that kind.
  if ((n == "token" || ends("_token")) && !has("cost") && !has("max_")) return true;
  return false;
}

namespace {
void mask_under(nlohmann::json& j, const std::string& path, bool secret, std::vector<std::string>& out) {
  if (j.is_object()) {
    for (auto it = j.begin(); it != j.end(); ++it)
      mask_under(it.value(), path + "." + it.key(), secret || looks_like_credential_name(it.key()), out);
  } else if (j.is_array()) {
    for (std::size_t i = 0; i < j.size(); ++i) mask_under(j[i], path + "[" + std::to_string(i) + "]", secret, out);
  } else if (secret && ((j.is_string() && !j.get_ref<const std::string&>().empty()) || j.is_number())) {
    j = Secret(j.is_string() ? j.get<std::string>() : j.dump()).masked();  // a PIN-like number too
    out.push_back(path);
  }
}
}  // namespace

std::vector<std::string> mask_credential_members(nlohmann::json& j, const std::string& path) {
  std::vector<std::string> out;
  mask_under(j, path, false, out);
  return out;
}

std::optional<Url> parse_url(const std::string& s) {
  Url u;
  std::string rest;
  auto starts_ci = [&](const char* p) {
    std::size_t n = std::char_traits<char>::length(p);
    if (s.size() < n) return false;
    for (std::size_t i = 0; i < n; ++i)
      if (std::tolower(static_cast<unsigned char>(s[i])) != p[i]) return false;
    return true;
  };
  if (starts_ci("https://")) {
    u.tls = true;
    rest = s.substr(8);
  } else if (starts_ci("http://")) {
    rest = s.substr(7);
  } else {
    return std::nullopt;
  }
  // Query strings, fragments, user:password@ and whitespace have no place in an api_base.
  if (rest.find_first_of("?#@ \t\r\n") != std::string::npos) return std::nullopt;
  std::size_t slash = rest.find('/');
  std::string authority = rest.substr(0, slash);
  std::string path = slash == std::string::npos ? std::string{} : rest.substr(slash);
  while (!path.empty() && path.back() == '/') path.pop_back();
  u.base_path = path;

  std::string port;
  if (!authority.empty() && authority[0] == '[') {  // [IPv6]:port; host kept without brackets
    std::size_t close = authority.find(']');
    if (close == std::string::npos || close == 1) return std::nullopt;
    u.host = authority.substr(1, close - 1);
    std::string after = authority.substr(close + 1);
    if (!after.empty()) {
      if (after[0] != ':') return std::nullopt;
      port = after.substr(1);
      if (port.empty()) return std::nullopt;
    }
  } else {
    std::size_t colon = authority.find(':');
    u.host = authority.substr(0, colon);
    if (colon != std::string::npos) {
      port = authority.substr(colon + 1);
      if (port.empty()) return std::nullopt;
    }
  }
  if (u.host.empty()) return std::nullopt;
  for (char c : u.host)
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '-' || c == '_' || c == ':'))
      return std::nullopt;
  if (!port.empty()) {
    if (port.size() > 5 || !std::all_of(port.begin(), port.end(), [](char c) { return c >= '0' && c <= '9'; }))
      return std::nullopt;
    int p = std::stoi(port);
    if (p < 1 || p > 65535) return std::nullopt;
    u.port = std::to_string(p);
  } else {
    u.port = u.tls ? "443" : "80";
  }
  return u;
}

void DeploymentIndex::build(const std::vector<Deployment>& deployments) {
  if (built_) return;  // published already: readers may be using it
  for (const auto& d : deployments) by_alias_[d.model_name].push_back(&d);
  built_ = true;
}

const std::vector<const Deployment*>* DeploymentIndex::find(std::string_view alias) const {
  auto it = by_alias_.find(alias);
  return it == by_alias_.end() ? nullptr : &it->second;
}

std::vector<const Deployment*> Config::find(const std::string& model_name) const {
  if (index_.built()) {
    const auto* v = index_.find(model_name);
    return v ? *v : std::vector<const Deployment*>{};
  }
  std::vector<const Deployment*> out;
  for (const auto& d : deployments)
    if (d.model_name == model_name) out.push_back(&d);
  return out;
}

std::vector<std::string> Config::model_names() const {
  std::vector<std::string> out;
  for (const auto& d : deployments)
    if (std::find(out.begin(), out.end(), d.model_name) == out.end()) out.push_back(d.model_name);
  return out;
}

}  // namespace llmgate
