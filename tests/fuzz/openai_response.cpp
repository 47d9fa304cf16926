// OpenAI-compatible upstream answers (src/providers/openai_compatible.cpp, provider.cpp): the
// non-streaming body check and its fast usage reader, the usage read from streamed events, and
// the error translation. Usage must agree with a full parse and stay within sane bounds; error
// bodies sent to the client must be OpenAI errors.
#include "fuzz_support.hpp"
#include "llmgate/providers.hpp"

using namespace llmgate;
using namespace llmgate::fuzz;

namespace {

void check_usage(const Usage& u, std::string_view in) {
  for (int64_t v : {u.prompt_tokens, u.completion_tokens, u.cached_tokens, u.reasoning_tokens})
    check(v >= 0 && v <= kMaxTokenCount, "a token count out of bounds", in);
  check(u.total_tokens >= 0 && u.total_tokens <= 2 * kMaxTokenCount, "total_tokens out of bounds", in);
}

std::size_t count(std::string_view s, std::string_view what) {
  std::size_t n = 0;
  for (auto p = s.find(what); p != std::string_view::npos; p = s.find(what, p + 1)) ++n;
  return n;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view body = as_text(data, size);
  const Provider& p = openai_compatible_provider();
  Deployment d;
  d.model_name = "gpt-4o";
  d.upstream_model = "gpt-4o";

  Usage u;
  std::string out;
  const ResponseBody r = p.translate_response(Endpoint::chat, d, body, out, u);
  check(r != ResponseBody::translated, "openai bodies are forwarded, never rebuilt", body);
  const json doc = json::parse(body, nullptr, false);
  if (r == ResponseBody::forward) {
    check_usage(u, body);
    // Without a usage object the whole body is checked: only JSON objects are forwarded.
    if (body.find("\"usage\"") == std::string_view::npos)
      check(doc.is_object(), "forwarded a body that is not JSON", body);
  } else {
    // nlohmann reads a NUL byte as the end of the input; the gateway refuses what follows it.
    if (body.find('\0') == std::string_view::npos) check(!doc.is_object(), "refused a JSON object", body);
  }
  // The fast reader agrees with a full parse when the body has one "usage" key, at the top.
  if (doc.is_object() && count(body, "\"usage\"") == 1 && doc.contains("usage") && doc["usage"].is_object()) {
    Usage want;
    read_openai_usage(doc["usage"], want);
    check(r == ResponseBody::forward && u.present && u.prompt_tokens == want.prompt_tokens &&
              u.completion_tokens == want.completion_tokens && u.total_tokens == want.total_tokens &&
              u.cached_tokens == want.cached_tokens && u.reasoning_tokens == want.reasoning_tokens,
          "fast usage read differs from the parsed document", body);
  }

  // The same bytes as a stream: the proxy reads usage from any event that names it.
  SseParser sse;
  sse.feed(body, [&](const SseEvent& ev) {
    if (!ev.has_data || ev.data.find("\"usage\"") == std::string::npos) return;
    Usage su;
    if (extract_usage_fast(ev.data, su)) check_usage(su, ev.data);
  });

  for (int status : {400, 429, 503}) check_error_body(p.translate_error(status, body), "translate_error");
  return 0;
}
