"""The upload service's background sweep: at start and then every MEDIAPROOF_UPLOAD_SWEEP_INTERVAL seconds, each
task in turn (reconcile registrations that reached the chain without a link, then expire abandoned uploads).

One thread; a task that fails is logged and tried again at the next sweep, never fatal: the service must keep
answering while the RPC node or a cluster is away.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

logger = logging.getLogger(__name__)


class Upkeep:
    def __init__(self, interval: float, tasks: list[tuple[str, Callable[[], object]]]) -> None:
        self._interval = interval
        self._tasks = tasks
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        self.sweeps = 0  # finished sweeps, for /health and tests that wait for one

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="upkeep", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stopping.set()
        if self._thread is not None:
            self._thread.join(timeout=30)

    def sweep(self) -> None:
        for name, task in self._tasks:
            if self._stopping.is_set():
                return
            try:
                task()
            except Exception:  # one bad sweep must not end the thread: the next one tries again
                logger.exception("the upload service's %s sweep failed; retrying in %.0f s", name, self._interval)
        self.sweeps += 1

    def _run(self) -> None:
        while not self._stopping.is_set():
            self.sweep()
            self._stopping.wait(self._interval)
