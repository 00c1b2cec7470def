"""The repair queue as the observer sees it, on both backends (the ledger's `repair_jobs` on SQLite, Procrastinate on
a real PostgreSQL): one job per (sha256, target) while it waits or runs; and the SQLite table's claims, back-off and
restart, which the jobs worker's threads rely on."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from mediaproof import gateway_db
from mediaproof.jobs.queue import JobQueue, open_queue
from mediaproof.upload.ledger import UploadLedger

SHA = "ab" * 32


@pytest.fixture
def queue(gateway_target: Path | str) -> Iterator[JobQueue]:
    ledger = UploadLedger(gateway_target)
    opened = open_queue(gateway_target, lambda: ledger)
    yield opened
    opened.close()
    ledger.close()


def test_a_copy_queued_twice_while_it_waits_is_one_job(queue: JobQueue) -> None:
    assert queue.repair_job(SHA, 3) is None
    assert queue.enqueue_repair(SHA, 3, [1, 2]) is True
    assert queue.enqueue_repair(SHA, 3, [2]) is False  # the next sweep finds the same copy missing
    job = queue.repair_job(SHA, 3)
    assert job is not None and (job.state, job.attempts, job.sources) == ("pending", 0, [1, 2])
    assert queue.enqueue_repair(SHA, 2, [1]) is True  # another target is another copy
    assert queue.enqueue_repair("cd" * 32, 3, [1]) is True  # another blob too


def test_a_copy_queued_while_its_job_runs_is_not_queued_again(gateway_target: Path | str, queue: JobQueue) -> None:
    assert queue.enqueue_repair(SHA, 3, [1])
    if gateway_db.is_dsn(gateway_target):  # as a Procrastinate worker marks the job it takes
        dsn = str(gateway_target)
        with gateway_db.driver(dsn).connect(dsn) as conn:
            conn.execute("UPDATE procrastinate_jobs SET status = 'doing' WHERE args->>'sha256' = %s", (SHA,))
    else:
        ledger = UploadLedger(gateway_target)
        assert ledger.claim_repair() is not None
        ledger.close()
    job = queue.repair_job(SHA, 3)
    assert job is not None and job.state == "running"
    assert queue.enqueue_repair(SHA, 3, [1]) is False


def test_a_repair_queued_while_it_runs_is_not_queued_again_and_a_finished_one_is(gateway_target: Path | str) -> None:
    ledger = UploadLedger(gateway_target)
    assert ledger.enqueue_repair(SHA, 3, [1])
    job = ledger.claim_repair()
    assert job is not None and (job.sha256, job.target, job.attempts, job.state) == (SHA, 3, 1, "running")
    assert ledger.enqueue_repair(SHA, 3, [1]) is False
    ledger.finish_repair(SHA, 3)
    assert ledger.enqueue_repair(SHA, 3, [2]) is True  # a later sweep that finds it missing again starts afresh
    again = ledger.repair_job(SHA, 3)
    assert again is not None and (again.state, again.attempts, again.sources) == ("pending", 0, [2])


def test_a_failed_repair_comes_back_after_its_back_off_then_fails_for_good(gateway_target: Path | str) -> None:
    ledger = UploadLedger(gateway_target)
    ledger.enqueue_repair(SHA, 3, [1])
    for attempt in (1, 2):
        job = ledger.claim_repair(now=ledger.next_due())
        assert job is not None and job.attempts == attempt
        assert ledger.fail_repair(SHA, 3, "cluster 3 down", max_attempts=3) == "pending"
        assert ledger.claim_repair() is None  # not due yet: waiting out its back-off
    job = ledger.claim_repair(now=ledger.next_due())
    assert job is not None and job.attempts == 3
    assert ledger.fail_repair(SHA, 3, "cluster 3 down", max_attempts=3) == "failed"
    failed = ledger.repair_job(SHA, 3)
    assert failed is not None and failed.state == "failed" and failed.last_error == "cluster 3 down"


def test_a_stranded_repair_fails_at_once(gateway_target: Path | str) -> None:
    ledger = UploadLedger(gateway_target)
    ledger.enqueue_repair(SHA, 3, [1])
    assert ledger.claim_repair() is not None
    assert ledger.fail_repair(SHA, 3, "stranded", max_attempts=5, permanent=True) == "failed"
    assert ledger.claim_repair(now=ledger.next_due()) is None


def test_repairs_running_in_a_dead_process_are_queued_again(gateway_target: Path | str) -> None:
    first = UploadLedger(gateway_target)
    first.enqueue_repair(SHA, 3, [1])
    first.enqueue("cc" * 32, "image/png")
    assert first.claim_repair() is not None and first.claim() is not None  # the process dies holding both
    first.close()
    second = UploadLedger(gateway_target)
    assert second.claim_repair() is None
    assert second.requeue_running() == 2
    job = second.claim_repair()
    assert job is not None and (job.sha256, job.target, job.attempts) == (SHA, 3, 2)


def test_claims_take_each_repair_once_across_threads(gateway_target: Path | str) -> None:
    ledger = UploadLedger(gateway_target)
    for n in range(30):
        ledger.enqueue_repair(f"{n // 3:064x}", n % 3 + 1, [9])
    taken: list[tuple[str, int]] = []
    lock = threading.Lock()

    def worker() -> None:
        own = UploadLedger(gateway_target)
        while (job := own.claim_repair()) is not None:
            with lock:
                taken.append((job.sha256, job.target))
        own.close()

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(taken) == sorted((f"{n // 3:064x}", n % 3 + 1) for n in range(30))


BLOBS = st.sampled_from(["aa" * 32, "bb" * 32])
TARGETS = st.integers(1, 3)


class RepairQueueMachine(RuleBasedStateMachine):
    """Fuzz of the SQLite repair table against a model: a copy is queued anew only when no job for it waits or runs;
    a claim takes only a waiting job; each (sha256, target) has at most one row."""

    def __init__(self) -> None:
        super().__init__()
        import tempfile

        self._dir = tempfile.TemporaryDirectory()
        self.ledger = UploadLedger(Path(self._dir.name) / "gateway.db")
        self.model: dict[tuple[str, int], str] = {}  # (sha256, target) → pending | running | done | failed
        self.running: list[tuple[str, int]] = []

    @rule(sha=BLOBS, cluster=TARGETS)  # not `target=`: hypothesis's rule() takes that name for bundles
    def enqueue(self, sha: str, cluster: int) -> None:
        fresh = self.model.get((sha, cluster)) in (None, "done", "failed")
        assert self.ledger.enqueue_repair(sha, cluster, [9]) is fresh
        if fresh:
            self.model[(sha, cluster)] = "pending"

    @rule()
    def claim(self) -> None:
        job = self.ledger.claim_repair(now=float("inf"))  # back-offs elapsed
        waiting = [k for k, state in self.model.items() if state == "pending"]
        if job is None:
            assert waiting == []
            return
        assert (job.sha256, job.target) in waiting
        self.model[(job.sha256, job.target)] = "running"
        self.running.append((job.sha256, job.target))

    @precondition(lambda self: bool(self.running))
    @rule(data=st.data(), outcome=st.sampled_from(["done", "retry", "permanent"]))
    def end(self, data: st.DataObject, outcome: str) -> None:
        key = self.running.pop(data.draw(st.integers(0, len(self.running) - 1)))
        if outcome == "done":
            self.ledger.finish_repair(*key)
            self.model[key] = "done"
        else:
            state = self.ledger.fail_repair(*key, "away", max_attempts=2, permanent=outcome == "permanent")
            self.model[key] = state

    @invariant()
    def rows_match_the_model(self) -> None:
        for (sha, target), state in self.model.items():
            job = self.ledger.repair_job(sha, target)
            assert job is not None and job.state == state

    def teardown(self) -> None:
        self.ledger.close()
        self._dir.cleanup()


TestFuzzRepairQueueMachine = RepairQueueMachine.TestCase
TestFuzzRepairQueueMachine.settings = hypothesis_settings(max_examples=40, stateful_step_count=25, deadline=None)
