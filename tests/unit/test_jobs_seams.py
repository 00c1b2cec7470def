"""The upload service only enqueues variant jobs: neither its app nor its parts import the module that decodes
images for variants (mediaproof.jobs.renditions); the observer only enqueues repair jobs: it never imports the module
that makes a repair copy (mediaproof.jobs.repair); and the jobs worker's retry rules match the settings."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from datetime import UTC, datetime

import pytest
from procrastinate.jobs import Job

from mediaproof.errors import ContentMismatch, InputError, StorageError, Stranded
from mediaproof.jobs.pg_worker import JobRetry, repair_retry, variant_retry
from mediaproof.settings import PROJECT_ROOT

PROBE = (
    "import sys, mediaproof.upload.__main__, mediaproof.upload.service, mediaproof.jobs.queue,"
    " mediaproof.jobs.pg_queue; print(sorted(m for m in sys.modules if m.startswith('mediaproof.jobs')))"
)


def test_the_upload_service_never_imports_the_variant_maker() -> None:
    loaded = subprocess.run(
        [sys.executable, "-c", PROBE], capture_output=True, text=True, cwd=PROJECT_ROOT, timeout=120, check=True
    ).stdout
    assert "mediaproof.jobs.renditions" not in loaded and "mediaproof.jobs.pg_queue" in loaded, loaded


OBSERVER_PROBE = (
    "import sys, mediaproof.observer.__main__; print(sorted(m for m in sys.modules if m.startswith('mediaproof.jobs')))"
)


def test_the_observer_queues_repairs_and_never_imports_the_repair_copier() -> None:
    loaded = subprocess.run(
        [sys.executable, "-c", OBSERVER_PROBE],
        capture_output=True,
        text=True,
        cwd=PROJECT_ROOT,
        timeout=120,
        check=True,
    ).stdout
    assert "mediaproof.jobs.repair" not in loaded and "mediaproof.jobs.queue" in loaded, loaded


def _job(attempts: int) -> Job:
    return Job(id=1, queue="variants", lock=None, queueing_lock=None, task_name="t", attempts=attempts)


@pytest.mark.parametrize("max_tries", [1, 2, 5])
@pytest.mark.parametrize("rule", [variant_retry, repair_retry], ids=["variant", "repair"])
def test_a_passing_failure_is_retried_with_a_doubling_wait_until_the_tries_are_spent(
    rule: Callable[[int], JobRetry], max_tries: int
) -> None:
    retry = rule(max_tries)
    waits = []
    for before in range(max_tries):
        decision = retry.get_retry_decision(exception=StorageError("a cluster away"), job=_job(before))
        if decision is None:
            break
        assert decision.retry_at is not None
        waits.append(round((decision.retry_at - datetime.now(UTC)).total_seconds()))
    assert waits == [2 ** (n + 1) for n in range(max_tries - 1)]  # 2, 4, 8 … s; no try after the last


def test_an_original_that_cannot_be_decoded_is_never_retried() -> None:
    assert variant_retry(5).get_retry_decision(exception=InputError("corrupt"), job=_job(0)) is None


@pytest.mark.parametrize("failure", [Stranded("no source holds it"), ContentMismatch("other bytes pinned")])
def test_a_repair_that_cannot_succeed_is_never_retried(failure: Exception) -> None:
    assert repair_retry(5).get_retry_decision(exception=failure, job=_job(0)) is None
    assert repair_retry(5).get_retry_decision(exception=StorageError("target away"), job=_job(0)) is not None
