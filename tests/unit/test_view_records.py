"""The view records in the gateway database: appended in batches, read after a cursor in rowid order, pruned past
the retention without ever handing a rowid out twice; readers never pass a batch a slower writer commits later."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import pytest

from mediaproof import gateway_db
from mediaproof.view_records import VIEWS_LOCK, View, ViewRecords

# Every test but the race runs on each backend (SQLite file, real PostgreSQL): tests/conftest.py's gateway_target.

SHA = "ab" * 32


def view(short_id: str, status: int = 200, offset: int = 0) -> View:
    return (short_id, "small", "original", SHA, status, offset, 100)


@pytest.fixture
def records(gateway_target: Path | str) -> ViewRecords:
    store = ViewRecords(gateway_target)
    yield store
    store.close()


def test_batches_read_back_after_a_cursor_in_write_order(records: ViewRecords) -> None:
    assert records.after(0, 10) == []
    records.append([(1.5, view("a")), (1.25, view("b", 206, 4096))])  # a batch keeps its order, not its times'
    records.append([])  # nothing to write: no transaction, no rowid
    records.append([(3.0, view("c", 304))])
    rows = records.after(0, 10)
    assert [(r[1], r[2]) for r in rows] == [(1.5, "a"), (1.25, "b"), (3.0, "c")]
    assert rows[1] == (rows[1][0], 1.25, "b", "small", "original", SHA, 206, 4096, 100)
    assert [r[0] for r in rows] == sorted(r[0] for r in rows) and len({r[0] for r in rows}) == 3
    assert records.after(rows[0][0], 1) == [rows[1]]
    assert records.after(rows[-1][0], 10) == []


def test_prune_deletes_only_records_past_the_retention(records: ViewRecords) -> None:
    records.append([(float(t), view(f"v{t}")) for t in range(10)])
    assert records.prune(before=4.0) == 4
    assert [r[2] for r in records.after(0, 100)] == [f"v{t}" for t in range(4, 10)]
    assert records.prune(before=4.0) == 0  # again: nothing (every download process prunes)


def test_rowids_are_never_reused_after_the_table_is_emptied(records: ViewRecords) -> None:
    """A reader's cursor stays valid however much retention deletes: the next rowid is past every one handed out."""
    records.append([(1.0, view("a")), (2.0, view("b"))])
    last = records.after(0, 10)[-1][0]
    assert records.prune(before=100.0) == 2
    records.append([(101.0, view("c"))])
    assert [(r[0] > last, r[2]) for r in records.after(last, 10)] == [(True, "c")]


def test_prune_takes_a_large_backlog_in_chunks(records: ViewRecords, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("mediaproof.view_records.PRUNE_CHUNK", 3)
    records.append([(float(t), view("a")) for t in range(10)])
    assert records.prune(before=8.0) == 8 and len(records.after(0, 100)) == 2


def test_a_reader_sees_committed_batches_and_cannot_write(records: ViewRecords, gateway_target: Path | str) -> None:
    reader = ViewRecords(gateway_target, readonly=True)
    records.append([(1.0, view("a"))])
    assert [r[2] for r in reader.after(0, 10)] == ["a"]
    with pytest.raises(gateway_db.ReadOnly, match=r"readonly|read-only"):
        reader.append([(2.0, view("b"))])
    assert len(reader.after(0, 10)) == 1
    reader.close()


def test_a_reader_before_any_writer_finds_no_records(tmp_path: Path) -> None:
    """The indexer may start before any download process made the table: an empty read, not an error."""
    gateway_db.connect(tmp_path / "gateway.db", "CREATE TABLE IF NOT EXISTS other (x INTEGER);").close()
    reader = ViewRecords(tmp_path / "gateway.db", readonly=True)
    assert reader.after(0, 10) == []
    reader.close()


def test_a_reader_paging_views_never_passes_a_batch_a_slower_writer_commits_later(postgres: Any) -> None:
    """Two download processes' connections: A's batch transaction is open (rowids taken) when B appends. B must wait
    for A, so a reader that has seen B's rowids never misses A's. Decided by the server's lock table, not the clock."""
    # PostgreSQL only: SQLite has one writer at a time (BEGIN IMMEDIATE), so the race cannot happen there.
    target = postgres.database()
    a, b, reader = ViewRecords(target), ViewRecords(target), ViewRecords(target, readonly=True)
    a_open, a_may_commit = threading.Event(), threading.Event()

    def slow_writer() -> None:
        with a._db.transaction(VIEWS_LOCK):
            a._db.execute(
                "INSERT INTO view_records (ts, short_id, size, served, sha256, status, byte_offset, bytes)"
                " VALUES (1, 'slow', 'small', 'small', ?, 200, 0, 1)",
                (SHA,),
            )
            a_open.set()
            a_may_commit.wait(60)

    slow = threading.Thread(target=slow_writer)
    slow.start()
    assert a_open.wait(60)
    fast = threading.Thread(target=b.append, args=([(2.0, view("fast"))],))
    fast.start()
    watcher = gateway_db.connect(target)
    try:
        waiting = "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted"
        while not watcher.execute(waiting).fetchone()[0]:
            assert fast.is_alive(), "B committed while A's batch transaction was open"
        assert reader.after(0, 10) == []  # neither visible while A is open, B is queued behind it
    finally:
        a_may_commit.set()
        slow.join(60)
        fast.join(60)
    rows = reader.after(0, 10)
    assert [r[2] for r in rows] == ["slow", "fast"] and rows[0][0] < rows[1][0]
    for store in (a, b, reader):
        store.close()
    watcher.close()
