#!/usr/bin/env bash
# The benchmark suite in one command (`make bench`): installs what it needs, builds llmgate
# (Release) and the ledger writer bench, installs Portkey's gateway from the lockfile, then runs
# bench/harness.mjs, which writes bench/results/{latest.json,latest.md,*.png}. Not a test: it
# never gates CI.
#
#   bench/run.sh                 full run (about 12-15 minutes)
#   bench/run.sh --quick         a short development run (about 2 minutes)
#   bench/run.sh --soak-s 600    the documented 10-minute memory soak
#   bench/run.sh --sizing        only the sizing table of docs/operations.md (about 2 minutes)
# Any option is passed to bench/harness.mjs (see its header). Environment:
#   BUILD_DIR (default build-bench), GW_CPU / LOAD_CPU (cores for the gateways and for the load
#   generators + mock; defaults 1 and 0), BENCH_NICE (default -10: the benchmark processes get a
#   higher CPU priority than background work on a shared machine; 0 to disable),
#   SKIP_INSTALL=1, SKIP_BUILD=1.
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD_DIR=${BUILD_DIR:-build-bench}
BENCH_NICE=${BENCH_NICE:--10}

need_apt=()
command -v nginx >/dev/null || need_apt+=(nginx-light)
[ -f /usr/lib/nginx/modules/ngx_http_echo_module.so ] || need_apt+=(libnginx-mod-http-echo)
command -v wrk >/dev/null || need_apt+=(wrk)
command -v gnuplot >/dev/null || need_apt+=(gnuplot-nox)
command -v sqlite3 >/dev/null || need_apt+=(sqlite3)
command -v perf >/dev/null || need_apt+=(linux-perf)
command -v taskset >/dev/null || need_apt+=(util-linux)
command -v cmake >/dev/null || need_apt+=(cmake)
command -v ninja >/dev/null || need_apt+=(ninja-build)
if [ "${SKIP_INSTALL:-0}" != 1 ] && [ ${#need_apt[@]} -gt 0 ]; then
  echo "bench: apt-get install ${need_apt[*]}"
  SUDO=""; [ "$(id -u)" = 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${need_apt[@]}" >/dev/null
  # nginx-light's package starts a system nginx on port 80; the benchmark does not need it.
  $SUDO systemctl stop nginx 2>/dev/null || $SUDO service nginx stop 2>/dev/null || true
fi

if [ "${SKIP_BUILD:-0}" != 1 ]; then
  blog="$BUILD_DIR/bench-build.log"
  echo "bench: building llmgate (Release) in $BUILD_DIR (log: $blog)"
  mkdir -p "$BUILD_DIR"
  cmake -S . -B "$BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE=Release -DLLMGATE_BUILD_BENCH=ON >"$blog" 2>&1 || { tail -40 "$blog"; exit 1; }
  cmake --build "$BUILD_DIR" --target llmgate -j"$(nproc)" >>"$blog" 2>&1 || { tail -40 "$blog"; exit 1; }
  cmake --build "$BUILD_DIR" --target llmgate_ledger_bench -j"$(nproc)" >>"$blog" 2>&1 || echo "bench: ledger bench not built (writer figure skipped)"
fi
[ -x "$BUILD_DIR/llmgate" ] || { echo "bench: $BUILD_DIR/llmgate missing" >&2; exit 1; }

if [ ! -d bench/portkey/node_modules/@portkey-ai/gateway ] || [ bench/portkey/package-lock.json -nt bench/portkey/node_modules ]; then
  (cd bench/portkey && npm ci --no-audit --no-fund --loglevel=error)
fi

# 1,000 streams need about 2,000 descriptors in the gateway and the mock; the sizing run's
# 10,000 about 20,000 (raising the hard limit needs root; otherwise that row shows errors).
ulimit -Hn 65536 2>/dev/null || true
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
echo "bench: $(uptime)"
prio=()
if [ "$BENCH_NICE" != 0 ] && nice -n "$BENCH_NICE" true 2>/dev/null; then prio=(nice -n "$BENCH_NICE"); fi
pin=()
if [ "$(nproc)" -gt 1 ]; then pin=(taskset -c "${LOAD_CPU:-0}"); fi
export LLMGATE_BIN="$PWD/$BUILD_DIR/llmgate" LEDGER_BENCH="$PWD/$BUILD_DIR/bench/llmgate_ledger_bench" BENCH_NICE
exec "${prio[@]}" "${pin[@]}" node bench/harness.mjs "$@"
