"""The jobs worker (python -m mediaproof.jobs) on both queue backends: the ledger's table on SQLite, Procrastinate on
a real PostgreSQL server. Variants are made there and nowhere else; a passing failure is retried after a back-off;
an original the worker cannot decode fails for good at once; a worker killed mid-job leaves nothing lost."""

from __future__ import annotations

import io
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from PIL import Image

from mediaproof.devstack import LocalStack
from mediaproof.gateway_store import GatewayStore
from mediaproof.jobs.launch import jobs_process
from mediaproof.jobs.queue import VariantQueue
from mediaproof.upload.ledger import VariantJob
from tests.integration.stack import job_queue, stack_settings, wait_until
from tests.integration.test_upload_service import upload, url
from tests.unit.test_upload_intake import photo_bytes

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def stack(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalStack]:
    update: dict[str, Any] = {"jobs_stalled_after": 2.0}  # a killed worker's jobs come back after 2 s of silence
    if request.param == "postgresql":
        update["gateway_dsn"] = request.getfixturevalue("postgres").database()
    settings = stack_settings(tmp_path_factory.mktemp(f"jobs-{request.param}")).model_copy(update=update)
    running = LocalStack(settings).start()
    yield running
    running.stop()


@pytest.fixture
def queue(stack: LocalStack) -> Iterator[VariantQueue]:
    with job_queue(stack.settings) as opened:
        yield opened


def restart_worker(stack: LocalStack, **update: Any) -> None:
    """The stack's jobs worker stopped and started again with these settings changed."""
    if stack.jobs is not None:
        stack.jobs.stop()
    stack.jobs = jobs_process(stack.settings.model_copy(update=update), rpc_url=stack.anvil.url).start()


def job_of(queue: VariantQueue, sha256: str) -> VariantJob:
    job = queue.job(sha256)
    assert job is not None
    return job


def made(stack: LocalStack, sha256: str) -> dict[str, str]:
    """The renditions recorded for an original, name → sha256 (the original itself left out)."""
    store = GatewayStore(stack.settings.resolved_gateway_store())
    try:
        return {name: r.sha256 for name, r in store.renditions_of(sha256).items() if name != "original"}
    finally:
        store.close()


def jobs_log(stack: LocalStack) -> str:
    return (stack.settings.data_dir / "jobs.log").read_text()


def test_variants_wait_for_the_jobs_worker_and_are_made_there(stack: LocalStack, queue: VariantQueue) -> None:
    assert stack.jobs is not None
    stack.jobs.stop()
    stack.jobs = None
    stored = upload(stack, photo_bytes(40, (1000, 750))).json()
    sha = stored["sha256"]
    assert stored["variants_state"] == "pending" and stored["variants"] == {}
    # Another request later: the upload process answered, swept, and still made nothing; only the queue holds it.
    again = httpx.get(url(stack) + f"/uploads/{stored['upload_id']}", timeout=30).json()
    assert again["variants_state"] == "pending" and made(stack, sha) == {}
    assert job_of(queue, sha).state == "pending"
    restart_worker(stack)
    done = wait_until(
        lambda: (
            (s := httpx.get(url(stack) + f"/uploads/{stored['upload_id']}", timeout=30).json())["variants_state"]
            == "done"
            and s
        ),
        "the jobs worker to make the variants",
    )
    assert sorted(done["variants"]) == ["medium", "small"]  # 1000 px: no "large"
    assert sorted(made(stack, sha)) == ["medium", "small"]


def test_a_passing_failure_is_retried_after_a_back_off_then_succeeds(stack: LocalStack, queue: VariantQueue) -> None:
    restart_worker(stack, jobs_test_fail_tries=2)  # the first two tries of every job fail as an outage would
    try:
        sha = upload(stack, photo_bytes(41, (900, 700))).json()["sha256"]
        # Between tries the job waits out its back-off, pending again with one failed try behind it.
        wait_until(lambda: (j := job_of(queue, sha)).state == "pending" and j.attempts >= 1, "a job in back-off")
        job = wait_until(lambda: (j := job_of(queue, sha)).state in ("done", "failed") and j, "the job to end")
        assert job.state == "done" and job.attempts == 3
        assert sorted(made(stack, sha)) == ["medium", "small"]
    finally:
        restart_worker(stack)


def big_flat_png() -> bytes:
    """4000×3000 px that compress to almost nothing: cheap to send, 36 MB of pixels to decode."""
    out = io.BytesIO()
    Image.new("RGB", (4000, 3000), (90, 120, 150)).save(out, "PNG")
    return out.getvalue()


def test_an_original_the_worker_cannot_decode_fails_for_good_without_retries(
    stack: LocalStack, queue: VariantQueue
) -> None:
    # The upload service's budget (512 MiB) admits the image; this worker's whole budget (16 MiB) never could.
    restart_worker(stack, decode_budget_bytes=16 << 20)
    try:
        stored = upload(stack, big_flat_png())
        assert stored.status_code == 201, stored.text
        sha = stored.json()["sha256"]
        job = wait_until(lambda: (j := job_of(queue, sha)).state in ("done", "failed") and j, "the job to end")
        assert job.state == "failed" and job.attempts == 1
        assert made(stack, sha) == {}
        answer = httpx.get(url(stack) + f"/uploads/{stored.json()['upload_id']}", timeout=30).json()
        assert answer["variants_state"] == "failed" and answer["variants"] == {}
    finally:
        restart_worker(stack)


def test_a_worker_killed_mid_job_leaves_the_job_to_the_next_with_the_same_result(
    stack: LocalStack, queue: VariantQueue
) -> None:
    restart_worker(stack, jobs_test_hold_at="variants-made")
    held = stack.jobs
    assert held is not None
    sha = upload(stack, photo_bytes(42, (1100, 800))).json()["sha256"]
    wait_until(lambda: "holding at variants-made" in jobs_log(stack), "the worker to stop mid-job")
    before = made(stack, sha)
    assert sorted(before) == ["medium", "small"] and job_of(queue, sha).state == "running"
    held.kill()  # SIGKILL: the job is left running, as a crash leaves it
    stack.jobs = None
    restart_worker(stack)
    job = wait_until(lambda: (j := job_of(queue, sha)).state in ("done", "failed") and j, "the job to end")
    assert job.state == "done"
    assert made(stack, sha) == before  # run again, to the same renditions
