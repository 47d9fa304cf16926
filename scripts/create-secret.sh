#!/usr/bin/env bash
# Creates (or updates) the Secret the gateway Deployment reads, from .env:
#   LLM_API_BASE, LLM_API_KEY, LLM_MODEL, PROXY_MASTER_KEY   (required, non-empty)
# Usage: scripts/create-secret.sh [ENV_FILE] [-n NAMESPACE] [--dry-run]
#   ENV_FILE     default .env (see .env.template)
#   -n           namespace (default: $NAMESPACE from the env file, else the current context's)
#   --dry-run    print the Secret manifest (values base64-encoded) instead of applying it
# Uses `oc` when present, else `kubectl` (override with KUBECTL=...). Values never reach the
# command line (no `ps` leak): they go through a temporary file removed on exit.
set -euo pipefail
cd "$(dirname "$0")/.."

ENV_FILE=.env
NS=""
DRY=0
while [ $# -gt 0 ]; do
  case "$1" in
    -n|--namespace) NS="$2"; shift 2 ;;
    --dry-run) DRY=1; shift ;;
    -h|--help) sed -n '2,9p' "$0"; exit 0 ;;
    -*) echo "unknown option: $1" >&2; exit 2 ;;
    *) ENV_FILE="$1"; shift ;;
  esac
done
[ -f "$ENV_FILE" ] || { echo "error: $ENV_FILE not found (cp .env.template .env and fill it in)" >&2; exit 1; }

# Read KEY=VALUE lines without executing the file (no `source`): comments and blanks skipped,
# surrounding quotes removed.
declare -A kv
while IFS= read -r line || [ -n "$line" ]; do
  line="${line%$'\r'}"
  [[ "$line" =~ ^[[:space:]]*(#|$) ]] && continue
  [[ "$line" =~ ^[[:space:]]*(export[[:space:]]+)?([A-Za-z_][A-Za-z0-9_]*)=(.*)$ ]] || continue
  k="${BASH_REMATCH[2]}"; v="${BASH_REMATCH[3]}"
  if [[ "$v" =~ ^\"(.*)\"$ ]] || [[ "$v" =~ ^\'(.*)\'$ ]]; then v="${BASH_REMATCH[1]}"; fi
  kv["$k"]="$v"
done < "$ENV_FILE"

REQUIRED=(LLM_API_BASE LLM_API_KEY LLM_MODEL PROXY_MASTER_KEY)
missing=()
for k in "${REQUIRED[@]}"; do
  v="${kv[$k]:-}"
  if [ -z "$v" ] || [[ "$v" == *REPLACE* ]]; then missing+=("$k"); fi
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "error: set these in $ENV_FILE: ${missing[*]}" >&2
  exit 1
fi
if [[ "${kv[PROXY_MASTER_KEY]}" != sk-* ]]; then
  echo "error: PROXY_MASTER_KEY must start with sk- (LiteLLM convention)" >&2
  exit 1
fi

NAME="${kv[SECRET_NAME]:-llmgate-secrets}"
[ -n "$NS" ] || NS="${kv[NAMESPACE]:-}"
if [ -z "${KUBECTL:-}" ]; then
  if command -v oc >/dev/null 2>&1; then KUBECTL=oc; else KUBECTL=kubectl; fi
fi
NS_ARGS=()
[ -n "$NS" ] && NS_ARGS=(-n "$NS")

tmp="$(mktemp)"
trap 'rm -f "$tmp"' EXIT
chmod 600 "$tmp"
for k in "${REQUIRED[@]}"; do printf '%s=%s\n' "$k" "${kv[$k]}" >> "$tmp"; done

# create --dry-run=client -o yaml | apply: creates or updates, idempotent.
manifest="$("$KUBECTL" create secret generic "$NAME" "${NS_ARGS[@]}" --from-env-file="$tmp" \
  --dry-run=client -o yaml)"
manifest="$(printf '%s\n' "$manifest" | sed '/^metadata:/a\  labels:\n    app.kubernetes.io/name: llmgate')"
if [ "$DRY" = 1 ]; then
  printf '%s\n' "$manifest"
  exit 0
fi
printf '%s\n' "$manifest" | "$KUBECTL" apply "${NS_ARGS[@]}" -f -
echo "secret/$NAME ready${NS:+ in namespace $NS} (keys: ${REQUIRED[*]})"
echo "restart the gateway to pick up changed values: $KUBECTL rollout restart deployment/llmgate ${NS_ARGS[*]}"
