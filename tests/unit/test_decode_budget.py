"""The decode budget: concurrent holders never exceed it, waiting is bounded and fair, refusals are clear (503 with
Retry-After and a sentence; 422 for an image no wait could admit), and nothing leaks when a waiter gives up."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable
from pathlib import Path
from types import SimpleNamespace

import pytest
from fastapi.testclient import TestClient
from hypothesis import given, settings
from hypothesis import strategies as st

from mediaproof.errors import Busy, InputError
from mediaproof.settings import Settings
from mediaproof.upload.app import create_app
from mediaproof.upload.decode_budget import SMALL_SHARE, DecodeBudget, NoBudget, budget_from
from mediaproof.upload.quotas import Quotas
from mediaproof.upload.sessions import SessionStore
from tests.unit.test_upload_intake import photo_bytes
from tests.unit.test_upload_sessions import ALICE, sign

MiB = 1 << 20
CAPACITY = 64 * MiB


class Watch:
    """What the holders see from inside: bytes, decodes and big decodes at once, and their maxima."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.now = {"bytes": 0, "running": 0, "big": 0}
        self.peak = dict(self.now)

    def enter(self, cost: int, small: bool) -> None:
        with self.lock:
            self.now["bytes"] += cost
            self.now["running"] += 1
            self.now["big"] += 0 if small else 1
            self.peak = {k: max(v, self.now[k]) for k, v in self.peak.items()}

    def leave(self, cost: int, small: bool) -> None:
        with self.lock:
            self.now["bytes"] -= cost
            self.now["running"] -= 1
            self.now["big"] -= 0 if small else 1


def is_small(cost: int, flag: bool | None) -> bool:
    return cost <= CAPACITY // SMALL_SHARE and flag is not False


costs = st.one_of(st.integers(0, CAPACITY // SMALL_SHARE), st.integers(CAPACITY // 5, CAPACITY))  # small and big
jobs = st.lists(st.tuples(costs, st.sampled_from([None, False]), st.floats(0.001, 0.004)), min_size=1, max_size=14)


@settings(max_examples=40, deadline=None)
@given(jobs, st.integers(1, 3))
def test_concurrent_threads_never_exceed_the_budget_property(
    work: list[tuple[int, bool | None, float]], slots: int
) -> None:
    budget = DecodeBudget(CAPACITY, slots, max_waiting=100, wait_timeout=30)
    watch = Watch()
    start = threading.Barrier(len(work))  # all at once: as much contention as the jobs can make

    def one(cost: int, flag: bool | None, seconds: float) -> None:
        start.wait(10)
        with budget.hold(cost, small=flag):
            watch.enter(cost, is_small(cost, flag))
            time.sleep(seconds)
            watch.leave(cost, is_small(cost, flag))

    threads = [threading.Thread(target=one, args=job) for job in work]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert not any(thread.is_alive() for thread in threads), "a holder never got its turn"
    assert watch.peak["bytes"] <= CAPACITY
    assert watch.peak["big"] <= slots and watch.peak["running"] <= slots + 1
    assert budget.snapshot() == {"capacity": CAPACITY, "used": 0, "running": 0, "waiting": 0}


@settings(max_examples=30, deadline=None)
@given(jobs, st.integers(1, 3))
def test_concurrent_requests_in_the_event_loop_never_exceed_the_budget_property(
    work: list[tuple[int, bool | None, float]], slots: int
) -> None:
    budget = DecodeBudget(CAPACITY, slots, max_waiting=100, wait_timeout=30)
    watch = Watch()

    async def one(cost: int, flag: bool | None, seconds: float) -> None:
        async with budget.hold_async(cost, small=flag):
            watch.enter(cost, is_small(cost, flag))
            await asyncio.sleep(seconds)
            watch.leave(cost, is_small(cost, flag))

    def background() -> None:  # a variant worker's thread shares the same budget
        with budget.hold(CAPACITY // 2):
            watch.enter(CAPACITY // 2, False)
            time.sleep(0.003)
            watch.leave(CAPACITY // 2, False)

    async def main() -> None:
        worker = threading.Thread(target=background)
        worker.start()
        await asyncio.wait_for(asyncio.gather(*(one(*job) for job in work)), 30)
        await asyncio.to_thread(worker.join, 30)

    asyncio.run(main())
    assert watch.peak["bytes"] <= CAPACITY
    assert watch.peak["big"] <= slots and watch.peak["running"] <= slots + 1
    assert budget.snapshot()["used"] == 0 and budget.snapshot()["waiting"] == 0


def test_a_full_queue_is_refused_at_once_with_retry_after_and_a_sentence() -> None:
    budget = DecodeBudget(CAPACITY, 1, max_waiting=0, wait_timeout=30)
    with budget.hold(CAPACITY), pytest.raises(Busy) as refused:
        asyncio.run(_hold_once(budget, CAPACITY // 2))
    assert 1 <= refused.value.retry_after <= 60
    assert "queue is full" in str(refused.value) and f"again in {refused.value.retry_after} s" in str(refused.value)
    assert budget.snapshot() == {"capacity": CAPACITY, "used": 0, "running": 0, "waiting": 0}


def test_a_wait_past_the_timeout_is_refused_and_leaves_the_queue() -> None:
    budget = DecodeBudget(CAPACITY, 1, max_waiting=8, wait_timeout=0.2)
    with budget.hold(CAPACITY):
        started = time.monotonic()
        with pytest.raises(Busy, match=r"waited 0\.2 s for its turn"):
            asyncio.run(_hold_once(budget, MiB))
        with pytest.raises(Busy), budget.hold(MiB, bounded_wait=True):
            pass
        assert time.monotonic() - started < 5
        assert budget.waiting == 0


def test_an_image_no_wait_could_admit_is_refused_as_input() -> None:
    budget = DecodeBudget(CAPACITY, 2, max_waiting=8, wait_timeout=1)
    with pytest.raises(InputError, match=r"needs 65 MiB of memory to decode, more than the 64 MiB"):
        budget.refuse_if_over(CAPACITY + MiB)
    with pytest.raises(InputError), budget.hold(CAPACITY + MiB):
        pass
    assert budget.snapshot()["running"] == 0


def test_big_decodes_are_admitted_in_arrival_order_and_small_ones_pass_them() -> None:
    budget = DecodeBudget(CAPACITY, 2, max_waiting=8, wait_timeout=30)
    order: list[str] = []
    blocker = threading.Event()

    def big(name: str) -> None:
        with budget.hold(CAPACITY * 3 // 5):  # one at a time: the order they run in is the order admitted
            order.append(name)

    def hold_everything() -> None:
        with budget.hold(CAPACITY):
            blocker.wait(10)

    holder = threading.Thread(target=hold_everything)
    holder.start()
    _until(lambda: budget.used == CAPACITY)
    waiting = []
    for name in ("first", "second", "third"):
        waiting.append(threading.Thread(target=big, args=(name,)))
        waiting[-1].start()
        _until(lambda n=len(waiting): budget.waiting == n)
    blocker.set()
    holder.join(10)
    for thread in waiting:
        thread.join(10)
    assert order == ["first", "second", "third"]

    with budget.hold(CAPACITY - MiB):  # room for a small decode only, big ones wait
        queued = threading.Thread(target=big, args=("fourth",))
        queued.start()
        _until(lambda: budget.waiting == 1)
        with budget.hold(MiB // 2):  # passes the waiting big one, and gets a slot beyond the two
            assert budget.running == 2 and budget.waiting == 1
    queued.join(10)
    assert order[-1] == "fourth"


def test_a_cancelled_waiter_leaves_nothing_behind() -> None:
    budget = DecodeBudget(CAPACITY, 1, max_waiting=8, wait_timeout=30)

    async def main() -> None:
        with budget.hold(CAPACITY):
            task = asyncio.ensure_future(_hold_once(budget, MiB))
            await asyncio.sleep(0.05)
            assert budget.waiting == 1
            task.cancel()  # the client hung up while its upload waited
            with pytest.raises(asyncio.CancelledError):
                await task
        assert budget.snapshot() == {"capacity": CAPACITY, "used": 0, "running": 0, "waiting": 0}

    asyncio.run(main())


def test_each_release_reports_its_cost() -> None:
    released: list[int] = []
    budget = DecodeBudget(CAPACITY, 2, max_waiting=8, wait_timeout=1, after_release=released.append)
    with budget.hold(3 * MiB):
        pass
    asyncio.run(_hold_once(budget, 5 * MiB))
    assert released == [3 * MiB, 5 * MiB]


def test_the_bounds_come_from_settings_and_can_be_turned_off(tmp_path: Path) -> None:
    budget = budget_from(Settings(data_dir=tmp_path, decode_budget_bytes=96 * MiB, decode_slots=3))
    assert (budget.capacity, budget.slots) == (96 * MiB, 3)
    off = budget_from(Settings(data_dir=tmp_path, decode_bounds=False))
    assert isinstance(off, NoBudget)
    with off.hold(1 << 40):  # anything goes, at once
        asyncio.run(_hold_once(off, 1 << 40))


def test_the_upload_service_answers_503_with_retry_after_when_the_budget_is_full(tmp_path: Path) -> None:
    settings_ = Settings(data_dir=tmp_path)
    app = create_app(settings_)
    budget = DecodeBudget(CAPACITY, 1, max_waiting=0, wait_timeout=1)
    db = tmp_path / "gateway.db"
    sessions = SessionStore(db, nonce_lifetime=300, session_lifetime=3600)
    issued = sessions.issue(ALICE.address, "testserver", "http://testserver", 31337)
    session = sessions.sign_in(issued.message, sign(issued.message), 31337, None)
    app.state.service = SimpleNamespace(
        settings=settings_,
        incoming=tmp_path / "incoming",
        budget=budget,
        sessions=sessions,
        quotas=Quotas(db, settings_),
    )
    client = TestClient(app)  # not entered as a context: no lifespan, no chain
    with budget.hold(CAPACITY):
        answer = client.post(
            "/uploads", content=photo_bytes(5, (640, 480)), headers={"Authorization": f"Bearer {session.token}"}
        )
    assert answer.status_code == 503
    assert 1 <= int(answer.headers["retry-after"]) <= 60
    assert answer.json()["error"] == "Busy" and "send this image again in" in answer.json()["detail"]
    assert list((tmp_path / "incoming").iterdir()) == []  # nothing of the refused upload is kept


async def _hold_once(budget: DecodeBudget, cost: int) -> None:
    async with budget.hold_async(cost):
        await asyncio.sleep(0)


def _until(condition: Callable[[], bool], timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "the budget never reached the expected state"
        time.sleep(0.005)
