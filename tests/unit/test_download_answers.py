"""The download service's pure parts: routes and sizes, ETags, ranges and caching headers, the cache, view records,
and the read order over replicas."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mediaproof.download.answers import (
    FALLBACK,
    IMMUTABLE,
    UnknownRoute,
    Wanted,
    answer,
    choose,
    etag_matches,
    parse_target,
)
from mediaproof.download.cache import ByteCache
from mediaproof.download.replicas import Topology, read_order
from mediaproof.download.views import ViewRecorder, view
from mediaproof.errors import InputError
from mediaproof.gateway_store import GatewayStore, LinkedMedia, Rendition
from mediaproof.ring import ClusterRing, RingMember
from mediaproof.topology import Cluster, ClusterStatus
from mediaproof.view_records import ViewRecords

SHA = "ab" * 32


def rendition(name: str = "small", size: int = 1000, ready: bool = True, sha: str = SHA) -> Rendition:
    return Rendition(name, sha, "bafk", size, "image/jpeg", None, None, ready)


def headers(result: object) -> dict[bytes, bytes]:
    return dict(result.headers)  # type: ignore[attr-defined]


def test_parse_target_sizes_and_aliases() -> None:
    assert parse_target("/m/abc", "") == Wanted("abc", "original")
    assert parse_target("/m/abc", "size=small").size == "small"
    assert parse_target("/m/abc/medium", "").size == "medium"
    assert parse_target("/m/abc", "x=1&size=large").size == "large"


@pytest.mark.parametrize("path", ["/", "/m", "/m/", "/x/abc", "/m/a-b", "/m/abc/small/extra", "/m/" + "a" * 65])
def test_parse_target_unknown_routes(path: str) -> None:
    with pytest.raises(UnknownRoute):
        parse_target(path, "")


@pytest.mark.parametrize("query", ["size=huge", "size=", "size=SMALL"])
def test_parse_target_bad_size_names_the_choices(query: str) -> None:
    with pytest.raises(InputError, match="small, medium, large"):
        parse_target("/m/abc", query)


def test_etag_matching_is_weak_and_lists() -> None:
    tag = f'"{SHA}"'.encode()
    assert etag_matches(f'"{SHA}"', tag)
    assert etag_matches(f'W/"{SHA}"', tag)
    assert etag_matches(f'"x", "{SHA}"', tag)
    assert etag_matches("*", tag)
    assert not etag_matches('"x"', tag)
    assert not etag_matches(None, tag)


def test_choose_falls_back_to_original_when_variant_not_ready() -> None:
    original = rendition("original", 5000, sha="cd" * 32)
    media = LinkedMedia(
        "abc", None, "cd" * 32, "0x", "t", "image/jpeg", 5000, 0, False,
        {"original": original, "small": rendition("small", ready=True), "large": rendition("large", ready=False)},
    )  # fmt: skip
    assert choose(media, "small") == (media.renditions["small"], True)
    assert choose(media, "large") == (original, False)
    assert choose(media, "medium") == (original, False)
    assert choose(media, "original") == (original, True)


def test_exact_answers_are_immutable_and_fallbacks_short() -> None:
    exact = answer(rendition(), True, None, None, None)
    assert exact.status == 200 and headers(exact)[b"cache-control"] == IMMUTABLE
    assert headers(exact)[b"etag"] == f'"{SHA}"'.encode() and headers(exact)[b"content-length"] == b"1000"
    fallback = answer(rendition("original"), False, None, None, None)
    assert headers(fallback)[b"cache-control"] == FALLBACK
    assert headers(fallback)[b"x-mediaproof-rendition"] == b"original"


def test_not_modified_and_unsatisfiable() -> None:
    assert answer(rendition(), True, f'"{SHA}"', "bytes=0-1", None).status == 304
    unsatisfiable = answer(rendition(size=100), True, None, "bytes=100-", None)
    assert unsatisfiable.status == 416 and headers(unsatisfiable)[b"content-range"] == b"bytes */100"
    assert "outside" in json.loads(unsatisfiable.body)["detail"]


def test_ranges_of_thousands_of_digits_are_past_the_end_not_a_500() -> None:
    huge = "9" * 4400  # over Python's int() digit limit (4300): parsing it raised ValueError, a 500
    assert answer(rendition(size=100), True, None, f"bytes={huge}-", None).status == 416
    assert answer(rendition(size=100), True, None, f"bytes={huge}-{huge}", None).status == 416
    tail = answer(rendition(size=100), True, None, f"bytes=10-{huge}", None)
    assert (tail.status, tail.offset, tail.length) == (206, 10, 90)
    whole = answer(rendition(size=100), True, None, f"bytes=-{huge}", None)
    assert (whole.status, whole.offset, whole.length) == (206, 0, 100)
    padded = answer(rendition(size=100), True, None, f"bytes={'0' * 4400}5-9", None)
    assert (padded.status, padded.offset, padded.length) == (206, 5, 5)


def test_if_range_with_another_tag_sends_everything() -> None:
    assert answer(rendition(), True, None, "bytes=0-9", '"other"').status == 200
    assert answer(rendition(), True, None, "bytes=0-9", f'"{SHA}"').status == 206


@given(
    size=st.integers(1, 10_000),
    first=st.one_of(st.none(), st.integers(0, 12_000)),
    last=st.one_of(st.none(), st.integers(0, 12_000)),
)
def test_fuzz_range_answers_slice_exactly(size: int, first: int | None, last: int | None) -> None:
    header = f"bytes={'' if first is None else first}-{'' if last is None else last}"
    result = answer(rendition(size=size), True, None, header, None)
    data = bytes(i % 251 for i in range(size))
    if result.status == 416:
        assert headers(result)[b"content-range"] == b"bytes */%d" % size
        return
    body = data[result.offset : result.offset + result.length]
    assert int(headers(result)[b"content-length"]) == len(body) == result.length
    if result.status == 200:
        assert body == data  # no range, or one RFC 9110 lets us ignore
        return
    assert result.status == 206 and result.length >= 1
    start, end = (int(x) for x in headers(result)[b"content-range"].split(b" ")[1].split(b"/")[0].split(b"-"))
    assert (start, end - start + 1) == (result.offset, result.length)
    if first is not None:
        assert start == first and end == min(last if last is not None else size - 1, size - 1)
    else:
        assert last is not None and body == data[-last:]


def test_cache_is_bounded_in_bytes_and_keeps_recent() -> None:
    cache = ByteCache(capacity=1000, max_object=400)
    cache.put("a", b"x" * 400)
    cache.put("b", b"x" * 400)
    assert cache.get("a") is not None  # a is now the most recent
    cache.put("c", b"x" * 400)  # over 1000: the least recent (b) goes
    assert "b" not in cache and "a" in cache and "c" in cache
    assert cache.size == 800 <= cache.capacity
    cache.put("big", b"x" * 401)
    assert "big" not in cache and not cache.fits(401)


@pytest.fixture
def gateway(tmp_path: Path) -> Path:
    """A gateway database as the upload service leaves it: the download service writes views into it, never makes it."""
    GatewayStore(tmp_path / "gateway.db").close()
    return tmp_path / "gateway.db"


def test_view_recorder_writes_records_in_batches(gateway: Path) -> None:
    recorder = ViewRecorder(gateway, capacity=10, flush_seconds=60)
    recorder.record("abc", "large", "original", SHA, 200, 0, 5000)
    recorder.record("abc", "large", "original", SHA, 206, 4096, 904)
    assert recorder.pending == 2 and recorder.flush() == 2 and recorder.pending == 0
    rows = ViewRecords(gateway, readonly=True).after(0, 10)
    assert [r[2:] for r in rows] == [
        ("abc", "large", "original", SHA, 200, 0, 5000), ("abc", "large", "original", SHA, 206, 4096, 904)
    ]  # fmt: skip
    assert all(r[1] > 0 for r in rows) and recorder.recorded == 2
    recorder.close()


def test_view_recorder_drops_and_counts_a_flood_over_its_queue(gateway: Path) -> None:
    recorder = ViewRecorder(gateway, capacity=100, flush_seconds=60)
    for _ in range(10_000):
        recorder.record("abc", "small", "small", SHA, 200, 0, 10)  # an append to a deque: returns, never waits
    assert recorder.pending == 100 and recorder.dropped == 9_900
    assert recorder.flush() == 100 and len(ViewRecords(gateway, readonly=True).after(0, 1000)) == 100
    recorder.close()


def test_view_recorder_prunes_records_past_retention_whichever_process_wrote_them(gateway: Path) -> None:
    other = ViewRecords(gateway)  # another download process
    other.append([(time.time() - 1000, view("old", "small", "small", SHA, 200, 0, 10))])
    recorder = ViewRecorder(gateway, capacity=10, flush_seconds=60, retention_seconds=10)
    recorder.record("new", "small", "small", SHA, 200, 0, 10)
    assert recorder.flush() == 1
    assert recorder.prune() == 1 and recorder.removed == 1
    assert [r[2] for r in other.after(0, 10)] == ["new"]
    other.close()
    recorder.close()


def test_view_recorder_never_makes_the_gateway_database(tmp_path: Path) -> None:
    recorder = ViewRecorder(tmp_path / "gateway.db", capacity=10, flush_seconds=60)
    recorder.record("abc", "small", "small", SHA, 200, 0, 10)
    assert recorder.flush() == 0 and recorder.dropped == 1 and recorder.prune() == 0
    assert not (tmp_path / "gateway.db").exists()  # the upload service makes it, with its own tables
    recorder.close()


def test_view_recorder_survives_a_database_it_cannot_open(tmp_path: Path) -> None:
    (tmp_path / "gateway.db").mkdir()  # a directory where the file should be
    recorder = ViewRecorder(tmp_path / "gateway.db", capacity=10, flush_seconds=60)
    recorder.record("abc", "small", "small", SHA, 200, 0, 10)
    assert recorder.flush() == 0 and recorder.dropped == 1
    recorder.close()


def test_read_order_is_placements_in_ring_order_without_down_and_suspects_last() -> None:
    members = [RingMember(i, 1, ClusterStatus.ACTIVE) for i in (1, 2, 3)]
    ring = ClusterRing(members, vnodes_per_weight=50)
    signer = "0x" + "11" * 20
    views = {i: Cluster(i, signer, 1, ClusterStatus.ACTIVE, f"http://c{i}", False) for i in (1, 2, 3)}
    topology = Topology(views, ring)
    preferred = ring.preference_list(SHA)
    holders = preferred[1:]
    assert read_order(topology, SHA, holders, set()) == holders
    assert read_order(topology, SHA, [], set()) == preferred  # no placements recorded: every readable cluster
    assert read_order(topology, SHA, holders, {holders[0]}) == [holders[1], holders[0]]
    down = Topology({**views, holders[0]: Cluster(holders[0], signer, 1, ClusterStatus.DOWN, "x", False)}, ring)
    assert read_order(down, SHA, holders, set()) == [holders[1]]
    no_ring = Topology(views, None)
    assert read_order(no_ring, SHA, [3, 1], set()) == [3, 1]
