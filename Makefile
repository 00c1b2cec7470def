# One command surface. `make up` starts the local system, `make test` runs every test; both install what is
# missing first (Python venv with pinned packages, npm packages, the solc shim), so a fresh machine works.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
SOLC_VERSION := 0.8.28
# py-solc-x looks for solc-v<version> here; inside the checkout, so two clones never point at each other's shim.
export SOLCX_BINARY_PATH := $(CURDIR)/.cache/solcx
UV_VERSION := 0.13.8

.PHONY: install postgres web-install web-app web-venv up test test-unit test-fast test-e2e lint fmt bench lock lock-web compile clean-data

install: $(VENV)/.installed node_modules/.installed $(SOLCX_BINARY_PATH)/solc-v$(SOLC_VERSION)

# uv resolves and installs in seconds where pip takes ~80 s; it lives outside the venv so `sync` keeps the venv exact.
$(VENV)/.installed: requirements/ape.txt pyproject.toml
	@command -v uv >/dev/null || $(PYTHON) -m pip install -q "uv==$(UV_VERSION)"
	@[ -x $(PY) ] || uv venv -q --python $(PYTHON) $(VENV)
	VIRTUAL_ENV=$(VENV) uv pip sync -q requirements/ape.txt
	VIRTUAL_ENV=$(VENV) uv pip install -q --no-deps -e .
	@touch $@

# `npm install` with exact pins and the lock (npm ci fails: the registry copy lacks other platforms' optional packages).
node_modules/.installed: package.json package-lock.json
	npm install --no-audit --no-fund --loglevel=error
	@touch $@

# No native solc is reachable: a symlink to our Node wrapper around the wasm compiler (npm `solc`). A symlink, not a
# copy, so the wrapper finds node_modules/solc next to its real path.
$(SOLCX_BINARY_PATH)/solc-v$(SOLC_VERSION): tooling/solc.js node_modules/.installed
	@mkdir -p $(SOLCX_BINARY_PATH)
	@chmod +x tooling/solc.js
	ln -sfn $(CURDIR)/tooling/solc.js $@

compile: install
	$(VENV)/bin/ape compile

# `make up` needs no browser (and no apt): only the browser tests install Chromium.
up: install web-app
	$(VENV)/bin/mediaproof up

# Everything: the main suite (.venv) and the browser suite (.venv-web, real Chromium).
test: test-unit test-e2e

# Test modules run TEST_WORKERS at a time (pytest-xdist, whole modules per worker: each starts its own stack, and a
# stack spends much of its time waiting on its own processes, so two at once finish sooner on 2 cores).
TEST_WORKERS ?= 2
test-unit: install postgres
	$(PY) -m pytest -q --ignore=tests/e2e --durations=30 -n $(TEST_WORKERS) --dist loadfile

test-fast: install postgres
	$(PY) -m pytest -q --ignore=tests/e2e -m "not integration"

# Debian's PostgreSQL 15: the gateway store's shared tests start a server of their own from its binaries. Only the
# tests need it: `make up` keeps the SQLite default (MEDIAPROOF_GATEWAY_DSN names a server you run yourself).
PG_BIN := /usr/lib/postgresql/15/bin
postgres:
	@[ -x $(PG_BIN)/initdb ] || (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null)

# The web app has its own environment: Reflex and Ape cannot share one (TOOLCHAIN.md).
web-install:
	bash tooling/web_setup.sh

# What the web app itself needs to run: .venv-web, its browser bundles and bun; no Chromium.
web-app:
	bash tooling/web_setup.sh --no-browser

# Only .venv-web (no browser, no bun): what `make lint` needs to type-check webapp/ against Reflex.
web-venv:
	bash tooling/web_setup.sh --venv-only

test-e2e: install web-install
	.venv-web/bin/pytest -q tests/e2e

# ruff covers the whole tree. mypy runs twice with pyproject's settings: mediaproof/ and indexer/ against .venv, the
# web app against .venv-web's packages (Reflex), which is where it runs.
lint: install web-venv
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy
	$(VENV)/bin/mypy --python-executable .venv-web/bin/python webapp/webapp

fmt: install
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

# Each prints its figure beside a baseline measured in the same run and writes it to bench/results/.
# read_path needs wrk and nginx (Debian packages); bench/_*.py are shared helpers, not benchmarks.
bench: install
	@command -v wrk >/dev/null && command -v nginx >/dev/null || (apt-get update -qq && apt-get install -y -qq wrk nginx)
	@for b in bench/[!_]*.py; do echo "== $$b"; $(PY) $$b || exit 1; done

lock:
	uv pip compile -q requirements/ape.in -o requirements/ape.txt --python-version 3.11

lock-web:
	uv pip compile -q requirements/web.in -o requirements/web.txt --python-version 3.11

clean-data:
	rm -rf .data deployments/local.json
