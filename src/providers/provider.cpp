#include <nlohmann/json.hpp>

#include <algorithm>
#include <charconv>
#include <tuple>

#include "llmgate/json_scan.hpp"
#include "llmgate/provider.hpp"
#include "llmgate/providers.hpp"

namespace llmgate {

const char* to_string(Endpoint e) {
  switch (e) {
    case Endpoint::chat: return "/v1/chat/completions";
    case Endpoint::completions: return "/v1/completions";
    case Endpoint::embeddings: return "/v1/embeddings";
  }
  return "";
}

int64_t sane_token_count(int64_t n) { return n < 0 || n > kMaxTokenCount ? 0 : n; }

void read_openai_usage(const nlohmann::json& usage, Usage& u) {
  if (!usage.is_object()) return;
  auto num = [](const nlohmann::json& j, const char* k) -> int64_t {
    auto it = j.find(k);
    if (it == j.end()) return 0;
    if (it->is_number_unsigned())
      return it->get<uint64_t>() > kMaxTokenCount ? 0 : static_cast<int64_t>(it->get<uint64_t>());
    if (it->is_number_integer()) return sane_token_count(it->get<int64_t>());
    if (it->is_number_float()) {  // 12.0 from some servers; never cast an out-of-range double
      const double v = it->get<double>();
      return v >= 0 && v <= static_cast<double>(kMaxTokenCount) ? static_cast<int64_t>(v) : 0;
    }
    return 0;
  };
  u.prompt_tokens = num(usage, "prompt_tokens");
  u.completion_tokens = num(usage, "completion_tokens");
  u.total_tokens = num(usage, "total_tokens");
  if (u.total_tokens == 0) u.total_tokens = u.prompt_tokens + u.completion_tokens;
  if (auto it = usage.find("prompt_tokens_details"); it != usage.end() && it->is_object())
    u.cached_tokens = num(*it, "cached_tokens");
  if (auto it = usage.find("completion_tokens_details"); it != usage.end() && it->is_object())
    u.reasoning_tokens = num(*it, "reasoning_tokens");
  u.present = true;
}

bool is_forbidden_body_field(std::string_view key) {
  for (const char* f : kForbiddenBodyFields)
    if (key == f) return true;
  return false;
}

void splice_body(const BodyFacts& f, std::string_view upstream_model, bool add_usage, std::string& out) {
  // A model name of printable ASCII without quotes or backslashes (all real ones) is its own
  // JSON string body; anything else is encoded by the JSON library (escapes, invalid UTF-8).
  const bool plain = std::all_of(upstream_model.begin(), upstream_model.end(),
                                 [](char c) { return c >= 0x20 && c < 0x7f && c != '"' && c != '\\'; });
  const std::string encoded =
      plain ? std::string()
            : nlohmann::json(upstream_model).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  const std::string_view cb = f.text;
  const std::size_t m0 = static_cast<std::size_t>(f.model.data() - cb.data());
  const std::size_t m1 = m0 + f.model.size();
  out.reserve(out.size() + cb.size() + upstream_model.size() + encoded.size() + 42);
  auto append_model = [&] {
    if (plain) {
      out += '"';
      out.append(upstream_model);
      out += '"';
    } else {
      out.append(encoded);
    }
  };
  if (add_usage) {
    const std::size_t brace = cb.find('{');
    out.append(cb.substr(0, brace + 1));
    out.append(R"("stream_options":{"include_usage":true},)");
    out.append(cb.substr(brace + 1, m0 - brace - 1));
  } else {
    out.append(cb.substr(0, m0));
  }
  append_model();
  out.append(cb.substr(m1));
}

bool include_usage_requested(const nlohmann::json& stream_options) {
  if (!stream_options.is_object()) return false;
  auto it = stream_options.find("include_usage");
  return it != stream_options.end() && it->is_boolean() && it->get<bool>();
}

void read_body_facts(const JsonObjectScan& scan, BodyFacts& f) {
  f = BodyFacts{};
  f.text = scan.text();
  if (const JsonMember* m = scan.find("model")) f.model = m->value;
  for (const JsonMember& mem : scan) f.has_forbidden = f.has_forbidden || is_forbidden_body_field(mem.key);
  if (const JsonMember* so = scan.find("stream_options")) {
    f.has_stream_options = true;
    if (so->value.front() == '{') {
      JsonObjectScan ss;
      const auto r = ss.scan(so->value);
      if (r == JsonObjectScan::Result::object) {
        const JsonMember* iu = ss.find("include_usage");
        f.include_usage = iu && json_bool_value(iu->value).value_or(false);
      } else {  // escaped or duplicate keys: let the parser decide
        f.include_usage = include_usage_requested(parse_json_bounded(so->value));
      }
    }
  }
}

namespace {
// A JSON integer member (absent: 0); false when present but not a plain integer.
bool int_member(const JsonObjectScan& s, std::string_view key, int64_t& out) {
  out = 0;
  const JsonMember* m = s.find(key);
  if (!m) return true;
  const char* b = m->value.data();
  const char* e = b + m->value.size();
  auto [p, ec] = std::from_chars(b, e, out);
  return ec == std::errc() && p == e;
}

// An OpenAI usage object read by the validating scan (no document); false when it holds
// anything the scan does not vouch for (the caller parses it then).
bool read_usage_scanned(std::string_view obj, Usage& u) {
  JsonObjectScan s;
  if (s.scan(obj) != JsonObjectScan::Result::object) return false;
  Usage r = u;  // like read_openai_usage: details absent leave those counts as they were
  if (!int_member(s, "prompt_tokens", r.prompt_tokens) || !int_member(s, "completion_tokens", r.completion_tokens) ||
      !int_member(s, "total_tokens", r.total_tokens))
    return false;
  for (int64_t* v : {&r.prompt_tokens, &r.completion_tokens, &r.total_tokens}) *v = sane_token_count(*v);
  if (r.total_tokens == 0) r.total_tokens = r.prompt_tokens + r.completion_tokens;
  for (auto [field, key, dst] : {std::tuple{"prompt_tokens_details", "cached_tokens", &r.cached_tokens},
                                 std::tuple{"completion_tokens_details", "reasoning_tokens", &r.reasoning_tokens}}) {
    const JsonMember* d = s.find(field);
    if (!d || d->value.front() != '{') continue;  // absent, null: nothing to read
    JsonObjectScan ds;
    if (ds.scan(d->value) != JsonObjectScan::Result::object || !int_member(ds, key, *dst)) return false;
    *dst = sane_token_count(*dst);
  }
  r.present = true;
  u = r;
  return true;
}
}  // namespace

ResponseBody read_openai_response(std::string_view body, Usage& u) {
  const std::size_t b = body.find_first_not_of(" \t\r\n"), e = body.find_last_not_of(" \t\r\n");
  if (b == std::string_view::npos || body[b] != '{' || body[e] != '}') return ResponseBody::invalid;
  // Forwarded without a document: the client gets no deeper JSON than the gateway accepts.
  if (!json_depth_within(body)) return ResponseBody::invalid;
  if (extract_usage_fast(body, u)) return ResponseBody::forward;
  // No usage object found by the fast path: the document decides (and is checked whole).
  const auto j = parse_json_bounded(body);
  if (!j.is_object()) return ResponseBody::invalid;
  if (j.contains("usage")) read_openai_usage(j["usage"], u);
  return ResponseBody::forward;
}

bool extract_usage_fast(std::string_view body, Usage& u) {
  // The last `"usage":{...}` key in the document (a quote inside a JSON string is always
  // escaped, so an unescaped "usage" followed by ':' is a key). Parse only that object.
  std::size_t pos = body.size();
  while (pos > 0) {
    pos = body.rfind("\"usage\"", pos - 1);
    if (pos == std::string_view::npos) return false;
    std::size_t i = pos + 7;
    while (i < body.size() && (body[i] == ' ' || body[i] == '\n' || body[i] == '\r' || body[i] == '\t')) ++i;
    if (i >= body.size() || body[i] != ':') continue;
    ++i;
    while (i < body.size() && (body[i] == ' ' || body[i] == '\n' || body[i] == '\r' || body[i] == '\t')) ++i;
    if (i >= body.size() || body[i] != '{') return false;  // "usage": null
    int depth = 0;
    bool in_str = false;
    for (std::size_t j = i; j < body.size(); ++j) {
      char c = body[j];
      if (in_str) {
        if (c == '\\') ++j;
        else if (c == '"') in_str = false;
      } else if (c == '"') {
        in_str = true;
      } else if (c == '{') {
        ++depth;
      } else if (c == '}' && --depth == 0) {
        const std::string_view obj = body.substr(i, j - i + 1);
        if (read_usage_scanned(obj, u)) return true;
        auto j2 = parse_json_bounded(obj);
        if (j2.is_discarded()) return false;
        read_openai_usage(j2, u);
        return true;
      }
    }
    return false;
  }
  return false;
}

std::string Provider::translate_error(int status, std::string_view upstream_body) const {
  auto j = parse_json_bounded(upstream_body);
  if (!j.is_discarded() && j.is_object()) {
    auto it = j.find("error");
    if (it != j.end() && it->is_object()) {
      // Kept as the upstream sent it, except that message and type are strings, as in OpenAI's
      // errors (SDKs read them as such; the ledger records them).
      nlohmann::json e = *it;
      if (auto m = e.find("message"); m == e.end() || m->is_null()) e["message"] = "upstream error";
      else if (!m->is_string()) e["message"] = m->dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
      if (auto t = e.find("type"); t == e.end() || !t->is_string())
        e["type"] = status >= 500 ? "api_error" : "invalid_request_error";
      if (!e.contains("param")) e["param"] = nullptr;
      if (!e.contains("code")) e["code"] = nullptr;
      return nlohmann::json{{"error", e}}.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    }
    if (it != j.end() && it->is_string()) {  // {"error": "text"} (Ollama, vLLM)
      nlohmann::json e = {{"message", *it},
                          {"type", status >= 500 ? "api_error" : "invalid_request_error"},
                          {"param", nullptr},
                          {"code", std::to_string(status)}};
      return nlohmann::json{{"error", e}}.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    }
  }
  std::string msg(upstream_body.substr(0, 1000));
  if (msg.empty()) msg = "upstream returned HTTP " + std::to_string(status);
  nlohmann::json e = {{"message", msg},
                      {"type", status >= 500 ? "api_error" : "invalid_request_error"},
                      {"param", nullptr},
                      {"code", std::to_string(status)}};
  return nlohmann::json{{"error", e}}.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

}  // namespace llmgate
