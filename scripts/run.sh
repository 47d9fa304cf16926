#!/usr/bin/env bash
# One command from a fresh Debian 12 machine to a running gateway on 127.0.0.1:4000 with the
# demo config (built-in mock provider: no provider account needed).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
LLMGATE_BUILD_TESTS="${LLMGATE_BUILD_TESTS:-OFF}" scripts/build.sh Release -DLLMGATE_BUILD_TESTS="${LLMGATE_BUILD_TESTS:-OFF}"
exec ./build/llmgate --config "${LLMGATE_CONFIG:-config/demo.yaml}" --host 127.0.0.1 --port "${PORT:-4000}" "$@"
