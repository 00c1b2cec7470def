"""Suite-wide set-up: tests run with `make test`, but also straight from pytest in a checkout."""

from __future__ import annotations

import os

from mediaproof.settings import PROJECT_ROOT

# Where `make install` links the wasm solc shim (the Makefile exports the same path); Ape compiles with it.
os.environ.setdefault("SOLCX_BINARY_PATH", str(PROJECT_ROOT / ".cache" / "solcx"))
