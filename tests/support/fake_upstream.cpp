// Fake LLM upstream (OpenAI, Azure OpenAI, Ollama dialects). See fake_upstream.hpp.
//
// Threading: `threads` io_contexts, one thread each. One acceptor (on context 0) hands each
// accepted socket to the next context round-robin; a session then lives entirely on its
// context (no strands needed). Observations are atomics plus a mutex for the last request.
// Shutdown: the destructor stops every context, joins the threads and destroys the contexts,
// which destroys the suspended session coroutines (and so closes hanging connections).
#include "fake_upstream.hpp"

#include <atomic>
#include <condition_variable>
#include <cstring>
#include <ctime>
#include <mutex>
#include <optional>
#include <string_view>
#include <thread>
#include <unordered_map>

#include <boost/asio.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <nlohmann/json.hpp>

#include "llmgate/json_fields.hpp"

namespace llmgate::test {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
using json = nlohmann::json;
using namespace asio::experimental::awaitable_operators;
constexpr auto tuple_awaitable = asio::as_tuple(asio::use_awaitable);

// ---------------------------------------------------------------------------------------------
// Content helpers

std::string FakeUpstream::stream_piece(int i) {
  static const char* words[] = {"Hello", " from", " fake", " upstream"};
  if (i < 4) return words[i];
  return " tok" + std::to_string(i);
}

std::string FakeUpstream::stream_text(int events) {
  std::string s;
  for (int i = 0; i < events; ++i) s += stream_piece(i);
  return s;
}

namespace {

std::string jstr(std::string_view s) { return json(std::string(s)).dump(); }

// --- minimal top-level JSON scanner (no allocation beyond the model string) ------------------

size_t skip_ws(std::string_view s, size_t i) {
  while (i < s.size() && (s[i] == ' ' || s[i] == '\t' || s[i] == '\n' || s[i] == '\r')) ++i;
  return i;
}
size_t skip_string(std::string_view s, size_t i) {  // s[i] == '"'; returns index after closing quote
  for (++i; i < s.size(); ++i) {
    if (s[i] == '\\') ++i;
    else if (s[i] == '"') return i + 1;
  }
  return std::string_view::npos;
}
size_t skip_value(std::string_view s, size_t i) {
  i = skip_ws(s, i);
  if (i >= s.size()) return std::string_view::npos;
  if (s[i] == '"') return skip_string(s, i);
  if (s[i] == '{' || s[i] == '[') {
    int depth = 0;
    while (i < s.size()) {
      char c = s[i];
      if (c == '"') {
        i = skip_string(s, i);
        if (i == std::string_view::npos) return i;
        continue;
      }
      if (c == '{' || c == '[') ++depth;
      else if (c == '}' || c == ']') {
        if (--depth == 0) return i + 1;
      }
      ++i;
    }
    return std::string_view::npos;
  }
  while (i < s.size() && s[i] != ',' && s[i] != '}' && s[i] != ']' && s[i] != ' ' && s[i] != '\n' && s[i] != '\r' &&
         s[i] != '\t')
    ++i;
  return i;
}

struct ReqInfo {
  std::string model;
  bool stream = false;
  bool stream_set = false;
  bool include_usage = false;
  bool think = false;
  bool has_tools = false;
};

ReqInfo scan_request(std::string_view s) {
  ReqInfo r;
  size_t i = skip_ws(s, 0);
  if (i >= s.size() || s[i] != '{') return r;
  ++i;
  for (;;) {
    i = skip_ws(s, i);
    if (i >= s.size() || s[i] != '"') return r;
    size_t kend = skip_string(s, i);
    if (kend == std::string_view::npos) return r;
    std::string_view key = s.substr(i + 1, kend - i - 2);
    i = skip_ws(s, kend);
    if (i >= s.size() || s[i] != ':') return r;
    size_t vstart = skip_ws(s, i + 1);
    size_t vend = skip_value(s, vstart);
    if (vend == std::string_view::npos) return r;
    std::string_view val = s.substr(vstart, vend - vstart);
    if (key == "model" && val.size() >= 2 && val.front() == '"') {
      r.model = std::string(val.substr(1, val.size() - 2));
    } else if (key == "stream") {
      r.stream_set = true;
      r.stream = val == "true";
    } else if (key == "think") {
      r.think = !(val == "false" || val == "null");
    } else if (key == "tools") {
      r.has_tools = val.size() > 2 && val != "null";
    } else if (key == "stream_options") {
      auto p = val.find("\"include_usage\"");
      if (p != std::string_view::npos) {
        size_t q = skip_ws(val, p + 15);
        if (q < val.size() && val[q] == ':') r.include_usage = val.substr(skip_ws(val, q + 1), 4) == "true";
      }
    }
    i = skip_ws(s, vend);
    if (i >= s.size() || s[i] != ',') return r;
    ++i;
  }
}

int header_int(const http::request<http::string_body>& req, std::string_view name, int def) {
  auto it = req.find(name);
  if (it == req.end()) return def;
  try {
    return std::stoi(std::string(it->value()));
  } catch (...) {
    return def;
  }
}

std::string iso_now() {
  std::time_t t = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[64];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S.123456789Z", &tm);
  return buf;
}

// --- HTTP framing -----------------------------------------------------------------------------

const char* reason(int status) {
  switch (status) {
    case 200: return "OK";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 429: return "Too Many Requests";
    case 500: return "Internal Server Error";
    default: return "Unknown";
  }
}

std::string response(int status, std::string_view content_type, std::string_view body, bool keep,
                     std::string_view extra_headers = {}) {
  std::string s;
  s.reserve(body.size() + 160);
  s += "HTTP/1.1 ";
  s += std::to_string(status);
  s += ' ';
  s += reason(status);
  s += "\r\nContent-Type: ";
  s += content_type;
  s += "\r\nContent-Length: ";
  s += std::to_string(body.size());
  s += "\r\n";
  s += extra_headers;
  if (!keep) s += "Connection: close\r\n";
  s += "\r\n";
  s += body;
  return s;
}

std::string stream_head(std::string_view content_type, bool keep, std::string_view extra_headers = {}) {
  std::string s = "HTTP/1.1 200 OK\r\nContent-Type: ";
  s += content_type;
  s += "\r\nCache-Control: no-cache\r\nTransfer-Encoding: chunked\r\n";
  s += extra_headers;
  if (!keep) s += "Connection: close\r\n";
  s += "\r\n";
  return s;
}

void append_chunk(std::string& out, std::string_view data) {
  char hex[20];
  int n = std::snprintf(hex, sizeof hex, "%zx\r\n", data.size());
  out.append(hex, n);
  out += data;
  out += "\r\n";
}

constexpr std::string_view kLastChunk = "0\r\n\r\n";

std::string sse(std::string_view data) {
  std::string s = "data: ";
  s += data;
  s += "\n\n";
  return s;
}

// --- dialect bodies -----------------------------------------------------------------------------

std::string usage_json(int prompt, int completion) {
  return "{\"prompt_tokens\":" + std::to_string(prompt) + ",\"completion_tokens\":" + std::to_string(completion) +
         ",\"total_tokens\":" + std::to_string(prompt + completion) +
         ",\"prompt_tokens_details\":{\"cached_tokens\":0,\"audio_tokens\":0}"
         ",\"completion_tokens_details\":{\"reasoning_tokens\":0,\"audio_tokens\":0,"
         "\"accepted_prediction_tokens\":0,\"rejected_prediction_tokens\":0}}";
}

constexpr std::string_view kAzureFilterResults =
    "{\"hate\":{\"filtered\":false,\"severity\":\"safe\"},"
    "\"self_harm\":{\"filtered\":false,\"severity\":\"safe\"},"
    "\"sexual\":{\"filtered\":false,\"severity\":\"safe\"},"
    "\"violence\":{\"filtered\":false,\"severity\":\"safe\"}}";

std::string azure_prompt_filter() {
  return "\"prompt_filter_results\":[{\"prompt_index\":0,\"content_filter_results\":" +
         std::string(kAzureFilterResults) + "}]";
}

struct Style {
  bool azure = false;
  bool usage = true;
  bool completions = false;  // text_completion instead of chat
  std::string finish = "stop";
};

std::string chat_body(const std::string& model, int64_t created, std::string_view content_json, const Style& st) {
  std::string s;
  if (st.completions) {
    s = "{\"id\":\"cmpl-fake\",\"object\":\"text_completion\",\"created\":" + std::to_string(created) +
        ",\"model\":" + jstr(model) + ",\"choices\":[{\"text\":" + std::string(content_json) +
        ",\"index\":0,\"logprobs\":null,\"finish_reason\":" + jstr(st.finish);
    if (st.azure) s += ",\"content_filter_results\":" + std::string(kAzureFilterResults);
    s += "}]";
  } else {
    s = "{\"id\":\"chatcmpl-fake\",\"object\":\"chat.completion\",\"created\":" + std::to_string(created) +
        ",\"model\":" + jstr(model) +
        ",\"choices\":[{\"index\":0,\"message\":{\"role\":\"assistant\",\"content\":" + std::string(content_json) +
        ",\"refusal\":null},\"logprobs\":null,\"finish_reason\":" + jstr(st.finish);
    if (st.azure) s += ",\"content_filter_results\":" + std::string(kAzureFilterResults);
    s += "}]";
  }
  if (st.usage) s += ",\"usage\":" + usage_json(FakeUpstream::kPromptTokens, FakeUpstream::kCompletionTokens);
  if (st.azure) s += "," + azure_prompt_filter();
  s += ",\"system_fingerprint\":\"fp_fake\"}";
  return s;
}

// Complete SSE events (without chunked framing) of an OpenAI/Azure stream.
std::vector<std::string> chat_stream_events(const std::string& model, int64_t created, int events, bool include_usage,
                                            const Style& st, int cut_after) {
  std::vector<std::string> out;
  std::string mj = jstr(model);
  std::string cr = std::to_string(created);
  std::string usage_null = include_usage && st.usage ? ",\"usage\":null" : "";
  std::string cfr = st.azure ? ",\"content_filter_results\":" + std::string(kAzureFilterResults) : "";
  if (st.azure) {
    out.push_back(
        sse("{\"choices\":[],\"created\":0,\"id\":\"\",\"model\":\"\",\"object\":\"\"," + azure_prompt_filter() + "}"));
  }
  auto chunk = [&](std::string_view choice) {
    if (st.completions)
      return sse("{\"id\":\"cmpl-fake\",\"object\":\"text_completion\",\"created\":" + cr + ",\"model\":" + mj +
                 ",\"choices\":[" + std::string(choice) + "]" + usage_null + ",\"system_fingerprint\":\"fp_fake\"}");
    return sse("{\"id\":\"chatcmpl-fake\",\"object\":\"chat.completion.chunk\",\"created\":" + cr + ",\"model\":" + mj +
               ",\"system_fingerprint\":\"fp_fake\",\"choices\":[" + std::string(choice) + "]" + usage_null + "}");
  };
  for (int i = 0; i < events; ++i) {
    if (cut_after >= 0 && i == cut_after) return out;
    std::string piece = jstr(FakeUpstream::stream_piece(i));
    if (st.completions)
      out.push_back(chunk("{\"text\":" + piece + ",\"index\":0,\"logprobs\":null,\"finish_reason\":null" + cfr + "}"));
    else
      out.push_back(chunk(
          std::string("{\"index\":0,\"delta\":{") + (i == 0 ? "\"role\":\"assistant\",\"content\":" : "\"content\":") +
          piece + (i == 0 ? ",\"refusal\":null" : "") + "},\"logprobs\":null,\"finish_reason\":null" + cfr + "}"));
  }
  if (cut_after >= 0) return out;
  if (st.completions)
    out.push_back(
        chunk("{\"text\":\"\",\"index\":0,\"logprobs\":null,\"finish_reason\":" + jstr(st.finish) + cfr + "}"));
  else
    out.push_back(
        chunk("{\"index\":0,\"delta\":{},\"logprobs\":null,\"finish_reason\":" + jstr(st.finish) + cfr + "}"));
  if (include_usage && st.usage) {
    out.push_back(sse(std::string("{\"id\":\"") + (st.completions ? "cmpl-fake" : "chatcmpl-fake") +
                      "\",\"object\":\"" + (st.completions ? "text_completion" : "chat.completion.chunk") +
                      "\",\"created\":" + cr + ",\"model\":" + mj +
                      ",\"system_fingerprint\":\"fp_fake\",\"choices\":[],\"usage\":" +
                      usage_json(FakeUpstream::kPromptTokens, events) + "}"));
  }
  out.push_back(sse("[DONE]"));
  return out;
}

const std::string kErr500 =
    R"({"error":{"message":"fake upstream failure","type":"server_error","param":null,"code":null}})";
const std::string kErr429 =
    R"({"error":{"message":"Rate limit reached for fake-model in organization org-fake on requests per min (RPM): Limit 3, Used 3, Requested 1. Please try again in 1s.","type":"requests","param":null,"code":"rate_limit_exceeded"}})";
const std::string kErr400 =
    R"({"error":{"message":"fake bad request: 'messages' is invalid","type":"invalid_request_error","param":"messages","code":null}})";
const std::string kNotFound =
    R"({"error":{"message":"Unknown request URL. Please check the URL and method.","type":"invalid_request_error","param":null,"code":"unknown_url"}})";
const std::string kStreamErrorEvent =
    R"({"error":{"message":"fake upstream failure during the stream","type":"server_error","param":null,"code":null}})";
// Azure OpenAI error shapes (docs: "Azure OpenAI in Azure AI Foundry Models REST API reference").
const std::string kAzure401 =
    R"({"error":{"code":"401","message":"Access denied due to invalid subscription key or wrong API endpoint. Make sure to provide a valid key for an active subscription and use a correct regional API endpoint for your resource."}})";
const std::string kAzure404 = R"({"error":{"code":"404","message":"Resource not found"}})";
const std::string kAzureContentFilter =
    R"({"error":{"message":"The response was filtered due to the prompt triggering Azure OpenAI's content management policy. Please modify your prompt and retry. To learn more about our content filtering policies please read our documentation: https://go.microsoft.com/fwlink/?linkid=2198766","type":null,"param":"prompt","code":"content_filter","status":400,"innererror":{"code":"ResponsibleAIPolicyViolation","content_filter_result":{"hate":{"filtered":false,"severity":"safe"},"jailbreak":{"filtered":false,"detected":false},"self_harm":{"filtered":false,"severity":"safe"},"sexual":{"filtered":false,"severity":"safe"},"violence":{"filtered":true,"severity":"medium"}}}}})";

}  // namespace

// ---------------------------------------------------------------------------------------------

struct FakeUpstream::Impl {
  FakeUpstreamOptions opts;
  std::vector<std::unique_ptr<asio::io_context>> ctxs;
  std::vector<asio::executor_work_guard<asio::io_context::executor_type>> guards;
  std::vector<std::thread> threads;
  std::optional<tcp::acceptor> acceptor;
  unsigned short port = 0;
  int64_t created = std::time(nullptr);
  std::string created_at = iso_now();

  std::atomic<int> accepted{0}, open{0}, nrequests{0};
  mutable std::mutex mu;
  mutable std::condition_variable cv;
  std::string last_body, last_target;
  std::map<std::string, std::string> last_headers;

  struct OpenGuard {
    Impl* self;
    ~OpenGuard() {
      {
        std::lock_guard lk(self->mu);
        self->open.fetch_sub(1);
      }
      self->cv.notify_all();
    }
  };

  using Req = http::request<http::string_body>;
  enum class Next { keep, close };

  asio::awaitable<void> accept_loop() {
    size_t next = 0;
    for (;;) {
      auto& ctx = *ctxs[next++ % ctxs.size()];
      auto [ec, sock] = co_await acceptor->async_accept(ctx, tuple_awaitable);
      if (ec) {
        if (ec == asio::error::operation_aborted || !acceptor->is_open()) co_return;
        asio::steady_timer t(co_await asio::this_coro::executor, std::chrono::milliseconds(10));
        co_await t.async_wait(tuple_awaitable);  // EMFILE & co: do not spin
        continue;
      }
      beast::error_code ignored;
      sock.set_option(tcp::no_delay(true), ignored);
      accepted.fetch_add(1);
      open.fetch_add(1);
      asio::co_spawn(ctx, session(std::move(sock)), [](std::exception_ptr e) {
        if (e) {
          try {
            std::rethrow_exception(e);
          } catch (const std::exception& ex) {
            std::fprintf(stderr, "fake upstream session: %s\n", ex.what());
          }
        }
      });
    }
  }

  asio::awaitable<void> session(tcp::socket sock) {
    OpenGuard guard{this};
    beast::flat_buffer buf;
    int n_on_conn = 0;
    for (;;) {
      http::request_parser<http::string_body> parser;
      parser.body_limit(256 * 1024 * 1024);
      parser.header_limit(64 * 1024);
      auto [ec, n] = co_await http::async_read(sock, buf, parser, tuple_awaitable);
      if (ec) break;
      ++n_on_conn;
      Req req = parser.release();
      if (opts.record_requests) record(req);
      else nrequests.fetch_add(1);
      Next nx = co_await handle(sock, req, n_on_conn);
      if (nx == Next::close || !req.keep_alive()) break;
    }
    beast::error_code ec;
    sock.shutdown(tcp::socket::shutdown_both, ec);
    sock.close(ec);
  }

  void record(const Req& req) {
    std::map<std::string, std::string> h;
    for (const auto& f : req) {
      std::string name(f.name_string());
      for (auto& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      h[name] = std::string(f.value());
    }
    {
      std::lock_guard lk(mu);
      last_body = req.body();
      last_target = std::string(req.target());
      last_headers = std::move(h);
      nrequests.fetch_add(1);
    }
    cv.notify_all();
  }

  // Waits until the peer closes (or errors); discards anything it sends meanwhile.
  static asio::awaitable<void> wait_peer_close(tcp::socket& sock) {
    char tmp[4096];
    for (;;) {
      auto [ec, n] = co_await sock.async_read_some(asio::buffer(tmp), tuple_awaitable);
      if (ec) co_return;
    }
  }

  // Whether the peer has closed (readable with EOF / error). Non-blocking.
  static bool peer_closed(tcp::socket& sock) {
    char c;
    beast::error_code ec;
    sock.non_blocking(true, ec);
    size_t n = sock.receive(asio::buffer(&c, 1), tcp::socket::message_peek, ec);
    sock.non_blocking(false, ec);
    if (ec == asio::error::would_block) return false;
    return ec || n == 0;
  }

  static asio::awaitable<bool> write(tcp::socket& sock, std::string_view data) {
    auto [ec, n] = co_await asio::async_write(sock, asio::buffer(data.data(), data.size()), tuple_awaitable);
    co_return !ec;
  }

  // Writes `head`, then the events as HTTP chunks, paced `interval_ms` apart while watching
  // for the peer closing. `finish` appends the terminating chunk. Returns false when the
  // connection is no longer usable.
  // `split`: each event as two chunks, its "data: ..." line and its blank line (as nginx's
  // echo module writes them in the benchmark's mock).
  asio::awaitable<bool> write_stream(tcp::socket& sock, std::string head, const std::vector<std::string>& events,
                                     int interval_ms, bool finish, bool split = false) {
    auto append_event = [split](std::string& out, std::string_view e) {
      if (split && e.size() > 2 && e.substr(e.size() - 2) == "\n\n") {
        append_chunk(out, e.substr(0, e.size() - 2));
        append_chunk(out, "\n\n");
      } else {
        append_chunk(out, e);
      }
    };
    if (interval_ms <= 0) {
      std::string all = std::move(head);
      for (const auto& e : events) append_event(all, e);
      if (finish) all += kLastChunk;
      co_return co_await write(sock, all);
    }
    asio::steady_timer timer(sock.get_executor());
    bool watch = true;
    std::string first = std::move(head);
    for (size_t i = 0; i < events.size(); ++i) {
      std::string out = i == 0 ? std::move(first) : std::string();
      if (i > 0) {
        auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(interval_ms);
        for (;;) {
          timer.expires_at(deadline);
          if (!watch) {
            co_await timer.async_wait(tuple_awaitable);
            break;
          }
          auto r = co_await (timer.async_wait(tuple_awaitable) ||
                             sock.async_wait(tcp::socket::wait_read, tuple_awaitable));
          if (r.index() == 0) break;
          if (peer_closed(sock)) co_return false;
          watch = false;  // the peer sent data (pipelining): stop watching, finish the stream
        }
      }
      append_event(out, events[i]);
      if (finish && i + 1 == events.size()) out += kLastChunk;
      if (!co_await write(sock, out)) co_return false;
    }
    if (events.empty() && finish) co_return co_await write(sock, std::string(first) + std::string(kLastChunk));
    co_return true;
  }

  // Puts `bad` before units[at] and sends it and every unit after it as one chunk (an upstream
  // may batch units: what follows a malformed one in the same read must not reach the client).
  static void malformed_tail(std::vector<std::string>& units, std::size_t at, std::string bad) {
    for (std::size_t i = at; i < units.size(); ++i) bad += units[i];
    units.resize(at);
    units.push_back(std::move(bad));
  }

  // Serves the behaviours every dialect shares (hang / stale-once). Returns true when handled.
  asio::awaitable<std::optional<Next>> common_behaviour(tcp::socket& sock, const std::string& model, int n_on_conn) {
    if (model == "hang") {
      co_await wait_peer_close(sock);
      co_return Next::close;
    }
    if (model == "stale-once" && n_on_conn >= 2) co_return Next::close;
    co_return std::nullopt;
  }

  asio::awaitable<Next> handle(tcp::socket& sock, const Req& req, int n_on_conn) {
    bool keep = req.keep_alive();
    std::string_view target = req.target();
    std::string_view path = target.substr(0, target.find('?'));
    std::string_view query = target.find('?') == std::string_view::npos ? std::string_view{}
                                                                        : target.substr(target.find('?') + 1);
    bool get = req.method() == http::verb::get;
    bool post = req.method() == http::verb::post;

    auto reply = [&](int status, std::string_view ct, std::string_view body,
                     std::string_view extra = {}) -> asio::awaitable<Next> {
      bool ok = co_await write(sock, response(status, ct, body, keep, extra));
      co_return ok ? Next::keep : Next::close;
    };

    if (path.starts_with("/v1/")) path.remove_prefix(3);
    if (get && path == "/models") co_return co_await reply(200, "application/json", models_body());
    if (get && path == "/api/tags") co_return co_await reply(200, "application/json; charset=utf-8", tags_body());
    if (get && path == "/api/version")
      co_return co_await reply(200, "application/json; charset=utf-8", R"({"version":"0.12.6"})");
    if (get && path == "/health") co_return co_await reply(200, "application/json", R"({"status":"ok"})");
    if (get && path == "/openai/models") {  // Azure data-plane model list (health probes)
      if (req.find("api-key") == req.end() && req.find(http::field::authorization) == req.end())
        co_return co_await reply(401, "application/json", kAzure401);
      co_return co_await reply(200, "application/json", models_body());
    }
    if (!post) co_return co_await reply(404, "application/json", kNotFound);

    if (path == "/chat/completions" || path == "/completions" || path == "/embeddings")
      co_return co_await openai(sock, req, path, n_on_conn, false, "");
    if (path.starts_with("/openai/deployments/")) {
      std::string_view rest = path.substr(std::strlen("/openai/deployments/"));
      auto slash = rest.find('/');
      if (slash == std::string_view::npos) co_return co_await reply(404, "application/json", kAzure404);
      std::string deployment(rest.substr(0, slash));
      std::string op = "/" + std::string(rest.substr(slash + 1));
      if (op != "/chat/completions" && op != "/completions" && op != "/embeddings")
        co_return co_await reply(404, "application/json", kAzure404);
      if (req.find("api-key") == req.end() && req.find(http::field::authorization) == req.end())
        co_return co_await reply(401, "application/json", kAzure401);
      if (query.find("api-version=") == std::string_view::npos)
        co_return co_await reply(404, "application/json", kAzure404);
      co_return co_await openai(sock, req, op, n_on_conn, true, deployment);
    }
    if (path == "/api/chat" || path == "/api/generate")
      co_return co_await ollama_generate(sock, req, path == "/api/chat", n_on_conn);
    if (path == "/api/embed") co_return co_await ollama_embed(sock, req, n_on_conn);
    co_return co_await reply(404, "application/json", kNotFound);
  }

  std::string models_body() const {
    std::string cr = std::to_string(created);
    return R"({"object":"list","data":[{"id":"gpt-4o-mini","object":"model","created":)" + cr +
           R"(,"owned_by":"fake"},{"id":"gpt-4o","object":"model","created":)" + cr +
           R"(,"owned_by":"fake"},{"id":"text-embedding-3-small","object":"model","created":)" + cr +
           R"(,"owned_by":"fake"}]})";
  }

  std::string tags_body() const {
    json models = json::array();
    for (const auto& m : opts.ollama_models) {
      models.push_back({{"name", m},
                        {"model", m},
                        {"modified_at", "2025-05-04T17:37:44.706015396-07:00"},
                        {"size", 2019393189},
                        {"digest", "a80c4f17acd55265feec403c7aef86be0c25983ab279d83f3bcd3abbcb5b8b72"},
                        {"details",
                         {{"parent_model", ""},
                          {"format", "gguf"},
                          {"family", "llama"},
                          {"families", {"llama"}},
                          {"parameter_size", "3.2B"},
                          {"quantization_level", "Q4_K_M"}}}});
    }
    return json{{"models", models}}.dump();
  }

  // OpenAI and Azure dialects. `op` is "/chat/completions", "/completions" or "/embeddings".
  asio::awaitable<Next> openai(tcp::socket& sock, const Req& req, std::string_view op, int n_on_conn, bool azure,
                               const std::string& deployment) {
    bool keep = req.keep_alive();
    ReqInfo info = scan_request(req.body());
    std::string behaviour = azure ? deployment : info.model;
    std::string model = info.model.empty() ? deployment : info.model;
    auto reply = [&](int status, std::string_view body, std::string_view extra = {}) -> asio::awaitable<Next> {
      bool ok = co_await write(sock, response(status, "application/json", body, keep, extra));
      co_return ok ? Next::keep : Next::close;
    };
    if (auto nx = co_await common_behaviour(sock, behaviour, n_on_conn)) co_return *nx;
    if (behaviour == "error-500") co_return co_await reply(500, kErr500);
    if (behaviour == "error-429")
      co_return co_await reply(429, kErr429,
                               "Retry-After: 1\r\nx-ratelimit-limit-requests: 3\r\n"
                               "x-ratelimit-remaining-requests: 0\r\nx-ratelimit-reset-requests: 1s\r\n");
    if (behaviour == "error-400") co_return co_await reply(400, kErr400);
    if (behaviour == "status-900") co_return co_await reply(900, kErr500);  // not an HTTP status
    if (behaviour == "not-json") {  // a proxy's page in front of the upstream, with 200
      bool ok = co_await write(
          sock, response(200, "text/html", "<html><body>Service temporarily moved</body></html>", keep, {}));
      co_return ok ? Next::keep : Next::close;
    }
    if (azure && behaviour == "content-filter") co_return co_await reply(400, kAzureContentFilter);

    if (op == "/embeddings") co_return co_await reply(200, embeddings_body(req.body(), model));

    Style st;
    st.azure = azure;
    st.completions = op == "/completions";
    st.usage = behaviour != "no-usage";
    if (behaviour == "finish-content-filter") st.finish = "content_filter";

    if (!info.stream) {
      std::string content = behaviour == "echo" ? jstr(req.body()) : jstr(FakeUpstream::kContent);
      if (behaviour == "slow-body" || behaviour == "slow-chunked-body") {
        // The head with a few bytes of the body, then the rest in pieces 20 ms apart (cut at
        // arbitrary bytes, inside chunk framing too): the gateway reads on from what came first.
        const std::string body = chat_body(model, created, content, st);
        std::string whole;
        if (behaviour == "slow-body") {
          whole = response(200, "application/json", body, keep);
        } else {
          whole = stream_head("application/json", keep);
          const std::size_t third = body.size() / 3;
          append_chunk(whole, std::string_view(body).substr(0, third));
          append_chunk(whole, std::string_view(body).substr(third, third));
          append_chunk(whole, std::string_view(body).substr(2 * third));
          whole += kLastChunk;
        }
        std::size_t at = whole.find("\r\n\r\n") + 4 + 5;
        if (!co_await write(sock, std::string_view(whole).substr(0, at))) co_return Next::close;
        asio::steady_timer t(sock.get_executor());
        for (const std::size_t piece : {std::size_t{7}, whole.size() / 3, whole.size()}) {
          t.expires_after(std::chrono::milliseconds(20));
          co_await t.async_wait(tuple_awaitable);
          const std::size_t end = std::min(whole.size(), at + piece);
          if (!co_await write(sock, std::string_view(whole).substr(at, end - at))) co_return Next::close;
          at = end;
        }
        co_return keep ? Next::keep : Next::close;
      }
      co_return co_await reply(200, chat_body(model, created, content, st));
    }
    int events = header_int(req, "x-fake-stream-events", opts.stream_events);
    int interval = header_int(req, "x-fake-interval-ms", opts.stream_interval_ms);
    int cut_after = -1;
    if (behaviour == "slow-stream") {
      events = 50;
      interval = header_int(req, "x-fake-interval-ms", 200);
    } else if (behaviour == "stream-cut" || behaviour == "stream-error") {
      cut_after = 2;
    } else if (behaviour == "stream-cut-early") {
      cut_after = 0;
    } else if (behaviour == "split-chunks-paced") {
      interval = header_int(req, "x-fake-interval-ms", 5);
    }
    std::vector<std::string> evs;
    if (behaviour == "echo") {
      // One content event carrying the request body, then the usual end.
      evs = chat_stream_events(model, created, 1, info.include_usage, st, -1);
      std::string body = jstr(req.body());
      std::string& first = evs[azure ? 1 : 0];
      auto p = first.find("\"content\":");
      if (p == std::string::npos) p = first.find("\"text\":");
      auto q = first.find(',', first.find(':', p));
      first = first.substr(0, first.find(':', p) + 1) + body + first.substr(q);
    } else {
      evs = chat_stream_events(model, created, events, info.include_usage, st, cut_after);
    }
    if (behaviour == "stream-malformed")  // after two content events, a cut JSON event, then the usual rest
      malformed_tail(evs, azure ? 3 : 2, sse(R"({"id":"chatcmpl-fake","choices":[{"index":0,"delta":{"content":"cut)"));
    if (behaviour == "slow-first") {  // the head at once, the first event 600 ms later
      if (!co_await write(sock, stream_head("text/event-stream; charset=utf-8", keep))) co_return Next::close;
      asio::steady_timer t(sock.get_executor());
      t.expires_after(std::chrono::milliseconds(600));
      co_await t.async_wait(tuple_awaitable);
      bool ok = co_await write_stream(sock, std::string(), evs, 0, true);
      co_return ok ? Next::keep : Next::close;
    }
    if (behaviour == "stream-error") {
      evs.push_back(sse(kStreamErrorEvent));
      bool ok = co_await write_stream(sock, stream_head("text/event-stream; charset=utf-8", keep), evs, interval, true);
      co_return ok ? Next::keep : Next::close;
    }
    bool ok = co_await write_stream(sock, stream_head("text/event-stream; charset=utf-8", keep), evs, interval,
                                    cut_after < 0, behaviour.rfind("split-chunks", 0) == 0);
    if (cut_after >= 0) co_return Next::close;
    co_return ok ? Next::keep : Next::close;
  }

  static std::string embeddings_body(const std::string& body, const std::string& model) {
    json j = json::parse(body, nullptr, false);
    size_t n = 1;
    bool b64 = false;
    if (j.is_object()) {
      if (j.contains("input") && j["input"].is_array()) {
        const auto& in = j["input"];
        // A list of token ids is one input; a list of strings / token lists is one per entry.
        n = (!in.empty() && in[0].is_number()) ? 1 : std::max<size_t>(in.size(), 1);
      }
      b64 = string_field(j, "encoding_format") == "base64";
    }
    static const float vec[8] = {0.0023064255f, -0.009327292f, 0.015797347f, -0.0077780345f,
                                 0.0042153f,    0.0110212f,    -0.0033152f,  0.0181211f};
    std::string data = "[";
    for (size_t i = 0; i < n; ++i) {
      if (i) data += ',';
      data += "{\"object\":\"embedding\",\"index\":" + std::to_string(i) + ",\"embedding\":";
      if (b64) {
        static const char* tbl = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
        const auto* p = reinterpret_cast<const unsigned char*>(vec);  // little-endian float32
        size_t len = sizeof vec;
        std::string enc;
        for (size_t k = 0; k < len; k += 3) {
          uint32_t v = p[k] << 16 | (k + 1 < len ? p[k + 1] << 8 : 0) | (k + 2 < len ? p[k + 2] : 0);
          enc += tbl[(v >> 18) & 63];
          enc += tbl[(v >> 12) & 63];
          enc += k + 1 < len ? tbl[(v >> 6) & 63] : '=';
          enc += k + 2 < len ? tbl[v & 63] : '=';
        }
        data += '"' + enc + '"';
      } else {
        data += json(std::vector<float>(vec, vec + 8)).dump();
      }
      data += '}';
    }
    data += ']';
    int tokens = static_cast<int>(4 * n);
    return "{\"object\":\"list\",\"data\":" + data + ",\"model\":" + jstr(model) +
           ",\"usage\":{\"prompt_tokens\":" + std::to_string(tokens) + ",\"total_tokens\":" + std::to_string(tokens) +
           "}}";
  }

  // --- Ollama ----------------------------------------------------------------------------------

  static std::string ollama_error(std::string_view msg) { return json{{"error", std::string(msg)}}.dump(); }

  asio::awaitable<Next> ollama_generate(tcp::socket& sock, const Req& req, bool chat, int n_on_conn) {
    bool keep = req.keep_alive();
    ReqInfo info = scan_request(req.body());
    const std::string& model = info.model;
    auto reply = [&](int status, std::string_view body) -> asio::awaitable<Next> {
      bool ok = co_await write(sock, response(status, "application/json; charset=utf-8", body, keep));
      co_return ok ? Next::keep : Next::close;
    };
    if (auto nx = co_await common_behaviour(sock, model, n_on_conn)) co_return *nx;
    if (model.empty()) co_return co_await reply(400, ollama_error("model is required"));
    if (model == "error-500") co_return co_await reply(500, ollama_error("fake upstream failure"));
    if (model == "error-429")
      co_return co_await reply(429, ollama_error("server busy, please try again.  maximum pending requests exceeded"));
    if (model == "error-400") co_return co_await reply(400, ollama_error("invalid options: fake"));
    if (model.starts_with("missing"))
      co_return co_await reply(404, ollama_error("model \"" + model + "\" not found, try pulling it first"));

    bool stream = info.stream_set ? info.stream : true;  // Ollama streams by default
    bool usage = model != "no-usage";
    std::string done_reason = model == "finish-length" ? "length" : "stop";
    std::string tool_name;
    if (info.has_tools) {
      json j = json::parse(req.body(), nullptr, false);
      if (j.is_object() && j.contains("tools") && j["tools"].is_array() && !j["tools"].empty())
        tool_name = j["tools"][0].is_object() && j["tools"][0].contains("function")
                        ? string_field(j["tools"][0]["function"], "name", "tool")
                        : "tool";
    }
    std::string mj = jstr(model);
    std::string head = "{\"model\":" + mj + ",\"created_at\":\"" + created_at + "\",";
    auto stats = [&](int completion) {
      std::string s = ",\"total_duration\":4883583458,\"load_duration\":1334875";
      if (usage)
        s += ",\"prompt_eval_count\":" + std::to_string(FakeUpstream::kPromptTokens) +
             ",\"prompt_eval_duration\":342546000,\"eval_count\":" + std::to_string(completion) +
             ",\"eval_duration\":4535599000";
      return s;
    };
    auto unit = [&](std::string_view content, std::string_view thinking, bool done, int completion,
                    std::string_view tool_calls = {}) {
      std::string s = head;
      if (chat) {
        s += "\"message\":{\"role\":\"assistant\",\"content\":" + jstr(content);
        if (!thinking.empty()) s += ",\"thinking\":" + jstr(thinking);
        if (!tool_calls.empty()) s += ",\"tool_calls\":" + std::string(tool_calls);
        s += "},";
      } else {
        s += "\"response\":" + jstr(content) + ",";
        if (!thinking.empty()) s += "\"thinking\":" + jstr(thinking) + ",";
      }
      s += done ? "\"done\":true" : "\"done\":false";
      if (done) {
        s += ",\"done_reason\":" + jstr(done_reason);
        if (!chat) s += ",\"context\":[1,2,3]";
        s += stats(completion);
      }
      s += "}";
      return s;
    };
    std::string tool_calls;
    if (!tool_name.empty())
      tool_calls = "[{\"function\":{\"name\":" + jstr(tool_name) + ",\"arguments\":{\"city\":\"Paris\"}}}]";
    std::string thinking = info.think ? "Thinking about a greeting." : "";

    if (!stream) {
      std::string content = model == "echo" ? req.body() : std::string(FakeUpstream::kContent);
      if (!tool_calls.empty()) content.clear();
      co_return co_await reply(200, unit(content, thinking, true, FakeUpstream::kCompletionTokens, tool_calls));
    }

    int events = header_int(req, "x-fake-stream-events", opts.stream_events);
    int interval = header_int(req, "x-fake-interval-ms", opts.stream_interval_ms);
    int cut_after = -1;
    if (model == "slow-stream") {
      events = 50;
      interval = header_int(req, "x-fake-interval-ms", 200);
    } else if (model == "stream-cut" || model == "stream-error") {
      cut_after = 2;
    }
    std::vector<std::string> lines;
    if (info.think) {
      lines.push_back(unit("", "Thinking about", false, 0) + "\n");
      lines.push_back(unit("", " a greeting.", false, 0) + "\n");
    }
    if (!tool_calls.empty()) {
      lines.push_back(unit("", "", false, 0, tool_calls) + "\n");
      events = 0;
    } else if (model == "echo") {
      lines.push_back(unit(req.body(), "", false, 0) + "\n");
      events = 1;
    } else {
      for (int i = 0; i < events; ++i) {
        if (cut_after >= 0 && i == cut_after) break;
        lines.push_back(unit(FakeUpstream::stream_piece(i), "", false, 0) + "\n");
      }
    }
    if (model == "stream-malformed")
      malformed_tail(lines, 2, "{\"model\":\"stream-malformed\",\"message\":{\"content\":\"cut\n");
    if (model == "stream-error") lines.push_back(ollama_error("fake upstream failure during the stream") + "\n");
    else if (cut_after < 0) lines.push_back(unit("", "", true, events) + "\n");
    bool ok = co_await write_stream(sock, stream_head("application/x-ndjson", keep), lines, interval,
                                    model != "stream-cut");
    if (model == "stream-cut") co_return Next::close;
    co_return ok ? Next::keep : Next::close;
  }

  asio::awaitable<Next> ollama_embed(tcp::socket& sock, const Req& req, int n_on_conn) {
    bool keep = req.keep_alive();
    json j = json::parse(req.body(), nullptr, false);
    auto reply = [&](int status, std::string_view body) -> asio::awaitable<Next> {
      bool ok = co_await write(sock, response(status, "application/json; charset=utf-8", body, keep));
      co_return ok ? Next::keep : Next::close;
    };
    if (!j.is_object() || !j.contains("model") || !j["model"].is_string())
      co_return co_await reply(400, ollama_error("model is required"));
    std::string model = j["model"];
    if (auto nx = co_await common_behaviour(sock, model, n_on_conn)) co_return *nx;
    if (model == "error-500") co_return co_await reply(500, ollama_error("fake upstream failure"));
    if (model.starts_with("missing"))
      co_return co_await reply(404, ollama_error("model \"" + model + "\" not found, try pulling it first"));
    size_t n = 1;
    if (j.contains("input") && j["input"].is_array()) n = std::max<size_t>(j["input"].size(), 1);
    json embs = json::array();
    for (size_t i = 0; i < n; ++i)
      embs.push_back(
          {0.010071029, -0.0017594862, 0.05007221, 0.04692972, 0.054916814, 0.008599704, 0.105441414, -0.025878139});
    json out = {{"model", model},
                {"embeddings", embs},
                {"total_duration", 14143917},
                {"load_duration", 1019500},
                {"prompt_eval_count", static_cast<int>(4 * n)}};
    co_return co_await reply(200, out.dump());
  }
};

// ---------------------------------------------------------------------------------------------

FakeUpstream::FakeUpstream(FakeUpstreamOptions opts) : impl_(std::make_unique<Impl>()) {
  auto& im = *impl_;
  im.opts = std::move(opts);
  int n = std::max(1, im.opts.threads);
  for (int i = 0; i < n; ++i) {
    im.ctxs.push_back(std::make_unique<asio::io_context>(1));
    im.guards.push_back(asio::make_work_guard(*im.ctxs.back()));
  }
  tcp::endpoint ep(asio::ip::make_address(im.opts.host), im.opts.port);
  im.acceptor.emplace(*im.ctxs[0]);
  im.acceptor->open(ep.protocol());
  im.acceptor->set_option(asio::socket_base::reuse_address(true));
  im.acceptor->bind(ep);
  im.acceptor->listen(asio::socket_base::max_listen_connections);
  im.port = im.acceptor->local_endpoint().port();
  asio::co_spawn(*im.ctxs[0], im.accept_loop(), [](std::exception_ptr e) {
    if (e) {
      try {
        std::rethrow_exception(e);
      } catch (const std::exception& ex) {
        std::fprintf(stderr, "fake upstream acceptor: %s\n", ex.what());
      }
    }
  });
  for (auto& c : im.ctxs) im.threads.emplace_back([ctx = c.get()] { ctx->run(); });
}

FakeUpstream::~FakeUpstream() {
  auto& im = *impl_;
  for (auto& c : im.ctxs) c->stop();
  for (auto& t : im.threads) t.join();
  im.acceptor.reset();
  im.guards.clear();
  im.ctxs.clear();  // destroys suspended sessions, closing their sockets
}

unsigned short FakeUpstream::port() const { return impl_->port; }
std::string FakeUpstream::base_url() const { return origin() + "/v1"; }
std::string FakeUpstream::origin() const { return "http://" + impl_->opts.host + ":" + std::to_string(impl_->port); }
int FakeUpstream::connections_accepted() const { return impl_->accepted.load(); }
int FakeUpstream::connections_open() const { return impl_->open.load(); }
int FakeUpstream::requests() const { return impl_->nrequests.load(); }
std::string FakeUpstream::last_body() const {
  std::lock_guard lk(impl_->mu);
  return impl_->last_body;
}
std::map<std::string, std::string> FakeUpstream::last_headers() const {
  std::lock_guard lk(impl_->mu);
  return impl_->last_headers;
}
std::string FakeUpstream::last_target() const {
  std::lock_guard lk(impl_->mu);
  return impl_->last_target;
}
bool FakeUpstream::wait_open_connections_at_most(int n, std::chrono::milliseconds timeout) const {
  std::unique_lock lk(impl_->mu);
  return impl_->cv.wait_for(lk, timeout, [&] { return impl_->open.load() <= n; });
}
bool FakeUpstream::wait_requests_at_least(int n, std::chrono::milliseconds timeout) const {
  std::unique_lock lk(impl_->mu);
  return impl_->cv.wait_for(lk, timeout, [&] { return impl_->nrequests.load() >= n; });
}

}  // namespace llmgate::test
