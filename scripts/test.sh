#!/usr/bin/env bash
# One command that installs what is missing, checks the formatting (scripts/format.sh --check),
# builds everything and runs the whole test suite (unit, integration, end-to-end with the openai
# SDK, browser), then the fuzz targets for a short fixed time (scripts/fuzz.sh). Used by .ci/run.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh --test
if ! scripts/format.sh --check; then
  echo "test: formatting differs from .clang-format: run scripts/format.sh and commit the result" >&2
  exit 1
fi
scripts/build.sh Release -DLLMGATE_BUILD_TESTS=ON
ctest --test-dir build --no-tests=error --output-on-failure --timeout 600 -j 2 "$@"
scripts/fuzz.sh
