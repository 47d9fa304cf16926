// The Ollama NDJSON stream translator (src/providers/ollama.cpp, translate_stream_unit), fed
// line by line as the proxy does (src/proxy/stream_relay.cpp): every chunk the client receives is
// an SSE event holding a JSON object, and [DONE] comes once, last.
#include "fuzz_support.hpp"
#include "llmgate/providers.hpp"

using namespace llmgate;
using namespace llmgate::fuzz;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view in = as_text(data, size);
  for (const Provider* p : {&ollama_chat_provider(), &ollama_generate_provider()}) {
    Deployment d;
    d.provider = p == &ollama_chat_provider() ? ProviderKind::ollama_chat : ProviderKind::ollama;
    d.model_name = "llama";
    d.upstream_model = "llama3.2";
    for (Endpoint ep : {Endpoint::chat, Endpoint::completions}) {
      StreamState st;
      st.include_usage = ep == Endpoint::chat;
      std::string out;
      std::size_t pos = 0;
      while (pos < in.size()) {
        auto nl = in.find('\n', pos);
        std::string_view line = in.substr(pos, nl == std::string_view::npos ? std::string_view::npos : nl - pos);
        pos = nl == std::string_view::npos ? in.size() : nl + 1;
        if (line.empty() || line == "\r") continue;
        p->translate_stream_unit(ep, d, st, line, out);
      }
      check_sse_events(out, "ollama stream: the client gets a malformed event");
      const auto done = out.find("data: [DONE]\n\n");
      check(done == std::string::npos || done + 14 == out.size(), "ollama stream: events after [DONE]", out);
      check(st.usage.prompt_tokens >= 0 && st.usage.completion_tokens >= 0, "ollama stream: negative usage", in);
    }
  }
  return 0;
}
