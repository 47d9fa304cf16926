// Ollama dialects: `ollama_chat/<model>` -> POST /api/chat, `ollama/<model>` -> POST
// /api/generate with a prompt built from the messages (LiteLLM's split). Both send
// /v1/completions to /api/generate and /v1/embeddings to /api/embed, and probe GET /api/tags.
// Pure translation, no I/O; stateless objects, per-stream state in StreamState; any thread.
// The exact translation tables are in docs/providers/ollama.md.
#include <cstring>
#include <chrono>
#include <map>
#include <optional>
#include <random>

#include <nlohmann/json.hpp>

#include "llmgate/embedding_encoding.hpp"
#include "llmgate/json_fields.hpp"
#include "llmgate/json_limits.hpp"
#include "llmgate/providers.hpp"

namespace llmgate {

namespace {

using json = nlohmann::json;

std::string dump(const json& j) { return j.dump(-1, ' ', false, json::error_handler_t::replace); }

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

int64_t now_s() {
  return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}

// Base path without a trailing /api/chat or /api/generate (LiteLLM accepts both forms).
std::string ollama_base(const Deployment& d) {
  std::string b = d.url.base_path;
  for (const char* suffix : {"/api/chat", "/api/generate"}) {
    std::size_t n = std::strlen(suffix);
    if (b.size() >= n && b.compare(b.size() - n, n, suffix) == 0) {
      b.resize(b.size() - n);
      break;
    }
  }
  return b;
}

// "data:image/png;base64,AAAA" -> "AAAA". False for anything else (http URLs: the gateway does
// no fetching on behalf of a request).
bool data_url_base64(std::string_view url, std::string& out) {
  if (url.substr(0, 5) != "data:") return false;
  auto comma = url.find(',');
  if (comma == std::string_view::npos) return false;
  std::string_view meta = url.substr(5, comma - 5);
  if (meta.size() < 7 || meta.substr(meta.size() - 7) != ";base64") return false;
  out = std::string(url.substr(comma + 1));
  return true;
}

// Text of an OpenAI message content (string | array of parts | null); image parts are appended
// to `images` as raw base64.
Errc content_text(const json& content, std::string& text, json& images, std::string& err) {
  if (content.is_null()) return Errc::ok;
  if (content.is_string()) {
    text += content.get<std::string>();
    return Errc::ok;
  }
  if (!content.is_array()) {
    err = "message content must be a string or an array of content parts";
    return Errc::bad_request;
  }
  for (const auto& part : content) {
    if (!part.is_object()) continue;
    std::string type = string_field(part, "type");
    if (type == "text" && part.contains("text") && part["text"].is_string()) {
      text += part["text"].get<std::string>();
    } else if (type == "image_url") {
      std::string url;
      if (part.contains("image_url") && part["image_url"].is_string()) url = part["image_url"];
      else if (part.contains("image_url") && part["image_url"].is_object()) url = string_field(part["image_url"], "url");
      std::string b64;
      if (!data_url_base64(url, b64)) {
        err = "Ollama accepts images only as base64 data: URLs (data:image/...;base64,...)";
        return Errc::unsupported;
      }
      images.push_back(std::move(b64));
    } else {
      err = "content part type '" + type + "' is not supported by Ollama";
      return Errc::unsupported;
    }
  }
  return Errc::ok;
}

// OpenAI sampling parameters -> Ollama `options`. A client's own `options` object (Ollama
// extension, e.g. num_ctx) is kept and wins over the mapped values.
json build_options(const json& body) {
  json o = json::object();
  auto copy = [&](const char* from, const char* to) {
    auto it = body.find(from);
    if (it != body.end() && !it->is_null()) o[to] = *it;
  };
  copy("temperature", "temperature");
  copy("top_p", "top_p");
  copy("top_k", "top_k");
  copy("min_p", "min_p");
  copy("seed", "seed");
  copy("frequency_penalty", "frequency_penalty");
  copy("presence_penalty", "presence_penalty");
  copy("max_tokens", "num_predict");
  copy("max_completion_tokens", "num_predict");  // the newer name wins when both are given
  if (auto it = body.find("stop"); it != body.end()) {
    if (it->is_string()) o["stop"] = json::array({*it});
    else if (it->is_array()) o["stop"] = *it;
  }
  if (auto it = body.find("options"); it != body.end() && it->is_object())
    for (auto& [k, v] : it->items()) o[k] = v;
  return o;
}

// Fields shared by /api/chat and /api/generate: stream, options, format, think, keep_alive.
Errc common_fields(const json& body, bool stream, json& req, std::string& err) {
  req["stream"] = stream;
  json options = build_options(body);
  if (!options.empty()) req["options"] = std::move(options);
  if (auto it = body.find("response_format"); it != body.end() && it->is_object()) {
    std::string type = string_field(*it, "type");
    if (type == "json_object") {
      req["format"] = "json";
    } else if (type == "json_schema") {
      auto js = it->find("json_schema");
      if (js == it->end() || !js->is_object() || !js->contains("schema")) {
        err = "response_format.json_schema.schema is required";
        return Errc::bad_request;
      }
      req["format"] = (*js)["schema"];
    }
  }
  if (auto it = body.find("format"); it != body.end() && !req.contains("format")) req["format"] = *it;
  if (auto it = body.find("think"); it != body.end()) {
    req["think"] = *it;
  } else if (auto re = body.find("reasoning_effort"); re != body.end() && re->is_string()) {
    req["think"] = *re != "none";  // LiteLLM: any reasoning_effort turns thinking on
  }
  if (auto it = body.find("keep_alive"); it != body.end()) req["keep_alive"] = *it;
  if (auto it = body.find("n"); it != body.end() && it->is_number_integer() && it->get<int64_t>() > 1) {
    err = "n > 1 is not supported by Ollama";
    return Errc::unsupported;
  }
  return Errc::ok;
}

// A message's role, when present, is a string (both dialects route on it).
bool role_is_text(const json& message, std::string& err) {
  if (auto r = message.find("role"); r != message.end() && !r->is_string()) {
    err = "each message's role must be a string";
    return false;
  }
  return true;
}

// OpenAI messages -> Ollama /api/chat messages.
Errc chat_messages(const json& messages, json& out, std::string& err) {
  out = json::array();
  std::map<std::string, std::string> call_names;  // tool_call_id -> function name
  for (const auto& m : messages) {
    if (!m.is_object()) {
      err = "each message must be an object";
      return Errc::bad_request;
    }
    if (!role_is_text(m, err)) return Errc::bad_request;
    std::string role = string_field(m, "role");
    if (role == "developer") role = "system";
    if (role == "function") role = "tool";
    json om = {{"role", role}};
    std::string text;
    json images = json::array();
    Errc e = content_text(m.contains("content") ? m["content"] : json(), text, images, err);
    if (e != Errc::ok) return e;
    om["content"] = text;
    if (!images.empty()) om["images"] = std::move(images);
    if (auto rc = m.find("reasoning_content"); rc != m.end() && rc->is_string()) om["thinking"] = *rc;
    if (auto tc = m.find("tool_calls"); tc != m.end() && tc->is_array()) {
      json calls = json::array();
      for (const auto& c : *tc) {
        if (!c.is_object() || !c.contains("function") || !c["function"].is_object()) continue;
        const json& f = c["function"];
        json args = json::object();
        if (f.contains("arguments") && f["arguments"].is_string()) {
          bool too_deep = false;
          args = parse_json_bounded(f["arguments"].get<std::string>(), &too_deep);
          if (args.is_discarded()) {
            err = too_deep ? "tool_calls[].function.arguments nests deeper than 512 levels"
                           : "tool_calls[].function.arguments must be a JSON object string";
            return Errc::bad_request;
          }
        } else if (f.contains("arguments") && f["arguments"].is_object()) {
          args = f["arguments"];
        }
        std::string name = string_field(f, "name");
        if (c.contains("id") && c["id"].is_string()) call_names[c["id"]] = name;
        calls.push_back({{"function", {{"name", name}, {"arguments", args}}}});
      }
      if (!calls.empty()) om["tool_calls"] = std::move(calls);
    }
    if (role == "tool") {
      std::string id = m.contains("tool_call_id") && m["tool_call_id"].is_string() ? m["tool_call_id"].get<std::string>() : "";
      if (auto it = call_names.find(id); it != call_names.end()) om["tool_name"] = it->second;
      else if (m.contains("name") && m["name"].is_string()) om["tool_name"] = m["name"];
    }
    out.push_back(std::move(om));
  }
  return Errc::ok;
}

// LiteLLM's ollama_pt: consecutive user/tool messages merged under "### User:", system under
// "### System:", assistant (with its tool calls) under "### Assistant:"; images collected.
Errc generate_prompt(const json& messages, std::string& prompt, json& images, std::string& err) {
  for (const auto& m : messages)
    if (!role_is_text(m, err)) return Errc::bad_request;
  std::size_t i = 0, n = messages.size();
  auto role_of = [&](std::size_t k) {
    return string_field(messages[k], "role");
  };
  while (i < n) {
    std::size_t start = i;
    std::string user;
    while (i < n && (role_of(i) == "user" || role_of(i) == "tool" || role_of(i) == "function")) {
      Errc e = content_text(messages[i].contains("content") ? messages[i]["content"] : json(), user, images, err);
      if (e != Errc::ok) return e;
      ++i;
    }
    if (!user.empty()) prompt += "### User:\n" + user + "\n\n";
    std::string system;
    while (i < n && (role_of(i) == "system" || role_of(i) == "developer")) {
      json ignored = json::array();
      Errc e = content_text(messages[i].contains("content") ? messages[i]["content"] : json(), system, ignored, err);
      if (e != Errc::ok) return e;
      ++i;
    }
    if (!system.empty()) prompt += "### System:\n" + system + "\n\n";
    std::string assistant;
    while (i < n && role_of(i) == "assistant") {
      json ignored = json::array();
      Errc e = content_text(messages[i].contains("content") ? messages[i]["content"] : json(), assistant, ignored, err);
      if (e != Errc::ok) return e;
      if (auto tc = messages[i].find("tool_calls"); tc != messages[i].end() && tc->is_array() && !tc->empty()) {
        json calls = json::array();
        for (const auto& c : *tc) {
          if (!c.is_object() || !c.contains("function")) continue;
          json args = parse_json_bounded(string_field(c["function"], "arguments", "{}"));
          calls.push_back({{"id", string_field(c, "id")},
                           {"type", "function"},
                           {"function", {{"name", string_field(c["function"], "name")}, {"arguments", args.is_discarded() ? json::object() : args}}}});
        }
        assistant += "Tool Calls: " + calls.dump(2);
      }
      ++i;
    }
    if (!assistant.empty()) prompt += "### Assistant:\n" + assistant + "\n\n";
    if (i == start) {
      err = "unsupported message role '" + role_of(i) + "'";
      return Errc::bad_request;
    }
  }
  return Errc::ok;
}

std::string finish_reason(const json& j) {
  std::string r = j.contains("done_reason") && j["done_reason"].is_string() ? j["done_reason"].get<std::string>() : "stop";
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
    if (f.contains("arguments")) args = f["arguments"].is_string() ? f["arguments"].get<std::string>() : dump(f["arguments"]);
    std::string id = c.contains("id") && c["id"].is_string() ? c["id"].get<std::string>() : "call_" + random_hex(24);
    json tc = {{"id", id}, {"type", "function"}, {"function", {{"name", string_field(f, "name")}, {"arguments", args}}}};
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
  return {{"prompt_tokens", u.prompt_tokens}, {"completion_tokens", u.completion_tokens}, {"total_tokens", u.total_tokens}};
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
    const std::string base = ollama_base(d);
    json req = {{"model", d.upstream_model}};
    out.method = "POST";
    if (!d.api_key.empty()) out.headers.emplace_back("Authorization", "Bearer " + d.api_key.reveal());

    if (ep == Endpoint::embeddings) {
      auto in = body.find("input");
      if (in == body.end() || !(in->is_string() || in->is_array())) {
        err = "input must be a string or an array of strings";
        return Errc::bad_request;
      }
      if (in->is_array())
        for (const auto& x : *in)
          if (!x.is_string()) {
            err = "Ollama embeddings take strings only (token arrays are not supported)";
            return Errc::unsupported;
          }
      req["input"] = *in;
      for (const char* k : {"dimensions", "truncate", "keep_alive", "options"})
        if (auto it = body.find(k); it != body.end()) req[k] = *it;
      out.target = base + "/api/embed";
      out.body = dump(req);
      return Errc::ok;
    }

    Errc e = common_fields(body, stream, req, err);
    if (e != Errc::ok) return e;

    if (ep == Endpoint::completions) {
      auto p = body.find("prompt");
      if (p != body.end() && p->is_array() && p->size() == 1 && (*p)[0].is_string()) {
        req["prompt"] = (*p)[0];
      } else if (p != body.end() && p->is_string()) {
        req["prompt"] = *p;
      } else {
        err = "Ollama takes one string prompt per request";
        return p == body.end() ? Errc::bad_request : Errc::unsupported;
      }
      if (auto s = body.find("suffix"); s != body.end() && s->is_string()) req["suffix"] = *s;
      out.target = base + "/api/generate";
      out.body = dump(req);
      return Errc::ok;
    }

    auto msgs = body.find("messages");
    if (msgs == body.end() || !msgs->is_array()) {
      err = "messages must be an array";
      return Errc::bad_request;
    }
    if (chat_api_) {
      json om;
      e = chat_messages(*msgs, om, err);
      if (e != Errc::ok) return e;
      req["messages"] = std::move(om);
      auto tools = body.find("tools");
      auto choice = body.find("tool_choice");
      bool none = choice != body.end() && choice->is_string() && *choice == "none";
      if (tools != body.end() && tools->is_array() && !tools->empty() && !none) req["tools"] = *tools;
      out.target = base + "/api/chat";
    } else {
      std::string prompt;
      json images = json::array();
      e = generate_prompt(*msgs, prompt, images, err);
      if (e != Errc::ok) return e;
      req["prompt"] = std::move(prompt);
      if (!images.empty()) req["images"] = std::move(images);
      out.target = base + "/api/generate";
    }
    out.body = dump(req);
    return Errc::ok;
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
        for (auto& e : j["embeddings"]) data.push_back({{"object", "embedding"}, {"index", i++}, {"embedding", std::move(e)}});
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
      if (msg->contains("tool_calls") && (*msg)["tool_calls"].is_array()) tool_calls = openai_tool_calls((*msg)["tool_calls"], false);
    } else {
      content = string_field(j, "response");
      thinking = string_field(j, "thinking");
    }
    std::string finish = tool_calls.empty() ? finish_reason(j) : "tool_calls";
    json o;
    if (ep == Endpoint::completions) {
      o = {{"id", "cmpl-" + random_hex(24)},
           {"object", "text_completion"},
           {"created", now_s()},
           {"model", model},
           {"choices", json::array({{{"text", content}, {"index", 0}, {"logprobs", nullptr}, {"finish_reason", finish}}})}};
    } else {
      json m = {{"role", "assistant"}, {"content", tool_calls.empty() || !content.empty() ? json(content) : json(nullptr)}};
      if (!thinking.empty()) m["reasoning_content"] = thinking;
      if (!tool_calls.empty()) m["tool_calls"] = std::move(tool_calls);
      o = {{"id", "chatcmpl-" + random_hex(24)},
           {"object", "chat.completion"},
           {"created", now_s()},
           {"model", model},
           {"choices", json::array({{{"index", 0}, {"message", std::move(m)}, {"logprobs", nullptr}, {"finish_reason", finish}}})}};
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
    if (st.created == 0) st.created = now_s();
    if (st.model.empty()) st.model = reported_model(d, j);

    const json* msg = j.contains("message") && j["message"].is_object() ? &j["message"] : nullptr;
    std::string content, thinking;
    json tool_calls = json::array();
    if (msg) {
      content = string_field(*msg, "content");
      thinking = string_field(*msg, "thinking");
      if (msg->contains("tool_calls") && (*msg)["tool_calls"].is_array()) tool_calls = openai_tool_calls((*msg)["tool_calls"], true);
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
    std::string finish = (!tool_calls.empty() || saw_tool_calls(st)) && !text_completion ? "tool_calls" : finish_reason(j);
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
      auto byte = [&](std::size_t i) -> uint32_t { return i < bytes.size() ? static_cast<unsigned char>(bytes[i]) : 0; };
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
