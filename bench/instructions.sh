#!/usr/bin/env bash
# Instructions per request of llmgate builds, counted by valgrind's callgrind: the same on a
# busy or a virtual machine (no hardware counters needed), so a change's cost on the hot path
# shows even when CPU-time figures are inside their noise. Not a test; never gates CI.
#
#   bench/instructions.sh [--conns N] [--seconds S] BIN [BIN...]
#
# For each binary: an nginx mock upstream (bench/nginx/mock.conf.in), llmgate under callgrind
# with one worker, a warm-up, counters zeroed, wrk for S seconds (default 4) with N connections
# (default 1), the counters dumped after the ledger's next batch. Prints instructions per
# request with the ledger off and on (every thread of the process, the writer included).
set -euo pipefail
cd "$(dirname "$0")/.."
CONNS=1 SECS=4 BINS=()
while [ $# -gt 0 ]; do
  case "$1" in
    --conns) CONNS=$2; shift 2 ;;
    --seconds) SECS=$2; shift 2 ;;
    -h|--help) sed -n 2,12p "$0"; exit 0 ;;
    *) BINS+=("$1"); shift ;;
  esac
done
[ ${#BINS[@]} -gt 0 ] || { echo "usage: $0 [--conns N] [--seconds S] BIN [BIN...]" >&2; exit 2; }
need=()
command -v valgrind >/dev/null || need+=(valgrind)
command -v nginx >/dev/null || need+=(nginx-light)
[ -f /usr/lib/nginx/modules/ngx_http_echo_module.so ] || need+=(libnginx-mod-http-echo)
command -v wrk >/dev/null || need+=(wrk)
if [ ${#need[@]} -gt 0 ]; then
  SUDO=""; [ "$(id -u)" = 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_ok() { for _ in $(seq 300); do curl -sf -o /dev/null "$1" && return 0; sleep 0.2; done; echo "not ready: $1" >&2; return 1; }

one() {  # BIN LEDGER_OFF
  local bin=$1 off=$2 d mp gp ng gw req ir
  d=$(mktemp -d)
  mp=$(free_port); gp=$(free_port)
  mkdir -p "$d/mock-body"
  sed -e "s|@ECHO_MODULE@|load_module /usr/lib/nginx/modules/ngx_http_echo_module.so;|" -e "s|@PREFIX@|$d|g" \
      -e "s|@PORT@|$mp|" -e "s|@STREAM@|return 200 'x';|" -e "s|@SLOW_STREAM@|return 200 'x';|" \
      bench/nginx/mock.conf.in > "$d/mock.conf"
  nginx -c "$d/mock.conf" -p "$d" -e "$d/mock-error.log" & ng=$!
  { echo "model_list:"
    echo "  - model_name: bench-chat"
    echo "    litellm_params: {model: openai/gpt-4o-mini, api_base: 'http://127.0.0.1:$mp/v1', api_key: sk-upstream-bench}"
    echo "general_settings:"
    echo "  master_key: sk-bench-master"
    echo "  database_url: 'sqlite:///$d/gw.db'"
    [ "$off" = 1 ] && echo "  disable_spend_logs: true"; } > "$d/gw.yaml"
  valgrind --tool=callgrind --callgrind-out-file="$d/cg.out" "$bin" --config "$d/gw.yaml" \
      --host 127.0.0.1 --port "$gp" --workers 1 > "$d/gw.log" 2>&1 & gw=$!
  wait_ok "http://127.0.0.1:$mp/health" && wait_ok "http://127.0.0.1:$gp/health/readiness"
  wrk -t1 -c"$CONNS" -d2s -s bench/wrk/chat.lua "http://127.0.0.1:$gp" > /dev/null 2>&1
  sleep 1
  callgrind_control -z "$gw" > /dev/null 2>&1
  wrk -t1 -c"$CONNS" -d"${SECS}s" -s bench/wrk/chat.lua "http://127.0.0.1:$gp" > "$d/wrk.txt" 2>&1
  sleep 1.5  # the ledger writer commits the last batch
  callgrind_control -d "$gw" > /dev/null 2>&1
  req=$(grep -o '"requests":[0-9]*' "$d/wrk.txt" | head -1 | cut -d: -f2)
  ir=$(cat "$d"/cg.out.* | grep -h '^totals:' | awk '{s+=$2} END {print s}')
  kill "$gw" "$ng" 2>/dev/null; wait "$gw" "$ng" 2>/dev/null || true
  rm -rf "$d"
  awk -v r="$req" -v i="$ir" 'BEGIN { printf "%.0f", i / r }'
}

printf '%-50s %8s %18s %18s\n' binary conns "ledger off Ir/req" "ledger on Ir/req"
for b in "${BINS[@]}"; do
  printf '%-50s %8s %18s %18s\n' "$b" "$CONNS" "$(one "$b" 1)" "$(one "$b" 0)"
done
