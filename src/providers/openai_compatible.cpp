#include <nlohmann/json.hpp>

#include "llmgate/providers.hpp"

namespace llmgate {

namespace {

class OpenAICompatible final : public Provider {
 public:
  bool build_request_spliced(Endpoint ep, const Deployment& d, const BodyFacts& f, bool stream,
                             UpstreamRequest& out) const override {
    const bool want_usage = stream && ep != Endpoint::embeddings;
    // A body that names forbidden fields, or has stream_options without include_usage, is
    // rewritten through the document (build_request).
    if (f.has_forbidden || (want_usage && f.has_stream_options && !f.include_usage)) return false;
    set_target_and_auth(ep, d, out);
    splice_body(f, d.upstream_model, want_usage && !f.has_stream_options, out.body);
    return true;
  }
  Errc build_request(Endpoint ep, const Deployment& d, nlohmann::json& body, bool stream, UpstreamRequest& out,
                     std::string& err) const override {
    for (const char* f : kForbiddenBodyFields) body.erase(f);
    body["model"] = d.upstream_model;
    set_target_and_auth(ep, d, out);
    if (stream && ep != Endpoint::embeddings) {
      // Always ask for usage so tokens and cost are known; the proxy strips the usage chunk
      // again when the client did not ask for it.
      auto& so = body["stream_options"];
      if (!so.is_object()) so = nlohmann::json::object();
      so["include_usage"] = true;
    }
    out.body = body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    return Errc::ok;
  }
  static void set_target_and_auth(Endpoint ep, const Deployment& d, UpstreamRequest& out) {
    out.method = "POST";
    switch (ep) {
      case Endpoint::chat: out.target = d.url.base_path + "/chat/completions"; break;
      case Endpoint::completions: out.target = d.url.base_path + "/completions"; break;
      case Endpoint::embeddings: out.target = d.url.base_path + "/embeddings"; break;
    }
    if (!d.api_key.empty()) out.headers.emplace_back("Authorization", "Bearer " + d.api_key.reveal());
  }
  ResponseBody translate_response(Endpoint, const Deployment&, std::string_view upstream_body, std::string&,
                                  Usage& usage) const override {
    return read_openai_response(upstream_body, usage);  // forwarded unchanged when valid
  }
  std::optional<UpstreamRequest> health_probe(const Deployment& d) const override {
    UpstreamRequest r;
    r.method = "GET";
    r.target = d.url.base_path + "/models";
    if (!d.api_key.empty()) r.headers.emplace_back("Authorization", "Bearer " + d.api_key.reveal());
    return r;
  }
};
}  // namespace

const Provider& openai_compatible_provider() {
  static const OpenAICompatible p;
  return p;
}

}  // namespace llmgate
