#!/usr/bin/env bash
# Configures and builds llmgate into ./build (Release by default, ccache when present).
#   scripts/build.sh [Release|Debug|RelWithDebInfo] [extra cmake args...]
set -euo pipefail
cd "$(dirname "$0")/.."
TYPE="${1:-Release}"; shift || true
BUILD_DIR="${BUILD_DIR:-build}"
JOBS="${JOBS:-$(nproc)}"
cmake -S . -B "$BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE="$TYPE" "$@" >/dev/null
cmake --build "$BUILD_DIR" -j "$JOBS"
