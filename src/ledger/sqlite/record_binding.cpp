#include "ledger/sqlite/record_binding.hpp"

#include <nlohmann/json.hpp>

#include <cassert>
#include <cmath>

#include "ledger/text_util.hpp"

namespace llmgate::store {

std::string_view valid_utf8(std::string_view s, std::string& scratch) {
  if (is_clean_utf8(s)) return s;
  scratch = sanitize_utf8(s);
  return scratch;
}

std::string insert_sql(std::size_t records, bool or_ignore) {
  std::string s = or_ignore ? "INSERT OR IGNORE INTO spend_logs (" : "INSERT INTO spend_logs (";
  s += kInsertColumns;
  s += ") VALUES ";
  for (std::size_t r = 0; r < records; ++r) {
    s += r ? ",(?" : "(?";
    for (int c = 1; c < kValuesPerRecord; ++c) s += ",?";
    s += ')';
  }
  return s;
}

BoundRecord bind_record(RawStmt& st, int k0, const RequestRecord& r, std::string* scratch) {
  int k = k0 + 1;
  std::size_t si = 0;
  auto clean = [&](const std::string& v) { return valid_utf8(v, scratch[si++]); };
  // Most text repeats from one record to the next (see RawStmt::text_kept); the request id and
  // the bodies do not.
  auto text = [&](const std::string& v) { st.text_kept(k++, clean(v)); };
  BoundRecord out;
  out.request_id = clean(r.request_id);
  st.text(k++, out.request_id);
  text(r.endpoint);
  out.key_hash = clean(r.key_hash);
  st.text_kept(k++, out.key_hash);
  out.key_alias = clean(r.key_alias);
  st.text_kept(k++, out.key_alias);
  if (r.cost_usd && std::isfinite(*r.cost_usd)) st.dbl(k++, *r.cost_usd);
  else st.null(k++);
  st.i64(k++, r.total_tokens);
  st.i64(k++, r.prompt_tokens);
  st.i64(k++, r.completion_tokens);
  st.i64(k++, r.cached_tokens);
  st.i64(k++, r.reasoning_tokens);
  st.i64(k++, r.tokens_estimated ? 1 : 0);
  st.i64(k++, r.start_us);
  st.i64(k++, r.end_us);
  st.i64(k++, r.first_byte_us);
  st.i64(k++, r.ttft_us);
  st.i64(k++, r.upstream_us);
  st.i64(k++, r.overhead_us);
  text(r.model);
  out.model_group = clean(r.model_group);
  st.text_kept(k++, out.model_group);
  text(r.deployment_id);
  text(r.provider);
  text(r.upstream_model);
  text(r.api_base);
  text(r.user);
  text(r.client_ip);
  st.i64(k++, r.status);
  st.text_kept(k++, (r.status >= 400 || !r.error_type.empty()) ? "failure" : "success");
  text(r.error_type);
  out.error_message = clean(r.error_message);
  st.text_kept(k++, out.error_message);
  st.i64(k++, r.stream ? 1 : 0);
  st.i64(k++, r.cache_hit ? 1 : 0);
  st.i64(k++, r.retries);
  text(r.fallback_from);
  out.request_body = clean(r.request_body);
  out.response_body = clean(r.response_body);
  st.text(k++, out.request_body);
  st.text(k++, out.response_body);
  st.i64(k++, r.request_truncated ? 1 : 0);
  st.i64(k++, r.response_truncated ? 1 : 0);
  // metadata: the client's own x-request-id, when it sent one (request_id is ours, unique).
  if (r.client_request_id.empty()) st.text_kept(k++, "{}");
  else
    st.text_kept(k++, nlohmann::json{{"client_request_id", r.client_request_id}}.dump(
                          -1, ' ', false, nlohmann::json::error_handler_t::replace));
  assert(k == k0 + 1 + kValuesPerRecord && si == kScratchPerRecord);
  return out;
}

}  // namespace llmgate::store
