#!/usr/bin/env bash
# Builds the libFuzzer targets (tests/fuzz) with clang into ./build-fuzz and runs each one:
# first over its committed seed corpus (a regression check), then for a fixed time. Any finding
# (crash, sanitizer report, leak, timeout, a violated property) fails the script; libFuzzer
# writes the input to build-fuzz/findings/<target>/.
#   scripts/fuzz.sh                      every target, 12 s each (what CI runs)
#   scripts/fuzz.sh --seconds 600        a longer run
#   scripts/fuzz.sh --seconds 60 sse_parser config_yaml   some targets only
#   scripts/fuzz.sh --corpus-only        the seed corpora only (no fuzzing)
# New inputs found are kept in build-fuzz/corpus/<target>/ (not committed); copy an interesting
# one into tests/fuzz/corpus/<target>/ to keep it.
set -euo pipefail
cd "$(dirname "$0")/.."

SECONDS_PER_TARGET=12
CORPUS_ONLY=0
TARGETS=()
while [ $# -gt 0 ]; do
  case "$1" in
    --seconds) SECONDS_PER_TARGET="$2"; shift 2 ;;
    --seconds=*) SECONDS_PER_TARGET="${1#*=}"; shift ;;
    --corpus-only) CORPUS_ONLY=1; shift ;;
    -h|--help) sed -n '2,12p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    -*) echo "usage: $0 [--seconds N] [--corpus-only] [target...]" >&2; exit 2 ;;
    *) TARGETS+=("$1"); shift ;;
  esac
done

BUILD_DIR="${FUZZ_BUILD_DIR:-build-fuzz}"
JOBS="${JOBS:-$(nproc)}"
CXX_BIN="$(command -v clang++-14 || command -v clang++ || true)"
CC_BIN="$(command -v clang-14 || command -v clang || true)"
if [ -z "$CXX_BIN" ]; then
  echo "fuzz: clang++ not found (scripts/install-deps.sh --test installs it)" >&2
  exit 1
fi

echo "==> building the fuzz targets in $BUILD_DIR"
# Debug: assertions (the JSON library's included) stay on; the option adds -O1.
CC="$CC_BIN" CXX="$CXX_BIN" cmake -S . -B "$BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE=Debug \
  -DLLMGATE_BUILD_FUZZ=ON >/dev/null
cmake --build "$BUILD_DIR" -j "$JOBS"

if [ ${#TARGETS[@]} -eq 0 ]; then
  read -r -a TARGETS <<<"$(tr ';' ' ' <"$BUILD_DIR/fuzz_targets.txt")"
fi

# halt_on_error: the first report ends the run with a non-zero status (libFuzzer saves the input).
export ASAN_OPTIONS="${ASAN_OPTIONS:-halt_on_error=1:detect_leaks=1:abort_on_error=1}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1}"

failed=()
for t in "${TARGETS[@]}"; do
  bin="$BUILD_DIR/tests/fuzz/fuzz_$t"
  seeds="tests/fuzz/corpus/$t"
  if [ ! -x "$bin" ] || [ ! -d "$seeds" ]; then
    echo "fuzz: unknown target '$t' (no $bin or $seeds)" >&2
    exit 2
  fi
  work="$BUILD_DIR/corpus/$t"
  findings="$BUILD_DIR/findings/$t"
  mkdir -p "$work" "$findings"
  log="$BUILD_DIR/fuzz-$t.log"
  # -timeout: an input that takes this long is a finding; -rss_limit_mb: so is a memory blow-up.
  common=(-timeout=10 -rss_limit_mb=2048 -artifact_prefix="$findings/" -print_final_stats=0)
  echo "==> $t: seed corpus"
  if ! "$bin" "${common[@]}" -runs=0 "$seeds" >"$log" 2>&1; then
    tail -n 40 "$log" >&2
    failed+=("$t (seed corpus)")
    continue
  fi
  [ "$CORPUS_ONLY" = 1 ] && continue
  echo "==> $t: fuzzing for ${SECONDS_PER_TARGET}s"
  # New inputs go to $work; the committed seeds are read, never written.
  if ! "$bin" "${common[@]}" -max_total_time="$SECONDS_PER_TARGET" "$work" "$seeds" >>"$log" 2>&1; then
    tail -n 60 "$log" >&2
    failed+=("$t")
    continue
  fi
  grep -E '^#[0-9]+.*(DONE|pulse)' "$log" | tail -n 1 || true
done

if [ ${#failed[@]} -gt 0 ]; then
  echo "fuzz: FAILED: ${failed[*]} (inputs in $BUILD_DIR/findings/; logs in $BUILD_DIR/fuzz-<target>.log)" >&2
  exit 1
fi
echo "fuzz: ${#TARGETS[@]} target(s) passed"
