#pragma once
// Shared by the libFuzzer targets (tests/fuzz/*.cpp). A target checks properties of what the
// code under test returns, not only that it survives: a violated property aborts, which
// libFuzzer reports as a crash and saves the input.
#include <spdlog/spdlog.h>
#include <stdlib.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "llmgate/app.hpp"
#include "llmgate/http_types.hpp"
#include "llmgate/sse.hpp"

namespace llmgate::fuzz {

using json = nlohmann::json;

[[noreturn]] inline void fail(const char* what, std::string_view detail = {}) {
  std::fprintf(stderr, "fuzz property violated: %s\n%.*s\n", what,
               static_cast<int>(std::min<std::size_t>(detail.size(), 4000)), detail.data());
  std::abort();
}

inline void check(bool ok, const char* what, std::string_view detail = {}) {
  if (!ok) fail(what, detail);
}

inline std::string_view as_text(const uint8_t* data, std::size_t size) {
  return {reinterpret_cast<const char*>(data), size};
}

// Logs of the code under test are noise here (and cost time per input); LLMGATE_FUZZ_LOGS=1
// keeps them, to see why a saved input fails.
inline void quiet_logs() {
  if (!std::getenv("LLMGATE_FUZZ_LOGS")) spdlog::set_level(spdlog::level::off);
}

// `s` is a JSON object.
inline json parse_object(std::string_view s, const char* what) {
  json j = json::parse(s, nullptr, false);
  check(j.is_object(), what, s);
  return j;
}

// `s` is an OpenAI-shaped error: {"error":{"message":<string>,"type":<string>,...}}.
inline void check_error_body(std::string_view s, const char* what) {
  json j = parse_object(s, what);
  auto e = j.find("error");
  check(e != j.end() && e->is_object(), what, s);
  auto m = e->find("message");
  auto t = e->find("type");
  check(m != e->end() && m->is_string() && t != e->end() && t->is_string(), what, s);
}

// What a handler answers a client: JSON, an OpenAI error when it is one, never a 500 (a client's
// input is never the gateway's internal error).
inline void check_response(const HttpResponse& r, std::string_view input) {
  check(r.status != 500, "a client's input gets a 500", r.body);
  check(r.status >= 200 && r.status < 600, "status out of range", r.body);
  if (r.status >= 400) check_error_body(r.body, "error response is not an OpenAI error");
  else check(!json::parse(r.body, nullptr, false).is_discarded(), "response body is not JSON", r.body);
}

// `out` is a sequence of complete SSE events, each "data: <JSON object>" or "data: [DONE]", as a
// client's SSE parser reads them back.
inline void check_sse_events(std::string_view out, const char* what) {
  SseParser p;
  p.feed(out, [&](const SseEvent& ev) {
    check(ev.has_data, what, out);
    if (ev.is_done()) return;
    check(json::parse(ev.data, nullptr, false).is_object(), what, ev.raw);
  });
  check(p.pending() == 0, what, out);
}

// A directory removed when the process exits normally (libFuzzer's -runs / -max_total_time).
// In memory (/dev/shm) unless TMPDIR says otherwise: a database write's fsync would otherwise
// bound the admin targets to a few hundred inputs a second.
class TempDir {
 public:
  TempDir() {
    std::error_code ec;
    const std::filesystem::path base = !std::getenv("TMPDIR") && std::filesystem::is_directory("/dev/shm", ec)
                                           ? std::filesystem::path("/dev/shm")
                                           : std::filesystem::temp_directory_path();
    std::string t = (base / "llmgate-fuzz-XXXXXX").string();
    if (!::mkdtemp(t.data())) fail("mkdtemp failed");
    path_ = t;
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  std::string file(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

// The process's temporary directory. A static of its own: the targets' worlds are never
// destroyed (their threads outlive the fuzz loop), but the directory is removed at exit.
inline const TempDir& temp_dir() {
  static const TempDir d;
  return d;
}

// An input of the admin targets: "METHOD /path?query\n" then the body.
struct RouteInput {
  HttpRequest req;
  bool ok = false;
};
inline RouteInput route_input(std::string_view in) {
  RouteInput r;
  const auto nl = in.find('\n');
  std::string_view line = in.substr(0, nl);
  r.req.body = nl == std::string_view::npos ? std::string() : std::string(in.substr(nl + 1));
  const auto sp = line.find(' ');
  if (sp == std::string_view::npos) return r;
  r.req.method = std::string(line.substr(0, sp));
  r.req.target = std::string(line.substr(sp + 1));
  const auto q = r.req.target.find('?');
  r.req.path = url_decode(std::string_view(r.req.target).substr(0, q), false);
  if (q != std::string::npos) r.req.query = parse_query(std::string_view(r.req.target).substr(q + 1));
  r.ok = true;
  return r;
}

// The route of `routes` that the server would run for `req` (path as the server matches it,
// then the method); null when none.
inline const Route* find_route(const std::vector<Route>& routes, const HttpRequest& req) {
  for (const Route& r : routes)
    if (route_matches(r, req.path) && (r.method == "*" || r.method == req.method)) return &r;
  return nullptr;
}

// Runs `r` as the server would and checks the answer (check_response): a handler that throws
// fails the target (`what`: the server would answer 500).
inline HttpResponse call_route(const Route& r, const HttpRequest& req, App& app, std::string_view input,
                               const char* what) {
  HttpResponse res;
  try {
    res = r.handler(req, app);
  } catch (const std::exception& e) {
    fail(what, e.what());
  }
  check_response(res, input);
  return res;
}

}  // namespace llmgate::fuzz
