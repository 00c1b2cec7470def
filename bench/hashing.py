"""Throughput of one-pass sha256 + IPFS CID (mediaproof.content) beside hashlib.sha256 alone, same buffer, same run.

Run: .venv/bin/python bench/hashing.py [--mb 256] [--rounds 3]. Prints the figures and writes them to
bench/results/hashing.txt. No assertions on time: a busy machine gives lower numbers, never a failure.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import platform
import time
from collections.abc import Callable
from pathlib import Path

from mediaproof.content import ContentHasher, digest_bytes

RESULTS = Path(__file__).resolve().parent / "results" / "hashing.txt"
GOAL = 0.8  # ours / hashlib.sha256 alone


def timed(work: Callable[[], object]) -> tuple[float, float]:
    """Wall seconds and CPU seconds (all threads of this process) of one run."""
    wall, cpu = time.perf_counter(), time.process_time()
    work()
    return time.perf_counter() - wall, time.process_time() - cpu


def streamed(buffer: bytes, piece: int) -> Callable[[], object]:
    """Feed `buffer` in `piece`-byte slices, as an upload handler sees a request body."""

    def run() -> object:
        hasher = ContentHasher()
        view = memoryview(buffer)
        for start in range(0, len(view), piece):
            hasher.update(view[start : start + piece])
        return hasher.finish()

    return run


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--mb", type=int, default=256, help="buffer size in MiB")
    parser.add_argument("--rounds", type=int, default=3, help="runs per measurement; the best counts")
    args = parser.parse_args()

    buffer = os.urandom(args.mb << 20)
    megabytes = len(buffer) / 1e6
    # Warm up page faults and the worker thread so the first measurement is not charged for them.
    hashlib.sha256(buffer[: 16 << 20]).digest()
    digest_bytes(buffer[: 16 << 20])

    cases: list[tuple[str, Callable[[], object]]] = [
        ("hashlib.sha256 alone", lambda: hashlib.sha256(buffer).digest()),
        ("sha256 + CID, one buffer (digest_bytes)", lambda: digest_bytes(buffer)),
        ("sha256 + CID, streamed in 64 KiB pieces", streamed(buffer, 64 << 10)),
        ("sha256 + CID, streamed in 1 MiB pieces", streamed(buffer, 1 << 20)),
    ]
    # Interleave the cases round by round so a burst of load elsewhere hits all of them alike; keep each case's
    # fastest run (the least disturbed) and its least CPU time.
    best: dict[str, tuple[float, float]] = {name: (float("inf"), 0.0) for name, _ in cases}
    cpu = {name: float("inf") for name, _ in cases}
    for _ in range(args.rounds):
        for name, work in cases:
            run = timed(work)
            best[name] = min(best[name], run)
            cpu[name] = min(cpu[name], run[1])

    baseline = "hashlib.sha256 alone"
    lines = [
        f"hashing benchmark: {args.mb} MiB random buffer, best of {args.rounds} rounds, MB = 10^6 bytes",
        f"python {platform.python_version()}, {os.cpu_count()} CPUs, {platform.machine()}, "
        f"load average {os.getloadavg()[0]:.1f} at the end",
        f"{'':<42} {'throughput':>13}   {'ratio':>5}   {'CPU cost':>8}   {'cores busy':>10}",
    ]
    for name, _ in cases:
        wall, run_cpu = best[name]
        lines.append(
            f"{name:<42} {megabytes / wall:8.0f} MB/s   {best[baseline][0] / wall:5.2f}   "
            f"{cpu[name] / cpu[baseline]:7.2f}x   {run_cpu / wall:10.2f}"
        )
    ours = "sha256 + CID, one buffer (digest_bytes)"
    ratio = best[baseline][0] / best[ours][0]
    verdict = "meets" if ratio >= GOAL else "misses"
    # Two sha256 passes cost about twice the CPU of one; only a second idle core turns that into wall-clock speed.
    # "cores busy" (CPU seconds / wall seconds of the fastest run) shows how much of a second core the run got.
    bound = min(1.0, 2 * cpu[baseline] / cpu[ours])
    lines.append(f"one-pass ratio {ratio:.2f} {verdict} the goal of {GOAL} x hashlib.sha256 alone")
    lines.append(
        f"CPU cost {cpu[ours] / cpu[baseline]:.2f}x of hashlib alone: with 2 idle cores and perfect overlap the "
        f"ratio is at most {bound:.2f}; it falls toward 0.5 when other processes hold the second core"
    )
    report = "\n".join(lines) + "\n"
    print(report, end="")
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(report)


if __name__ == "__main__":
    main()
