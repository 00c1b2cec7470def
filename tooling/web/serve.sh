#!/usr/bin/env bash
# Serves the web app in prod mode, front and back end on one port: tooling/web/serve.sh [PORT]
# (default MEDIAPROOF_WEBAPP_PORT, else 3000), against the running system (`make up`: indexer, upload, download).
# MEDIAPROOF_* variables (RPC URL, deployment file) pass through to the app's settings.
# Run tooling/web_setup.sh first. exec, so whoever started this can stop the server by this process's id.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
PORT="${1:-${MEDIAPROOF_WEBAPP_PORT:-3000}}"
case "$(uname -m)" in
  aarch64 | arm64) BUN_PLATFORM="bun-linux-aarch64" ;;
  *) BUN_PLATFORM="bun-linux-x64" ;;
esac
export REFLEX_BUN_PATH="$ROOT/tooling/web/node_modules/@oven/$BUN_PLATFORM/bin/bun"
export REFLEX_TELEMETRY_ENABLED=false
export REFLEX_CHECK_LATEST_VERSION=false
export PATH="$ROOT/.venv-web/bin:$PATH"
cd "$ROOT/webapp"
exec "$ROOT/.venv-web/bin/reflex" run --env prod --frontend-port "$PORT" --backend-host 127.0.0.1
