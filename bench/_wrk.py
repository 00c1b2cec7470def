"""wrk (the Debian package) as the benchmarks' load generator: one run for a fixed time, or one run held open until
the caller is done (SIGINT makes wrk stop and print its figures), and one parser for what it prints."""

from __future__ import annotations

import re
import shutil
import signal
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager


def parse(out: str) -> dict[str, float] | None:
    """rps, p50/p99 in ms, non-2xx count and whether socket errors happened; None when wrk printed nothing usable."""
    try:
        rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
        p50 = _ms(re.search(r"\s50%\s+([\d.]+\w+)", out).group(1))  # type: ignore[union-attr]
        p99 = _ms(re.search(r"\s99%\s+([\d.]+\w+)", out).group(1))  # type: ignore[union-attr]
        requests = int(re.search(r"(\d+) requests in", out).group(1))  # type: ignore[union-attr]
    except (AttributeError, ValueError, KeyError):
        return None
    bad = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    errors = re.search(r"Socket errors:.*", out)
    return {"rps": rps, "p50": p50, "p99": p99, "requests": float(requests),
            "non2xx": float(bad.group(1)) if bad else 0.0, "socket_errors": 1.0 if errors else 0.0}  # fmt: skip


def _ms(text: str) -> float:
    number, unit = re.fullmatch(r"([\d.]+)(\w+)", text).groups()  # type: ignore[union-attr]
    return float(number) * {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0}[unit]


def run(url: str, seconds: int, connections: int) -> dict[str, float] | None:
    """One wrk run's figures; None when wrk failed (a loaded machine must not end the benchmark)."""
    try:
        out = subprocess.run(
            ["wrk", "-t2", f"-c{connections}", f"-d{seconds}s", "--latency", url],
            capture_output=True,
            text=True,
            timeout=seconds + 60,
            check=True,
        ).stdout
    except subprocess.SubprocessError as exc:
        print(f"wrk on {url} gave no figures: {exc}", file=sys.stderr)
        return None
    return parse(out)


@contextmanager
def held(url: str, connections: int, figures: dict[str, float], limit: int = 3600) -> Iterator[None]:
    """wrk against `url` for as long as the block runs; its figures land in `figures` (empty when it gave none)."""
    if shutil.which("wrk") is None:
        raise RuntimeError("wrk is not installed: apt-get install -y wrk")
    proc = subprocess.Popen(
        ["wrk", "-t2", f"-c{connections}", f"-d{limit}s", "--latency", url],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        yield
    finally:
        proc.send_signal(signal.SIGINT)  # wrk stops and prints what it measured so far
        out, _ = proc.communicate(timeout=60)
        figures.update(parse(out) or {})
