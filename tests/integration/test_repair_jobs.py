"""Repair jobs on both queue backends (the ledger's `repair_jobs` on SQLite, Procrastinate on a real PostgreSQL), run
by the real jobs worker against 3 real clusters (R = 2). The observer is stopped here: each test queues the copies
itself, as a sweep would, so it knows exactly which jobs exist; the last test starts the observer and lets it queue
one (test_observer.py covers its sweeps after a cluster is lost or a pin removed)."""

from __future__ import annotations

import random
from collections.abc import Iterator
from typing import Any

import pytest

from mediaproof.content import digest_bytes
from mediaproof.devstack import ClusterParts, LocalStack
from mediaproof.gateway_store import GatewayStore
from mediaproof.jobs.queue import JobQueue
from mediaproof.observer.launch import observer_process
from mediaproof.upload.ledger import RepairJob
from tests.integration.stack import job_queue, stack_settings, wait_until
from tests.integration.test_download import Seeder, topology_ring
from tests.integration.test_jobs_worker import jobs_log, restart_worker

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def stack(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalStack]:
    update: dict[str, Any] = {}
    if request.param == "postgresql":
        update["gateway_dsn"] = request.getfixturevalue("postgres").database()
    tmp = tmp_path_factory.mktemp(f"repair-{request.param}")
    settings = stack_settings(tmp, clusters=3, replication_factor=2).model_copy(update=update)
    running = LocalStack(settings).start()
    try:
        assert running.observer is not None
        running.observer.stop()  # the tests queue the copies themselves
        running.observer = None
        yield running
    finally:
        running.stop()


@pytest.fixture
def seeder(stack: LocalStack) -> Iterator[Seeder]:
    ring, replication = topology_ring(stack.settings, stack)
    store = GatewayStore(stack.settings.resolved_gateway_store())
    yield Seeder(stack, store, ring, replication)
    store.close()


@pytest.fixture
def queue(stack: LocalStack) -> Iterator[JobQueue]:
    with job_queue(stack.settings) as opened:
        yield opened


def seed_on(seeder: Seeder, data: bytes, clusters: list[int]) -> str:
    """Store `data` on exactly these clusters and record those placements: a blob short of R copies."""
    digest = digest_bytes(data)
    sha = digest.sha256.hex()
    for cluster_id in clusters:
        with seeder.client(cluster_id) as client:
            client.store([data], sha, digest.cid, digest.size)
        seeder.store.add_placement(sha, cluster_id)
    return sha


def holds(seeder: Seeder, cluster_id: int, sha: str) -> bool:
    with seeder.client(cluster_id) as client:
        return client.has(sha)


def parts(stack: LocalStack, cluster_id: int) -> ClusterParts:
    return next(c for c in stack.clusters if c.cluster_id == cluster_id)


def ended(queue: JobQueue, sha: str, target: int) -> RepairJob:
    def end() -> RepairJob | None:
        job = queue.repair_job(sha, target)
        return job if job is not None and job.state in ("done", "failed") else None

    result: RepairJob = wait_until(end, f"the repair of {sha[:12]} to cluster {target} to end")
    return result


def test_a_repair_is_retried_with_back_off_while_the_target_is_down_and_lands_once_it_is_back(
    stack: LocalStack, seeder: Seeder, queue: JobQueue
) -> None:
    data = random.Random(1).randbytes(120_000)
    source, target, _ = (c.cluster_id for c in stack.clusters)
    sha = seed_on(seeder, data, [source])
    victim = parts(stack, target)
    victim.ipfs.stop()
    try:
        assert queue.enqueue_repair(sha, target, [source])
        # The copy failed while the target's node was away and waits out its back-off, pending with a try behind it.
        wait_until(
            lambda: (j := queue.repair_job(sha, target)) is not None and j.state == "pending" and j.attempts >= 1,
            "a repair job in back-off",
        )
        assert target not in seeder.store.placements(sha)
    finally:
        victim.ipfs.start()
    job = ended(queue, sha, target)
    assert job.state == "done" and job.attempts >= 2
    assert sorted(seeder.store.placements(sha)) == sorted([source, target])
    with seeder.client(target) as client:
        assert client.fetch(sha) == data
    log = jobs_log(stack)
    assert f"repair of {sha} to cluster {target} failed (try 1" in log
    assert log.count(f"copied {sha} from cluster {source} to cluster {target}") == 1


def test_the_same_copy_queued_twice_runs_once_and_a_late_duplicate_copies_nothing(
    stack: LocalStack, seeder: Seeder, queue: JobQueue
) -> None:
    data = random.Random(2).randbytes(80_000)
    source, _, target = (c.cluster_id for c in stack.clusters)
    sha = seed_on(seeder, data, [source])
    assert stack.jobs is not None
    stack.jobs.stop()  # both sweeps queue the copy before any worker could take it
    stack.jobs = None
    try:
        assert queue.enqueue_repair(sha, target, [source]) is True
        assert queue.enqueue_repair(sha, target, [source]) is False
    finally:
        restart_worker(stack)
    job = ended(queue, sha, target)
    assert job.state == "done" and job.attempts == 1
    assert jobs_log(stack).count(f"copied {sha} from cluster {source} to cluster {target}") == 1
    # A sweep that read the database before the copy was recorded queues it again: the job finds it there.
    assert queue.enqueue_repair(sha, target, [source]) is True
    late = wait_until(
        lambda: f"repair of {sha} to cluster {target}: it already holds it" in jobs_log(stack), "the late job to run"
    )
    assert late
    assert ended(queue, sha, target).state == "done"
    assert jobs_log(stack).count(f"copied {sha}") == 1
    assert sorted(seeder.store.placements(sha)) == sorted([source, target])


def test_a_stale_repair_when_r_copies_exist_copies_and_records_nothing(
    stack: LocalStack, seeder: Seeder, queue: JobQueue
) -> None:
    data = random.Random(3).randbytes(50_000)
    first, second, target = (c.cluster_id for c in stack.clusters)
    sha = seed_on(seeder, data, [first, second])  # R = 2 copies already: the job was queued before one landed
    assert queue.enqueue_repair(sha, target, [first])
    job = ended(queue, sha, target)
    assert job.state == "done" and job.attempts == 1
    assert f"repair of {sha} to cluster {target}: 2 copies already, nothing copied" in jobs_log(stack)
    assert not holds(seeder, target, sha)
    assert sorted(seeder.store.placements(sha)) == sorted([first, second])
    assert f"copied {sha}" not in jobs_log(stack)


def test_a_repair_whose_sources_no_longer_hold_the_bytes_fails_at_once_and_says_so(
    stack: LocalStack, seeder: Seeder, queue: JobQueue
) -> None:
    sha = digest_bytes(random.Random(4).randbytes(10_000)).sha256.hex()  # never stored anywhere
    first, second, target = (c.cluster_id for c in stack.clusters)
    assert queue.enqueue_repair(sha, target, [first, second])
    job = ended(queue, sha, target)
    assert job.state == "failed" and job.attempts == 1  # not retried
    log = jobs_log(stack)
    assert f"repair of {sha} to cluster {target} failed for good" in log and "stranded" in log
    if job.last_error is not None:  # SQLite keeps the sentence; Procrastinate keeps none (the log has it)
        assert "stranded" in job.last_error
    assert not holds(seeder, target, sha) and seeder.store.placements(sha) == []


def test_the_observer_queues_a_missing_copy_and_the_worker_restores_it(
    stack: LocalStack, seeder: Seeder, queue: JobQueue
) -> None:
    data = random.Random(5).randbytes(60_000)
    holder = stack.clusters[0].cluster_id
    sha = seed_on(seeder, data, [holder])  # one copy of R = 2
    stack.observer = observer_process(stack.settings, rpc_url=stack.anvil.url).start()
    try:
        restored = wait_until(
            lambda: len(placed := seeder.store.placements(sha)) == 2 and all(holds(seeder, c, sha) for c in placed),
            "the observer to queue the missing copy and the jobs worker to make it",
        )
        assert restored
        (target,) = set(seeder.store.placements(sha)) - {holder}
        assert f"queued a copy of {sha} to cluster {target}" in (stack.settings.data_dir / "observer.log").read_text()
        assert jobs_log(stack).count(f"copied {sha} from cluster {holder} to cluster {target}") == 1
        with seeder.client(target) as client:
            assert client.fetch(sha) == data
    finally:
        stack.observer.stop()
        stack.observer = None
