#include "providers/mock.hpp"

#include "llmgate/embedding_encoding.hpp"
#include "llmgate/json_fields.hpp"
#include "llmgate/providers.hpp"

namespace llmgate {

namespace {
std::string last_user_text(const nlohmann::json& body) {
  auto it = body.find("messages");
  if (it != body.end() && it->is_array()) {
    for (auto m = it->rbegin(); m != it->rend(); ++m) {
      if (!m->is_object()) continue;
      auto c = m->find("content");
      if (c == m->end()) continue;
      if (c->is_string()) return c->get<std::string>();
      if (c->is_array()) {
        std::string s;
        for (auto& part : *c)
          if (part.is_object() && string_field(part, "type") == "text" && part.contains("text") &&
              part["text"].is_string())
            s += part["text"].get<std::string>();
        return s;
      }
    }
  }
  auto p = body.find("prompt");
  if (p != body.end() && p->is_string()) return p->get<std::string>();
  return {};
}

int64_t estimate_tokens(std::size_t chars) { return static_cast<int64_t>((chars + 3) / 4); }

// Truncates at a UTF-8 boundary.
std::string utf8_prefix(const std::string& s, std::size_t n) {
  if (s.size() <= n) return s;
  while (n > 0 && (static_cast<unsigned char>(s[n]) & 0xC0) == 0x80) --n;
  return s.substr(0, n) + "...";
}
}  // namespace

MockReply mock_reply(const Deployment& d, const nlohmann::json& body, Endpoint ep) {
  MockReply r;
  std::string prompt = last_user_text(body);
  if (!d.mock_response.empty()) {
    r.content = d.mock_response;
  } else {
    r.content = "Hello from llmgate's mock model " + d.model_name + ". You said: " + utf8_prefix(prompt, 200);
  }
  // Pieces: one per word (keeping the separating space), or mock_stream_chunks equal parts.
  if (d.mock_stream_chunks > 0) {
    std::size_t n = static_cast<std::size_t>(d.mock_stream_chunks);
    std::size_t step = std::max<std::size_t>(1, (r.content.size() + n - 1) / n);
    for (std::size_t i = 0; i < r.content.size();) {
      std::size_t len = std::min(step, r.content.size() - i);
      while (i + len < r.content.size() && (static_cast<unsigned char>(r.content[i + len]) & 0xC0) == 0x80) ++len;
      r.pieces.push_back(r.content.substr(i, len));
      i += len;
    }
  } else {
    std::size_t start = 0;
    for (std::size_t i = 0; i <= r.content.size(); ++i) {
      if (i == r.content.size() || (r.content[i] == ' ' && i > start)) {
        if (i > start) r.pieces.push_back(r.content.substr(start, i - start));
        start = i;
      }
    }
  }
  if (r.pieces.empty()) r.pieces.push_back(r.content);
  std::size_t prompt_chars = body.contains("messages") ? body["messages"].dump().size() : prompt.size();
  if (ep == Endpoint::embeddings) {
    auto in = body.find("input");
    prompt_chars = in != body.end() ? in->dump().size() : 0;
  }
  r.usage.prompt_tokens = estimate_tokens(prompt_chars);
  r.usage.completion_tokens = ep == Endpoint::embeddings ? 0 : static_cast<int64_t>(r.pieces.size());
  r.usage.total_tokens = r.usage.prompt_tokens + r.usage.completion_tokens;
  r.usage.present = true;
  return r;
}

static nlohmann::json usage_json(const Usage& u) {
  return {
      {"prompt_tokens", u.prompt_tokens}, {"completion_tokens", u.completion_tokens}, {"total_tokens", u.total_tokens}};
}

std::string mock_response_body(const Deployment& d, const MockReply& r, Endpoint ep, const std::string& id,
                               int64_t created, const nlohmann::json& body) {
  nlohmann::json out;
  if (ep == Endpoint::embeddings) {
    std::size_t n = 1;
    auto in = body.find("input");
    if (in != body.end() && in->is_array() && !in->empty() && !(*in)[0].is_number()) n = in->size();
    nlohmann::json data = nlohmann::json::array();
    for (std::size_t i = 0; i < n; ++i) {
      nlohmann::json vec = nlohmann::json::array();
      for (int k = 0; k < 8; ++k) vec.push_back(static_cast<double>((i * 8 + k) % 7) / 7.0);
      data.push_back({{"object", "embedding"}, {"index", i}, {"embedding", vec}});
    }
    out = {{"object", "list"},
           {"data", data},
           {"model", d.model_name},
           {"usage", {{"prompt_tokens", r.usage.prompt_tokens}, {"total_tokens", r.usage.prompt_tokens}}}};
  } else if (ep == Endpoint::completions) {
    out = {{"id", id},
           {"object", "text_completion"},
           {"created", created},
           {"model", d.model_name},
           {"choices", {{{"index", 0}, {"text", r.content}, {"logprobs", nullptr}, {"finish_reason", "stop"}}}},
           {"usage", usage_json(r.usage)}};
  } else {
    out = {{"id", id},
           {"object", "chat.completion"},
           {"created", created},
           {"model", d.model_name},
           {"system_fingerprint", nullptr},
           {"choices",
            {{{"index", 0},
              {"message", {{"role", "assistant"}, {"content", r.content}, {"refusal", nullptr}}},
              {"logprobs", nullptr},
              {"finish_reason", "stop"}}}},
           {"usage", usage_json(r.usage)}};
  }
  std::string s = out.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  // As OpenAI does: the float32 bytes in base64 when the client asks for that encoding.
  if (ep == Endpoint::embeddings && wants_base64_embeddings(body)) embeddings_floats_to_base64(s);
  return s;
}

std::string mock_stream_event(const Deployment& d, const MockReply& r, Endpoint ep, const std::string& id,
                              int64_t created, std::size_t i, bool usage_chunk) {
  nlohmann::json ev;
  const bool chat = ep != Endpoint::completions;
  ev["id"] = id;
  ev["object"] = chat ? "chat.completion.chunk" : "text_completion";
  ev["created"] = created;
  ev["model"] = d.model_name;
  if (usage_chunk) {
    ev["choices"] = nlohmann::json::array();
    ev["usage"] = usage_json(r.usage);
  } else if (i < r.pieces.size()) {
    nlohmann::json choice = {{"index", 0}, {"logprobs", nullptr}, {"finish_reason", nullptr}};
    if (chat) {
      nlohmann::json delta = {{"content", r.pieces[i]}};
      if (i == 0) delta["role"] = "assistant";
      choice["delta"] = delta;
    } else {
      choice["text"] = r.pieces[i];
    }
    ev["choices"] = {choice};
  } else {
    nlohmann::json choice = {{"index", 0}, {"logprobs", nullptr}, {"finish_reason", "stop"}};
    if (chat) choice["delta"] = nlohmann::json::object();
    else choice["text"] = "";
    ev["choices"] = {choice};
  }
  return "data: " + ev.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n\n";
}

namespace {
class MockProvider final : public Provider {
 public:
  Errc build_request(Endpoint, const Deployment&, nlohmann::json&, bool, UpstreamRequest&,
                     std::string&) const override {
    return Errc::ok;  // served in-process
  }
  // The mock's answers are OpenAI's shape: read as an OpenAI-compatible upstream's.
  ResponseBody translate_response(Endpoint, const Deployment&, std::string_view upstream_body, std::string&,
                                  Usage& usage) const override {
    return read_openai_response(upstream_body, usage);
  }
};
}  // namespace

const Provider& mock_provider() {
  static const MockProvider p;
  return p;
}

}  // namespace llmgate
