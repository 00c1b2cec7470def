"""Keeps `make up` whole: a service that dies is started again, after a back-off that grows while it keeps dying,
and every exit and restart is logged (data_dir/supervisor.log and the terminal).

The rule (`restart_delay`) is pure; `Supervisor` is one thread that polls each supervised part and calls its
`restart` when it is gone. Parts are named by callables, so a restart that builds a new process is seen next round.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

logger = logging.getLogger(__name__)

POLL = 0.5  # seconds between looks at every part
FIRST_DELAY = 0.5  # seconds before the first restart after a crash
MAX_DELAY = 30.0  # the back-off stops growing here
STEADY = 60.0  # seconds a restarted part must run for its crashes to be forgiven (the back-off starts over)


def restart_delay(crashes_in_a_row: int) -> float:
    """Seconds to wait before restarting a part that has crashed `crashes_in_a_row` times (1 for the first) without
    running STEADY seconds in between: 0.5, 1, 2, 4 … up to 30, so a part that cannot start does not spin."""
    return min(MAX_DELAY, FIRST_DELAY * 2 ** max(0, crashes_in_a_row - 1))


@dataclass
class Supervised:
    """One part: `alive()` says whether it runs, `exit_code()` how it ended, `restart()` starts it again (and
    returns once it is ready, or raises)."""

    name: str
    alive: Callable[[], bool]
    exit_code: Callable[[], int | None]
    restart: Callable[[], None]
    crashes: int = 0
    since: float = 0.0  # when it was last (re)started, monotonic
    due: float | None = None  # when the pending restart is due; None while it runs

    @property
    def pending(self) -> bool:
        return self.due is not None


class Supervisor:
    """One thread that restarts every supervised part that died, with back-off, until `stop()`."""

    def __init__(self, parts: list[Supervised], log: Callable[[str], None]) -> None:
        self.parts = parts
        self.log = log
        self.restarts: list[str] = []  # names, in order: what was restarted (read by tests and `make up`)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, name="supervisor", daemon=True)

    def start(self) -> Supervisor:
        now = time.monotonic()
        for part in self.parts:
            part.since = now
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop watching; a restart under way finishes first, so nothing is started after this returns."""
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join()

    def _watch(self) -> None:
        while not self._stop.wait(POLL):
            for part in self.parts:
                if self._stop.is_set():
                    return
                try:
                    self._look_at(part)
                except Exception:  # the watcher itself must not die: log and look again next round
                    logger.exception("supervising %s failed", part.name)

    def _look_at(self, part: Supervised) -> None:
        now = time.monotonic()
        if part.alive():
            if part.crashes and now - part.since >= STEADY:
                part.crashes = 0
            return
        if part.due is None:
            part.crashes += 1
            delay = restart_delay(part.crashes)
            part.due = now + delay
            self.log(f"{part.name} exited (code {part.exit_code()}): restarting in {delay:g} s (crash {part.crashes} "
                     "in a row)")  # fmt: skip
            return
        if now < part.due:
            return
        part.due = None
        part.since = time.monotonic()
        try:
            part.restart()
        except Exception as exc:  # counted as a crash when seen dead next round: the back-off grows
            self.log(f"{part.name} could not be restarted: {exc}")
            return
        self.restarts.append(part.name)
        self.log(f"{part.name} restarted")
