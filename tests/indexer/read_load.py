"""Readers for the indexer's read API while its follower commits: N threads, each with its own keep-alive
connection, asking the routes the web app and the CLI ask, round-robin, until stopped. Every answer's status and
latency is kept, so a test can demand zero 5xx and a benchmark can print p99 (bench/abuse.py uses it too)."""

from __future__ import annotations

import threading
import time
from collections import Counter
from dataclasses import dataclass, field

import httpx


@dataclass
class ReadStats:
    statuses: Counter[int] = field(default_factory=Counter)
    latencies: list[float] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)  # transport errors and the first 5xx bodies

    @property
    def requests(self) -> int:
        return sum(self.statuses.values()) + len(self.failures)

    @property
    def errors(self) -> int:
        """5xx answers and requests that got no answer at all."""
        return sum(n for status, n in self.statuses.items() if status >= 500) + sum(
            1 for f in self.failures if f.startswith("transport")
        )

    def percentile(self, p: float) -> float:
        if not self.latencies:
            return float("nan")
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(p / 100 * len(ordered)))]


class ReadLoad:
    """`connections` threads reading `paths` from `base` until `stop()`."""

    def __init__(self, base: str, paths: list[str], connections: int = 16) -> None:
        self.base = base
        self.paths = paths
        self.connections = connections
        self.stats = ReadStats()
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []

    def start(self) -> ReadLoad:
        for i in range(self.connections):
            thread = threading.Thread(target=self._reader, args=(i,), name=f"reader-{i}", daemon=True)
            thread.start()
            self._threads.append(thread)
        return self

    def stop(self) -> ReadStats:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=60)
        return self.stats

    def _reader(self, offset: int) -> None:
        statuses: Counter[int] = Counter()
        latencies: list[float] = []
        failures: list[str] = []
        with httpx.Client(base_url=self.base, timeout=30.0) as client:
            i = offset
            while not self._stop.is_set():
                path = self.paths[i % len(self.paths)]
                i += 1
                started = time.perf_counter()
                try:
                    response = client.get(path)
                except httpx.HTTPError as exc:
                    failures.append(f"transport {path}: {exc!r}")
                    continue
                latencies.append(time.perf_counter() - started)
                statuses[response.status_code] += 1
                if response.status_code >= 500 and len(failures) < 20:
                    failures.append(f"{response.status_code} {path}: {response.text[:200]}")
        with self._lock:
            self.stats.statuses.update(statuses)
            self.stats.latencies.extend(latencies)
            self.stats.failures.extend(failures)
