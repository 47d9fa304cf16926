#!/bin/bash
# Container HEALTHCHECK for llmgate: GET /health/liveliness on the loopback port, no curl needed
# (bash's /dev/tcp keeps the runtime image free of curl and its ~6 MB of libraries).
# Exit 0 when the daemon answers "HTTP/1.x 200", 1 otherwise. The liveness endpoint does no
# upstream or database work, so this never spends tokens.
#   LLMGATE_HEALTHCHECK_PORT  port the daemon listens on (default 4000)
#   LLMGATE_HEALTHCHECK_HOST  default 127.0.0.1
set -u
host="${LLMGATE_HEALTHCHECK_HOST:-127.0.0.1}"
port="${LLMGATE_HEALTHCHECK_PORT:-4000}"
exec 3<>"/dev/tcp/${host}/${port}" || exit 1
printf 'GET /health/liveliness HTTP/1.0\r\nHost: %s\r\nConnection: close\r\n\r\n' "$host" >&3 || exit 1
IFS= read -r -t 3 status <&3 || exit 1
exec 3<&- 3>&-
case "$status" in
  "HTTP/1."?" 200"*) exit 0 ;;
  *) echo "unhealthy: ${status%$'\r'}" >&2; exit 1 ;;
esac
