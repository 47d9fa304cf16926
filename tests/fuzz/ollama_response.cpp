// Ollama upstream answers (src/providers/ollama.cpp): /api/chat, /api/generate and /api/embed
// bodies translated to OpenAI JSON, errors, the /api/tags health answer, and the base64
// re-encoding of embeddings. The client always gets a JSON object (or the body is refused).
#include "fuzz_support.hpp"
#include "llmgate/embedding_encoding.hpp"
#include "llmgate/providers.hpp"

using namespace llmgate;
using namespace llmgate::fuzz;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view in = as_text(data, size);
  for (const Provider* p : {&ollama_chat_provider(), &ollama_generate_provider()}) {
    Deployment d;
    d.provider = p == &ollama_chat_provider() ? ProviderKind::ollama_chat : ProviderKind::ollama;
    d.upstream_model = "llama3.2";
    d.api_base = "http://127.0.0.1:11434";
    for (const char* alias : {"llama", ""}) {  // "": the model name Ollama reports is used
      d.model_name = alias;
      for (Endpoint ep : {Endpoint::chat, Endpoint::completions, Endpoint::embeddings}) {
        Usage u;
        std::string out;
        const ResponseBody r = p->translate_response(ep, d, in, out, u);
        if (r == ResponseBody::invalid) continue;
        check(r == ResponseBody::translated, "ollama bodies are translated", in);
        const json j = parse_object(out, "ollama: translated body is not a JSON object");
        check(j.contains("model") && j["model"].is_string(), "ollama: translated body without a model", out);
        check(u.prompt_tokens >= 0 && u.completion_tokens >= 0 && u.total_tokens >= 0, "ollama: negative usage", in);
      }
    }
    for (int status : {400, 404, 500}) check_error_body(p->translate_error(status, in), "ollama translate_error");
    std::string detail;
    if (!p->health_ok(d, 200, in, detail)) check(!detail.empty(), "a failed health probe without a reason", in);
  }
  std::string body(in);
  if (embeddings_floats_to_base64(body)) parse_object(body, "base64 embeddings body is not a JSON object");
  return 0;
}
