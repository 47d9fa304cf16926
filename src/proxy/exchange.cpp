// The proxy endpoints: /v1/chat/completions, /v1/completions, /v1/embeddings (and the
// Azure-style paths). Parse the body once, pick a deployment, call the upstream (or the
// in-process mock), forward the answer (SSE event by event for streams), record the request.
#include "proxy/exchange.hpp"

namespace llmgate::proxy {

void capture_body(std::string& stored, bool& truncated, std::string_view s, std::size_t cap) {
  const std::size_t room = cap > stored.size() ? cap - stored.size() : 0;
  stored.append(s.substr(0, room));
  if (s.size() > room) truncated = true;
}

namespace {

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

}  // namespace

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
    case JsonObjectScan::Result::object: return true;
    case JsonObjectScan::Result::unsupported: {  // rare (escaped or many keys): the full parser decides
      if (!nlohmann::json::accept(data)) return false;
      const auto first = data.find_first_not_of(" \t\r\n\xEF\xBB\xBF");
      return first != std::string_view::npos && data[first] == '{';
    }
    default: return false;
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
    if (!rec_.cost_usd) record_cost(*dep_);
  }
  rec_.key_hash = who_.key_hash;
  rec_.key_alias = who_.key_alias;
  // The log line, metrics, key spend and the ledger queue (server/record_observers.cpp).
  w_.record_observers.notify(std::move(rec_), RecordContext{*cfg_, who_, info_.request_id, latency});
}

Errc ProxyExchange::read_body(std::string& msg, std::string_view& param, bool& scanned) {
  // A validating scan that builds no document (json_scan.hpp); a document is
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
  scanned = sr == JsonObjectScan::Result::object;
  return Errc::ok;
}

Errc ProxyExchange::prepare(std::string& msg, std::string_view& param, RoutePlan& plan) {
  // 1. Who is calling. A virtual key is checked once the model is known (allowed models).
  const std::string_view key = presented_key(req_);
  const bool deferred = w_.app.keys && !key.empty() && !cfg_->master_key.empty() &&
                        !constant_time_equals(key, cfg_->master_key.reveal());
  if (!deferred) {
    Errc e = authenticate(w_.app, *cfg_, req_, "", who_, msg);
    if (e != Errc::ok) return e;
  }
  // 2. The body.
  bool scanned = false;
  if (const Errc e = read_body(msg, param, scanned); e != Errc::ok) return e;
  const std::string& model = rec_.model;
  if (cfg_->ledger.store_bodies)
    capture_body(rec_.request_body, rec_.request_truncated, req_.body(), cfg_->ledger.max_body_log_bytes);

  auto deployments = cfg_->find(model);
  if (deferred) {
    if (const Errc e = w_.app.keys->identify(key, deployments.empty() ? "" : model, who_, msg); e != Errc::ok) return e;
    if (const Errc e = admit(admission_estimate(deployments, scanned), msg); e != Errc::ok) return e;
  }
  if (deployments.empty()) {
    msg = "The model `" + model + "` does not exist or you do not have access to it.";
    param = "model";
    return Errc::model_not_found;
  }
  rec_.model_group = model;

  // 3. Candidates: the worker's router (src/router/) orders the alias's deployments, then
  // adds the fallback aliases.
  RouteRequest route;
  route.model = model;
  route.user = rec_.user;
  route.stream = stream_;
  w_.router.plan(*cfg_, deployments, route, plan);
  return Errc::ok;
}

Errc ProxyExchange::admit(const UsageEstimate& est, std::string& msg) {
  // The key's budget and tpm_limit hold this request's estimate until finish() settles it.
  AdmissionRequest req;
  req.add(who_.key_check());
  if (req.empty() || !w_.app.limits) return Errc::ok;  // no limits: nothing to ask
  req.estimate = est;
  req.now_us = now_unix_us();
  LimitStore& store = *w_.app.limits;
  AdmissionResult res;
  if (store.try_admit(req, who_.lease, res) == LimitStore::Decision::pending) {
    auto p = std::make_shared<PendingAdmission>();
    p->set_request(req);
    p->keep = who_.key_state;
    pending_admission_ = std::move(p);
    return Errc::ok;  // run() waits for the answer before the first attempt
  }
  if (res.err == Errc::ok) return Errc::ok;
  who_.clear_identity();  // a refused request is recorded without its key
  msg = std::move(res.message);
  return res.err;
}

awaitable<Errc> ProxyExchange::admit_remote(std::string& msg) {
  // The worker never blocks meanwhile; the answer is posted back to it (admission.hpp).
  const std::shared_ptr<PendingAdmission> st = std::move(pending_admission_);
  co_await await_admission(*w_.app.limits, st);
  if (st->result.err == Errc::ok) {
    who_.lease = std::move(st->lease);
    co_return Errc::ok;
  }
  who_.clear_identity();
  msg = std::move(st->result.message);
  co_return st->result.err;
}

void ProxyExchange::report_attempt(const Outcome& o) {
  AttemptResult r;
  r.deployment = dep_;
  r.status = o.done ? rec_.status : retry_status_ ? retry_status_ : map_error(o.retry_error).status;
  r.latency_us = us_since(attempt_t0_);
  r.total_tokens = o.done ? rec_.total_tokens : 0;
  w_.router.on_result(r);
}

awaitable<bool> ProxyExchange::run() {
  std::string msg;
  std::string_view param;
  RoutePlan plan;
  if (const Errc e = prepare(msg, param, plan); e != Errc::ok) co_return co_await fail(e, msg, param);
  if (pending_admission_) {  // a remote LimitStore (the in-memory one decides in prepare())
    const Errc e = co_await admit_remote(msg);
    if (e != Errc::ok) co_return co_await fail(e, msg);
  }
  const std::string& model = rec_.model;
  const auto& candidates = plan.candidates;
  Outcome last;
  for (std::size_t i = 0; i < candidates.size(); ++i) {
    dep_ = candidates[i];
    if (i > 0) {
      ++rec_.retries;
      if (i >= plan.first_fallback && rec_.fallback_from.empty()) rec_.fallback_from = model;
    }
    attempt_t0_ = clock_t_::now();
    retry_status_ = 0;
    last = co_await attempt(*dep_, i + 1 == candidates.size());
    report_attempt(last);
    if (last.done) {
      finish();
      co_return last.keep_alive&& info_.keep_alive;
    }
    spdlog::warn("req={} deployment {} failed ({}); trying the next one", info_.request_id, dep_->id, retry_message_);
  }
  co_return co_await fail(last.retry_error, retry_message_);
}

Outcome ProxyExchange::client_gone(std::string_view why) {
  record_error(Errc::client_closed, why);
  Outcome o;
  o.done = true;
  o.keep_alive = false;
  return o;
}

awaitable<Outcome> ProxyExchange::answer_error(Errc e, const std::string& msg) {
  record_error(e, msg);
  Outcome o;
  o.done = true;
  wrote_ = true;
  o.keep_alive = co_await write_error(sock_, e, msg, info_);
  if (!o.keep_alive) rec_.status = 499;
  co_return o;
}

awaitable<Outcome> ProxyExchange::upstream_failed(Errc e, const std::string& msg, bool last, ClientWatch& watch) {
  if (watch.gone() || e == Errc::client_closed)
    co_return client_gone("client closed the connection before the response");
  if (map_error(e).retryable && !last) {
    Outcome o;
    o.retry_error = e;
    retry_message_ = msg;
    co_return o;
  }
  watch.stop();
  co_return co_await answer_error(e, msg);
}

awaitable<bool> ProxyExchange::internal_failure(const std::string& what) {
  spdlog::error("req={} failed inside the gateway: {}", info_.request_id, what);
  if (finished_) co_return false;
  if (!wrote_) {
    co_await fail(Errc::internal, "The gateway failed to handle this request (internal error).");
    co_return false;  // what the exchange left behind is not known: a fresh connection is safer
  }
  record_error(Errc::internal, "the gateway failed while answering (internal error); the connection was closed");
  finish();
  co_return false;
}

}  // namespace llmgate::proxy

namespace llmgate {

awaitable<bool> handle_proxy(Worker& w, tcp::socket& sock, BeastRequest& req, Endpoint ep, RequestInfo& info) {
  auto ex = std::make_unique<proxy::ProxyExchange>(w, sock, req, ep, info);
  std::string failure;
  try {
    co_return co_await ex->run();
  } catch (const std::exception& e) {
    failure = e.what();
  }
  co_return co_await ex->internal_failure(failure);
}

}  // namespace llmgate
