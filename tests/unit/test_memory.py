"""Handing freed memory back: malloc_trim exists here (glibc), and after a big decode it runs off the caller's
thread (the event loop must not wait ~0.1 s for it), once more if another release came during it, never twice at
once. Measured on the service by tests/integration/test_upload_flood.py and bench/abuse.py."""

from __future__ import annotations

import threading
import time

import pytest

from mediaproof.upload import memory


def test_trim_is_available_and_memory_is_readable() -> None:
    assert memory.trim() is True  # Debian's glibc: the service relies on it to give memory back
    seen = memory.memory_of()
    assert 0 < seen["VmRSS"] <= seen["VmHWM"]


def test_big_releases_trim_in_the_background_one_at_a_time(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[float] = []
    at_once = {"now": 0, "max": 0}
    lock = threading.Lock()
    go_on = threading.Event()

    def slow_trim() -> bool:
        with lock:
            at_once["now"] += 1
            at_once["max"] = max(at_once["max"], at_once["now"])
        go_on.wait(5)
        calls.append(time.monotonic())
        with lock:
            at_once["now"] -= 1
        return True

    monkeypatch.setattr(memory, "trim", slow_trim)
    monkeypatch.setattr(memory, "_trimmer", memory._Trimmer())
    memory.trim_after(memory.TRIM_ABOVE - 1)  # a small release: nothing to give back
    started = time.monotonic()
    for _ in range(5):
        memory.trim_after(memory.TRIM_ABOVE)  # released while the first trim still runs
    assert time.monotonic() - started < 0.5, "the caller waited for the trim"
    go_on.set()
    deadline = time.monotonic() + 10
    while (len(calls) < 2 or memory._trimmer._running) and time.monotonic() < deadline:
        time.sleep(0.01)
    assert len(calls) == 2 and at_once["max"] == 1  # the first, then one more for all that came during it
