#!/usr/bin/env bash
# Load test of a running gateway with wrk: POST /v1/chat/completions for a fixed duration.
# Prints requests/s, latency p50/p95/p99/max, error and 429 counts, and the status-code mix.
#   scripts/load_test.sh [-r RATE] [-c CONNECTIONS] [-d DURATION] [-t THREADS]
#                        [-m MODEL] [--stream] [--max-tokens N] [-u BASE_URL]
#   -r RATE         target requests/s in total (default 0 = as fast as the connections go)
#   -c CONNECTIONS  concurrent connections (default 16)
#   -d DURATION     e.g. 30s, 2m (default 30s)
#   -t THREADS      wrk threads (default: min(2, CONNECTIONS))
#   -m MODEL        default $LLMGATE_MODEL or demo-chat
#   --stream        ask for streamed responses (latency = time to the last byte)
# Env: LLMGATE_BASE_URL (default http://127.0.0.1:4000), LLMGATE_API_KEY (default sk-llmgate-demo).
#
# About RATE: plain wrk has no rate control. load_test.lua paces each wrk thread on a fixed
# schedule (THREADS/RATE seconds apart, sending at once when behind), so the offered rate
# is RATE as long as CONNECTIONS >= RATE x latency. When the gateway is slower than that, the
# achieved rate falls below RATE and latency is measured from the actual send (coordinated
# omission, as in plain wrk): give enough connections, and compare the printed req/s to RATE.
# A test against a real provider spends real money: use the demo config (mock models).
set -euo pipefail
cd "$(dirname "$0")/.."

RATE=0; CONNS=16; DURATION=30s; THREADS=""; STREAM=0; MAX_TOKENS=32
MODEL="${LLMGATE_MODEL:-demo-chat}"
BASE="${LLMGATE_BASE_URL:-${BASE_URL:-http://127.0.0.1:4000}}"
while [ $# -gt 0 ]; do
  case "$1" in
    -r|--rate) RATE="$2"; shift 2 ;;
    -c|--connections) CONNS="$2"; shift 2 ;;
    -d|--duration) DURATION="$2"; shift 2 ;;
    -t|--threads) THREADS="$2"; shift 2 ;;
    -m|--model) MODEL="$2"; shift 2 ;;
    -u|--url) BASE="$2"; shift 2 ;;
    --stream) STREAM=1; shift ;;
    --max-tokens) MAX_TOKENS="$2"; shift 2 ;;
    -h|--help) sed -n '2,20p' "$0"; exit 0 ;;
    *) echo "unknown argument: $1 (see --help)" >&2; exit 2 ;;
  esac
done
command -v wrk >/dev/null || { echo "load_test: wrk is required (apt-get install wrk)" >&2; exit 2; }
[[ "$CONNS" =~ ^[1-9][0-9]*$ ]] || { echo "-c must be a positive integer" >&2; exit 2; }
[[ "$RATE" =~ ^[0-9]+(\.[0-9]+)?$ ]] || { echo "-r must be a number" >&2; exit 2; }
[ -n "$THREADS" ] || THREADS=$(( CONNS < 2 ? CONNS : 2 ))
BASE="${BASE%/}"

INTERVAL_MS=0
if [ "$RATE" != 0 ]; then
  # Pacing state lives per wrk thread (one Lua state each), shared by its connections.
  INTERVAL_MS="$(awk -v t="$THREADS" -v r="$RATE" 'BEGIN { if (r > 0) printf "%.3f", t * 1000 / r; else print 0 }')"
fi

RATE_TXT="$RATE req/s"; [ "$RATE" = 0 ] && RATE_TXT=unlimited
echo "load test: $BASE/v1/chat/completions model=$MODEL stream=$STREAM connections=$CONNS threads=$THREADS duration=$DURATION rate=$RATE_TXT"
LT_KEY="${LLMGATE_API_KEY:-${API_KEY:-sk-llmgate-demo}}" LT_MODEL="$MODEL" LT_STREAM="$STREAM" \
LT_MAX_TOKENS="$MAX_TOKENS" LT_INTERVAL_MS="$INTERVAL_MS" \
  exec wrk -t "$THREADS" -c "$CONNS" -d "$DURATION" --timeout 60s --latency \
    -s scripts/load_test.lua "$BASE/v1/chat/completions"
