"""What the indexer takes from beside the chain: the download service's view records and the gateway's short ids,
over a real DuckDB store, a real gateway SQLite database and real view files."""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
import pytest
from fastapi.testclient import TestClient
from test_indexer_search import deleted_event, media_event, write_block

from indexer.api import create_app
from indexer.search import TitleIndex
from indexer.short_links import ShortLinkSync
from indexer.store import Store
from indexer.views import ViewIngester, parse_lines, parse_view
from mediaproof.download.views import ViewRecorder
from mediaproof.gateway_store import GatewayStore

DAY1 = 1_717_000_000.0  # 2024-05-29 16:26:40 UTC
DAY2 = DAY1 + 86_400


def view_line(ts: float, short_id: str, size: str = "large", status: int = 200, offset: int = 0) -> str:
    record = {"ts": ts, "short_id": short_id, "size": size, "served": size, "sha256": "ab" * 32}
    return json.dumps(record | {"status": status, "offset": offset, "bytes": 100}) + "\n"


@pytest.fixture
def store(tmp_path: Path) -> Store:
    s = Store(tmp_path / "index.duckdb")
    yield s
    s.close()


def media_id(block: int) -> str:
    return media_event(block, "").args["mediaId"]


def test_parse_view_counts_views_not_seeks():
    assert parse_view(view_line(DAY1, "aZ3k9")).counted
    assert parse_view(view_line(DAY1, "aZ3k9", status=304)).counted
    assert parse_view(view_line(DAY1, "aZ3k9", status=206, offset=0)).counted
    seek = parse_view(view_line(DAY1, "aZ3k9", status=206, offset=4096))
    assert not seek.counted and seek.day == "2024-05-29" and seek.byte_offset == 4096


@pytest.mark.parametrize(
    ("line", "complaint"),
    [
        ("{not json", "not JSON"),
        ("[1]", "not a JSON object"),
        ('{"ts": "x", "short_id": "a", "size": "s", "status": 200}', "ts"),
        ('{"ts": 1, "short_id": "", "size": "s", "status": 200}', "short_id"),
        ('{"ts": 1, "short_id": "a", "size": 3, "status": 200}', "size"),
        ('{"ts": 1, "short_id": "a", "size": "s", "status": "200"}', "status"),
    ],
)
def test_parse_view_names_what_is_wrong(line: str, complaint: str):
    with pytest.raises(ValueError, match=complaint):
        parse_view(line)


def test_parse_lines_takes_whole_lines_only_and_skips_bad_ones():
    chunk = (view_line(DAY1, "a") + "garbage\n" + view_line(DAY1, "b") + view_line(DAY1, "c")[:20]).encode()
    records, used, bad = parse_lines(chunk)
    assert [r.short_id for r in records] == ["a", "b"] and bad == 1
    assert chunk[used:] == view_line(DAY1, "c")[:20].encode()


def test_views_are_ingested_once_across_passes_and_restarts(store: Store, tmp_path: Path):
    write_block(store, 1, [media_event(1, "harbour at dawn")])
    gateway = GatewayStore(tmp_path / "gateway.db")
    gateway.add_link("Hb1", "00" * 32, "0xowner", "harbour at dawn", "image/jpeg", 10, media_id(1))
    ShortLinkSync(store, tmp_path / "gateway.db").sync()
    views_dir = tmp_path / "views"
    views_dir.mkdir()
    first = views_dir / "views-1-100.jsonl"
    second = views_dir / "views-2-200.jsonl"
    lines = [
        view_line(DAY1, "Hb1", "large"),
        view_line(DAY1 + 60, "Hb1", "small"),
        view_line(DAY1 + 61, "Hb1", "large", status=206, offset=999),  # a seek: not another view
        view_line(DAY2, "Hb1", "large", status=304),
        view_line(DAY2, "Other", "large"),  # another media's view
    ]
    first.write_text(lines[0] + lines[1] + lines[2][:30])  # the recorder is half-way through a line
    ingester = ViewIngester(store, views_dir)
    assert ingester.ingest() == 2
    assert ingester.ingest() == 0  # nothing new: nothing counted twice
    with first.open("a") as handle:
        handle.write(lines[2][30:] + lines[3])
    second.write_text(lines[4])
    assert ViewIngester(store, views_dir).ingest() == 3  # a restarted indexer goes on from the stored cursors
    api = TestClient(create_app(store, TitleIndex(store)))
    answer = api.get(f"/analytics/media/{media_id(1)}").json()
    assert answer["views"] == 3
    assert answer["per_day"] == [{"day": "2024-05-29", "views": 2}, {"day": "2024-05-30", "views": 1}]
    assert answer["per_size"] == [{"size": "large", "views": 2}, {"size": "small", "views": 1}]
    assert api.get("/analytics/media/Hb1").json() == answer  # by short id too
    assert api.get("/analytics/media/Nope1").status_code == 404
    assert api.get("/analytics/media/not-an-id").status_code == 422
    gateway.close()


def test_views_written_by_the_download_recorder_are_read(store: Store, tmp_path: Path):
    write_block(store, 1, [media_event(1, "harbour at dawn")])
    gateway = GatewayStore(tmp_path / "gateway.db")
    gateway.add_link("Hb1", "00" * 32, "0xowner", "harbour at dawn", "image/jpeg", 10, media_id(1))
    ShortLinkSync(store, tmp_path / "gateway.db").sync()
    recorder = ViewRecorder(tmp_path / "views", capacity=100)
    recorder.record("Hb1", "medium", "original", "ab" * 32, 200, 0, 512)
    recorder.record("Hb1", "medium", "medium", "cd" * 32, 206, 100, 512)
    recorder.close()
    assert ViewIngester(store, tmp_path / "views").ingest() == 2
    answer = store.media_analytics(media_id(1))
    assert answer["views"] == 1 and answer["per_size"] == [{"size": "medium", "views": 1}]
    gateway.close()


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
