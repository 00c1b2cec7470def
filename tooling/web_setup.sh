#!/usr/bin/env bash
# Installs everything the web app needs on a fresh machine, and nothing twice: Debian's Chromium (browser tests),
# the web app's own Python environment .venv-web (Reflex cannot share .venv with Ape), bun for Reflex's build, and
# the browser bundles it serves from node_modules (webapp/assets/vendor/).
# Usage: tooling/web_setup.sh [--venv-only | --no-browser]   (from anywhere; `make` calls it; --venv-only: just
# .venv-web; --no-browser: everything but Chromium, which only the browser tests need: `make up` never runs apt)
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
PYTHON="${PYTHON:-python3}"
UV_VERSION="0.13.8"
VENV=".venv-web"
BUN_DIR="tooling/web"

say() { printf '== web setup: %s\n' "$*"; }

command -v uv >/dev/null || "$PYTHON" -m pip install -q "uv==$UV_VERSION"

# The stamp is newer than every input once an install has finished; a changed pin re-syncs.
if [[ ! -f "$VENV/.installed" || requirements/web.txt -nt "$VENV/.installed" || pyproject.toml -nt "$VENV/.installed" ]]; then
  say "syncing $VENV from requirements/web.txt"
  [[ -x "$VENV/bin/python" ]] || uv venv -q --python "$PYTHON" "$VENV"
  VIRTUAL_ENV="$VENV" uv pip sync -q requirements/web.txt
  # The app imports mediaproof's settings and errors (pure, pydantic only); no dependencies, they are Ape's.
  VIRTUAL_ENV="$VENV" uv pip install -q --no-deps -e .
  touch "$VENV/.installed"
fi

# `make lint` type-checks webapp/ against this environment and needs nothing else.
if [[ "${1:-}" == "--venv-only" ]]; then
  say "ready ($VENV)"
  exit 0
fi

# The web app's browser bundles come from node_modules (package.json pins them; `make install` fetches them) into
# webapp/assets/vendor/ (gitignored), which Reflex serves at /vendor/.
VENDOR="webapp/assets/vendor"
TUS_BUNDLE="node_modules/tus-js-client/dist/tus.min.js"
[[ -f "$TUS_BUNDLE" ]] || { echo "$TUS_BUNDLE is missing: run 'make install' first" >&2; exit 1; }
if [[ ! -f "$VENDOR/tus.min.js" || "$TUS_BUNDLE" -nt "$VENDOR/tus.min.js" ]]; then
  mkdir -p "$VENDOR"
  cp "$TUS_BUNDLE" "$VENDOR/tus.min.js"
fi

# Chromium from Debian: Playwright's own browser download needs the internet (never `playwright install`).
if [[ "${1:-}" != "--no-browser" && ! -x /usr/bin/chromium ]]; then
  say "installing Debian chromium"
  SUDO=""
  if [[ $(id -u) -ne 0 ]]; then
    command -v sudo >/dev/null || { echo "chromium is missing: run 'apt-get install -y chromium' as root" >&2; exit 1; }
    SUDO="sudo"
  fi
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq chromium >/dev/null
fi

# bun from npm, because Reflex's own download of it needs the internet. --ignore-scripts skips bun's
# postinstall (another download); the platform package already holds the binary.
case "$(uname -m)" in
  x86_64) BUN_PLATFORM="bun-linux-x64" ;;
  aarch64 | arm64) BUN_PLATFORM="bun-linux-aarch64" ;;
  *) echo "no bun build for $(uname -m)" >&2; exit 1 ;;
esac
BUN="$BUN_DIR/node_modules/@oven/$BUN_PLATFORM/bin/bun"
if [[ ! -x "$BUN" || "$BUN_DIR/package-lock.json" -nt "$BUN" ]]; then
  say "installing bun into $BUN_DIR/node_modules"
  (cd "$BUN_DIR" && npm install --ignore-scripts --no-audit --no-fund --loglevel=error)
  touch "$BUN"
fi
"$BUN" --version >/dev/null
say "ready (.venv-web, $BUN)"
