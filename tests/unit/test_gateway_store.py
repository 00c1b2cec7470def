"""The gateway database: links resolve with their renditions, sizes fall back, readers see the writer's rows."""

from __future__ import annotations

from pathlib import Path

import pytest

from mediaproof.gateway_store import GatewayStore, Rendition

ORIGINAL = "aa" * 32


def rendition(name: str, sha: str, ready: bool = True) -> Rendition:
    return Rendition(name, sha, f"bafk{name}", 100, "image/jpeg", 10, 10, ready)


@pytest.fixture
def store(tmp_path: Path) -> GatewayStore:
    writer = GatewayStore(tmp_path / "gateway.db")
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


def test_a_read_only_reader_sees_committed_rows_and_cannot_write(store: GatewayStore, tmp_path: Path) -> None:
    reader = GatewayStore(tmp_path / "gateway.db", readonly=True)
    store.set_media_id("abc1234", "0x" + "11" * 32)
    store.add_placement(ORIGINAL, 2)
    store.add_placement(ORIGINAL, 1)
    assert reader.resolve("abc1234").media_id == "0x" + "11" * 32  # type: ignore[union-attr]
    assert sorted(reader.placements(ORIGINAL)) == [1, 2]
    assert reader.blobs() == [(ORIGINAL, [1, 2])] or reader.blobs() == [(ORIGINAL, [2, 1])]
    with pytest.raises(Exception, match="readonly"):
        reader.add_placement(ORIGINAL, 3)


def test_live_links_count_drops_when_the_only_record_is_deleted(store: GatewayStore) -> None:
    store.set_media_id("abc1234", "0x" + "22" * 32)
    assert store.live_links_to(ORIGINAL) == 1
    assert store.live_links_to("bb" * 32) == 1  # a rendition of a live record
    store.mark_deleted("0x" + "22" * 32)
    assert store.live_links_to(ORIGINAL) == 0
    assert store.live_links_to("bb" * 32) == 0
