// The proxy endpoints: /v1/chat/completions, /v1/completions, /v1/embeddings (and the
// Azure-style paths). Parse the body once, pick a deployment, call the upstream (or the
// in-process mock), forward the answer (SSE event by event for streams), record the request.
#include <sys/socket.h>

#include <cerrno>
#include <charconv>

#include <fmt/compile.h>
#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include "llmgate/embedding_encoding.hpp"
#include "llmgate/fault_point.hpp"
#include "llmgate/json_fields.hpp"
#include "llmgate/json_scan.hpp"
#include "llmgate/providers.hpp"
#include "llmgate/sse.hpp"
#include "providers/mock.hpp"
#include "server/session.hpp"
#include "server/spare_buffers.hpp"

namespace llmgate {

namespace {

using clock_t_ = std::chrono::steady_clock;

// The largest non-streamed upstream response body read.
constexpr std::size_t kMaxUpstreamBody = 256u << 20;
// How long a stream's response head may wait for the first event to travel with it.
constexpr auto kHeadHold = std::chrono::milliseconds(200);

int64_t us_since(clock_t_::time_point t0) {
  return std::chrono::duration_cast<std::chrono::microseconds>(clock_t_::now() - t0).count();
}

// Microseconds as milliseconds with three decimals ("%.3f" of us / 1000.0), in integers and
// without allocating: fmt's "{:.3f}" of a double cost ~250 instructions a value in the
// request log line.
struct MsText {
  char buf[24];
  std::size_t n = 0;
  std::string_view view() const { return {buf, n}; }
};

MsText ms_text(int64_t us) {
  MsText t;
  const bool neg = us < 0;
  uint64_t a = neg ? 0 - static_cast<uint64_t>(us) : static_cast<uint64_t>(us);
  const auto frac = static_cast<unsigned>(a % 1000);
  a /= 1000;
  char digits[20];
  int k = 0;
  do {
    digits[k++] = static_cast<char>('0' + a % 10);
    a /= 10;
  } while (a != 0);
  if (neg) t.buf[t.n++] = '-';
  while (k > 0) t.buf[t.n++] = digits[--k];
  t.buf[t.n++] = '.';
  t.buf[t.n++] = static_cast<char>('0' + frac / 100);
  t.buf[t.n++] = static_cast<char>('0' + frac / 10 % 10);
  t.buf[t.n++] = static_cast<char>('0' + frac % 10);
  return t;
}

std::string capped(std::string_view s, std::size_t cap, bool& truncated) {
  truncated = s.size() > cap;
  return std::string(truncated ? s.substr(0, cap) : s);
}

// Watches the client socket while the upstream works: when the client closes, `on_gone` runs
// (it aborts the upstream call). Pipelined bytes stop the watch (the client is alive).
// The watch starts kArmAfter into the call: most upstream answers come sooner, and an armed
// watch costs an epoll_ctl (Asio re-arms the descriptor for every wait) and, when the client's
// next request arrives, a second completion on that socket that Asio posts (a scheduler round
// trip per request). A client that leaves early is noticed at most kArmAfter plus one deadline
// tick later.
class ClientWatch {
 public:
  static constexpr auto kArmAfter = std::chrono::milliseconds(20);
  ClientWatch(tcp::socket& sock, std::function<void()> on_gone)
      : sock_(sock), on_gone_(std::move(on_gone)), delay_(sock.get_executor()) {
    delay_.arm_call(kArmAfter, this, [](void* self) { static_cast<ClientWatch*>(self)->arm(); });
  }
  ~ClientWatch() { stop(); }
  ClientWatch(const ClientWatch&) = delete;
  ClientWatch& operator=(const ClientWatch&) = delete;
  // An armed wait is left pending, not cancelled: a cancel posts its completion. It completes,
  // inactive, when the client's next request or close arrives (before the next read on the
  // socket, which queues behind it) or when the socket closes.
  void stop() {
    delay_.disarm();
    if (st_) {
      st_->active = false;
      st_->on_gone = nullptr;
    }
  }
  bool gone() const { return st_ && st_->gone; }

 private:
  struct State {
    bool active = true;
    bool gone = false;
    std::function<void()> on_gone;
  };
  void arm() {
    st_ = std::make_shared<State>();
    st_->on_gone = std::move(on_gone_);
    sock_.async_wait(tcp::socket::wait_read, [st = st_, &sock = sock_](boost::system::error_code ec) {
      if (!st->active || ec == net::error::operation_aborted) return;
      char c;
      ssize_t r = ec ? 0 : ::recv(sock.native_handle(), &c, 1, MSG_PEEK | MSG_DONTWAIT);
      if (r > 0) return;  // pipelined request bytes: alive; stop watching
      if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return;
      st->gone = true;
      if (st->on_gone) st->on_gone();
    });
  }
  tcp::socket& sock_;
  std::function<void()> on_gone_;  // until armed
  std::shared_ptr<State> st_;      // armed: shared with the pending wait
  Deadline delay_;
};

struct Outcome {
  bool done = false;       // a response was sent (or the client is gone): stop trying
  bool keep_alive = true;
  Errc retry_error = Errc::ok;  // retryable failure before anything reached the client
  // Its message is the exchange's retry_message_: a string here made each co_await of an
  // Outcome in attempt() 40 bytes larger in its coroutine frame (one result per co_await).
};

class ProxyExchange {
 public:
  ProxyExchange(Worker& w, tcp::socket& sock, BeastRequest& req, Endpoint ep, RequestInfo& info)
      : w_(w), sock_(sock), req_(req), ep_(ep), info_(info),
        cfg_(w.config()) {
    rec_.request_id = info.record_id;
    if (info.record_id != info.request_id) rec_.client_request_id = info.request_id;
    rec_.endpoint = to_string(ep);
    rec_.start_us = info.start_us;
    rec_.client_ip = info.client_ip;
    w_.app.in_flight.fetch_add(1, std::memory_order_relaxed);
    if (w_.app.metrics) w_.app.metrics->in_flight_add(1);
  }
  ~ProxyExchange() {
    SpareBuffers::give(ureq_.body);
    w_.app.in_flight.fetch_sub(1, std::memory_order_relaxed);
    if (w_.app.metrics) w_.app.metrics->in_flight_add(-1);
  }

  // One exchange per request lives on the heap, from a small per-thread cache of blocks. As a
  // local of handle_proxy() it made that coroutine's frame ~2.8 KB, above what Asio's frame
  // cache keeps (2,040 bytes): each request then paid a large malloc and free for it, and its
  // allocation evicted one of the smaller frames that cache holds.
  static void* operator new(std::size_t n);
  static void operator delete(void* p, std::size_t n) noexcept;

  awaitable<bool> run();
  // run()'s part before the first upstream call, none of which waits: who is calling, the body,
  // the model and the deployments to try. A plain function, so that its locals are not in
  // run()'s coroutine frame (allocated per request; past glibc's per-thread cache when large).
  // On failure the error and the message and parameter for fail().
  Errc prepare(std::string& msg, std::string_view& param, std::vector<const Deployment*>& candidates,
               std::size_t& first_fallback);
  // After an exception out of run() (a bug: every expected failure is an Errc): the client still
  // gets a 500 when nothing was written to it yet (else the connection closes), and the request
  // its ledger row and log line either way.
  awaitable<bool> internal_failure(const std::string& what);

 private:
  awaitable<bool> fail(Errc e, std::string_view msg, std::string_view param = {}, std::string_view code = {}) {
    const auto m = map_error(e);
    rec_.status = m.status;
    rec_.error_type = std::string(m.type);
    rec_.error_message = std::string(msg);
    wrote_ = true;
    bool ok = co_await write_error(sock_, e, msg, info_, param, code);
    if (!ok) rec_.status = 499;
    finish();
    co_return ok && info_.keep_alive;
  }
  awaitable<Outcome> attempt(const Deployment& d, bool last);
  // attempt()'s part after a complete upstream body, none of which waits: the client's response
  // in `res` and `res_body`, or a retry (in `o`), or `invalid` when the body is not a JSON
  // object. A plain function, so that its locals stay out of attempt()'s coroutine frame.
  enum class Built { respond, retry, invalid };
  Built build_response(const Deployment& d, const Provider& prov, const UpstreamCall& call, int status, bool last,
                       bool want_b64, std::string& ubody, ResponseHead& res, std::string& res_body, Outcome& o);
  // The client's body as a document, parsed on first use (and again after a dialect changed it).
  nlohmann::json& dom() {
    if (!dom_ || dom_dirty_) {
      dom_ = parse_json_bounded(req_.body());
      dom_dirty_ = false;
    }
    return *dom_;
  }
  // A started stream is never retried, and it can last minutes: the client's body, its copy
  // sent upstream and any document parsed from it are not needed any more. With long prompts
  // they were most of a stream's memory (two copies of a 32 KB prompt per stream).
  void release_request_bodies(UpstreamRequest& sent) {
    SpareBuffers::give(sent.body);
    SpareBuffers::give(req_.body());
    std::string().swap(sent.body);
    std::string().swap(req_.body());
    dom_.reset();
    facts_.text = facts_.model = {};
    fast_ = false;
  }
  // The client went away: recorded as 499, nothing more is sent.
  Outcome client_gone(std::string_view why);
  // Records the error and answers the client with it.
  awaitable<Outcome> answer_error(Errc e, const std::string& msg);
  // An upstream failure before anything reached the client: 499 when the client left, a retry
  // on the next candidate when retryable (and not the last), else the error to the client.
  awaitable<Outcome> upstream_failed(Errc e, const std::string& msg, bool last, ClientWatch& watch);
  awaitable<Outcome> serve_mock(const Deployment& d, const nlohmann::json& body);
  awaitable<Outcome> stream_upstream(const Deployment& d, UpstreamCall& call, const Provider& prov,
                                     ClientWatch& watch);
  // The stream's chunks; the first also carries the response head prepared by
  // start_stream_response(). write_last_chunk() ends the body.
  awaitable<bool> write_chunk(std::string_view data);
  awaitable<bool> write_last_chunk();
  // write_chunk for each event, without a coroutine frame when the socket takes the chunk at
  // once: returns true with the outcome in `ok`, or false when the caller must
  // co_await write_chunk_rest() (`data` must stay valid until then).
  bool write_chunk_now(std::string_view data, bool& ok);
  awaitable<bool> write_chunk_rest();
  void chunk_written(bool ok) {
    if (head_pending_ && ok) rec_.first_byte_us = now_unix_us();
    head_pending_ = false;
  }
  bool start_stream_response();
  template <class Head>  // http::response_header<> or ResponseHead
  void set_common_headers(Head& h, int64_t overhead_us);
  void apply_usage(const Usage& u, bool estimated);
  // What the request may use, for a virtual key's budget and tpm_limit: the body's prompt
  // estimate plus the client's completion limit, priced at the dearest of `deployments`.
  UsageEstimate admission_estimate(const std::vector<const Deployment*>& deployments, bool scanned);
  // Whether an upstream SSE event's data is a JSON object. Uses the client's body scan, which
  // is free once a stream has started (release_request_bodies): nothing allocated per event.
  bool event_is_json_object(std::string_view data);
  void finish();

  Worker& w_;
  tcp::socket& sock_;
  BeastRequest& req_;
  Endpoint ep_;
  RequestInfo& info_;
  std::shared_ptr<const Config> cfg_;
  RequestRecord rec_;
  Principal who_;
  const Deployment* dep_ = nullptr;
  bool stream_ = false;
  bool client_include_usage = false;
  JsonObjectScan scan_;                  // the client's body, scanned once (then a stream's events)
  BodyFacts facts_;                      // what the dialects need to splice it
  std::size_t request_bytes_ = 0;        // the client's body size, kept when the body is released
  bool fast_ = false;                    // facts_ describe the body: splicing is possible
  std::optional<nlohmann::json> dom_;    // the body as a document, only when needed
  bool dom_dirty_ = false;
  std::string stream_head_;  // a stream's response head, until the first chunk carries it
  std::array<net::const_buffer, 4> chunk_bufs_;  // the chunk being written (write_chunk_now)
  char chunk_size_line_[24];
  std::size_t chunk_sent_ = 0;
  bool head_pending_ = false;
  int64_t upstream_us_ = 0;
  std::string retry_message_;  // why the last attempt failed, when it can be retried (Outcome)
  UpstreamRequest ureq_;       // the attempt's request upstream (a member: attempt()'s frame)
  bool finished_ = false;
  bool wrote_ = false;  // a write to the client began: an error can no longer be answered
};

// Blocks of sizeof(ProxyExchange), kept per thread (at most 32, ~90 KB). A block is freed on the
// worker's thread while it runs its context, or on the thread that destroys a stopped worker's
// context (in-flight exchanges): that thread's cache takes it. A thread's blocks go at its exit.
struct ExchangeBlocks {
  static constexpr int kMax = 32;
  void* slot[kMax];
  int n = 0;
  ~ExchangeBlocks() {
    while (n > 0) ::operator delete(slot[--n]);
  }
};
thread_local ExchangeBlocks exchange_blocks;

void* ProxyExchange::operator new(std::size_t n) {
  auto& c = exchange_blocks;
  if (n == sizeof(ProxyExchange) && c.n > 0) return c.slot[--c.n];
  return ::operator new(n);
}

void ProxyExchange::operator delete(void* p, std::size_t n) noexcept {
  auto& c = exchange_blocks;
  if (n == sizeof(ProxyExchange) && c.n < ExchangeBlocks::kMax) {
    c.slot[c.n++] = p;
    return;
  }
  ::operator delete(p);
}

template <class Head>
void ProxyExchange::set_common_headers(Head& h, int64_t overhead_us) {
  h.set("x-litellm-overhead-duration-ms", ms_text(overhead_us).view());
  if (dep_) {
    h.set("x-litellm-model-id", dep_->id);
    h.set("x-litellm-model-group", dep_->model_name);
  }
}

void ProxyExchange::apply_usage(const Usage& u, bool estimated) {
  rec_.prompt_tokens = u.prompt_tokens;
  rec_.completion_tokens = u.completion_tokens;
  rec_.total_tokens = u.total_tokens ? u.total_tokens : u.prompt_tokens + u.completion_tokens;
  rec_.cached_tokens = u.cached_tokens;
  rec_.reasoning_tokens = u.reasoning_tokens;
  rec_.tokens_estimated = estimated;
}

UsageEstimate ProxyExchange::admission_estimate(const std::vector<const Deployment*>& deployments, bool scanned) {
  std::optional<int64_t> max_tokens;
  for (const char* name : {"max_completion_tokens", "max_tokens"}) {
    if (scanned) {
      if (const JsonMember* m = scan_.find(name)) {
        int64_t v = 0;
        const auto [end, ec] = std::from_chars(m->value.data(), m->value.data() + m->value.size(), v);
        if (ec == std::errc() && end == m->value.data() + m->value.size()) max_tokens = v;
      }
    } else if (auto it = dom().find(name); it != dom().end() && it->is_number_integer()) {
      max_tokens = it->is_number_unsigned() ? static_cast<int64_t>(std::min<uint64_t>(it->get<uint64_t>(), INT64_MAX))
                                            : it->get<int64_t>();
    }
    if (max_tokens) break;
  }
  const TokenEstimate t = estimate_request_tokens(request_bytes_, max_tokens, ep_ != Endpoint::embeddings);
  UsageEstimate est;
  est.tokens = t.prompt + t.completion;
  if (w_.app.prices && !deployments.empty()) {
    RequestRecord r;
    r.prompt_tokens = t.prompt;
    r.completion_tokens = t.completion;
    r.total_tokens = est.tokens;
    for (const Deployment* d : deployments)
      if (auto c = w_.cost_of(*d, r)) est.cost_usd = std::max(est.cost_usd, *c);
  }
  return est;
}

bool ProxyExchange::event_is_json_object(std::string_view data) {
  switch (scan_.scan(data)) {
    case JsonObjectScan::Result::object:
      return true;
    case JsonObjectScan::Result::unsupported: {  // rare (escaped or many keys): the full parser decides
      if (!nlohmann::json::accept(data)) return false;
      const auto first = data.find_first_not_of(" \t\r\n\xEF\xBB\xBF");
      return first != std::string_view::npos && data[first] == '{';
    }
    default:
      return false;
  }
}

void ProxyExchange::finish() {
  if (finished_) return;
  finished_ = true;
  rec_.end_us = now_unix_us();
  const int64_t latency = rec_.end_us - rec_.start_us;
  rec_.upstream_us = upstream_us_;
  rec_.overhead_us = std::max<int64_t>(0, latency - upstream_us_);
  if (dep_) {
    rec_.deployment_id = dep_->id;
    rec_.provider = to_string(dep_->provider);
    rec_.upstream_model = dep_->upstream_model;
    rec_.api_base = dep_->api_base;
    if (w_.app.prices && rec_.total_tokens > 0 && !rec_.cost_usd) rec_.cost_usd = w_.cost_of(*dep_, rec_);
  }
  rec_.key_hash = who_.key_hash;
  rec_.key_alias = who_.key_alias;
  // One line per request (never a body or key), buffered per worker (server/request_log.hpp).
  fmt::memory_buffer line;
  const std::string_view ts = w_.request_log.timestamp();
  if (cfg_->json_logs) {
    nlohmann::json j = {{"time", std::string(ts) + "Z"}, {"level", "info"}, {"worker", w_.index},
                        {"message", "request"}, {"request_id", info_.request_id}, {"model", rec_.model_group},
                        {"deployment", rec_.deployment_id}, {"status", rec_.status},
                        {"latency_ms", latency / 1000.0}, {"overhead_ms", rec_.overhead_us / 1000.0},
                        {"stream", rec_.stream}, {"total_tokens", rec_.total_tokens}};
    const std::string s = j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    line.append(s.data(), s.data() + s.size());
  } else {
    // A compiled format: parsing the format string at run time was ~4k instructions a request.
    fmt::format_to(std::back_inserter(line),
                   FMT_COMPILE("{} info [w{}] req={} model={} deployment={} status={} latency_ms={} "
                               "overhead_ms={} stream={} tokens={}"),
                   ts, w_.index, info_.request_id, rec_.model_group.empty() ? "-" : rec_.model_group,
                   rec_.deployment_id.empty() ? "-" : rec_.deployment_id, rec_.status, ms_text(latency).view(),
                   ms_text(rec_.overhead_us).view(), rec_.stream, rec_.total_tokens);
  }
  w_.request_log.append(std::string_view(line.data(), line.size()));
  if (w_.app.metrics) w_.app.metrics->observe(rec_);
  if (w_.app.keys && !who_.key_hash.empty()) w_.app.keys->record_usage(who_, rec_);
  if (w_.app.ledger && !cfg_->ledger.disabled) w_.app.ledger->submit(std::move(rec_));
}

bool ProxyExchange::write_chunk_now(std::string_view data, bool& ok) {
  ok = true;
  if (data.empty() && !head_pending_) return true;
  const int n = std::snprintf(chunk_size_line_, sizeof chunk_size_line_, "%zx\r\n", data.size());
  chunk_bufs_ = {net::buffer(stream_head_), net::buffer(chunk_size_line_, static_cast<std::size_t>(n)),
                 net::buffer(data.data(), data.size()), net::buffer("\r\n", 2)};
  if (!head_pending_) chunk_bufs_[0] = net::const_buffer();
  if (data.empty()) chunk_bufs_[1] = chunk_bufs_[3] = net::const_buffer();  // the head alone (an empty chunk would end the body)
  wrote_ = true;
  boost::system::error_code ec;
  if (!write_now(sock_, chunk_bufs_, ec, chunk_sent_)) return false;
  ok = !ec;
  chunk_written(ok);
  return true;
}

awaitable<bool> ProxyExchange::write_chunk_rest() {
  const auto ec = co_await write_rest(sock_, chunk_bufs_, chunk_sent_);
  chunk_written(!ec);
  co_return !ec;
}

awaitable<bool> ProxyExchange::write_chunk(std::string_view data) {
  bool ok = true;
  if (!write_chunk_now(data, ok)) ok = co_await write_chunk_rest();
  co_return ok;
}

awaitable<bool> ProxyExchange::write_last_chunk() {
  std::array<net::const_buffer, 2> bufs{net::buffer(stream_head_), net::buffer("0\r\n\r\n", 5)};
  if (!head_pending_) bufs[0] = net::const_buffer();
  wrote_ = true;
  boost::system::error_code ec;
  std::size_t sent = 0;
  if (!write_now(sock_, bufs, ec, sent)) ec = co_await write_rest(sock_, bufs, sent);
  chunk_written(!ec);
  co_return !ec;
}

bool ProxyExchange::start_stream_response() {
  // Only prepared here: the head goes out with the first chunk, in one write (a separate write
  // wakes the client for the head alone, which delayed the first token by ~0.2 ms at 1
  // connection), and a stream that fails before its first event can still get an HTTP error.
  ResponseHead res(200);
  res.set("Content-Type", "text/event-stream");
  res.set("Cache-Control", "no-cache");
  res.set("x-request-id", info_.request_id);
  set_common_headers(res, us_since(info_.t0) - upstream_us_);
  if (!info_.keep_alive) res.set("Connection", "close");
  res.set("Transfer-Encoding", "chunked");
  stream_head_ = std::move(res.str());
  stream_head_ += "\r\n";
  head_pending_ = true;
  return true;
}

Errc ProxyExchange::prepare(std::string& msg, std::string_view& param, std::vector<const Deployment*>& candidates,
                            std::size_t& first_fallback) {
  // 1. Who is calling. A virtual key is checked once the model is known (allowed models).
  const std::string_view key = presented_key(req_);
  const bool deferred = w_.app.keys && !key.empty() && !cfg_->master_key.empty() &&
                        !constant_time_equals(key, cfg_->master_key.reveal());
  if (!deferred) {
    Errc e = authenticate(w_.app, *cfg_, req_, "", who_, msg);
    if (e != Errc::ok) return e;
  }
  // 2. Read the body: a validating scan that builds no document (json_scan.hpp); a document is
  // parsed only when a dialect needs one (or the scan cannot vouch for the body).
  request_bytes_ = req_.body().size();
  const auto sr = scan_.scan(req_.body());
  if (sr == JsonObjectScan::Result::too_deep) {  // never parsed: see json_limits.hpp
    msg = kJsonTooDeepMessage;
    return Errc::invalid_json;
  }
  if (sr == JsonObjectScan::Result::invalid || sr == JsonObjectScan::Result::not_object ||
      (sr == JsonObjectScan::Result::unsupported && !dom().is_object())) {
    msg = "We could not parse the JSON body of your request. The body must be a JSON object.";
    // The scan stops early at some faults it leaves to the parser (a byte order mark, a repeated key).
    if (sr == JsonObjectScan::Result::unsupported && !json_depth_within(req_.body())) msg = kJsonTooDeepMessage;
    return Errc::invalid_json;
  }
  if (sr == JsonObjectScan::Result::object) {
    read_body_facts(scan_, facts_);
    std::string model = info_.azure_model;
    if (model.empty()) {
      auto v = facts_.model.empty() ? std::nullopt : json_string_value(facts_.model);
      if (!v || v->empty()) {
        msg = "You must provide a model parameter.";
        param = "model";
        return Errc::missing_model;
      }
      model = std::move(*v);
    }
    rec_.model = std::move(model);
    if (const JsonMember* st = scan_.find("stream")) stream_ = json_bool_value(st->value).value_or(false);
    if (const JsonMember* u = scan_.find("user"))
      if (auto v = json_string_value(u->value)) rec_.user = std::move(*v);
    // Splicing replaces the "model" value; Azure-path requests may have none.
    fast_ = !facts_.model.empty();
  } else {
    const nlohmann::json& body = dom();
    std::string model = info_.azure_model;
    if (model.empty()) {
      auto it = body.find("model");
      if (it == body.end() || !it->is_string() || it->get_ref<const std::string&>().empty()) {
        msg = "You must provide a model parameter.";
        param = "model";
        return Errc::missing_model;
      }
      model = it->get<std::string>();
    }
    rec_.model = std::move(model);
    if (auto it = body.find("stream"); it != body.end() && it->is_boolean()) stream_ = it->get<bool>();
    if (auto it = body.find("user"); it != body.end() && it->is_string()) rec_.user = it->get<std::string>();
    if (auto it = body.find("stream_options"); it != body.end()) facts_.include_usage = include_usage_requested(*it);
  }
  if (ep_ == Endpoint::embeddings) stream_ = false;
  rec_.stream = stream_;
  client_include_usage = stream_ && facts_.include_usage;
  const std::string& model = rec_.model;
  if (cfg_->ledger.store_bodies)
    rec_.request_body = capped(req_.body(), cfg_->ledger.max_body_log_bytes, rec_.request_truncated);

  auto deployments = cfg_->find(model);
  if (deferred) {
    // The key's budget and tpm_limit hold this request's estimate until finish() settles it.
    const UsageEstimate est = admission_estimate(deployments, sr == JsonObjectScan::Result::object);
    Errc e = w_.app.keys->authorize(key, deployments.empty() ? "" : model, est, who_, msg);
    if (e != Errc::ok) return e;
  }
  if (deployments.empty()) {
    msg = "The model `" + model + "` does not exist or you do not have access to it.";
    param = "model";
    return Errc::model_not_found;
  }
  rec_.model_group = model;

  // 3. Candidates: the alias's deployments starting at a random one, then fallback aliases.
  const std::size_t n = deployments.size();
  const std::size_t start = n > 1 ? w_.rng() % n : 0;
  const std::size_t primary = std::min<std::size_t>(n, 1 + std::max(0, cfg_->num_retries));
  for (std::size_t i = 0; i < primary; ++i) candidates.push_back(deployments[(start + i) % n]);
  first_fallback = candidates.size();
  if (auto fb = cfg_->fallbacks.find(model); fb != cfg_->fallbacks.end()) {
    for (const auto& alias : fb->second) {
      auto ds = cfg_->find(alias);
      if (!ds.empty()) candidates.push_back(ds[ds.size() > 1 ? w_.rng() % ds.size() : 0]);
    }
  }
  return Errc::ok;
}

awaitable<bool> ProxyExchange::run() {
  std::string msg;
  std::string_view param;
  std::vector<const Deployment*> candidates;
  std::size_t first_fallback = 0;
  if (const Errc e = prepare(msg, param, candidates, first_fallback); e != Errc::ok)
    co_return co_await fail(e, msg, param);
  const std::string& model = rec_.model;
  Outcome last;
  for (std::size_t i = 0; i < candidates.size(); ++i) {
    dep_ = candidates[i];
    if (i > 0) {
      ++rec_.retries;
      if (i >= first_fallback && rec_.fallback_from.empty()) rec_.fallback_from = model;
    }
    last = co_await attempt(*dep_, i + 1 == candidates.size());
    if (last.done) {
      finish();
      co_return last.keep_alive && info_.keep_alive;
    }
    spdlog::warn("req={} deployment {} failed ({}); trying the next one", info_.request_id, dep_->id,
                 retry_message_);
  }
  co_return co_await fail(last.retry_error, retry_message_);
}

Outcome ProxyExchange::client_gone(std::string_view why) {
  rec_.status = 499;
  rec_.error_type = "client_closed_request";
  rec_.error_message = std::string(why);
  Outcome o;
  o.done = true;
  o.keep_alive = false;
  return o;
}

awaitable<Outcome> ProxyExchange::answer_error(Errc e, const std::string& msg) {
  const auto m = map_error(e);
  rec_.status = m.status;
  rec_.error_type = std::string(m.type);
  rec_.error_message = msg;
  Outcome o;
  o.done = true;
  wrote_ = true;
  o.keep_alive = co_await write_error(sock_, e, msg, info_);
  if (!o.keep_alive) rec_.status = 499;
  co_return o;
}

awaitable<Outcome> ProxyExchange::upstream_failed(Errc e, const std::string& msg, bool last, ClientWatch& watch) {
  if (watch.gone() || e == Errc::client_closed) co_return client_gone("client closed the connection before the response");
  if (map_error(e).retryable && !last) {
    Outcome o;
    o.retry_error = e;
    retry_message_ = msg;
    co_return o;
  }
  watch.stop();
  co_return co_await answer_error(e, msg);
}

ProxyExchange::Built ProxyExchange::build_response(const Deployment& d, const Provider& prov, const UpstreamCall& call,
                                                   int status, bool last, bool want_b64, std::string& ubody,
                                                   ResponseHead& res, std::string& res_body, Outcome& o) {
  res.set("Content-Type", "application/json");
  if (status >= 400) {
    if ((status == 429 || status >= 500) && !last) {
      o.retry_error = status == 429 ? Errc::rate_limited : Errc::upstream_protocol;
      retry_message_ = fmt::format("upstream {} answered HTTP {}", d.url.host, status);
      return Built::retry;
    }
    res_body = prov.translate_error(status, ubody);
    auto ej = nlohmann::json::parse(res_body, nullptr, false);
    rec_.error_type = ej.is_object() ? string_field(ej["error"], "type", "api_error") : "api_error";
    rec_.error_message = ej.is_object() ? string_field(ej["error"], "message") : "";
    if (auto ra = call.retry_after(); !ra.empty()) res.set("Retry-After", ra);
    return Built::respond;
  }
  Usage u;
  std::string translated;
  const ResponseBody rb =
      call.content_type_not_json() ? ResponseBody::invalid : prov.translate_response(ep_, d, ubody, translated, u);
  if (rb == ResponseBody::invalid) return Built::invalid;
  if (rb == ResponseBody::translated) {
    res_body = std::move(translated);
    if (want_b64) embeddings_floats_to_base64(res_body);
  } else {
    res_body = std::move(ubody);
  }
  if (u.present) apply_usage(u, false);
  if (w_.app.prices && rec_.total_tokens > 0) {
    rec_.cost_usd = w_.cost_of(d, rec_);
    if (rec_.cost_usd) res.set("x-litellm-response-cost", fmt::format("{}", *rec_.cost_usd));
  }
  return Built::respond;
}

awaitable<Outcome> ProxyExchange::attempt(const Deployment& d, bool last) {
  if (d.provider == ProviderKind::mock) co_return co_await serve_mock(d, dom());

  const Provider& prov = provider_for(d.provider);
  // The OpenAI SDKs ask for base64 embeddings by default; dialects that only return floats
  // (Ollama) are re-encoded below.
  const bool want_b64 = ep_ == Endpoint::embeddings && wants_base64_embeddings(dom());
  UpstreamRequest& ureq = ureq_;
  SpareBuffers::give(ureq.body);  // a retry's: the next line takes it back
  ureq = UpstreamRequest{};
  ureq.body = SpareBuffers::take();
  std::string err;
  if (!fast_ || !prov.build_request_spliced(ep_, d, facts_, stream_, ureq)) {
    SpareBuffers::give(ureq.body);  // kept for the next request: the dialect builds its own body
    ureq = UpstreamRequest{};
    Errc be = prov.build_request(ep_, d, dom(), stream_, ureq, err);
    dom_dirty_ = true;  // the dialect may have changed the document: parse again for a retry
    if (be != Errc::ok) co_return co_await answer_error(be, err);
  }

  fault_point("before-upstream", rec_.model);  // a no-op outside the tests' llmgate-fault
  UpstreamCall call(*w_.pool);
  ClientWatch watch(sock_, [&call] { call.abort(); });
  const auto t_up = clock_t_::now();
  Errc e = co_await call.start(d, ureq, d.timeout_s, err);
  if (e != Errc::ok) {
    upstream_us_ += us_since(t_up);
    co_return co_await upstream_failed(e, err, last, watch);
  }

  const int status = call.status();
  if (status < 200 || status > 599) {  // an interim 1xx as the answer, or outside HTTP's 100-599
    upstream_us_ += us_since(t_up);
    err = fmt::format("upstream {} answered with status {}, which is not a final HTTP status", d.url.host, status);
    co_return co_await upstream_failed(Errc::upstream_protocol, err, last, watch);
  }
  const auto body_timeout = seconds_d(d.timeout_s);
  if (status >= 200 && status < 300 && stream_ && (call.event_stream() || !prov.passthrough_stream())) {
    release_request_bodies(ureq);
    co_return co_await stream_upstream(d, call, prov, watch);  // SSE, or an NDJSON dialect
  }

  std::string ubody = SpareBuffers::take();
  Errc re = Errc::ok;
  if (!call.read_all_buffered(ubody, kMaxUpstreamBody, re)) re = co_await call.read_all(body_timeout, ubody, kMaxUpstreamBody);
  upstream_us_ += us_since(t_up);
  if (re != Errc::ok) {
    err = fmt::format("upstream {} {}", d.url.host,
                      re == Errc::upstream_timeout ? "stopped sending the response" : "broke off the response");
    co_return co_await upstream_failed(re, err, last, watch);
  }
  call.release();
  watch.stop();
  Outcome o;
  ResponseHead res(status);
  std::string res_body;
  switch (build_response(d, prov, call, status, last, want_b64, ubody, res, res_body, o)) {
    case Built::respond:
      break;
    case Built::retry:
      co_return o;
    case Built::invalid:
      // Not a JSON object (an HTML page from a proxy in front of the upstream, a cut body): the
      // client's SDK could not read it, and the ledger must not count it a success.
      err = fmt::format("upstream {} answered HTTP {} with a body that is not a JSON object", d.url.host, status);
      co_return co_await upstream_failed(Errc::upstream_protocol, err, last, watch);
  }
  rec_.status = status;
  if (cfg_->ledger.store_bodies)
    rec_.response_body = capped(res_body, cfg_->ledger.max_body_log_bytes, rec_.response_truncated);
  set_common_headers(res, us_since(info_.t0) - upstream_us_);
  rec_.first_byte_us = now_unix_us();
  o.done = true;
  wrote_ = true;
  const std::array<net::const_buffer, 2> out = finish_response(res, res_body, info_);
  boost::system::error_code wec;
  std::size_t sent = 0;
  if (!write_now(sock_, out, wec, sent)) wec = co_await write_rest(sock_, out, sent);
  o.keep_alive = !wec;
  if (!o.keep_alive) rec_.status = 499;
  SpareBuffers::give(res_body);
  co_return o;
}

awaitable<Outcome> ProxyExchange::stream_upstream(const Deployment& d, UpstreamCall& call, const Provider& prov,
                                                  ClientWatch& watch) {
  Outcome o;
  o.done = true;
  rec_.status = 200;
  const auto t_up_stream = clock_t_::now();
  start_stream_response();
  const bool passthrough = prov.passthrough_stream();
  const auto keepalive = seconds_d(cfg_->server.stream_keepalive_s);
  const auto gap_limit = seconds_d(d.stream_timeout_s > 0 ? d.stream_timeout_s : d.timeout_s);
  const std::size_t body_cap = cfg_->ledger.store_bodies ? cfg_->ledger.max_body_log_bytes : 0;
  SseParser parser(cfg_->server.limits.max_sse_event_bytes);
  StreamState st;
  st.include_usage = client_include_usage;
  st.model = d.model_name;
  Usage usage;
  int64_t data_events = 0;
  bool saw_done = false;
  std::string in, out, ndjson_pending;
  auto last_data = clock_t_::now();
  Errc end_error = Errc::ok;
  std::string end_message;

  auto log_body = [&](std::string_view s) {
    if (rec_.response_body.size() < body_cap) {
      std::size_t room = body_cap - rec_.response_body.size();
      rec_.response_body.append(s.substr(0, room));
      if (s.size() > room) rec_.response_truncated = true;
    } else if (body_cap && !s.empty()) {
      rec_.response_truncated = true;
    }
  };

  for (;;) {
    in.clear();
    bool done = false;
    const auto waited = clock_t_::now() - last_data;
    const auto remaining = gap_limit - waited;
    // While the head waits for the first event, wait at most kHeadHold: a slow first token
    // (long prefill, reasoning models) must not keep the client without response headers.
    auto wait = std::min(keepalive, std::max(remaining, clock_t_::duration(0)));
    if (head_pending_) wait = std::min<clock_t_::duration>(wait, kHeadHold);
    Errc e = co_await call.read_some(wait, in, done);
    if (e == Errc::upstream_timeout && head_pending_ && clock_t_::now() - last_data < gap_limit) {
      if (!co_await write_chunk({})) {  // the head alone
        end_error = Errc::client_closed;
        break;
      }
      continue;
    }
    if (e == Errc::upstream_timeout && clock_t_::now() - last_data < gap_limit) {
      // Silence: keep intermediaries (e.g. the OpenShift router's 30 s idle timeout) from cutting us.
      if (!co_await write_chunk(": keep-alive\n\n")) {
        end_error = Errc::client_closed;
        break;
      }
      continue;
    }
    if (e != Errc::ok) {
      end_error = watch.gone() ? Errc::client_closed : e;
      end_message = e == Errc::upstream_timeout ? "upstream " + d.url.host + " stopped sending events"
                                                : "upstream " + d.url.host + " closed the stream before it ended";
      break;
    }
    if (!in.empty()) last_data = clock_t_::now();
    out.clear();
    if (passthrough) {
      bool malformed = false;
      bool ok = parser.feed(in, [&](const SseEvent& ev) {
        if (malformed) return;  // nothing after a malformed event reaches the client
        if (!ev.has_data) {
          if (ev.comment_only) out.append(ev.raw);
          return;
        }
        if (ev.is_done()) {
          saw_done = true;
          out.append(ev.raw);
          return;
        }
        if (!event_is_json_object(ev.data)) {
          malformed = true;
          return;
        }
        ++data_events;
        bool forward = true;
        if (ev.data.find("\"usage\"") != std::string::npos) {
          Usage u;
          if (extract_usage_fast(ev.data, u) && u.present) usage = u;
          // The usage-only chunk we asked for on the client's behalf: drop it unless asked.
          if (!client_include_usage && ev.data.find("\"choices\":[]") != std::string::npos) forward = false;
        }
        if (forward) {
          if (rec_.ttft_us == 0) rec_.ttft_us = us_since(info_.t0);
          out.append(ev.raw);
          log_body(ev.data);
          log_body("\n");
        }
      });
      if (malformed) {
        end_error = Errc::upstream_stream_cut;
        end_message = "upstream " + d.url.host + " sent a stream event that is not a JSON object";
      } else if (!ok) {
        end_error = Errc::upstream_protocol;
        end_message = "upstream sent an SSE event larger than the limit";
        break;
      }
    } else if (prov.stream_format(ep_) == StreamFormat::sse) {
      // A dialect of SSE that needs translation (Azure): one call per event's data.
      std::size_t before = out.size();
      bool ok = parser.feed(in, [&](const SseEvent& ev) {
        if (!ev.has_data || !st.error.empty()) return;  // nothing after a failed event
        ++data_events;
        prov.translate_stream_unit(ep_, d, st, ev.data, out);
      });
      if (out.size() > before && rec_.ttft_us == 0) rec_.ttft_us = us_since(info_.t0);
      if (!ok) {
        end_error = Errc::upstream_protocol;
        end_message = "upstream sent an SSE event larger than the limit";
        break;
      }
      if (!st.error.empty()) {
        end_error = Errc::upstream_stream_cut;
        end_message = st.error;
      }
      log_body(out);
    } else {
      ndjson_pending += in;
      std::size_t pos = 0;
      for (;;) {
        auto nl = ndjson_pending.find('\n', pos);
        if (nl == std::string::npos) break;
        std::string_view line(ndjson_pending.data() + pos, nl - pos);
        pos = nl + 1;
        if (line.empty() || line == "\r") continue;
        std::size_t before = out.size();
        prov.translate_stream_unit(ep_, d, st, line, out);
        if (!st.error.empty()) break;  // nothing after a failed line reaches the client
        if (out.size() > before && rec_.ttft_us == 0) rec_.ttft_us = us_since(info_.t0);
        ++data_events;
      }
      ndjson_pending.erase(0, pos);
      if (done && !ndjson_pending.empty() && st.error.empty()) {
        prov.translate_stream_unit(ep_, d, st, ndjson_pending, out);
        ndjson_pending.clear();
      }
      if (!st.error.empty()) {
        end_error = Errc::upstream_stream_cut;
        end_message = st.error;
      }
      log_body(out);
    }
    if (done && !passthrough && !st.finished && end_error == Errc::ok) {
      // A translated stream that ended before its final event was cut short upstream.
      end_error = Errc::upstream_stream_cut;
      end_message = "upstream " + d.url.host + " ended the stream before its final event";
    }
    if (!out.empty()) {
      bool ok = true;
      if (!write_chunk_now(out, ok)) ok = co_await write_chunk_rest();
      if (!ok) {
        end_error = Errc::client_closed;
        break;
      }
      fault_point("mid-stream", rec_.model);
    }
    if (done || end_error != Errc::ok) break;
  }
  upstream_us_ += std::chrono::duration_cast<std::chrono::microseconds>(clock_t_::now() - t_up_stream).count();

  if (!passthrough && st.usage.present) usage = st.usage;
  if (usage.present) {
    apply_usage(usage, false);
  } else {
    Usage est;  // nothing reported: estimate (about one token per content event) and say so
    est.prompt_tokens = static_cast<int64_t>(request_bytes_ / 4);
    est.completion_tokens = std::max<int64_t>(0, data_events - 1);
    est.total_tokens = est.prompt_tokens + est.completion_tokens;
    apply_usage(est, true);
  }

  if (end_error == Errc::client_closed) {
    call.abort();
    co_return client_gone("client closed the connection during the stream");
  }
  if (end_error != Errc::ok) {
    call.abort();
    if (head_pending_) {  // nothing reached the client yet: a plain HTTP error says it best
      watch.stop();
      co_return co_await answer_error(end_error, end_message);
    }
    // Never a fabricated finish_reason: tell the client the stream failed, then end it.
    const auto m = map_error(end_error);
    rec_.status = m.status;
    rec_.error_type = std::string(m.type);
    rec_.error_message = end_message;
    std::string ev = "event: error\ndata: " + error_json(end_error, end_message) + "\n\n";
    bool ok = co_await write_chunk(ev);
    if (ok) ok = co_await write_last_chunk();
    o.keep_alive = false;
    co_return o;
  }
  call.release();
  watch.stop();
  const bool ended = co_await write_last_chunk();
  if (!ended) rec_.status = 499;
  o.keep_alive = ended;
  (void)saw_done;
  co_return o;
}

awaitable<Outcome> ProxyExchange::serve_mock(const Deployment& d, const nlohmann::json& body) {
  Outcome o;
  o.done = true;
  MockReply r = mock_reply(d, body, ep_);
  const std::string id = (ep_ == Endpoint::chat ? "chatcmpl-" : "cmpl-") + 
                       (info_.request_id.size() > 24 ? info_.request_id.substr(info_.request_id.size() - 24) : info_.request_id);
  const int64_t created = info_.start_us / 1000000;
  net::steady_timer timer(sock_.get_executor());
  const auto t_up = clock_t_::now();
  if (d.mock_latency_ms > 0) {
    ClientWatch watch(sock_, [&timer] { timer.cancel(); });
    timer.expires_after(std::chrono::milliseconds(d.mock_latency_ms));
    co_await timer.async_wait(use_nothrow);
    if (watch.gone()) {
      upstream_us_ += us_since(t_up);
      co_return client_gone("client closed the connection before the response");
    }
  }
  apply_usage(r.usage, false);
  if (!stream_) {
    http::response<http::string_body> res{http::status::ok, 11};
    res.set(http::field::content_type, "application/json");
    res.body() = mock_response_body(d, r, ep_, id, created, body);
    if (ep_ == Endpoint::embeddings && wants_base64_embeddings(body)) embeddings_floats_to_base64(res.body());
    upstream_us_ += us_since(t_up);
    if (w_.app.prices) {
      rec_.cost_usd = w_.cost_of(d, rec_);
      if (rec_.cost_usd) res.set("x-litellm-response-cost", fmt::format("{}", *rec_.cost_usd));
    }
    rec_.status = 200;
    if (cfg_->ledger.store_bodies)
      rec_.response_body = capped(res.body(), cfg_->ledger.max_body_log_bytes, rec_.response_truncated);
    set_common_headers(res.base(), us_since(info_.t0) - upstream_us_);
    rec_.first_byte_us = now_unix_us();
    wrote_ = true;
    o.keep_alive = co_await write_response(sock_, res, info_);
    if (!o.keep_alive) rec_.status = 499;
    co_return o;
  }
  upstream_us_ += us_since(t_up);
  rec_.status = 200;
  start_stream_response();
  const auto pace = d.mock_tokens_per_second > 0
                        ? std::chrono::duration_cast<clock_t_::duration>(std::chrono::duration<double>(1.0 / d.mock_tokens_per_second))
                        : clock_t_::duration(0);
  Usage delivered;
  for (std::size_t i = 0; i <= r.pieces.size(); ++i) {
    if (pace.count() > 0 && i > 0 && i < r.pieces.size()) {
      const auto tp = clock_t_::now();
      timer.expires_after(pace);
      co_await timer.async_wait(use_nothrow);
      upstream_us_ += us_since(tp);
    }
    std::string ev = mock_stream_event(d, r, ep_, id, created, i, false);
    if (i == 0) rec_.ttft_us = us_since(info_.t0);
    if (cfg_->ledger.store_bodies && rec_.response_body.size() < cfg_->ledger.max_body_log_bytes)
      rec_.response_body.append(ev);
    if (!co_await write_chunk(ev)) {
      // Client left: record what was delivered.
      delivered = r.usage;
      delivered.completion_tokens = static_cast<int64_t>(i);
      delivered.total_tokens = delivered.prompt_tokens + delivered.completion_tokens;
      apply_usage(delivered, false);
      co_return client_gone("client closed the connection during the stream");
    }
  }
  std::string tail;
  if (client_include_usage) tail += mock_stream_event(d, r, ep_, id, created, 0, true);
  tail += "data: [DONE]\n\n";
  bool ok = co_await write_chunk(tail);
  if (ok) ok = co_await write_last_chunk();
  if (!ok) rec_.status = 499;
  o.keep_alive = ok;
  co_return o;
}

awaitable<bool> ProxyExchange::internal_failure(const std::string& what) {
  spdlog::error("req={} failed inside the gateway: {}", info_.request_id, what);
  if (finished_) co_return false;
  if (!wrote_) {
    co_await fail(Errc::internal, "The gateway failed to handle this request (internal error).");
    co_return false;  // what the exchange left behind is not known: a fresh connection is safer
  }
  rec_.status = 500;
  rec_.error_type = "api_error";
  rec_.error_message = "the gateway failed while answering (internal error); the connection was closed";
  finish();
  co_return false;
}

}  // namespace

awaitable<bool> handle_proxy(Worker& w, tcp::socket& sock, BeastRequest& req, Endpoint ep, RequestInfo& info) {
  auto ex = std::make_unique<ProxyExchange>(w, sock, req, ep, info);
  std::string failure;
  try {
    co_return co_await ex->run();
  } catch (const std::exception& e) {
    failure = e.what();
  }
  co_return co_await ex->internal_failure(failure);
}

}  // namespace llmgate
