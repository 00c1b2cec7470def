"""The download app's hot table (cached plain GETs answered by one lookup) and its RSGI adapter, driven in-process:
a real gateway database on disk, bytes put in the app's cache, no server and no clusters."""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import time
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from mediaproof.download.app import DownloadApp
from mediaproof.gateway_store import GatewayStore
from mediaproof.settings import Settings
from mediaproof.view_records import ViewRecords
from tests.unit.test_download_answers import rendition

ORIGINAL = os.urandom(5000)
SMALL = os.urandom(1000)
ORIGINAL_SHA = hashlib.sha256(ORIGINAL).hexdigest()
SMALL_SHA = hashlib.sha256(SMALL).hexdigest()
MEDIA_ID = "0x" + "11" * 32
Reply = tuple[int, list[tuple[bytes, bytes]], bytes]


@pytest.fixture
def gateway(tmp_path: Path) -> Iterator[GatewayStore]:
    """The writer's side: one photo `abc` stored whole, its small variant made but not yet ready."""
    store = GatewayStore(tmp_path / "gateway.db")
    store.add_link("abc", ORIGINAL_SHA, "0xowner", "t", "image/jpeg", len(ORIGINAL), MEDIA_ID)
    store.put_rendition(ORIGINAL_SHA, rendition("original", len(ORIGINAL), sha=ORIGINAL_SHA))
    store.put_rendition(ORIGINAL_SHA, rendition("small", len(SMALL), ready=False, sha=SMALL_SHA))
    yield store
    store.close()


def make_app(tmp_path: Path, ttl: float) -> DownloadApp:
    settings = Settings(data_dir=tmp_path, download_resolve_ttl=ttl, download_topology_refresh=3600)
    app = DownloadApp(settings)
    # The bytes are already cached, so no read ever reaches a cluster (there is none).
    app.cache.put(ORIGINAL_SHA, ORIGINAL)
    app.cache.put(SMALL_SHA, SMALL)
    return app


def serving(tmp_path: Path, ttl: float, body: Callable[[DownloadApp], Awaitable[None]]) -> DownloadApp:
    """Runs `body` against a started app (the sweep timer on the running loop); returns it stopped, views flushed."""
    app = make_app(tmp_path, ttl)

    async def main() -> None:
        app.start()
        try:
            await body(app)
        finally:
            app.stop()

    asyncio.run(main())
    return app


async def request(
    app: Any, path: str, query: bytes = b"", headers: list[tuple[bytes, bytes]] | None = None, method: str = "GET"
) -> Reply:
    """One ASGI request; (status, headers, body)."""
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    scope = {"type": "http", "method": method, "path": path, "query_string": query, "headers": headers or []}
    await app(scope, receive, send)
    start, *bodies = sent
    assert start["type"] == "http.response.start"
    return start["status"], list(start["headers"]), b"".join(m.get("body", b"") for m in bodies)


def views_written(app: DownloadApp) -> list[dict[str, Any]]:
    """The view records the app wrote into the gateway database, as the indexer reads them."""
    records = ViewRecords(app.settings.resolved_gateway_store(), readonly=True)
    try:
        rows = records.after(0, 1000)
    finally:
        records.close()
    names = ("ts", "short_id", "size", "served", "sha256", "status", "offset", "bytes")
    return [dict(zip(names, row[1:], strict=True)) for row in rows]


def full_path_counted(app: DownloadApp) -> list[str]:
    """Wraps the app's full read path so a test sees which requests took it (and so missed the hot table)."""
    taken: list[str] = []
    full = app.http

    async def counting(scope: Any, send: Any) -> None:
        taken.append(scope["path"])
        await full(scope, send)

    app.http = counting  # type: ignore[method-assign]
    return taken


def test_second_plain_get_is_the_same_answer_from_the_hot_table(tmp_path: Path, gateway: GatewayStore) -> None:
    replies: list[Reply] = []

    async def body(app: DownloadApp) -> None:
        taken = full_path_counted(app)
        replies.append(await request(app, "/m/abc"))
        assert taken == ["/m/abc"] and ("/m/abc", b"") in app._hot
        hits = app.cache.hits
        for _ in range(3):
            replies.append(await request(app, "/m/abc"))
        assert taken == ["/m/abc"], "a repeated plain GET went the full way instead of the hot table"
        assert app.cache.hits == hits  # not even the byte cache was asked
        # Another query string is another key: the full way once, then hot too.
        replies.append(await request(app, "/m/abc", b"size=original"))
        replies.append(await request(app, "/m/abc", b"size=original"))
        assert taken == ["/m/abc", "/m/abc"]

    app = serving(tmp_path, 3600, body)
    status, headers, data = replies[0]
    assert status == 200 and data == ORIGINAL
    assert dict(headers)[b"etag"] == f'"{ORIGINAL_SHA}"'.encode()
    assert dict(headers)[b"content-length"] == str(len(ORIGINAL)).encode()
    assert all(reply == replies[0] for reply in replies), "a hot answer differs from the first one"
    assert app.served == len(replies)


def test_conditional_range_and_head_requests_do_not_take_the_hot_path(tmp_path: Path, gateway: GatewayStore) -> None:
    etag = f'"{ORIGINAL_SHA}"'.encode()

    async def body(app: DownloadApp) -> None:
        await request(app, "/m/abc")
        assert ("/m/abc", b"") in app._hot
        taken = full_path_counted(app)

        status, headers, data = await request(app, "/m/abc", headers=[(b"if-none-match", etag)])
        assert (status, data) == (304, b"") and dict(headers)[b"etag"] == etag

        status, headers, data = await request(app, "/m/abc", headers=[(b"range", b"bytes=10-19")])
        assert (status, data) == (206, ORIGINAL[10:20])
        assert dict(headers)[b"content-range"] == f"bytes 10-19/{len(ORIGINAL)}".encode()

        status, headers, data = await request(app, "/m/abc", method="HEAD")
        assert (status, data) == (200, b"") and dict(headers)[b"content-length"] == str(len(ORIGINAL)).encode()

        assert taken == ["/m/abc"] * 3
        # None of them replaced the hot answer: the next plain GET is still the whole photo, hot.
        assert await request(app, "/m/abc") == (200, app._hot[("/m/abc", b"")][0]["headers"], ORIGINAL)
        assert taken == ["/m/abc"] * 3

    serving(tmp_path, 3600, body)


def test_a_variant_made_ready_is_served_after_the_sweep(tmp_path: Path, gateway: GatewayStore) -> None:
    async def body(app: DownloadApp) -> None:
        status, headers, data = await request(app, "/m/abc", b"size=small")
        assert (status, data) == (200, ORIGINAL)  # the variant is not ready: the original stands in
        assert dict(headers)[b"x-mediaproof-rendition"] == b"original"

        gateway.put_rendition(ORIGINAL_SHA, rendition("small", len(SMALL), ready=True, sha=SMALL_SHA))
        # Within the ttl the hot answer stands (documented: changes show within download_resolve_ttl) ...
        assert (await request(app, "/m/abc", b"size=small"))[2] == ORIGINAL
        app._sweep()
        # ... and after the sweep the ready variant is what is served, then kept hot in its turn.
        for _ in range(2):
            status, headers, data = await request(app, "/m/abc", b"size=small")
            assert (status, data) == (200, SMALL)
            assert dict(headers)[b"etag"] == f'"{SMALL_SHA}"'.encode()

    serving(tmp_path, 3600, body)


def test_the_timer_clears_the_table_so_a_deletion_shows_as_410(tmp_path: Path, gateway: GatewayStore) -> None:
    gone: list[Reply] = []

    async def body(app: DownloadApp) -> None:
        assert (await request(app, "/m/abc"))[0] == 200
        assert ("/m/abc", b"") in app._hot
        gateway.mark_deleted(MEDIA_ID)
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            reply = await request(app, "/m/abc")
            if reply[0] != 200:
                gone.append(reply)
                return
            await asyncio.sleep(0.05)

    serving(tmp_path, 0.3, body)  # no one calls _sweep here: only the app's own timer can clear the table
    assert gone, "the deleted media was still served 5 s after the deletion with a 0.3 s ttl"
    status, headers, data = gone[0]
    assert status == 410 and dict(headers)[b"cache-control"] == b"no-store"
    detail = json.loads(data)
    assert detail["error"] == "Deleted" and "deleted by its owner" in detail["detail"]


def test_every_hot_answer_records_a_view(tmp_path: Path, gateway: GatewayStore) -> None:
    async def body(app: DownloadApp) -> None:
        taken = full_path_counted(app)
        for _ in range(5):
            assert (await request(app, "/m/abc", b"size=large"))[0] == 200
        assert len(taken) == 1  # four of the five were hot

    app = serving(tmp_path, 3600, body)
    views = views_written(app)
    assert len(views) == 5
    for line in views:
        assert line.pop("ts") > 0
        assert line == {
            "short_id": "abc", "size": "large", "served": "original", "sha256": ORIGINAL_SHA, "status": 200,
            "offset": 0, "bytes": len(ORIGINAL),
        }  # fmt: skip


# --- RSGI: a fake of granian's protocol object, which is where our adapter ends ---


@dataclass
class FakeScope:
    path: str
    query_string: str = ""
    method: str = "GET"
    headers: dict[str, str] = field(default_factory=dict)
    proto: str = "http"


@dataclass
class FakeProtocol:
    calls: list[tuple[str, Any]] = field(default_factory=list)

    def response_bytes(self, status: int, headers: list[tuple[str, str]], body: bytes) -> None:
        self.calls.append(("bytes", (status, headers, body)))

    def response_stream(self, status: int, headers: list[tuple[str, str]]) -> Any:
        raise AssertionError("a cached answer must be sent whole, not streamed")


async def rsgi(app: DownloadApp, scope: FakeScope) -> tuple[int, dict[str, str], bytes]:
    protocol = FakeProtocol()
    await app.__rsgi__(scope, protocol)
    assert len(protocol.calls) == 1, f"expected one whole answer, got {protocol.calls!r}"
    kind, (status, headers, body) = protocol.calls[0]
    assert kind == "bytes"
    return status, dict(headers), body


def test_rsgi_sends_the_cached_answer_whole_and_errors_through(tmp_path: Path, gateway: GatewayStore) -> None:
    async def body(app: DownloadApp) -> None:
        taken = full_path_counted(app)
        first = await rsgi(app, FakeScope("/m/abc", "size=small"))
        assert taken == ["/m/abc"]
        for _ in range(2):
            assert await rsgi(app, FakeScope("/m/abc", "size=small")) == first
        assert taken == ["/m/abc"], "a repeated RSGI GET missed the hot table"
        status, headers, data = first
        assert (status, data) == (200, ORIGINAL)
        assert headers["etag"] == f'"{ORIGINAL_SHA}"' and headers["content-length"] == str(len(ORIGINAL))
        # The ASGI side shares the table (filled from RSGI) and gives the same answer.
        asgi_status, asgi_headers, asgi_data = await request(app, "/m/abc", b"size=small")
        assert taken == ["/m/abc"] and (asgi_status, asgi_data) == (200, ORIGINAL)
        assert {k.decode(): v.decode() for k, v in asgi_headers} == headers

        # A range goes the full way even though the plain answer is hot.
        status, headers, data = await rsgi(app, FakeScope("/m/abc", "size=small", headers={"range": "bytes=0-9"}))
        assert (status, data) == (206, ORIGINAL[:10]) and len(taken) == 2

        status, headers, data = await rsgi(app, FakeScope("/m/nope"))
        assert status == 404 and headers["content-type"] == "application/problem+json"
        detail = json.loads(data)
        assert detail["error"] == "NotRegistered" and "no media has the id 'nope'" in detail["detail"]

    app = serving(tmp_path, 3600, body)
    assert len(views_written(app)) == 5  # three plain RSGI GETs, one ASGI GET, one range; the 404 is no view
