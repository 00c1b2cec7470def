"""Key generator across real OS processes sharing one database (a SQLite file, a real PostgreSQL server): disjoint ids
at once, none reused after restarts or crashes."""

from __future__ import annotations

import contextlib
import itertools
import json
import multiprocessing
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mediaproof import gateway_db
from mediaproof.keygen import DEFAULT_LEASE_SIZE, KeyGenerator

# A worker: waits for the start file (so all workers lease at the same moment), hands out `count` ids (or
# forever if count < 0), appending each to its output file, and prints its rate as JSON.
WORKER = """
import json, os, sys, time
from mediaproof.keygen import DEFAULT_LEASE_SIZE, KeyGenerator
db, lease, count, out, start = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4], sys.argv[5]
gen = KeyGenerator(db, lease_size=lease, label="worker")
while not os.path.exists(start):
    time.sleep(0.005)
began = time.perf_counter()
with open(out, "w") as f:
    n = 0
    while n != count:
        f.write(gen.next_id() + "\\n")
        n += 1
        if count < 0:
            f.flush()
elapsed = time.perf_counter() - began
print(json.dumps({"pid": os.getpid(), "ids": n, "seconds": elapsed}))
"""


@pytest.fixture
def spawn() -> Iterator:
    started: list[subprocess.Popen[str]] = []

    def run(db: Path | str, lease: int, count: int, out: Path, start: Path) -> subprocess.Popen[str]:
        proc = subprocess.Popen(
            [sys.executable, "-c", WORKER, str(db), str(lease), str(count), str(out), str(start)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            start_new_session=True,
        )
        started.append(proc)
        return proc

    yield run
    for proc in started:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
        for stream in (proc.stdout, proc.stderr):
            if stream:
                stream.close()


def finish(proc: subprocess.Popen[str]) -> dict:
    out, err = proc.communicate(timeout=300)
    assert proc.returncode == 0, err
    return json.loads(out)


def read_ids(path: Path) -> list[str]:
    return path.read_text().split()


def leased(target: Path | str) -> list[tuple[int, int, str]]:
    with contextlib.closing(gateway_db.connect(target)) as db:
        rows = db.execute("SELECT start, stop, leased_by FROM keygen_ranges ORDER BY start").fetchall()
    return [(int(a), int(b), str(c)) for a, b, c in rows]


def test_concurrent_processes_hand_out_disjoint_ids(tmp_path: Path, gateway_target: Path | str, spawn) -> None:
    db, start = gateway_target, tmp_path / "go"
    KeyGenerator(db)  # create the schema once so the workers race only on leases
    outs = [tmp_path / f"ids{i}.txt" for i in range(3)]
    procs = [spawn(db, 200, 30_000, out, start) for out in outs]
    time.sleep(1.0)  # let every worker import and open the database
    start.touch()
    reports = [finish(p) for p in procs]
    sets = [set(read_ids(out)) for out in outs]
    assert [len(s) for s in sets] == [30_000] * 3, "an id repeated within one process"
    assert not (sets[0] & sets[1] or sets[0] & sets[2] or sets[1] & sets[2]), "two processes shared an id"

    ranges = leased(db)
    assert ranges[0][0] == 0 and all(a[1] == b[0] for a, b in itertools.pairwise(ranges)), (
        "leased ranges must tile the sequence without overlap"
    )
    owners = [by.split(":")[1] for _, _, by in ranges]
    switches = sum(a != b for a, b in itertools.pairwise(owners))
    assert len(set(owners)) == 3 and switches > 3, "workers did not lease concurrently"
    # Every id a worker handed out lies in a range leased by that very worker.
    gen = KeyGenerator(db)
    for report, ids in zip(reports, sets, strict=True):
        mine = [(s, e) for s, e, by in ranges if by.split(":")[1] == str(report["pid"])]
        for short_id in ids:
            seq = gen.parse(short_id)
            assert any(s <= seq < e for s, e in mine)
    rates = ", ".join(f"{r['ids'] / r['seconds']:,.0f}" for r in reports)
    backend = "postgresql" if gateway_db.is_dsn(db) else "sqlite"
    print(f"\nkeygen on {backend}: 3 concurrent processes, lease 200 (a lease every 200 ids): {rates} ids/s each")


def test_restarted_processes_never_reuse_an_id(tmp_path: Path, gateway_target: Path | str, spawn) -> None:
    db, start = gateway_target, tmp_path / "go"
    start.touch()
    seen: set[str] = set()
    # Clean exits part-way through a range, one after another: each restart abandons the rest of its range.
    for run in range(3):
        out = tmp_path / f"run{run}.txt"
        finish(spawn(db, 100, 150, out, start))
        ids = set(read_ids(out))
        assert len(ids) == 150 and not ids & seen
        seen |= ids
    assert [(s, e) for s, e, _ in leased(db)] == [(i * 100, i * 100 + 100) for i in range(6)]

    # A crash: SIGKILL while handing out ids, then a fresh process on the same database.
    out = tmp_path / "killed.txt"
    victim = spawn(db, 100, -1, out, start)
    deadline = time.monotonic() + 60
    while (not out.exists() or len(read_ids(out)) < 1000) and time.monotonic() < deadline:
        time.sleep(0.02)
    os.killpg(victim.pid, signal.SIGKILL)
    victim.wait(timeout=30)
    killed = set(read_ids(out))
    assert len(killed) >= 1000 and not killed & seen
    seen |= killed
    high_water_at_crash = max(e for _, e, _ in leased(db))

    out = tmp_path / "after-crash.txt"
    finish(spawn(db, 100, 2000, out, start))
    after = set(read_ids(out))
    assert len(after) == 2000 and not after & seen
    gen = KeyGenerator(db)
    assert min(gen.parse(i) for i in after) >= high_water_at_crash


def test_concurrent_processes_with_default_leases_are_disjoint_and_fast(
    tmp_path: Path, gateway_target: Path | str, spawn
) -> None:
    db, start = gateway_target, tmp_path / "go"
    KeyGenerator(db)
    outs = [tmp_path / f"ids{i}.txt" for i in range(3)]
    procs = [spawn(db, DEFAULT_LEASE_SIZE, 100_000, out, start) for out in outs]
    time.sleep(1.0)
    start.touch()
    reports = [finish(p) for p in procs]
    union = set().union(*(read_ids(out) for out in outs))
    assert len(union) == 300_000
    rates = [r["ids"] / r["seconds"] for r in reports]
    # No timing assertion: the machine is shared. A lease costs one fsync; ids in between come from memory.
    backend = "postgresql" if gateway_db.is_dsn(db) else "sqlite"
    print(
        f"\nkeygen on {backend}: 3 concurrent processes, lease {DEFAULT_LEASE_SIZE}:"
        f" {', '.join(f'{r:,.0f}' for r in rates)} ids/s"
    )


# --- the property, over random schedules of processes, leases and crashes -------------------------------------


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def fresh_database(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Callable[[], Any]:
    """A maker of empty gateway databases on one backend: each hypothesis example starts from nothing."""
    if request.param == "sqlite":
        base, numbers = tmp_path_factory.mktemp("keygen"), itertools.count()
        return lambda: base / f"gateway{next(numbers)}.db"
    server = request.getfixturevalue("postgres")
    make: Callable[[], str] = server.database
    return make


def _hand_out(target: Path | str, lease: int, count: int, crash: bool, out: str, go: Any) -> None:
    """A service process: `count` ids, each written out before the next; then a clean exit or SIGKILL, which
    abandons the rest of its range exactly as a crash would (no clean-up runs)."""
    gen = KeyGenerator(target, lease_size=lease, label="property")
    go.wait(60)
    with open(out, "w") as f:
        for _ in range(count):
            f.write(gen.next_id() + "\n")
            f.flush()
    if crash:
        os.kill(os.getpid(), signal.SIGKILL)


PROCESS = st.tuples(st.integers(0, 150), st.booleans())  # (ids it hands out, whether it crashes afterwards)


@given(
    lease=st.integers(5, 60),
    rounds=st.lists(st.lists(PROCESS, min_size=2, max_size=3), min_size=1, max_size=3),
)
@settings(max_examples=8)
def test_no_id_twice_across_processes_nor_reused_after_a_crash_property(
    fresh_database: Callable[[], Any], tmp_path_factory: pytest.TempPathFactory, lease: int, rounds: list[Any]
) -> None:
    # Rounds run one after another on one database; the processes of a round run at once. Whatever the schedule of
    # clean exits and crashes, every id handed out is unique, and a later round never repeats an earlier one's.
    target, work = fresh_database(), tmp_path_factory.mktemp("ids")
    ctx = multiprocessing.get_context("fork")
    seen: set[str] = set()
    for r, processes in enumerate(rounds):
        go = ctx.Event()
        outs = [str(work / f"r{r}p{p}.txt") for p in range(len(processes))]
        procs = [
            ctx.Process(target=_hand_out, args=(target, lease, count, crash, out, go))
            for (count, crash), out in zip(processes, outs, strict=True)
        ]
        for proc in procs:
            proc.start()
        go.set()
        for proc in procs:
            proc.join(120)
        for (count, crash), proc, out in zip(processes, procs, outs, strict=True):
            assert proc.exitcode == (-signal.SIGKILL if crash else 0)
            ids = Path(out).read_text().split()
            assert len(ids) == count == len(set(ids)), "a process handed out an id twice"
            assert not set(ids) & seen, "an id was handed out twice (by two processes, or again after a restart)"
            seen |= set(ids)
    ranges = leased(target)
    assert all(a[1] <= b[0] for a, b in itertools.pairwise(ranges)), "leased ranges overlap"
