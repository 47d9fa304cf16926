#!/usr/bin/env bash
# Start/stop/inspect a local gateway: the Docker Compose stack when a Docker engine answers,
# else the binary built in ./build as a background process (pid and log under .run/).
#   scripts/gatewayctl.sh start|stop|restart|status|health|logs
# Env: MODE=auto|compose|local (default auto), ENV_FILE (default .env),
#      LLMGATE_CONFIG (local mode, default config/demo.yaml), LLMGATE_PORT (default 4000),
#      LLMGATE_BIN (local mode, default build/llmgate), LLMGATE_RUN_DIR (pid + log, default .run),
#      FOLLOW=0 (logs without following).
set -euo pipefail
cd "$(dirname "$0")/.."

CMD="${1:-status}"
ENV_FILE="${ENV_FILE:-.env}"
COMPOSE_FILE=deploy/compose/docker-compose.yml
RUN_DIR="${LLMGATE_RUN_DIR:-.run}"
PID_FILE="$RUN_DIR/llmgate.pid"
LOG_FILE="$RUN_DIR/llmgate.log"
PORT="${LLMGATE_PORT:-4000}"
BASE="${LLMGATE_BASE_URL:-http://127.0.0.1:$PORT}"
KEY="${LLMGATE_API_KEY:-sk-llmgate-demo}"
BIN="${LLMGATE_BIN:-build/llmgate}"
CONFIG="${LLMGATE_CONFIG:-config/demo.yaml}"

MODE="${MODE:-auto}"
if [ "$MODE" = auto ]; then
  if command -v docker >/dev/null 2>&1 && docker info >/dev/null 2>&1; then MODE=compose; else MODE=local; fi
fi

compose() {
  local env_args=()
  [ -f "$ENV_FILE" ] && env_args=(--env-file "$ENV_FILE")
  docker compose -f "$COMPOSE_FILE" "${env_args[@]}" "$@"
}

pid_alive() { [ -f "$PID_FILE" ] && kill -0 "$(cat "$PID_FILE")" 2>/dev/null; }

http_code() { curl -s -o /dev/null -w '%{http_code}' --max-time 3 "$@" || true; }

wait_live() {  # polls liveness for up to $1 seconds
  local deadline=$((SECONDS + $1))
  while [ $SECONDS -lt $deadline ]; do
    [ "$(http_code "$BASE/health/liveliness")" = 200 ] && return 0
    if [ "$MODE" = local ] && ! pid_alive; then return 1; fi
    sleep 0.2
  done
  return 1
}

case "$MODE:$CMD" in
  compose:start)   compose up -d --build; wait_live 60 && echo "gateway up: $BASE/ui  (Grafana http://localhost:${GRAFANA_PORT:-3000}, Prometheus http://localhost:${PROMETHEUS_PORT:-9090})" ;;
  compose:stop)    compose down ;;
  compose:status)  compose ps ;;
  compose:logs)    if [ "${FOLLOW:-1}" = 1 ]; then compose logs -f --tail=200 llmgate; else compose logs --tail=200 llmgate; fi ;;
  local:start)
    if pid_alive; then echo "already running (pid $(cat "$PID_FILE")) on $BASE"; exit 0; fi
    [ -x "$BIN" ] || { echo "no $BIN: build it first (scripts/build.sh Release, or make build)" >&2; exit 1; }
    mkdir -p "$RUN_DIR"
    # The config's relative database path (sqlite:///data/llmgate.db) resolves from here.
    nohup "$BIN" --config "$CONFIG" --host 127.0.0.1 --port "$PORT" >> "$LOG_FILE" 2>&1 &
    echo $! > "$PID_FILE"
    if wait_live 20; then
      echo "gateway up: $BASE/ui  (pid $(cat "$PID_FILE"), log $LOG_FILE, config $CONFIG)"
    else
      echo "gateway did not come up; last log lines:" >&2; tail -n 30 "$LOG_FILE" >&2; exit 1
    fi ;;
  local:stop)
    if ! pid_alive; then echo "not running"; rm -f "$PID_FILE"; exit 0; fi
    pid="$(cat "$PID_FILE")"
    kill -TERM "$pid"
    echo "SIGTERM sent to $pid: draining (readiness 503), then finishing in-flight requests..."
    for _ in $(seq 1 450); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    if kill -0 "$pid" 2>/dev/null; then echo "still running after 45 s: SIGKILL"; kill -KILL "$pid"; fi
    rm -f "$PID_FILE"; echo "stopped" ;;
  local:status)
    if pid_alive; then
      echo "running: pid $(cat "$PID_FILE"), $BASE, readiness $(http_code "$BASE/health/readiness")"
    else
      echo "not running (local mode; start with: make start)"; exit 3
    fi ;;
  local:logs)
    [ -f "$LOG_FILE" ] || { echo "no log yet ($LOG_FILE)"; exit 0; }
    if [ "${FOLLOW:-1}" = 1 ]; then tail -n 200 -f "$LOG_FILE"; else tail -n 200 "$LOG_FILE"; fi ;;
  *:restart) "$0" stop; "$0" start ;;
  *:health)
    rc=0
    for p in /health/liveliness /health/readiness; do
      c="$(http_code "$BASE$p")"; printf '%-22s %s\n' "$p" "$c"; [ "$c" = 200 ] || rc=1
    done
    printf '%-22s ' /health
    tmp="$(mktemp)"; trap 'rm -f "$tmp"' EXIT
    printf 'header = "Authorization: Bearer %s"\n' "$KEY" > "$tmp"
    c="$(curl -s -o "$tmp.body" -w '%{http_code}' --max-time 30 -K "$tmp" "$BASE/health" || true)"
    echo "$c"; [ -s "$tmp.body" ] && { head -c 2000 "$tmp.body"; echo; }; rm -f "$tmp.body"
    [ "$c" = 200 ] || rc=1
    exit $rc ;;
  *) echo "usage: $0 start|stop|restart|status|health|logs   (MODE=$MODE)" >&2; exit 2 ;;
esac
