"""What the indexer takes from beside the chain: the download service's view records and the gateway's short ids,
over a real DuckDB store and a real gateway database (SQLite, and PostgreSQL where the test says)."""

from __future__ import annotations

import itertools
import multiprocessing
import time
from pathlib import Path
from typing import Any

import duckdb
import pytest
from fastapi.testclient import TestClient
from hypothesis import given
from hypothesis import strategies as st
from test_indexer_search import deleted_event, media_event, write_block

from indexer.api import create_app
from indexer.search import TitleIndex
from indexer.short_links import ShortLinkSync
from indexer.store import Store
from indexer.views import ViewIngester, parse_rows, parse_view
from mediaproof.download.views import ViewRecorder, view
from mediaproof.gateway_store import GatewayStore
from mediaproof.view_records import View, ViewRecords

DAY1 = 1_717_000_000.0  # 2024-05-29 16:26:40 UTC
DAY2 = DAY1 + 86_400
SHA = "ab" * 32


def view_row(ts: float, short_id: str, size: str = "large", status: int = 200, offset: int = 0) -> tuple[Any, ...]:
    """A stored row without its rowid: (ts, short_id, size, served, sha256, status, byte_offset, bytes)."""
    return (ts, short_id, size, size, SHA, status, offset, 100)


def record(ts: float, short_id: str, size: str = "large", status: int = 200, offset: int = 0) -> tuple[float, View]:
    """What a download process queues: (time, view)."""
    return ts, view(short_id, size, size, SHA, status, offset, 100)


@pytest.fixture
def store(tmp_path: Path) -> Store:
    s = Store(tmp_path / "index.duckdb")
    yield s
    s.close()


def media_id(block: int) -> str:
    return media_event(block, "").args["mediaId"]


def linked_media(store: Store, gateway_target: Path | str) -> None:
    """Media 1 indexed, and linked in the gateway as Hb1."""
    write_block(store, 1, [media_event(1, "harbour at dawn")])
    gateway = GatewayStore(gateway_target)
    gateway.add_link("Hb1", "00" * 32, "0xowner", "harbour at dawn", "image/jpeg", 10, media_id(1))
    gateway.close()
    ShortLinkSync(store, gateway_target).sync()


def test_parse_view_counts_views_not_seeks():
    assert parse_view(view_row(DAY1, "aZ3k9")).counted
    assert parse_view(view_row(DAY1, "aZ3k9", status=304)).counted
    assert parse_view(view_row(DAY1, "aZ3k9", status=206, offset=0)).counted
    seek = parse_view(view_row(DAY1, "aZ3k9", status=206, offset=4096))
    assert not seek.counted and seek.day == "2024-05-29" and seek.byte_offset == 4096


@pytest.mark.parametrize(
    ("row", "complaint"),
    [
        ((1.0, "a", "small"), "columns"),
        (("x", "a", "small", "small", SHA, 200, 0, 1), "ts"),
        ((-1.0, "a", "small", "small", SHA, 200, 0, 1), "ts"),
        ((1.0, "", "small", "small", SHA, 200, 0, 1), "short_id"),
        ((1.0, "a/../b", "small", "small", SHA, 200, 0, 1), "short_id"),
        ((1.0, "a", 3, "small", SHA, 200, 0, 1), "size"),
        ((1.0, "a", "small", "<script>", SHA, 200, 0, 1), "served"),
        ((1.0, "a", "small", "small", "zz", 200, 0, 1), "sha256"),
        ((1.0, "a", "small", "small", SHA, "200", 0, 1), "status"),
        ((1.0, "a", "small", "small", SHA, 500, 0, 1), "status"),
        ((1.0, "a", "small", "small", SHA, 200, -5, 1), "byte_offset"),
        ((1.0, "a", "small", "small", SHA, 200, 0, True), "bytes"),
    ],
)
def test_parse_view_names_what_is_wrong(row: tuple[Any, ...], complaint: str):
    with pytest.raises(ValueError, match=complaint):
        parse_view(row)


_cell = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(), st.text(max_size=70), st.binary(max_size=8))


@given(st.lists(_cell, max_size=10).map(tuple))
def test_parse_view_fuzz_refuses_anything_but_a_view_with_value_error(row: tuple[Any, ...]):
    try:
        parsed = parse_view(row)
    except ValueError:
        return
    assert parsed.status in (200, 206, 304) and parsed.short_id == row[1]


@given(st.integers(0, 1000), st.lists(st.integers(1, 50), max_size=30), st.sets(st.integers(0, 29)))
def test_parse_rows_property_counts_every_rowid_passed_over_and_every_bad_row(
    after: int, steps: list[int], bad_at: set[int]
):
    rowids = list(itertools.accumulate(steps, initial=after))[1:]  # strictly increasing after the cursor
    rows = [(rowid, *(("bad",) if i in bad_at else view_row(DAY1, "a"))) for i, rowid in enumerate(rowids)]
    records, last, missed, bad = parse_rows(after, rows)
    assert last == (rowids[-1] if rowids else after)
    assert missed == last - after - len(rows)  # every rowid in between that no row has
    assert bad == len([i for i in bad_at if i < len(rows)])
    assert [rowid for rowid, _ in records] == [r for i, r in enumerate(rowids) if i not in bad_at]


def test_views_are_ingested_once_across_passes_and_restarts(store: Store, gateway_target: Path | str):
    linked_media(store, gateway_target)
    first, second = ViewRecords(gateway_target), ViewRecords(gateway_target)  # two download processes
    ingester = ViewIngester(store, gateway_target)
    assert ingester.ingest() == 0  # no records yet (on SQLite, not even the table): nothing to do, no error
    first.append([record(DAY1, "Hb1", "large"), record(DAY1 + 60, "Hb1", "small")])
    assert ingester.ingest() == 2
    assert ingester.ingest() == 0  # nothing new: nothing counted twice
    second.append([record(DAY1 + 61, "Hb1", "large", status=206, offset=999)])  # a seek: not another view
    first.append([record(DAY2, "Hb1", "large", status=304), record(DAY2, "Other", "large")])  # another media's
    assert ViewIngester(store, gateway_target).ingest() == 3  # a restarted indexer goes on from the stored cursor
    api = TestClient(create_app(store, TitleIndex(store)))
    answer = api.get(f"/analytics/media/{media_id(1)}").json()
    assert answer["views"] == 3
    assert answer["per_day"] == [{"day": "2024-05-29", "views": 2}, {"day": "2024-05-30", "views": 1}]
    assert answer["per_size"] == [{"size": "large", "views": 2}, {"size": "small", "views": 1}]
    assert api.get("/analytics/media/Hb1").json() == answer  # by short id too
    assert api.get("/analytics/media/Nope1").status_code == 404
    assert api.get("/analytics/media/not-an-id").status_code == 422
    assert api.get("/health").json()["views"] == {"read_through": 5, "missed": 0}
    first.close()
    second.close()


def test_views_written_by_the_download_recorder_are_read(store: Store, gateway_target: Path | str):
    linked_media(store, gateway_target)
    recorder = ViewRecorder(gateway_target, capacity=100)
    recorder.record("Hb1", "medium", "original", "ab" * 32, 200, 0, 512)
    recorder.record("Hb1", "medium", "medium", "cd" * 32, 206, 100, 512)
    recorder.close()
    assert recorder.recorded == 2 and recorder.dropped == 0
    assert ViewIngester(store, gateway_target).ingest() == 2
    answer = store.media_analytics(media_id(1))
    assert answer["views"] == 1 and answer["per_size"] == [{"size": "medium", "views": 1}]


def test_views_pruned_before_they_were_read_are_counted_missed_and_the_rest_read(
    store: Store, gateway_target: Path | str
):
    linked_media(store, gateway_target)
    records = ViewRecords(gateway_target)
    records.append([record(DAY1 + i, "Hb1") for i in range(5)])
    ingester = ViewIngester(store, gateway_target)
    assert ingester.ingest() == 5
    records.append([record(DAY1 + 10 + i, "Hb1") for i in range(4)])  # rowids 6-9: two pass the retention unread
    records.append([record(DAY2, "Hb1"), record(DAY2 + 1, "Hb1")])
    assert records.prune(before=DAY1 + 12) == 2 + 5  # the read ones go too: they are in the indexer's store
    assert ingester.ingest() == 4
    assert store.view_cursor() == (11, 2)
    assert store.media_analytics(media_id(1))["views"] == 9
    records.prune(before=DAY2 + 10)  # the whole table: rowids go on from 12, never again from 1
    records.append([record(DAY2 + 20, "Hb1")])
    assert ingester.ingest() == 1 and store.view_cursor() == (12, 2)
    api = TestClient(create_app(store, TitleIndex(store)))
    assert api.get("/health").json()["views"] == {"read_through": 12, "missed": 2}
    records.close()


def test_unreadable_records_are_skipped_and_the_rest_counted(store: Store, gateway_target: Path | str):
    """Rows the download service would never write (someone with write access to the gateway database): skipped
    and counted, never a failed pass, never a row in the analytics."""
    linked_media(store, gateway_target)
    records = ViewRecords(gateway_target)
    records.append([record(DAY1, "Hb1")])
    records.append(
        [(DAY1, ("Hb1", "large", "large", "not hex", 200, 0, 1)), (-5.0, view("Hb1", "x", "x", SHA, 200, 0, 1))]
    )
    records.append([record(DAY1 + 1, "Hb1")])
    ingester = ViewIngester(store, gateway_target)
    assert ingester.ingest() == 2 and ingester.skipped == 2
    assert store.view_cursor() == (4, 0) and store.media_analytics(media_id(1))["views"] == 2
    records.close()


def _download_process(dsn: str, tag: int, views: int, started: Any) -> None:
    """A download process's recorder: `views` views, flushed in many small batches, tagged by their offset."""
    recorder = ViewRecorder(dsn, capacity=views, flush_seconds=0.001).start()
    started.wait()
    for n in range(views):
        recorder.record("Hb1", "small", "small", SHA, 206, tag * views + n + 1, 1)  # a seek: offset tags it
        if n % 7 == 0:
            time.sleep(0)  # let the flushing thread take small batches
    recorder.close()
    assert recorder.dropped == 0


def test_two_download_processes_writing_while_the_indexer_reads_count_every_view_once(store: Store, postgres: Any):
    """Two processes append to one real PostgreSQL in many small concurrent transactions while the indexer reads on
    from its cursor: each view lands in the analytics exactly once, none skipped by an out-of-order commit."""
    dsn = postgres.database()
    linked_media(store, dsn)
    ViewRecords(dsn).close()  # the table, before either process
    ctx = multiprocessing.get_context("spawn")
    started = ctx.Event()
    per_process = 3000
    writers = [ctx.Process(target=_download_process, args=(dsn, tag, per_process, started)) for tag in range(2)]
    for process in writers:
        process.start()
    started.set()
    ingester = ViewIngester(store, dsn)
    while any(p.is_alive() for p in writers):
        ingester.ingest()  # reads race the writers' commits
    for process in writers:
        process.join()
        assert process.exitcode == 0
    ingester.ingest()
    offsets = [r[0] for r in store.cursor().execute("SELECT byte_offset FROM media_views ORDER BY 1").fetchall()]
    assert offsets == list(range(1, 2 * per_process + 1))  # every view once, none missing
    assert store.view_cursor()[1] == 0


def test_short_ids_reach_media_search_rows_and_lookups(store: Store, tmp_path: Path):
    gateway_db = tmp_path / "gateway.db"
    links = ShortLinkSync(store, gateway_db)
    assert links.sync() == []  # no gateway database yet: nothing to do, no error
    write_block(store, 1, [media_event(1, "harbour at dawn")])
    index = TitleIndex(store)
    gateway = GatewayStore(gateway_db)
    gateway.add_link("Hb1", "00" * 32, "0xowner", "harbour at dawn", "image/jpeg", 10, media_id(1))
    # linked before it is indexed: the upload service can be ahead of a backfilling indexer
    gateway.add_link("Hb2", "00" * 32, "0xowner", "harbour at night", "image/jpeg", 10, media_id(2))
    gateway.add_link("Pend", "00" * 32, "0xowner", "never registered", "image/jpeg", 10, None)
    index.set_short_ids(links.sync())
    write_block(store, 2, [media_event(2, "harbour at night")])
    # a link mirrored before its media: filled when the media arrives, in media_social too (the feed reads it there)
    assert [short for _, short in store.fill_short_ids(after_block=1)] == ["Hb2"]
    social = store.cursor().execute("SELECT short_id FROM media_social WHERE media_id = ?", [media_id(2)]).fetchone()
    assert social == ("Hb2",)
    index.refresh()
    index.set_short_ids(links.sync())
    api = TestClient(create_app(store, index))
    rows = api.get("/search", params={"q": "harbour"}).json()["results"]
    assert sorted((r["title"], r["short_id"]) for r in rows) == [
        ("harbour at dawn", "Hb1"),
        ("harbour at night", "Hb2"),
    ]
    assert api.get("/media/Hb2").json()["id"] == media_id(2)
    assert api.get("/media/Hb2").json()["short_id"] == "Hb2"
    assert api.get("/media/Pend").status_code == 404
    assert "short id" in api.get("/media/Zz9").json()["detail"]
    assert api.get("/media/bad-key!").status_code == 422
    # a rebuilt index (a restart) reads the short ids back from the store
    assert {r["short_id"] for r in TitleIndex(store).rows(TitleIndex(store).search("harbour"))} == {"Hb1", "Hb2"}
    # a rollback drops the media row; re-applied, it gets its short id again
    store.rollback_to(1)
    index.rollback(1)
    links.forget_after(1)
    write_block(store, 2, [media_event(2, "harbour at night")])
    index.refresh()
    index.set_short_ids(links.sync())
    assert api.get("/media/Hb2").json()["short_id"] == "Hb2"
    assert {r["short_id"] for r in api.get("/search", params={"q": "night"}).json()["results"]} == {"Hb2"}
    write_block(store, 3, [deleted_event(3, media_id(2))])
    index.refresh()
    assert api.get("/search", params={"q": "night"}).json()["results"] == []
    # a link written before its registration gets its media id in place (behind the cursor): it is looked up again
    write_block(store, 4, [media_event(4, "registered at last")])
    index.refresh()
    gateway.set_media_id("Pend", media_id(4))
    index.set_short_ids(links.sync())
    assert api.get("/media/Pend").json()["title"] == "registered at last"
    assert [r["short_id"] for r in api.get("/search", params={"q": "last"}).json()["results"]] == ["Pend"]
    # the feed reads short ids from media_social: filled there by both paths (linked before and after indexing)
    social = dict(store.cursor().execute("SELECT media_id, short_id FROM media_social").fetchall())
    assert (social[media_id(1)], social[media_id(2)], social[media_id(4)]) == ("Hb1", "Hb2", "Pend")
    gateway.close()


def test_a_database_of_an_older_layout_is_rebuilt_from_scratch(tmp_path: Path):
    old = duckdb.connect(str(tmp_path / "old.duckdb"))
    old.execute("CREATE TABLE meta (key VARCHAR PRIMARY KEY, value VARCHAR NOT NULL)")
    old.execute("INSERT INTO meta VALUES ('deployment', '{}')")
    old.execute("CREATE TABLE search_tokens (token VARCHAR, media_pos BIGINT, tf SMALLINT, title_len SMALLINT)")
    old.execute("CREATE VIEW clusters AS SELECT 1 AS cluster_id")
    old.close()
    store = Store(tmp_path / "old.duckdb")
    try:
        write_block(store, 1, [media_event(1, "harbour at dawn")])  # the new layout takes rows
        assert [r[1] for r in store.table_rows("search_tokens")] == [["harbour", "at", "dawn"]]
        assert store.cursor().execute("SELECT value FROM meta WHERE key = 'deployment'").fetchone() is None
    finally:
        store.close()


def _sessions(dsn: str) -> int:
    """Sessions ever opened to the database of `dsn` (PostgreSQL's own count), this one included."""
    import psycopg

    with psycopg.connect(dsn, autocommit=True) as conn:
        row = conn.execute("SELECT sessions FROM pg_stat_database WHERE datname = current_database()").fetchone()
    assert row is not None
    return int(row[0])


def test_the_indexer_keeps_one_gateway_connection_per_reader_and_reopens_it_after_the_server_drops_it(
    store: Store, postgres: Any
):
    """Passes read short ids and views over the connections they opened first (PostgreSQL counts no new session),
    and a connection the server killed costs one pass, after which every view is still counted exactly once."""
    import psycopg

    dsn = postgres.database()
    linked_media(store, dsn)
    writer = ViewRecords(dsn)
    links, ingester = ShortLinkSync(store, dsn), ViewIngester(store, dsn)
    links.sync()
    ingester.ingest()
    before = _sessions(dsn)
    for n in range(10):
        writer.append([record(DAY1 + n, "Hb1")])
        assert ingester.ingest() == 1
        links.sync()
    assert _sessions(dsn) == before + 1  # only the count's own session: the passes opened none
    assert (links.gateway.opened, ingester.gateway.opened) == (1, 1)

    with psycopg.connect(dsn, autocommit=True) as admin:  # the server drops every other session (a restart would)
        admin.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
            " WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )
    writer.close()
    writer = ViewRecords(dsn)  # a download process's own dropped connection is its business, not this test's
    writer.append([record(DAY2, "Hb1")])
    read = [ingester.ingest() for _ in range(2)]
    assert sorted(read) == [0, 1]  # one pass met the dropped connection; the next read on a fresh one
    assert ingester.gateway.opened == 2
    assert ingester.ingest() == 0
    assert store.media_analytics(media_id(1))["views"] == 10 + 1
    links.close()
    ingester.close()
    writer.close()
