"""Suite-wide set-up: tests run with `make test`, but also straight from pytest in a checkout."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from mediaproof.settings import PROJECT_ROOT

# Where `make install` links the wasm solc shim (the Makefile exports the same path); Ape compiles with it.
os.environ.setdefault("SOLCX_BINARY_PATH", str(PROJECT_ROOT / ".cache" / "solcx"))

# Hypothesis: no per-example deadline suite-wide. Its default (200 ms) is a timing assert: on a machine whose other
# core is busy an example may take longer, and the test failed with nothing wrong (seen: test_merkle under load).
# Too-slow data generation is likewise a property of the machine, not of the code. The browser tests run in the
# web app's environment, which has no hypothesis (and no property tests).
with contextlib.suppress(ModuleNotFoundError):
    from hypothesis import HealthCheck, settings

    settings.register_profile("mediaproof", deadline=None, suppress_health_check=[HealthCheck.too_slow])
    settings.load_profile("mediaproof")


# The gateway store's backends. One PostgreSQL server for the whole run (started on first use, stopped at the end);
# each test gets a fresh database on it, or a fresh SQLite file. The web app's environment has no psycopg: the
# import waits until a test asks.
@pytest.fixture(scope="session")
def postgres() -> Iterator[Any]:
    from tests.pg import running_postgres

    with running_postgres() as server:
        yield server


@pytest.fixture(params=["sqlite", "postgresql"])
def gateway_target(request: pytest.FixtureRequest, tmp_path: Path) -> str | Path:
    """Where a store under test keeps its data: a SQLite file, or a DSN of an empty PostgreSQL database."""
    if request.param == "sqlite":
        return tmp_path / "gateway.db"
    server = request.getfixturevalue("postgres")
    dsn: str = server.database()
    return dsn
