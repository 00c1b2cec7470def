"""The gateway database: links resolve with their renditions, sizes fall back, readers see the writer's rows."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import pytest

from mediaproof import gateway_db
from mediaproof.gateway_store import LINKS_LOCK, GatewayStore, Rendition

# Every test runs on each backend (SQLite file, real PostgreSQL): tests/conftest.py's gateway_target.

ORIGINAL = "aa" * 32


def rendition(name: str, sha: str, ready: bool = True) -> Rendition:
    return Rendition(name, sha, f"bafk{name}", 100, "image/jpeg", 10, 10, ready)


@pytest.fixture
def store(gateway_target: Path | str) -> GatewayStore:
    writer = GatewayStore(gateway_target)
    writer.add_link("abc1234", ORIGINAL, "0xOwner", "Harbour", "image/jpeg", 5000, media_id=None)
    writer.put_rendition(ORIGINAL, rendition("original", ORIGINAL))
    writer.put_rendition(ORIGINAL, rendition("small", "bb" * 32))
    writer.put_rendition(ORIGINAL, rendition("large", "cc" * 32, ready=False))
    return writer


def test_resolve_returns_the_link_with_its_renditions(store: GatewayStore) -> None:
    media = store.resolve("abc1234")
    assert media is not None
    assert media.title == "Harbour" and media.media_id is None and not media.deleted
    assert set(media.renditions) == {"original", "small", "large"}


def test_a_size_not_ready_falls_back_to_the_original(store: GatewayStore) -> None:
    media = store.resolve("abc1234")
    assert media is not None
    assert media.best("small").sha256 == "bb" * 32  # type: ignore[union-attr]
    assert media.best("large").sha256 == ORIGINAL  # type: ignore[union-attr]
    assert media.best("medium").sha256 == ORIGINAL  # type: ignore[union-attr]


def test_unknown_short_id_resolves_to_none(store: GatewayStore) -> None:
    assert store.resolve("zzzzzzz") is None


def test_a_read_only_reader_sees_committed_rows_and_cannot_write(
    store: GatewayStore, gateway_target: Path | str
) -> None:
    reader = GatewayStore(gateway_target, readonly=True)
    store.set_media_id("abc1234", "0x" + "11" * 32)
    store.add_placement(ORIGINAL, 2)
    store.add_placement(ORIGINAL, 1)
    assert reader.resolve("abc1234").media_id == "0x" + "11" * 32  # type: ignore[union-attr]
    assert sorted(reader.placements(ORIGINAL)) == [1, 2]
    assert reader.blobs() == [(ORIGINAL, [1, 2])]
    with pytest.raises(gateway_db.ReadOnly, match=r"readonly|read-only"):
        reader.add_placement(ORIGINAL, 3)
    assert reader.placements(ORIGINAL) == [1, 2] or sorted(reader.placements(ORIGINAL)) == [1, 2]


def test_live_links_count_drops_when_the_only_record_is_deleted(store: GatewayStore) -> None:
    store.set_media_id("abc1234", "0x" + "22" * 32)
    assert store.live_links_to(ORIGINAL) == 1
    assert store.live_links_to("bb" * 32) == 1  # a rendition of a live record
    store.mark_deleted("0x" + "22" * 32)
    assert store.live_links_to(ORIGINAL) == 0
    assert store.live_links_to("bb" * 32) == 0


def test_links_page_in_write_order_and_link_media_is_idempotent(store: GatewayStore) -> None:
    first = store.link_media("def5678", "dd" * 32, "0xOwner", "Quay", "image/png", 10, "0x" + "33" * 32)
    again = store.link_media("ghi9012", "dd" * 32, "0xOwner", "Quay", "image/png", 10, "0x" + "33" * 32)
    assert first == again == "def5678"  # a second link of one media id keeps the first short id
    store.add_link("jkl3456", "ee" * 32, "0xOwner", "Pier", "image/png", 10, media_id=None)
    page = store.links_after(0, 10)
    assert [short for _, short, _ in page] == ["abc1234", "def5678", "jkl3456"]
    assert store.links_after(page[0][0], 1) == [page[1]]
    assert store.short_id_of("0x" + "33" * 32) == "def5678" and store.short_id_of("0x" + "44" * 32) is None


def test_a_reader_paging_links_never_passes_a_link_a_slower_writer_commits_later(postgres: Any) -> None:
    """Two writers (two processes' connections): A's link transaction is open when B writes. B must wait for A, so
    a reader's cursor that has seen B never misses A. Decided by the server's lock table, not by the clock."""
    # PostgreSQL only: SQLite has one writer at a time (BEGIN IMMEDIATE), so the race cannot happen there.
    gateway_target = postgres.database()
    a, b, reader = GatewayStore(gateway_target), GatewayStore(gateway_target), GatewayStore(gateway_target, True)
    a_open, a_may_commit = threading.Event(), threading.Event()

    def slow_writer() -> None:
        with a._db.transaction(LINKS_LOCK):
            a._db.execute(
                "INSERT INTO media_links (short_id, media_id, sha256, owner, title, media_type, size, created_at)"
                " VALUES ('slow000', NULL, ?, '0xA', 'A', 'image/png', 1, 0)",
                ("a1" * 32,),
            )
            a_open.set()
            a_may_commit.wait(60)

    slow = threading.Thread(target=slow_writer)
    slow.start()
    assert a_open.wait(60)
    fast = threading.Thread(target=b.add_link, args=("fast000", "b1" * 32, "0xB", "B", "image/png", 1, None))
    fast.start()
    watcher = gateway_db.connect(gateway_target)
    try:
        waiting = "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted"
        while not watcher.execute(waiting).fetchone()[0]:
            assert fast.is_alive(), "B committed while A's link transaction was open"
        assert reader.links_after(0, 10) == []  # neither visible while A is open, B is queued behind it
    finally:
        a_may_commit.set()
        slow.join(60)
        fast.join(60)
    assert [short for _, short, _ in reader.links_after(0, 10)] == ["slow000", "fast000"]
    for store in (a, b, reader):
        store.close()
    watcher.close()


def test_blobs_walk_pages_by_blob_not_by_placement(store: GatewayStore) -> None:
    for sha, clusters in (("01" * 32, [3, 1]), ("02" * 32, [2]), ("03" * 32, [1, 2, 4])):
        for cluster in clusters:
            store.add_placement(sha, cluster)
    store.add_placement("01" * 32, 3)  # again: ignored
    assert store.blobs(limit=2) == [("01" * 32, [1, 3]), ("02" * 32, [2])]
    assert store.blobs(after="02" * 32) == [("03" * 32, [1, 2, 4])]
    store.remove_placement("03" * 32, 2)
    assert store.placements("03" * 32) in ([1, 4], [4, 1])


def test_a_manifest_before_any_batch_table_is_none(store: GatewayStore) -> None:
    assert store.manifest("bafyunknown") is None
    assert store.named(ORIGINAL) == ("bafkoriginal", 100) and store.named("ff" * 32) is None
