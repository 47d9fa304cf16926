#!/usr/bin/env bash
# Formats the C++ sources (src/, include/, tests/, bench/) with clang-format 14 and .clang-format.
#   scripts/format.sh            rewrite the files in place
#   scripts/format.sh --check    change nothing; list the files that differ and exit 1 if any do
# The versioned binary is called on purpose: another clang-format release formats differently.
# It comes with `scripts/install-deps.sh --test` (Debian package clang-format-14).
set -euo pipefail
cd "$(dirname "$0")/.."

CHECK=0
for a in "$@"; do
  case "$a" in
    --check) CHECK=1 ;;
    *) echo "usage: $0 [--check]" >&2; exit 2 ;;
  esac
done

CLANG_FORMAT="${CLANG_FORMAT:-clang-format-14}"
if ! command -v "$CLANG_FORMAT" >/dev/null; then
  echo "format: $CLANG_FORMAT not found; install it with scripts/install-deps.sh --test" >&2
  exit 2
fi

# Tracked files plus new ones not yet added (not ignored ones such as build output); outside a
# git checkout, every C++ file under those folders.
if git rev-parse --is-inside-work-tree >/dev/null 2>&1; then
  mapfile -t files < <(git ls-files --cached --others --exclude-standard -- \
    'src/*.cpp' 'src/*.hpp' 'include/*.hpp' 'tests/*.cpp' 'tests/*.hpp' 'bench/*.cpp' 'bench/*.hpp' |
    grep -v '/node_modules/' | sort -u)
else
  mapfile -t files < <(find src include tests bench -name node_modules -prune -o \
    -type f \( -name '*.cpp' -o -name '*.hpp' \) -print | sort)
fi
existing=()
for f in "${files[@]}"; do [ -f "$f" ] && existing+=("$f"); done
[ ${#existing[@]} -gt 0 ] || { echo "format: no C++ files found" >&2; exit 2; }

if [ "$CHECK" = 0 ]; then
  printf '%s\0' "${existing[@]}" | xargs -0 -n 32 -P 2 "$CLANG_FORMAT" -i --style=file
  exit 0
fi

# --dry-run --Werror prints "<file>:<line>:<col>: error: code should be clang-formatted" per
# difference (exit 1); keep one line per file. Any other failure (a broken .clang-format, an
# unreadable file) is shown as it is.
rc=0
out=$(printf '%s\0' "${existing[@]}" | xargs -0 "$CLANG_FORMAT" --dry-run --Werror --ferror-limit=1 --style=file 2>&1) || rc=$?
bad=$(sed -n 's/^\(.*\):[0-9]*:[0-9]*: error: code should be clang-formatted.*/\1/p' <<<"$out" | sort -u)
if [ "$rc" != 0 ] && [ -z "$bad" ]; then
  echo "$out" >&2
  echo "format: $CLANG_FORMAT failed (exit $rc)" >&2
  exit 2
fi
if [ -n "$bad" ]; then
  echo "format: these files are not formatted as .clang-format says ($(echo "$bad" | wc -l) files):" >&2
  echo "$bad" | sed 's/^/  /' >&2
  echo "format: run scripts/format.sh to fix them (it rewrites them in place), then commit." >&2
  exit 1
fi
echo "format: ${#existing[@]} files formatted as .clang-format says"
