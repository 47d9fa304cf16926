// Azure OpenAI dialect (`azure/<deployment>`): OpenAI JSON on a different URL layout and
// auth header. Pure translation, no I/O; stateless; callable from any worker thread.
//
//   target   {api_base path}/openai/deployments/{deployment}/{chat/completions|completions|embeddings}
//            ?api-version={api_version}
//   auth     Authorization: Bearer {azure_ad_token} when configured, else api-key: {api_key}
//   bodies   OpenAI JSON both ways (forwarded unchanged)
//   streams  OpenAI SSE, forwarded event by event except the events OpenAI clients choke on:
//            Azure's prompt-filter event (`"choices": []`, no usage; id "" and created 0) and
//            asynchronous content-filter annotations (a choice without `delta`). The usage
//            event (asked for on the client's behalf) is dropped unless the client asked.
//   errors   Azure error shapes ({"error":{"code":"401","message":...}}, content_filter with
//            innererror, "type": null) -> OpenAI-shaped errors (translate_error)
// See docs/providers/azure.md.
#include <nlohmann/json.hpp>

#include "llmgate/json_limits.hpp"
#include "llmgate/providers.hpp"

namespace llmgate {

namespace {

using json = nlohmann::json;

// Percent-encodes everything but RFC 3986 unreserved characters (a path segment / query value).
std::string pct_encode(std::string_view s) {
  static const char* hex = "0123456789ABCDEF";
  std::string out;
  out.reserve(s.size());
  for (unsigned char c : s) {
    if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_' ||
        c == '.' || c == '~') {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += hex[c >> 4];
      out += hex[c & 15];
    }
  }
  return out;
}

// "{base}/openai" — an api_base that already ends in /openai is not doubled.
std::string azure_root(const Deployment& d) {
  std::string base = d.url.base_path;
  if (base.size() >= 7 && base.compare(base.size() - 7, 7, "/openai") == 0) return base;
  return base + "/openai";
}

void add_auth(const Deployment& d, std::vector<std::pair<std::string, std::string>>& headers) {
  if (!d.azure_ad_token.empty()) headers.emplace_back("Authorization", "Bearer " + d.azure_ad_token.reveal());
  else if (!d.api_key.empty()) headers.emplace_back("api-key", d.api_key.reveal());
}

// stream_options is accepted by Azure from api-version 2024-09-01(-preview) on (and by the
// date-less "v1"/"preview"/"latest" versions); older versions reject the unknown argument.
bool supports_stream_options(const std::string& v) {
  if (v.empty() || !(v[0] >= '0' && v[0] <= '9')) return true;
  return v.compare(0, 10, "2024-09-01") >= 0;
}

// One "data:" line per line of `data` (an event's data may span lines; the client's SSE parser
// joins them back with '\n').
void append_event(std::string& out, std::string_view data) {
  for (;;) {
    const auto nl = data.find_first_of("\r\n");
    out += "data: ";
    out += data.substr(0, nl);
    out += '\n';
    if (nl == std::string_view::npos) break;
    data.remove_prefix(nl + 1);
  }
  out += '\n';
}

std::string error_type_for(int status) {
  if (status == 401) return "authentication_error";
  if (status == 403) return "permission_error";
  if (status == 404) return "invalid_request_error";
  if (status == 429) return "rate_limit_error";
  if (status >= 500) return "api_error";
  return "invalid_request_error";
}

class AzureProvider final : public Provider {
 public:
  Errc build_request(Endpoint ep, const Deployment& d, json& body, bool stream, UpstreamRequest& out,
                     std::string& err) const override {
    for (const char* f : kForbiddenBodyFields) body.erase(f);
    // Azure routes by the deployment in the path; the body's model is informative only.
    body["model"] = d.upstream_model;
    if (stream && ep != Endpoint::embeddings && supports_stream_options(d.api_version)) {
      // Always ask for usage so tokens and cost are known; the proxy strips the usage chunk
      // again when the client did not ask for it.
      auto& so = body["stream_options"];
      if (!so.is_object()) so = json::object();
      so["include_usage"] = true;
    }
    set_target_and_auth(ep, d, out);
    out.body = body.dump(-1, ' ', false, json::error_handler_t::replace);
    return Errc::ok;
  }

  bool build_request_spliced(Endpoint ep, const Deployment& d, const BodyFacts& f, bool stream,
                             UpstreamRequest& out) const override {
    const bool want_usage = stream && ep != Endpoint::embeddings && supports_stream_options(d.api_version);
    if (f.has_forbidden || (want_usage && f.has_stream_options && !f.include_usage)) return false;
    set_target_and_auth(ep, d, out);
    splice_body(f, d.upstream_model, want_usage && !f.has_stream_options, out.body);
    return true;
  }

  static void set_target_and_auth(Endpoint ep, const Deployment& d, UpstreamRequest& out) {
    const char* op = ep == Endpoint::chat          ? "/chat/completions"
                     : ep == Endpoint::completions ? "/completions"
                                                   : "/embeddings";
    out.method = "POST";
    out.target = azure_root(d) + "/deployments/" + pct_encode(d.upstream_model) + op;
    if (!d.api_version.empty()) out.target += "?api-version=" + pct_encode(d.api_version);
    add_auth(d, out.headers);
  }

  // Not byte-for-byte: see translate_stream_unit.
  bool passthrough_stream() const override { return false; }

  // `unit` is one SSE event's data, or one raw line "data: {...}" (both accepted).
  void translate_stream_unit(Endpoint, const Deployment&, StreamState& st, std::string_view unit,
                             std::string& out) const override {
    if (!st.error.empty()) return;  // the stream failed: a later [DONE] must not follow its error
    if (st.done) return;            // the client's stream has ended
    while (!unit.empty() && (unit.back() == '\r' || unit.back() == '\n')) unit.remove_suffix(1);
    if (unit.substr(0, 5) == "data:") {
      unit.remove_prefix(5);
      if (!unit.empty() && unit.front() == ' ') unit.remove_prefix(1);
    } else if (unit.empty() || unit.front() == ':' || unit.substr(0, 6) == "event:" || unit.substr(0, 3) == "id:" ||
               unit.substr(0, 6) == "retry:") {
      return;  // comments and non-data fields carry nothing for the client
    }
    if (unit == "[DONE]") {
      out += "data: [DONE]\n\n";
      st.done = true;
      return;
    }
    json j = parse_json_bounded(unit);
    if (!j.is_object()) {
      st.error = "Azure OpenAI sent a stream event that is not a JSON object";
      return;
    }
    if (auto e = j.find("error"); e != j.end() && !e->is_null()) {
      st.error = e->is_object() && e->contains("message") && (*e)["message"].is_string()
                     ? "Azure OpenAI: " + (*e)["message"].get<std::string>()
                     : "Azure OpenAI reported an error during the stream";
      return;
    }
    bool has_usage = false;
    if (auto u = j.find("usage"); u != j.end() && u->is_object()) {
      read_openai_usage(*u, st.usage);
      has_usage = true;
    }
    auto ch = j.find("choices");
    if (ch == j.end() || !ch->is_array()) return;
    if (ch->empty()) {
      // The prompt-filter event, or the usage event we asked for on the client's behalf.
      if (has_usage && st.include_usage) append_event(out, unit);
      return;
    }
    bool modified = false;
    json kept = json::array();
    for (auto& c : *ch) {
      if (!c.is_object() || !c.contains("delta")) {
        modified = true;  // content-filter annotation without a delta
        continue;
      }
      const json& delta = c["delta"];
      if (delta.is_object() && delta.contains("content") && delta["content"].is_string())
        st.text += delta["content"].get<std::string>();
      if (c.contains("finish_reason") && c["finish_reason"].is_string()) st.finished = true;
      kept.push_back(std::move(c));
    }
    if (kept.empty()) return;
    if (!modified) {
      append_event(out, unit);  // byte for byte
      return;
    }
    j["choices"] = std::move(kept);
    append_event(out, j.dump(-1, ' ', false, json::error_handler_t::replace));
  }

  ResponseBody translate_response(Endpoint, const Deployment&, std::string_view upstream_body, std::string&,
                                  Usage& usage) const override {
    // OpenAI JSON already (plus Azure's *_filter_results, which clients ignore).
    return read_openai_response(upstream_body, usage);
  }

  std::string translate_error(int status, std::string_view upstream_body) const override {
    auto j = parse_json_bounded(upstream_body);
    if (j.is_object() && j.contains("error") && j["error"].is_object()) {
      const json& e = j["error"];
      json o = json::object();
      o["message"] = e.contains("message") && e["message"].is_string()
                         ? e["message"]
                         : json("Azure OpenAI returned HTTP " + std::to_string(status));
      o["type"] = e.contains("type") && e["type"].is_string() ? e["type"] : json(error_type_for(status));
      o["param"] = e.contains("param") && e["param"].is_string() ? e["param"] : json(nullptr);
      // Azure's code is a string ("content_filter", "429", "DeploymentNotFound") or absent.
      if (e.contains("code") && e["code"].is_string()) o["code"] = e["code"];
      else if (e.contains("code") && e["code"].is_number_integer())
        o["code"] = std::to_string(e["code"].get<int64_t>());
      else o["code"] = nullptr;
      // Content filter details: kept (clients built for Azure read them), under Azure's name.
      if (e.contains("innererror") && e["innererror"].is_object()) o["innererror"] = e["innererror"];
      return json{{"error", o}}.dump(-1, ' ', false, json::error_handler_t::replace);
    }
    return Provider::translate_error(status, upstream_body);
  }

  // GET {base}/openai/models?api-version=...: checks endpoint and key, spends no tokens.
  std::optional<UpstreamRequest> health_probe(const Deployment& d) const override {
    UpstreamRequest r;
    r.method = "GET";
    r.target = azure_root(d) + "/models";
    if (!d.api_version.empty()) r.target += "?api-version=" + pct_encode(d.api_version);
    add_auth(d, r.headers);
    return r;
  }

  bool health_ok(const Deployment& d, int status, std::string_view body, std::string& detail) const override {
    if (status >= 200 && status < 300) return true;
    detail = "Azure OpenAI answered HTTP " + std::to_string(status);
    auto j = parse_json_bounded(body);
    if (j.is_object() && j.contains("error") && j["error"].is_object() && j["error"].contains("message") &&
        j["error"]["message"].is_string())
      detail += ": " + j["error"]["message"].get<std::string>().substr(0, 300);
    return false;
  }
};

}  // namespace

const Provider& azure_provider() {
  static const AzureProvider p;
  return p;
}

}  // namespace llmgate
