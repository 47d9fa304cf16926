#pragma once
// The proxy's exchange: one client request through authentication, the body, the candidate
// deployments, the upstream attempts (attempt.cpp), the stream relay (stream_relay.cpp), the mock
// (mock_reply.cpp) and the finished record (exchange.cpp). Internal to src/proxy/.
#include <sys/socket.h>

#include <cerrno>
#include <charconv>

#include <fmt/compile.h>
#include <spdlog/spdlog.h>
#include <nlohmann/json.hpp>

#include "llmgate/embedding_encoding.hpp"
#include "llmgate/fault_point.hpp"
#include "llmgate/json_fields.hpp"
#include "llmgate/json_scan.hpp"
#include "llmgate/providers.hpp"
#include "llmgate/router.hpp"
#include "llmgate/sse.hpp"
#include "net/spare_buffers.hpp"
#include "providers/mock.hpp"
#include "proxy/admission.hpp"
#include "proxy/client_watch.hpp"
#include "server/record_observers.hpp"
#include "server/session.hpp"

namespace llmgate::proxy {

using clock_t_ = std::chrono::steady_clock;

// The largest non-streamed upstream response body read.
constexpr std::size_t kMaxUpstreamBody = 256u << 20;
// How long a stream's response head may wait for the first event to travel with it.
constexpr auto kHeadHold = std::chrono::milliseconds(200);

inline int64_t us_since(clock_t_::time_point t0) {
  return std::chrono::duration_cast<std::chrono::microseconds>(clock_t_::now() - t0).count();
}

// The one body capture: appends `s` to a stored body of at most `cap` bytes in all; what does
// not fit is dropped and flagged in `truncated`.
void capture_body(std::string& stored, bool& truncated, std::string_view s, std::size_t cap);

struct StreamRelay;  // stream_relay.hpp

// The error message of a 2xx answer whose body is not a JSON object.
std::string not_json_object_message(const Deployment& d, int status);

struct Outcome {
  bool done = false;  // a response was sent (or the client is gone): stop trying
  bool keep_alive = true;
  Errc retry_error = Errc::ok;  // retryable failure before anything reached the client
  // Its message is the exchange's retry_message_: a string here made each co_await of an
  // Outcome in attempt() 40 bytes larger in its coroutine frame (one result per co_await).
};

class ProxyExchange {
 public:
  ProxyExchange(Worker& w, tcp::socket& sock, BeastRequest& req, Endpoint ep, RequestInfo& info)
      : w_(w), sock_(sock), req_(req), ep_(ep), info_(info), cfg_(w.config()) {
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
  Errc prepare(std::string& msg, std::string_view& param, RoutePlan& plan);
  // prepare()'s body step: the scan (or a document), the model, stream and user. `scanned`:
  // the scan describes the body (no document was needed).
  Errc read_body(std::string& msg, std::string_view& param, bool& scanned);
  // After an exception out of run() (a bug: every expected failure is an Errc): the client still
  // gets a 500 when nothing was written to it yet (else the connection closes), and the request
  // its ledger row and log line either way.
  awaitable<bool> internal_failure(const std::string& what);

 private:
  awaitable<bool> fail(Errc e, std::string_view msg, std::string_view param = {}, std::string_view code = {}) {
    record_error(e, msg);
    wrote_ = true;
    bool ok = co_await write_error(sock_, e, msg, info_, param, code);
    if (!ok) rec_.status = 499;
    finish();
    co_return ok&& info_.keep_alive;
  }
  awaitable<Outcome> attempt(const Deployment& d, bool last);
  // attempt()'s steps that do not wait, plain functions so that their locals stay out of
  // attempt()'s coroutine frame. The request upstream in ureq_ (spliced when possible).
  Errc build_upstream_request(const Deployment& d, const Provider& prov, std::string& err);
  // After a complete upstream body (`call`: its header; null for the in-process mock): the
  // client's response in `res` and `res_body`, or a retry (in `o`), or `invalid` when the body
  // is not a JSON object.
  enum class Built { respond, retry, invalid };
  Built build_response(const Deployment& d, const Provider& prov, const UpstreamCall* call, int status, bool last,
                       bool want_b64, std::string& ubody, ResponseHead& res, std::string& res_body, Outcome& o);
  // The built response recorded (status, stored body, headers) and written at once when the
  // socket takes it: true when that settled the write (error in `ec`), false when the caller
  // must co_await write_rest(sock_, chunk_bufs_, chunk_sent_). Then responded() settles `o`.
  bool respond_now(int status, ResponseHead& res, std::string_view res_body, boost::system::error_code& ec);
  void responded(const boost::system::error_code& ec, std::string& res_body, Outcome& o);
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
  // The one error recording: the status, OpenAI error type and message in the record (of the
  // gateway's error `e`, or as an upstream's error body gave them).
  void record_error(int status, std::string_view type, std::string_view msg) {
    rec_.status = status;
    rec_.error_type = type;
    rec_.error_message = msg;
  }
  void record_error(Errc e, std::string_view msg) {
    const auto m = map_error(e);
    record_error(m.status, m.type, msg);
  }
  // The one cost computation: the record's tokens priced for `d` (null when unknown or no tokens).
  void record_cost(const Deployment& d) {
    if (w_.app.prices && rec_.total_tokens > 0) rec_.cost_usd = w_.cost_of(d, rec_);
  }
  // Stored bodies (when the ledger keeps them), capped at max_body_log_bytes.
  void capture_response(std::string_view s) {
    if (cfg_->ledger.store_bodies)
      capture_body(rec_.response_body, rec_.response_truncated, s, cfg_->ledger.max_body_log_bytes);
  }
  // The client went away: recorded as 499, nothing more is sent.
  Outcome client_gone(std::string_view why);
  // Records the error and answers the client with it.
  awaitable<Outcome> answer_error(Errc e, const std::string& msg);
  // An upstream failure before anything reached the client: 499 when the client left, a retry
  // on the next candidate when retryable (and not the last), else the error to the client.
  awaitable<Outcome> upstream_failed(Errc e, const std::string& msg, bool last, ClientWatch& watch);
  // The mock (mock_reply.cpp): its reply made as an upstream's bytes, then answered through
  // build_response/respond_now or relayed through decode_passthrough, as a real upstream's.
  awaitable<Outcome> serve_mock(const Deployment& d, bool last);
  std::string mock_id() const;
  // The mock's time to first byte; false when the client left meanwhile.
  awaitable<bool> mock_latency(const Deployment& d);
  awaitable<Outcome> answer_mock(const Deployment& d, const MockReply& r, const std::string& id, bool last);
  awaitable<Outcome> stream_mock(const Deployment& d, const MockReply& r, const std::string& id);
  awaitable<Outcome> stream_upstream(const Deployment& d, UpstreamCall& call, const Provider& prov, ClientWatch& watch);
  // A stream's decoders (stream_relay.cpp), one per format, none of which waits: they read the
  // relay's input and append the client's bytes. False: end the stream at once (nothing of
  // this read is written).
  bool decode_passthrough(StreamRelay& s, const Deployment& d);
  bool decode_sse(StreamRelay& s, const Deployment& d, const Provider& prov);
  bool decode_ndjson(StreamRelay& s, const Deployment& d, const Provider& prov, bool done);
  // stream_upstream()'s steps that do not wait: the relay's format and limits; how long the
  // next read may wait; an upstream read that failed; one read through the decoder (false: end
  // at once). stream_usage(): usage as reported, or estimated and flagged.
  void start_relay(StreamRelay& s, const Deployment& d, const Provider& prov);
  clock_t_::duration stream_wait(const StreamRelay& s, clock_t_::time_point last_data) const;
  void stream_read_failed(StreamRelay& s, const Deployment& d, Errc e, const ClientWatch& watch);
  bool decode(StreamRelay& s, const Deployment& d, const Provider& prov, bool done);
  void stream_usage(StreamRelay& s);
  // `call` and `watch` are null for the in-process mock.
  awaitable<Outcome> end_stream(UpstreamCall* call, ClientWatch* watch, Errc end_error, const std::string& end_message);
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
  // The caller's limits through the LimitStore (App::limits): decided inline, or left in
  // pending_admission_ for run() to wait on (admit_remote).
  Errc admit(const UsageEstimate& est, std::string& msg);
  awaitable<Errc> admit_remote(std::string& msg);
  // Whether an upstream SSE event's data is a JSON object. Uses the client's body scan, which
  // is free once a stream has started (release_request_bodies): nothing allocated per event.
  bool event_is_json_object(std::string_view data);
  void finish();
  // Tells the router how the attempt on dep_ ended (started at attempt_t0_).
  void report_attempt(const Outcome& o);

  Worker& w_;
  tcp::socket& sock_;
  BeastRequest& req_;
  Endpoint ep_;
  RequestInfo& info_;
  std::shared_ptr<const Config> cfg_;
  RequestRecord rec_;
  Principal who_;
  std::shared_ptr<PendingAdmission> pending_admission_;  // a remote store's answer, awaited by run()
  const Deployment* dep_ = nullptr;
  bool stream_ = false;
  bool client_include_usage = false;
  JsonObjectScan scan_;                // the client's body, scanned once (then a stream's events)
  BodyFacts facts_;                    // what the dialects need to splice it
  std::size_t request_bytes_ = 0;      // the client's body size, kept when the body is released
  bool fast_ = false;                  // facts_ describe the body: splicing is possible
  std::optional<nlohmann::json> dom_;  // the body as a document, only when needed
  bool dom_dirty_ = false;
  std::string stream_head_;                      // a stream's response head, until the first chunk carries it
  std::array<net::const_buffer, 4> chunk_bufs_;  // the chunk (or whole response) being written
  char chunk_size_line_[24];
  std::size_t chunk_sent_ = 0;
  bool head_pending_ = false;
  int64_t upstream_us_ = 0;
  clock_t_::time_point attempt_t0_{};  // the current attempt's start (for the router)
  int retry_status_ = 0;               // the upstream's HTTP status when an attempt is retried on it
  std::string retry_message_;          // why the last attempt failed, when it can be retried (Outcome)
  UpstreamRequest ureq_;               // the attempt's request upstream (a member: attempt()'s frame)
  bool finished_ = false;
  bool wrote_ = false;  // a write to the client began: an error can no longer be answered
};

template <class Head>
void ProxyExchange::set_common_headers(Head& h, int64_t overhead_us) {
  h.set("x-litellm-overhead-duration-ms", ms_text(overhead_us).view());
  if (dep_) {
    h.set("x-litellm-model-id", dep_->id);
    h.set("x-litellm-model-group", dep_->model_name);
  }
}

}  // namespace llmgate::proxy
