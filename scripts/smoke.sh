#!/usr/bin/env bash
# Smoke test of a running gateway: health, auth, model list, one chat completion, one streamed
# completion, metrics. Exits non-zero if any check fails. Spends at most two small completions.
#   LLMGATE_BASE_URL  default http://127.0.0.1:4000
#   LLMGATE_API_KEY   default sk-llmgate-demo (the demo config's master key)
#   LLMGATE_MODEL     default: demo-chat if listed, else the first model from /v1/models
#   SMOKE_TIMEOUT     seconds per request, default 60
set -uo pipefail

BASE="${LLMGATE_BASE_URL:-${BASE_URL:-http://127.0.0.1:4000}}"
BASE="${BASE%/}"
KEY="${LLMGATE_API_KEY:-${API_KEY:-sk-llmgate-demo}}"
MODEL="${LLMGATE_MODEL:-}"
TIMEOUT="${SMOKE_TIMEOUT:-60}"
command -v curl >/dev/null || { echo "smoke: curl is required" >&2; exit 2; }

tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
# Key in a curl config file, not on the command line (keeps it out of `ps`).
printf 'header = "Authorization: Bearer %s"\n' "$KEY" > "$tmp/auth"
chmod 600 "$tmp/auth"

pass=0; fail=0
ok()  { pass=$((pass + 1)); printf '  ok    %s\n' "$1"; }
bad() { fail=$((fail + 1)); printf '  FAIL  %s\n' "$1"; [ -n "${2:-}" ] && printf '        %s\n' "$(head -c 400 "$2" | tr '\n' ' ')"; }

# req NAME METHOD PATH [auth|noauth] [BODY] -> sets $code, body in $tmp/NAME
req() {
  local name="$1" method="$2" path="$3" auth="${4:-auth}" body="${5:-}"
  local args=(-sS -o "$tmp/$name" -w '%{http_code}' --max-time "$TIMEOUT" -X "$method")
  [ "$auth" = auth ] && args+=(-K "$tmp/auth")
  [ -n "$body" ] && args+=(-H 'Content-Type: application/json' --data-binary "$body")
  code="$(curl "${args[@]}" "$BASE$path" 2>"$tmp/$name.err")" || code="${code:-000}"
  [ "$code" = 000 ] && cat "$tmp/$name.err" >> "$tmp/$name"
}
has() { grep -Eq "$2" "$tmp/$1"; }

echo "smoke test against $BASE"

req live GET /health/liveliness noauth
[ "$code" = 200 ] && ok "GET /health/liveliness -> 200" || bad "GET /health/liveliness -> $code (want 200)" "$tmp/live"

req ready GET /health/readiness noauth
[ "$code" = 200 ] && ok "GET /health/readiness -> 200" || bad "GET /health/readiness -> $code (want 200)" "$tmp/ready"

req unauth GET /v1/models noauth
[ "$code" = 401 ] && ok "GET /v1/models without a key -> 401" || bad "GET /v1/models without a key -> $code (want 401)" "$tmp/unauth"

req models GET /v1/models
if [ "$code" = 200 ] && has models '"data"[[:space:]]*:'; then
  ok "GET /v1/models -> 200"
else
  bad "GET /v1/models -> $code (want 200 with a data list)" "$tmp/models"
fi
ids="$(grep -Eo '"id"[[:space:]]*:[[:space:]]*"[^"]+"' "$tmp/models" 2>/dev/null | sed -E 's/.*"([^"]+)"$/\1/')"
if [ -z "$MODEL" ]; then
  # Here-strings, not pipes: with pipefail, `printf | grep -q` fails (141) when grep exits on
  # its match before printf has written everything.
  if grep -qx demo-chat <<<"$ids"; then MODEL=demo-chat; else MODEL="${ids%%$'\n'*}"; fi
fi
if [ -z "$MODEL" ]; then
  bad "no model to call (set LLMGATE_MODEL)"
else
  grep -qxF "$MODEL" <<<"$ids" && ok "model '$MODEL' is listed" || bad "model '$MODEL' is not in /v1/models"

  body='{"model":"'"$MODEL"'","messages":[{"role":"user","content":"Say hello in three words."}],"max_tokens":16}'
  req chat POST /v1/chat/completions auth "$body"
  if [ "$code" = 200 ] && has chat '"object"[[:space:]]*:[[:space:]]*"chat\.completion"' \
     && has chat '"content"[[:space:]]*:[[:space:]]*"[^"]' && has chat '"total_tokens"[[:space:]]*:[[:space:]]*[1-9]'; then
    ok "POST /v1/chat/completions -> 200 with content and usage"
  else
    bad "POST /v1/chat/completions -> $code (want 200, content, usage)" "$tmp/chat"
  fi

  body='{"model":"'"$MODEL"'","messages":[{"role":"user","content":"Count to five."}],"max_tokens":16,"stream":true,"stream_options":{"include_usage":true}}'
  req stream POST /v1/chat/completions auth "$body"
  chunks="$(grep -c '^data: {' "$tmp/stream" 2>/dev/null || true)"
  if [ "$code" = 200 ] && [ "${chunks:-0}" -ge 2 ] && has stream 'chat\.completion\.chunk' && grep -q '^data: \[DONE\]' "$tmp/stream"; then
    ok "POST /v1/chat/completions stream=true -> 200, $chunks chunks, [DONE]"
  else
    bad "streamed completion -> $code, ${chunks:-0} chunks (want 200, >= 2 chunks, data: [DONE])" "$tmp/stream"
  fi
fi

req health GET /health
[ "$code" = 200 ] && ok "GET /health -> 200 (deployment health, no tokens spent)" || bad "GET /health -> $code (want 200)" "$tmp/health"

req metrics GET /metrics
if [ "$code" = 200 ] && has metrics '^litellm_proxy_total_requests_metric'; then
  ok "GET /metrics -> 200 with request counters"
elif [ "$code" = 401 ]; then
  ok "GET /metrics -> 401 (require_auth_for_metrics_endpoint is on)"
else
  bad "GET /metrics -> $code (want 200 with litellm_proxy_total_requests_metric)" "$tmp/metrics"
fi

echo "smoke: $pass checks ok, $fail failed"
[ "$fail" = 0 ]
