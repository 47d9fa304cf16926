#!/usr/bin/env bash
# Installs what llmgate needs on Debian 12 (as root, or with sudo). Idempotent and quick when
# everything is already there. Shared by the README's commands and the Dockerfile build stage.
#   scripts/install-deps.sh            build dependencies
#   scripts/install-deps.sh --test     + test/bench tools (Node packages, chromium, nginx, wrk,
#                                        clang and libFuzzer for scripts/fuzz.sh, clang-format-14
#                                        and clang-tidy-14 for scripts/format.sh and scripts/tidy.sh)
set -euo pipefail
cd "$(dirname "$0")/.."

WANT_TEST=0
for a in "$@"; do
  case "$a" in
    --test) WANT_TEST=1 ;;
    *) echo "usage: $0 [--test]" >&2; exit 2 ;;
  esac
done

BUILD_PKGS=(build-essential cmake ninja-build ccache pkg-config git ca-certificates
  libboost1.81-dev libboost-system1.81-dev nlohmann-json3-dev libyaml-cpp-dev libsqlitecpp-dev
  libsqlite3-dev libspdlog-dev libfmt-dev prometheus-cpp-dev libssl-dev zlib1g-dev nodejs npm)
TEST_PKGS=(libgtest-dev libgmock-dev libbenchmark-dev chromium sqlite3 curl openssl
  nginx-light wrk procps clang-14 libclang-rt-14-dev clang-format-14 clang-tidy-14)

pkgs=("${BUILD_PKGS[@]}")
[ "$WANT_TEST" = 1 ] && pkgs+=("${TEST_PKGS[@]}")

missing=()
for p in "${pkgs[@]}"; do
  # node/npm may come from outside Debian (preinstalled): accept the commands.
  if [ "$p" = nodejs ] && command -v node >/dev/null; then continue; fi
  if [ "$p" = npm ] && command -v npm >/dev/null; then continue; fi
  [[ "$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null)" == *"install ok installed"* ]] || missing+=("$p")
done

SUDO=""
[ "$(id -u)" = 0 ] || SUDO="sudo"
if [ ${#missing[@]} -gt 0 ]; then
  echo "==> installing: ${missing[*]}"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

# Node packages (lockfiles committed): the dashboard's chart library is bundled into the binary
# at build time; the test suites use the openai SDK, playwright-core and schema validators.
npm_dirs=(ui)
[ "$WANT_TEST" = 1 ] && npm_dirs+=(tests/e2e tests/deploy)
for d in "${npm_dirs[@]}"; do
  if [ -f "$d/package-lock.json" ] && { [ ! -d "$d/node_modules" ] || [ "$d/package-lock.json" -nt "$d/node_modules" ]; }; then
    echo "==> npm ci in $d"
    (cd "$d" && npm ci --no-audit --no-fund --loglevel=error)
    touch "$d/node_modules"
  fi
done
