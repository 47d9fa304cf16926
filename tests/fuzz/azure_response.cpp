// Azure OpenAI upstream answers (src/providers/azure.cpp): the streamed events (translated one by
// one, content-filter annotations removed), the non-streaming body, errors and the health probe's
// answer. Whatever Azure sends, the client receives well-formed SSE events of JSON objects,
// nothing after [DONE], and OpenAI-shaped errors.
#include "fuzz_support.hpp"
#include "llmgate/providers.hpp"

using namespace llmgate;
using namespace llmgate::fuzz;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view in = as_text(data, size);
  const Provider& p = azure_provider();
  Deployment d;
  d.provider = ProviderKind::azure;
  d.model_name = "gpt-4o";
  d.upstream_model = "gpt-4o-deployment";
  d.api_version = "2024-10-21";

  // As the proxy streams: one call per SSE event's data.
  for (bool include_usage : {false, true}) {
    StreamState st;
    st.include_usage = include_usage;
    std::string out;
    SseParser sse;
    sse.feed(in, [&](const SseEvent& ev) {
      if (ev.has_data) p.translate_stream_unit(Endpoint::chat, d, st, ev.data, out);
    });
    check_sse_events(out, "azure stream: the client gets a malformed event");
    const auto done = out.find("data: [DONE]\n\n");
    check(done == std::string::npos || done + 14 == out.size(), "azure stream: events after [DONE]", out);
  }
  // The dialect also takes raw "data: ..." lines.
  {
    StreamState st;
    std::string out;
    std::size_t pos = 0;
    while (pos < in.size()) {
      auto nl = in.find('\n', pos);
      if (nl == std::string_view::npos) nl = in.size();
      p.translate_stream_unit(Endpoint::chat, d, st, in.substr(pos, nl - pos), out);
      pos = nl + 1;
    }
    check_sse_events(out, "azure stream lines: the client gets a malformed event");
  }

  Usage u;
  std::string out;
  const ResponseBody r = p.translate_response(Endpoint::chat, d, in, out, u);
  check(r != ResponseBody::translated, "azure bodies are forwarded, never rebuilt", in);
  for (int status : {400, 401, 404, 429, 500}) check_error_body(p.translate_error(status, in), "azure translate_error");
  std::string detail;
  if (!p.health_ok(d, 401, in, detail)) check(!detail.empty(), "a failed health probe without a reason", in);
  return 0;
}
