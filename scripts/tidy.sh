#!/usr/bin/env bash
# Runs clang-tidy 14 with .clang-tidy over the sources in src/ (or the files named), using the
# compile database of a build (scripts/build.sh writes build/compile_commands.json). Any finding
# fails the run; the full output is kept in build/clang-tidy.log.
#   scripts/tidy.sh                      every src/ file (about 7.5 min of CPU in all)
#   scripts/tidy.sh src/core/json_scan.cpp ...
#   JOBS=4 scripts/tidy.sh               files checked in parallel (default: nproc)
# Not part of scripts/test.sh because of its run time; run it before sending a change that
# touches src/. The versioned binary is called on purpose (Debian package clang-tidy-14, from
# scripts/install-deps.sh --test).
set -euo pipefail
cd "$(dirname "$0")/.."

CLANG_TIDY="${CLANG_TIDY:-clang-tidy-14}"
BUILD_DIR="${BUILD_DIR:-build}"
JOBS="${JOBS:-$(nproc)}"
if ! command -v "$CLANG_TIDY" >/dev/null; then
  echo "tidy: $CLANG_TIDY not found; install it with scripts/install-deps.sh --test" >&2
  exit 2
fi
if [ ! -f "$BUILD_DIR/compile_commands.json" ]; then
  echo "tidy: no $BUILD_DIR/compile_commands.json; build first: scripts/build.sh Release" >&2
  exit 2
fi

if [ $# -gt 0 ]; then
  files=("$@")
else
  mapfile -t files < <(cd src && find . -name '*.cpp' | sed 's|^\./|src/|' | sort)
fi

log="$BUILD_DIR/clang-tidy.log"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
echo "tidy: checking ${#files[@]} files with $JOBS jobs (output in $log)"
start=$(date +%s)
rc=0
# One process per file, each writing its own output file; --quiet drops the "N warnings
# generated" lines about system headers.
for i in "${!files[@]}"; do printf '%s\0%s\0' "$i" "${files[$i]}"; done |
  xargs -0 -n 2 -P "$JOBS" sh -c '"$0" -p "$1" --quiet --warnings-as-errors="*" "$4" >"$2/$3.log" 2>&1' \
    "$CLANG_TIDY" "$BUILD_DIR" "$tmp" || rc=$?
for i in "${!files[@]}"; do cat "$tmp/$i.log"; done >"$log"
echo "tidy: done in $(( $(date +%s) - start )) s"
if [ "$rc" != 0 ]; then
  grep -E ': (warning|error): ' "$log" | sort -u >&2 || true
  echo "tidy: findings above (details in $log)" >&2
  exit 1
fi
echo "tidy: no findings"
