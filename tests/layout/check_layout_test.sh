#!/usr/bin/env bash
# scripts/check-layout.sh on small made-up trees: it passes a clean one and fails a long file
# and an include loop between folders (ctest: layout.check_self_test).
set -euo pipefail
CHECK="$(cd "$(dirname "$0")/../.." && pwd)/scripts/check-layout.sh"
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
fail() { echo "FAIL: $*"; exit 1; }
export LAYOUT_KNOWN_LONG=""

mkdir -p "$T/src/a" "$T/src/b" "$T/src/c"
printf '#include "b/b.hpp"\n#include "llmgate/x.hpp"\n' > "$T/src/a/a.cpp"
printf '#include "c/c.hpp"\n' > "$T/src/b/b.hpp"
printf '#include "c/other.hpp"\n' > "$T/src/c/c.hpp"
"$CHECK" "$T" > "$T/out" || fail "a clean tree was refused: $(cat "$T/out")"

seq 601 > "$T/src/c/long.cpp"
if "$CHECK" "$T" > "$T/out"; then fail "a 601-line file passed"; fi
grep -q 'src/c/long.cpp has 601 lines' "$T/out" || fail "the long file is not named: $(cat "$T/out")"
LAYOUT_KNOWN_LONG="src/c/long.cpp" "$CHECK" "$T" > "$T/out" || fail "a known long file was refused: $(cat "$T/out")"
rm "$T/src/c/long.cpp"
if LAYOUT_KNOWN_LONG="src/c/long.cpp" "$CHECK" "$T" > "$T/out"; then fail "a stale known exception passed"; fi

printf '  #include "a/a.hpp"\n' >> "$T/src/c/c.hpp"
if "$CHECK" "$T" > "$T/out"; then fail "a loop a -> b -> c -> a passed"; fi
grep -q 'c -> a   (src/c/c.hpp)' "$T/out" || fail "the loop's include is not named: $(cat "$T/out")"
echo "check-layout self-test OK"
