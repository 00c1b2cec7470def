"""The upload service only enqueues variant jobs: neither its app nor its parts import the module that decodes
images for variants (mediaproof.jobs.renditions), and the jobs worker's retry rule matches the setting."""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, datetime

import pytest
from procrastinate.jobs import Job

from mediaproof.errors import InputError, StorageError
from mediaproof.jobs.pg_worker import variant_retry
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


def _job(attempts: int) -> Job:
    return Job(id=1, queue="variants", lock=None, queueing_lock=None, task_name="t", attempts=attempts)


@pytest.mark.parametrize("max_tries", [1, 2, 5])
def test_a_passing_failure_is_retried_with_a_doubling_wait_until_the_tries_are_spent(max_tries: int) -> None:
    retry = variant_retry(max_tries)
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
