// Ollama dialects: `ollama_chat/<model>` -> POST /api/chat, `ollama/<model>` -> POST
// /api/generate with a prompt built from the messages (LiteLLM's split). Both send
// /v1/completions to /api/generate and /v1/embeddings to /api/embed, and probe GET /api/tags.
// Pure translation, no I/O; stateless objects, per-stream state in StreamState; any thread.
// The exact translation tables are in docs/providers/ollama.md.
#include <chrono>
#include <cstring>
#include <map>
#include <optional>
#include <random>

#include <nlohmann/json.hpp>

#include "llmgate/clock.hpp"
#include "llmgate/embedding_encoding.hpp"
#include "llmgate/json_fields.hpp"
#include "llmgate/json_limits.hpp"
#include "llmgate/providers.hpp"
#include "providers/ollama.hpp"

namespace llmgate {

namespace {

using json = nlohmann::json;
using ollama::dump;
using ollama::ollama_base;

std::string random_hex(std::size_t n) {
  thread_local std::mt19937_64 rng{std::random_device{}()};
  static const char* hex = "0123456789abcdef";
  std::string s;
  s.reserve(n);
  while (s.size() < n) {
    uint64_t v = rng();
    for (int i = 0; i < 16 && s.size() < n; ++i, v >>= 4) s += hex[v & 15];
  }
  return s;
}

std::string finish_reason(const json& j) {
  std::string r = j.contains("done_reason") && j["done_reason"].is_string() ? j["done_reason"].get<std::string>()
                                                                            : "stop";
  return r == "length" ? "length" : "stop";  // stop, load, unload, (absent) -> stop
}

// OpenAI tool_calls from Ollama's message.tool_calls (arguments object -> JSON string).
json openai_tool_calls(const json& calls, bool with_index) {
  json out = json::array();
  int idx = 0;
  for (const auto& c : calls) {
    if (!c.is_object() || !c.contains("function") || !c["function"].is_object()) continue;
    const json& f = c["function"];
    std::string args = "{}";
    if (f.contains("arguments"))
      args = f["arguments"].is_string() ? f["arguments"].get<std::string>() : dump(f["arguments"]);
    std::string id = c.contains("id") && c["id"].is_string() ? c["id"].get<std::string>() : "call_" + random_hex(24);
    json tc = {
        {"id", id}, {"type", "function"}, {"function", {{"name", string_field(f, "name")}, {"arguments", args}}}};
    if (with_index) tc["index"] = f.contains("index") && f["index"].is_number_integer() ? f["index"].get<int>() : idx;
    out.push_back(std::move(tc));
    ++idx;
  }
  return out;
}

bool read_counts(const json& j, Usage& u) {
  auto num = [&](const char* k) -> std::optional<int64_t> {
    auto it = j.find(k);
    if (it != j.end() && it->is_number_integer()) return sane_token_count(it->get<int64_t>());
    return std::nullopt;
  };
  auto p = num("prompt_eval_count"), c = num("eval_count");
  if (!p && !c) return false;
  u.prompt_tokens = p.value_or(0);  // absent when the whole prompt came from Ollama's cache
  u.completion_tokens = c.value_or(0);
  u.total_tokens = u.prompt_tokens + u.completion_tokens;
  u.present = true;
  return true;
}

json usage_json(const Usage& u) {
  return {
      {"prompt_tokens", u.prompt_tokens}, {"completion_tokens", u.completion_tokens}, {"total_tokens", u.total_tokens}};
}

std::string reported_model(const Deployment& d, const json& j) {
  if (!d.model_name.empty()) return d.model_name;
  return j.contains("model") && j["model"].is_string() ? j["model"].get<std::string>() : d.upstream_model;
}

// Set when the lead's StreamState grows a `saw_tool_calls` flag; until then "tool_calls" is
// reported only when the final NDJSON line itself carries the calls.
template <class S>
void mark_tool_calls(S& st) {
  if constexpr (requires { st.saw_tool_calls; }) st.saw_tool_calls = true;
}
template <class S>
bool saw_tool_calls(const S& st) {
  if constexpr (requires { st.saw_tool_calls; }) return st.saw_tool_calls;
  else return false;
}

class OllamaProvider final : public Provider {
 public:
  explicit OllamaProvider(bool chat_api) : chat_api_(chat_api) {}

  Errc build_request(Endpoint ep, const Deployment& d, json& body, bool stream, UpstreamRequest& out,
                     std::string& err) const override {
    return ollama::build_request(chat_api_, ep, d, body, stream, out, err);
  }

  StreamFormat stream_format(Endpoint) const override { return StreamFormat::ndjson; }
  bool passthrough_stream() const override { return false; }

  ResponseBody translate_response(Endpoint ep, const Deployment& d, std::string_view upstream_body, std::string& out,
                                  Usage& usage) const override {
    json j = parse_json_bounded(upstream_body);
    if (!j.is_object()) return ResponseBody::invalid;
    const std::string model = reported_model(d, j);
    if (ep == Endpoint::embeddings) {
      json data = json::array();
      if (j.contains("embeddings") && j["embeddings"].is_array()) {
        int i = 0;
        for (auto& e : j["embeddings"])
          data.push_back({{"object", "embedding"}, {"index", i++}, {"embedding", std::move(e)}});
      }
      Usage u;
      read_counts(j, u);
      usage = u;
      usage.present = j.contains("prompt_eval_count");
      out = dump({{"object", "list"},
                  {"data", std::move(data)},
                  {"model", model},
                  {"usage", {{"prompt_tokens", u.prompt_tokens}, {"total_tokens", u.prompt_tokens}}}});
      return ResponseBody::translated;
    }
    const bool has_usage = read_counts(j, usage);
    const json* msg = j.contains("message") && j["message"].is_object() ? &j["message"] : nullptr;
    std::string content, thinking;
    json tool_calls = json::array();
    if (msg) {
      content = string_field(*msg, "content");
      thinking = string_field(*msg, "thinking");
      if (msg->contains("tool_calls") && (*msg)["tool_calls"].is_array())
        tool_calls = openai_tool_calls((*msg)["tool_calls"], false);
    } else {
      content = string_field(j, "response");
      thinking = string_field(j, "thinking");
    }
    std::string finish = tool_calls.empty() ? finish_reason(j) : "tool_calls";
    json o;
    if (ep == Endpoint::completions) {
      o = {{"id", "cmpl-" + random_hex(24)},
           {"object", "text_completion"},
           {"created", unix_seconds()},
           {"model", model},
           {"choices",
            json::array({{{"text", content}, {"index", 0}, {"logprobs", nullptr}, {"finish_reason", finish}}})}};
    } else {
      json m = {{"role", "assistant"},
                {"content", tool_calls.empty() || !content.empty() ? json(content) : json(nullptr)}};
      if (!thinking.empty()) m["reasoning_content"] = thinking;
      if (!tool_calls.empty()) m["tool_calls"] = std::move(tool_calls);
      o = {
          {"id", "chatcmpl-" + random_hex(24)},
          {"object", "chat.completion"},
          {"created", unix_seconds()},
          {"model", model},
          {"choices",
           json::array({{{"index", 0}, {"message", std::move(m)}, {"logprobs", nullptr}, {"finish_reason", finish}}})}};
    }
    if (has_usage) o["usage"] = usage_json(usage);
    out = dump(o);
    return ResponseBody::translated;
  }

  void translate_stream_unit(Endpoint ep, const Deployment& d, StreamState& st, std::string_view unit,
                             std::string& out) const override {
    if (!st.error.empty()) return;  // the stream failed: nothing after its error is sent
    if (st.finished) return;        // the final line was translated: the client's stream has ended
    json j = parse_json_bounded(unit);
    if (!j.is_object()) {
      st.error = "Ollama sent a stream line that is not a JSON object";
      return;
    }
    if (auto e = j.find("error"); e != j.end()) {
      st.error = "Ollama: " + (e->is_string() ? e->get<std::string>() : dump(*e));
      return;
    }
    const bool text_completion = ep == Endpoint::completions;
    if (st.id.empty()) st.id = (text_completion ? "cmpl-" : "chatcmpl-") + random_hex(24);
    if (st.created == 0) st.created = unix_seconds();
    if (st.model.empty()) st.model = reported_model(d, j);

    const json* msg = j.contains("message") && j["message"].is_object() ? &j["message"] : nullptr;
    std::string content, thinking;
    json tool_calls = json::array();
    if (msg) {
      content = string_field(*msg, "content");
      thinking = string_field(*msg, "thinking");
      if (msg->contains("tool_calls") && (*msg)["tool_calls"].is_array())
        tool_calls = openai_tool_calls((*msg)["tool_calls"], true);
    } else {
      content = string_field(j, "response");
      thinking = string_field(j, "thinking");
    }
    const bool done = bool_field(j, "done", false);
    if (!tool_calls.empty()) mark_tool_calls(st);
    st.text += content;

    auto event = [&](json choices, const json* usage) {
      json c = {{"id", st.id},
                {"object", text_completion ? "text_completion" : "chat.completion.chunk"},
                {"created", st.created},
                {"model", st.model},
                {"choices", std::move(choices)}};
      if (usage) c["usage"] = *usage;
      out += "data: ";
      out += dump(c);
      out += "\n\n";
    };
    auto choice = [&](const json& finish) {
      if (text_completion)
        return json{{"text", content}, {"index", 0}, {"logprobs", nullptr}, {"finish_reason", finish}};
      json delta = json::object();
      if (!st.sent_role) {
        delta["role"] = "assistant";
        delta["content"] = content;
        st.sent_role = true;
      } else if (!content.empty()) {
        delta["content"] = content;
      }
      if (!thinking.empty()) delta["reasoning_content"] = thinking;
      if (!tool_calls.empty()) delta["tool_calls"] = tool_calls;
      return json{{"index", 0}, {"delta", std::move(delta)}, {"logprobs", nullptr}, {"finish_reason", finish}};
    };

    if (!done) {
      if (content.empty() && thinking.empty() && tool_calls.empty() && (st.sent_role || text_completion)) return;
      event(json::array({choice(nullptr)}), nullptr);
      return;
    }
    read_counts(j, st.usage);
    std::string finish = (!tool_calls.empty() || saw_tool_calls(st)) && !text_completion ? "tool_calls"
                                                                                         : finish_reason(j);
    event(json::array({choice(finish)}), nullptr);
    if (st.include_usage && st.usage.present) {
      json u = usage_json(st.usage);
      event(json::array(), &u);
    }
    out += "data: [DONE]\n\n";
    st.finished = true;
  }

  std::string translate_error(int status, std::string_view upstream_body) const override {
    auto j = parse_json_bounded(upstream_body);
    if (j.is_object() && j.contains("error") && j["error"].is_string()) {
      std::string msg = j["error"];
      bool not_found = status == 404 && msg.find("not found") != std::string::npos;
      json e = {{"message", msg},
                {"type", status >= 500 ? "api_error" : "invalid_request_error"},
                {"param", not_found ? json("model") : json(nullptr)},
                {"code", not_found ? json("model_not_found") : json(std::to_string(status))}};
      return dump({{"error", e}});
    }
    return Provider::translate_error(status, upstream_body);
  }

  std::optional<UpstreamRequest> health_probe(const Deployment& d) const override {
    UpstreamRequest r;
    r.method = "GET";
    r.target = ollama_base(d) + "/api/tags";
    if (!d.api_key.empty()) r.headers.emplace_back("Authorization", "Bearer " + d.api_key.reveal());
    return r;
  }

  bool health_ok(const Deployment& d, int status, std::string_view body, std::string& detail) const override {
    if (status < 200 || status >= 300) {
      detail = "Ollama answered HTTP " + std::to_string(status) + " to GET /api/tags";
      return false;
    }
    json j = parse_json_bounded(body);
    if (!j.is_object() || !j.contains("models") || !j["models"].is_array()) {
      detail = "Ollama's /api/tags answer has no model list";
      return false;
    }
    auto norm = [](std::string s) {
      if (s.find(':') == std::string::npos) s += ":latest";
      return s;
    };
    const std::string want = norm(d.upstream_model);
    std::string pulled;
    for (const auto& m : j["models"]) {
      if (!m.is_object()) continue;
      for (const char* k : {"name", "model"}) {
        if (m.contains(k) && m[k].is_string() && norm(m[k]) == want) return true;
      }
      if (m.contains("name") && m["name"].is_string() && pulled.size() < 300)
        pulled += (pulled.empty() ? "" : ", ") + m["name"].get<std::string>();
    }
    detail = "model '" + d.upstream_model + "' is not pulled on the Ollama server (run `ollama pull " +
             d.upstream_model + "`); pulled: " + (pulled.empty() ? "none" : pulled);
    return false;
  }

 private:
  bool chat_api_;
};

}  // namespace

const Provider& ollama_chat_provider() {
  static const OllamaProvider p(true);
  return p;
}

const Provider& ollama_generate_provider() {
  static const OllamaProvider p(false);
  return p;
}

bool wants_base64_embeddings(const nlohmann::json& client_body) {
  if (!client_body.is_object()) return false;
  auto it = client_body.find("encoding_format");
  return it != client_body.end() && it->is_string() && *it == "base64";
}

bool embeddings_floats_to_base64(std::string& openai_body) {
  json j = parse_json_bounded(openai_body);
  if (!j.is_object() || !j.contains("data") || !j["data"].is_array()) return false;
  static const char* tbl = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  for (auto& item : j["data"]) {
    if (!item.is_object() || !item.contains("embedding") || !item["embedding"].is_array()) continue;
    std::string bytes;
    for (const auto& v : item["embedding"]) {
      float f = v.is_number() ? v.get<float>() : 0.0f;
      unsigned char b[4];
      std::memcpy(b, &f, 4);  // x86-64 / aarch64: little-endian, as OpenAI sends
      bytes.append(reinterpret_cast<const char*>(b), 4);
    }
    std::string enc;
    enc.reserve((bytes.size() + 2) / 3 * 4);
    for (std::size_t k = 0; k < bytes.size(); k += 3) {
      auto byte = [&](std::size_t i) -> uint32_t {
        return i < bytes.size() ? static_cast<unsigned char>(bytes[i]) : 0;
      };
      uint32_t v = byte(k) << 16 | byte(k + 1) << 8 | byte(k + 2);
      enc += tbl[(v >> 18) & 63];
      enc += tbl[(v >> 12) & 63];
      enc += k + 1 < bytes.size() ? tbl[(v >> 6) & 63] : '=';
      enc += k + 2 < bytes.size() ? tbl[v & 63] : '=';
    }
    item["embedding"] = std::move(enc);
  }
  openai_body = dump(j);
  return true;
}

}  // namespace llmgate
