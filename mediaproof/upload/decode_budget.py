"""The process-wide budget for decoding images: bytes of decoded pixels and decodes at once.

A 300 KB PNG can claim 100 megapixels and decode to 400 MB, so the number of requests says nothing about memory.
Every decode (an upload's check, a variant job) states its cost first — estimated from the image's header, before a
pixel is decoded — and is admitted only while the budget has room for it; otherwise it waits its turn. Waiting is
bounded: past `max_waiting` waiters, or after `wait_timeout` seconds, a request is refused with `Busy` (503 and
Retry-After), never left to exhaust memory. Waiters are admitted first come, first served, except that a small
decode (a phone photo checked at 1/8 scale) may pass a big one that is waiting: it needs milliseconds and little
memory, and queueing it behind a 100-megapixel PNG is what would make the service look down. Small decodes also get
one slot beyond `slots`, so they never wait for a big decode's CPU time either. Small means little memory and,
as the caller knows best, little work: streaming through a 100-megapixel PNG holds 4 MiB but takes seconds.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import threading
import time
from collections import deque
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass

from mediaproof.errors import Busy, InputError
from mediaproof.settings import Settings
from mediaproof.upload import memory

MiB = 1 << 20
SMALL_SHARE = 32  # a decode of at most capacity / SMALL_SHARE bytes counts as small
RETRY_BOUNDS = (1, 60)  # seconds a refused client is told to wait, at least and at most


@dataclass
class _Waiter:
    cost: int
    small: bool
    wake: Callable[[], None]
    granted: bool = False


def _resolve(future: asyncio.Future[None]) -> None:
    if not future.done():  # a waiter that timed out or was cancelled has stopped listening
        future.set_result(None)


class DecodeBudget:
    """At most `capacity` bytes of decoded pixels and `slots` decodes (+1 for small ones) at once.

    `hold(cost)` (threads) and `hold_async(cost)` (the event loop: waiting there holds no worker thread) admit one
    decode; a cost over the whole capacity is refused at once with InputError (no wait could ever admit it).
    `after_release(cost)` runs after each release outside the lock (the service returns freed memory to the OS).
    """

    def __init__(
        self,
        capacity: int,
        slots: int,
        max_waiting: int,
        wait_timeout: float,
        after_release: Callable[[int], None] | None = None,
    ) -> None:
        if capacity <= 0 or slots <= 0:
            raise ValueError("a decode budget needs a positive capacity and at least one slot")
        self.capacity = capacity
        self.slots = slots
        self.max_waiting = max_waiting
        self.wait_timeout = wait_timeout
        self._after_release = after_release
        self._lock = threading.Lock()
        self._used = 0
        self._running = 0
        self._waiters: deque[_Waiter] = deque()
        self._mean_hold = 1.0  # seconds, a moving average: what Retry-After is made of

    # --- what tests and the health answer look at ---

    @property
    def used(self) -> int:
        return self._used

    @property
    def running(self) -> int:
        return self._running

    @property
    def waiting(self) -> int:
        return len(self._waiters)

    def snapshot(self) -> dict[str, int]:
        with self._lock:
            return {"capacity": self.capacity, "used": self._used, "running": self._running,
                    "waiting": len(self._waiters)}  # fmt: skip

    # --- admission ---

    @contextmanager
    def hold(
        self, cost: int, what: str = "this image", *, bounded_wait: bool = False, small: bool | None = None
    ) -> Iterator[None]:
        """Block this thread until `cost` bytes are admitted. Background work (the variant worker) waits as long
        as it takes; `bounded_wait=True` applies the queue cap and the timeout as for a request. `small`: whether
        the work is quick (default: whether its cost is); a long scan that holds little memory is not small."""
        event = threading.Event()
        waiter = self._enter(cost, what, event.set, bounded_wait, small)
        if not waiter.granted and not event.wait(self.wait_timeout if bounded_wait else None):
            self._give_up(waiter, what)  # raises Busy, unless it was admitted in the meantime
        started = time.monotonic()
        try:
            yield
        finally:
            self._release(waiter.cost, time.monotonic() - started)

    @asynccontextmanager
    async def hold_async(
        self, cost: int, what: str = "this image", *, small: bool | None = None
    ) -> AsyncIterator[None]:
        """Wait in the event loop until `cost` bytes are admitted, at most `wait_timeout` seconds (then Busy)."""
        loop = asyncio.get_running_loop()
        admitted: asyncio.Future[None] = loop.create_future()

        def wake() -> None:
            # Called by whichever thread releases; the loop may be gone by then (a shutdown), which is no error.
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(_resolve, admitted)

        waiter = self._enter(cost, what, wake, True, small)
        if not waiter.granted:
            try:
                await asyncio.wait_for(asyncio.shield(admitted), self.wait_timeout)
            except TimeoutError:
                self._give_up(waiter, what)
            except BaseException:  # cancelled (the client hung up): leave the queue, or hand back what came
                if not self._withdraw(waiter):
                    self._release(waiter.cost, 0.0)
                raise
        started = time.monotonic()
        try:
            yield
        finally:
            self._release(waiter.cost, time.monotonic() - started)

    def refuse_if_over(self, cost: int, what: str = "this image") -> None:
        """InputError when `cost` is more than the whole budget: no wait could ever admit it."""
        if cost > self.capacity:
            raise InputError(
                f"{what} needs {math.ceil(cost / MiB)} MiB of memory to decode, more than the "
                f"{self.capacity // MiB} MiB this service decodes at once (MEDIAPROOF_DECODE_BUDGET_BYTES): "
                "send a smaller image, or one in a format that decodes at reduced size (JPEG)"
            )

    def _enter(self, cost: int, what: str, wake: Callable[[], None], bounded: bool, small: bool | None) -> _Waiter:
        self.refuse_if_over(cost, what)
        cost = max(0, cost)
        waiter = _Waiter(cost, cost <= self.capacity // SMALL_SHARE and small is not False, wake)
        with self._lock:
            if not self._waiters_ahead(waiter) and self._fits(waiter):
                self._admit(waiter)
                return waiter
            if bounded and len(self._waiters) >= self.max_waiting:
                raise Busy(self._busy_sentence(what, "its queue is full"), self._retry_after())
            self._waiters.append(waiter)
        return waiter

    def _waiters_ahead(self, waiter: _Waiter) -> bool:
        """Whether admitting `waiter` now would pass someone it may not pass (small ones pass anyone)."""
        return bool(self._waiters) and not waiter.small

    def _fits(self, waiter: _Waiter) -> bool:
        slots = self.slots + (1 if waiter.small else 0)
        return self._used + waiter.cost <= self.capacity and self._running < slots

    def _admit(self, waiter: _Waiter) -> None:
        self._used += waiter.cost
        self._running += 1
        waiter.granted = True

    def _release(self, cost: int, held: float) -> None:
        with self._lock:
            self._used -= cost
            self._running -= 1
            if held:
                self._mean_hold += (held - self._mean_hold) / 8
            woken = self._admit_waiting()
        for waiter in woken:
            waiter.wake()
        if self._after_release is not None:
            self._after_release(cost)

    def _admit_waiting(self) -> list[_Waiter]:
        """Under the lock: admit waiters in order while they fit; past a big one that does not fit, only small
        ones (so a stream of big decodes can never starve behind each other out of order)."""
        woken, blocked = [], False
        for waiter in list(self._waiters):
            if (waiter.small or not blocked) and self._fits(waiter):
                self._waiters.remove(waiter)
                self._admit(waiter)
                woken.append(waiter)
            elif not waiter.small:
                blocked = True
        return woken

    def _withdraw(self, waiter: _Waiter) -> bool:
        """Take `waiter` out of the queue; False if it was admitted meanwhile (then it holds its cost)."""
        with self._lock:
            if waiter.granted:
                return False
            self._waiters.remove(waiter)
            woken = self._admit_waiting()  # a big waiter leaving may let those behind it in
        for other in woken:
            other.wake()
        return True

    def _give_up(self, waiter: _Waiter, what: str) -> None:
        if self._withdraw(waiter):
            why = f"it waited {self.wait_timeout:g} s for its turn"
            raise Busy(self._busy_sentence(what, why), self._retry_after())

    def _busy_sentence(self, what: str, why: str) -> str:
        return (
            f"the service is decoding as many images as its memory allows and {why}: "
            f"send {what} again in {self._retry_after()} s"
        )

    def _retry_after(self) -> int:
        """Seconds until the queue ahead has likely drained: its length times the mean decode, over the slots."""
        estimate = self._mean_hold * (len(self._waiters) + 1) / self.slots
        return int(min(RETRY_BOUNDS[1], max(RETRY_BOUNDS[0], math.ceil(estimate))))


class NoBudget(DecodeBudget):
    """No bounds at all (MEDIAPROOF_DECODE_BOUNDS=false): every decode starts at once, as many as the thread pool
    runs. Only the baseline bench/abuse.py measures the bounds against; never for a service that faces the world."""

    def __init__(self) -> None:
        super().__init__(capacity=1 << 62, slots=1 << 30, max_waiting=1 << 30, wait_timeout=0.0)

    @contextmanager
    def hold(
        self, cost: int, what: str = "this image", *, bounded_wait: bool = False, small: bool | None = None
    ) -> Iterator[None]:
        yield

    @asynccontextmanager
    async def hold_async(
        self, cost: int, what: str = "this image", *, small: bool | None = None
    ) -> AsyncIterator[None]:
        yield

    def refuse_if_over(self, cost: int, what: str = "this image") -> None:
        return None


def budget_from(settings: Settings) -> DecodeBudget:
    """The one budget of an upload service process, as its settings say."""
    if not settings.decode_bounds:
        return NoBudget()
    return DecodeBudget(
        settings.decode_budget_bytes,
        settings.decode_slots,
        settings.decode_queue,
        settings.decode_wait,
        after_release=memory.trim_after if settings.memory_trim else None,
    )
