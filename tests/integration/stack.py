"""Helpers for integration tests: Settings for a private LocalStack in a temp dir."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from mediaproof.jobs.queue import JobQueue, open_queue
from mediaproof.settings import Settings
from mediaproof.upload.ledger import UploadLedger


def stack_settings(tmp: Path, clusters: int = 1, replication_factor: int = 1) -> Settings:
    """Settings for a LocalStack that shares nothing with `make up` or with other tests. Every port is 0: the stack
    takes free ones as it starts (race-free, see mediaproof.processes) and `stack.settings` tells which."""
    return Settings(
        data_dir=tmp / "data",
        deployment_file=tmp / "deployment.json",
        anvil_port=0,
        cluster_base_port=0,
        ipfs_base_port=0,
        indexer_port=0,
        upload_port=0,
        download_port=0,
        cluster_count=clusters,
        replication_factor=replication_factor,
        # Generous limits: a test module sends every upload from 127.0.0.1; tests of the limits set their own.
        upload_rate_per_minute=10_000,
        upload_nonces_per_minute=10_000,
    )


def cli_env(settings: Settings, private_key: str | None = None) -> dict[str, str]:
    """Environment for a `mediaproof` subprocess aimed at this stack."""
    import os

    env = {**os.environ, **settings.as_env()}
    if private_key:
        env["MEDIAPROOF_PRIVATE_KEY"] = private_key
    return env


def wait_until(done: Callable[[], Any], what: str, timeout: float = 120.0) -> Any:
    """Poll observed state until `done()` is truthy and return it; the timeout is a guard against a hang (generous:
    the machine may be busy), never what a test asserts."""
    deadline = time.monotonic() + timeout
    while not (result := done()):
        assert time.monotonic() < deadline, f"never saw: {what}"
        time.sleep(0.1)
    return result


@contextlib.contextmanager
def job_queue(settings: Settings) -> Iterator[JobQueue]:
    """The stack's job queues (variants and repairs) as their producers see them, on its gateway database."""
    target = settings.resolved_gateway_store()
    ledger = UploadLedger(target)
    opened = open_queue(target, lambda: ledger)
    try:
        yield opened
    finally:
        opened.close()
        ledger.close()
