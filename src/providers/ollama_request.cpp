// Ollama requests: an OpenAI chat, completion or embeddings body -> the /api/chat, /api/generate
// or /api/embed request (see ollama.cpp for the dialects). Pure translation, no I/O; any thread.
#include <cstring>

#include <nlohmann/json.hpp>

#include "llmgate/json_fields.hpp"
#include "llmgate/json_limits.hpp"
#include "providers/ollama.hpp"

namespace llmgate::ollama {

namespace {

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
      else if (part.contains("image_url") && part["image_url"].is_object())
        url = string_field(part["image_url"], "url");
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
      std::string id = m.contains("tool_call_id") && m["tool_call_id"].is_string()
                           ? m["tool_call_id"].get<std::string>()
                           : "";
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
  auto role_of = [&](std::size_t k) { return string_field(messages[k], "role"); };
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
                           {"function",
                            {{"name", string_field(c["function"], "name")},
                             {"arguments", args.is_discarded() ? json::object() : args}}}});
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

}  // namespace

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

Errc build_request(bool chat_api, Endpoint ep, const Deployment& d, json& body, bool stream, UpstreamRequest& out,
                   std::string& err) {
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
  if (chat_api) {
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

}  // namespace llmgate::ollama
