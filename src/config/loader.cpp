// load_config_file / load_config_string: the top level of a LiteLLM config.yaml.
#include <algorithm>
#include <cstdio>
#include <fstream>
#include <set>
#include <sstream>

#include "config/loader_state.hpp"

namespace llmgate {

using config_detail::LoadState;
using config_detail::Reader;

namespace {

// Top-level LiteLLM sections we recognise but do not implement.
const std::set<std::string> kTopUnsupported = {
    "include",
    "credential_list",
    "guardrails",
    "mcp_servers",
    "mcp_tools",
    "files_settings",
    "assistant_settings",
    "finetune_settings",
    "callback_settings",
    "vector_store_registry",
    "search_tools",
    "prompts",
    "pass_through_endpoints",
    "model_group_settings",
};

// YAML allows nothing of the sort, yet yaml-cpp (and PyYAML, which keeps the last one) accept
// a repeated key silently: a second `general_settings:` would simply vanish. Fatal here.
void check_keys(const Reader& r, const YAML::Node& n, const std::string& path) {
  if (n.IsMap()) {
    std::set<std::string> seen;
    for (auto it = n.begin(); it != n.end(); ++it) {
      if (!it->first.IsScalar()) r.fail(it->first, path, "map keys must be plain strings");
      const std::string key = it->first.Scalar();
      const std::string p = path.empty() ? key : path + "." + key;
      if (!seen.insert(key).second) r.fail(it->first, p, "duplicate key");
      check_keys(r, it->second, p);
    }
  } else if (n.IsSequence()) {
    std::size_t i = 0;
    for (auto it = n.begin(); it != n.end(); ++it, ++i) check_keys(r, *it, path + "[" + std::to_string(i) + "]");
  }
}

Config load_document(const YAML::Node& root, const std::string& source) {
  LoadState st;
  Reader r(source, st.cfg.warnings);
  st.cfg.source_path = source;
  st.cfg.ledger.database_path = "./data/llmgate.db";
  st.cfg.ledger.database_url = "";

  if (Reader::present(root) && !root.IsMap())
    r.fail(root, "", std::string("the top level must be a map of sections, got ") + config_detail::node_kind(root));
  check_keys(r, root, "");
  YAML::Node empty(YAML::NodeType::Map);
  const YAML::Node& doc = root.IsMap() ? root : empty;

  // environment_variables first: later placeholders may refer to what it sets.
  if (doc["environment_variables"]) config_detail::load_environment_variables(r, doc["environment_variables"]);

  // Settings before model_list: they provide deployment defaults (timeouts, ssl_verify).
  YAML::Node empty_map(YAML::NodeType::Null);
  auto section = [&](const char* name) {
    YAML::Node n = doc[name];
    return n ? n : empty_map;
  };
  config_detail::load_general_settings(r, section("general_settings"), st);
  config_detail::load_litellm_settings(r, section("litellm_settings"), st);
  config_detail::load_router_settings(r, section("router_settings"), st);
  config_detail::load_llmgate_settings(r, section("llmgate_settings"), st);
  config_detail::load_model_list(r, section("model_list"), st);

  for (auto it = doc.begin(); it != doc.end(); ++it) {
    const std::string key = it->first.Scalar();
    if (key == "model_list" || key == "litellm_settings" || key == "general_settings" || key == "router_settings" ||
        key == "environment_variables" || key == "llmgate_settings")
      continue;
    if (kTopUnsupported.count(key)) r.not_supported(key);
    else r.unknown(key);
  }

  Config& c = st.cfg;
  c.ledger.store_bodies = st.store_prompts && !st.turn_off_message_logging;
  c.num_retries = st.router_num_retries.value_or(st.litellm_num_retries.value_or(0));
  if (st.router_num_retries) c.router.num_retries = st.router_num_retries;
  else if (st.litellm_num_retries) c.router.num_retries = st.litellm_num_retries;
  if (st.router_timeout) c.router.request_timeout_s = *st.router_timeout;
  else if (st.request_timeout) c.router.request_timeout_s = *st.request_timeout;
  c.fallbacks = st.litellm_fallbacks;
  for (auto& [k, v] : st.router_fallbacks) c.fallbacks[k] = v;  // router_settings wins

  // Fallbacks naming models that are not configured cannot work: say so (never fatal).
  const auto names = c.model_names();
  auto known = [&](const std::string& m) { return std::find(names.begin(), names.end(), m) != names.end(); };
  for (const auto& [alias, targets] : c.fallbacks) {
    if (!known(alias)) r.warn("fallbacks." + alias, "model '" + alias + "' is not in model_list");
    for (const auto& t : targets)
      if (!known(t)) r.warn("fallbacks." + alias, "fallback model '" + t + "' is not in model_list");
  }
  return std::move(st.cfg);
}

// Offset of the first byte that is not part of well-formed UTF-8 (overlongs, surrogates and
// code points above U+10FFFF included), or of the first NUL; npos when there is none.
std::size_t first_bad_utf8(std::string_view s) {
  std::size_t i = 0;
  while (i < s.size()) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (c == 0) return i;
    if (c < 0x80) {
      ++i;
      continue;
    }
    std::size_t n;
    unsigned lo = 0x80, hi = 0xBF;  // the allowed range of the second byte
    if (c >= 0xC2 && c <= 0xDF) n = 1;
    else if (c == 0xE0) n = 2, lo = 0xA0;
    else if (c == 0xED) n = 2, hi = 0x9F;
    else if (c >= 0xE1 && c <= 0xEF) n = 2;
    else if (c == 0xF0) n = 3, lo = 0x90;
    else if (c == 0xF4) n = 3, hi = 0x8F;
    else if (c >= 0xF1 && c <= 0xF3) n = 3;
    else return i;
    if (i + n >= s.size()) return i;  // cut short at the end
    for (std::size_t k = 1; k <= n; ++k) {
      const auto b = static_cast<unsigned char>(s[i + k]);
      if (b < (k == 1 ? lo : 0x80) || b > (k == 1 ? hi : 0xBF)) return i;
    }
    i += n + 1;
  }
  return std::string_view::npos;
}

}  // namespace

Config load_config_string(const std::string& yaml, const std::string& source_name) {
  // YAML is Unicode text. A file in another encoding (Latin-1 from an old editor) is refused
  // here with its position, rather than read as bytes that no JSON output could carry.
  if (const std::size_t bad = first_bad_utf8(yaml); bad != std::string_view::npos) {
    const std::size_t line_start = yaml.rfind('\n', bad == 0 ? 0 : bad - 1);
    const std::size_t line = 1 + static_cast<std::size_t>(
                                     std::count(yaml.begin(), yaml.begin() + static_cast<std::ptrdiff_t>(bad), '\n'));
    const std::size_t col = bad - (line_start == std::string::npos || bad == 0 ? 0 : line_start + 1) + 1;
    char hex[8];
    std::snprintf(hex, sizeof hex, "0x%02X", static_cast<unsigned char>(yaml[bad]));
    throw ConfigError(source_name + ":" + std::to_string(line) + ":" + std::to_string(col) +
                      ": not valid UTF-8 (byte " + hex + "); save the file as UTF-8");
  }
  YAML::Node root;
  try {
    root = YAML::Load(yaml);
  } catch (const YAML::Exception& e) {
    std::string msg = source_name;
    if (e.mark.line >= 0) msg += ":" + std::to_string(e.mark.line + 1) + ":" + std::to_string(e.mark.column + 1);
    msg += ": invalid YAML: " + e.msg;
    throw ConfigError(msg);
  }
  try {
    return load_document(root, source_name);
  } catch (const ConfigError&) {
    throw;
  } catch (const YAML::Exception& e) {  // e.g. a non-scalar map key
    std::string msg = source_name;
    if (e.mark.line >= 0) msg += ":" + std::to_string(e.mark.line + 1);
    throw ConfigError(msg + ": " + e.msg);
  } catch (const std::exception& e) {
    throw ConfigError(source_name + ": " + e.what());
  }
}

Config load_config_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw ConfigError(path + ": cannot open config file");
  std::ostringstream ss;
  ss << in.rdbuf();
  if (in.bad()) throw ConfigError(path + ": cannot read config file");
  return load_config_string(ss.str(), path);
}

}  // namespace llmgate
