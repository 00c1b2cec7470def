"""The download service as a raw ASGI app: no framework on the read path, resolve and bytes cached in memory.

GET|HEAD /m/<short id>[/<size>][?size=small|medium|large|original|poster] → the bytes (200, 206, 304, 416);
GET|HEAD /projects/<pid>/manifests/<cid> · /projects/<pid>/blobs/<sha256> → a project's (mediaproof.download.projects);
GET /health → counters. Errors are RFC 9457 problem+json (mediaproof.problems), like every service's.

A plain GET already answered 200 from the cache is answered again from `_hot` (path and query → pre-built
answer) with one dict lookup; `_hot` and the resolved ids are dropped every `download_resolve_ttl` seconds so a
deletion or a variant made later shows within that time. Also an RSGI app (granian's faster interface; rsgi.py).
"""

from __future__ import annotations

import asyncio
import json
import logging
from typing import Any

from mediaproof import gateway_db, problems
from mediaproof.download import rsgi
from mediaproof.download.answers import (
    Answer,
    answer,
    choose,
    content_disposition,
    parse_target,
)
from mediaproof.download.asgi_types import Message, Receive, Scope, Send
from mediaproof.download.cache import ByteCache
from mediaproof.download.projects import PREFIX as PROJECTS_PREFIX
from mediaproof.download.projects import ProjectReads
from mediaproof.download.replicas import Replicas
from mediaproof.download.views import View, ViewRecorder, view
from mediaproof.errors import Deleted, InputError, MediaproofError, MethodNotAllowed, NotRegistered, StorageError
from mediaproof.gateway_store import GatewayStore, LinkedMedia, Rendition
from mediaproof.settings import Settings

logger = logging.getLogger(__name__)
MANIFEST_PREFIX = "/manifests/"
STREAM_CHUNK = 256 * 1024  # slices of a cached object handed to the server at once
RESOLVED_LIMIT = 100_000  # ids (and hot answers) kept between sweeps; a crude bound, entries are cheap to rebuild
# (ASGI response start, ASGI response body, view, RSGI headers, body): sent as they are, so the servers must not
# change them (none does). Keyed by (path, query) with the query both as ASGI's bytes and as RSGI's str.
Hot = tuple[Message, Message, View, list[tuple[str, str]], bytes]


class DownloadApp:
    """One per worker process; built from Settings, started by the ASGI lifespan."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.cache = ByteCache(settings.download_cache_bytes, settings.download_cache_object_bytes)
        self.views = ViewRecorder(
            settings.resolved_gateway_store(),
            settings.download_view_queue,
            retention_seconds=settings.download_views_retention,
        )
        self.replicas = Replicas(settings)
        self.projects = ProjectReads(settings)
        self._store: GatewayStore | None = None
        self._resolved: dict[str, tuple[LinkedMedia, dict[str, list[int]]]] = {}
        self._hot: dict[tuple[str, bytes | str], Hot] = {}
        self._generation = 0  # bumped by each sweep: an answer built from older reads is not kept
        self._sweeper: asyncio.TimerHandle | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._loading: dict[str, asyncio.Future[bytes]] = {}
        self._plain: dict[tuple[str, bool, str, bytes], Answer] = {}
        self.served = 0
        self.failed = 0

    # --- lifecycle ---

    def start(self, loop: asyncio.AbstractEventLoop | None = None) -> None:
        """Starts the view recorder, the topology reader and the sweeps on `loop` (default: the running one)."""
        self.views.start()
        self.replicas.start()
        if self.settings.download_resolve_ttl > 0:
            # On the serving loop, so a sweep never runs in the middle of a request's bookkeeping.
            self._loop = loop or asyncio.get_running_loop()
            self._sweeper = self._loop.call_later(self.settings.download_resolve_ttl, self._sweep)

    def stop(self) -> None:
        if self._sweeper is not None:
            self._sweeper.cancel()
            self._sweeper = None
        self.replicas.close()
        self.views.close()
        self.projects.close()
        if self._store is not None:
            self._store.close()

    def _sweep(self) -> None:
        self._resolved.clear()
        self._hot.clear()
        if len(self._plain) > RESOLVED_LIMIT:
            self._plain.clear()
        self._generation += 1
        if self._loop is not None:
            self._sweeper = self._loop.call_later(self.settings.download_resolve_ttl, self._sweep)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            if scope["method"] == "GET":
                hot = self._hot.get((scope["path"], scope["query_string"]))
                if hot is not None:
                    for name, _ in scope["headers"]:
                        if name == b"if-none-match" or name == b"range":
                            break  # a conditional or partial GET: the full path decides
                    else:
                        await send(hot[0])
                        await send(hot[1])
                        self.views.record_view(hot[2])
                        self.served += 1
                        return
            await self.http(scope, send)
        elif scope["type"] == "lifespan":
            await self._lifespan(receive, send)

    # RSGI (granian): the same hot table, the answer in one call; the rest through the ASGI path.

    def __rsgi_init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.start(loop)

    def __rsgi_del__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.stop()

    async def __rsgi__(self, scope: Any, protocol: Any) -> None:
        if scope.method == "GET":
            hot = self._hot.get((scope.path, scope.query_string))
            if hot is not None:
                headers = scope.headers
                if "if-none-match" not in headers and "range" not in headers:
                    protocol.response_bytes(200, hot[3], hot[4])
                    self.views.record_view(hot[2])
                    self.served += 1
                    return
        await rsgi.serve(self.http, scope, protocol)

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                try:
                    self.start()
                except Exception as exc:  # reported to the server, which exits
                    await send({"type": "lifespan.startup.failed", "message": str(exc)})
                    return
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                self.stop()
                await send({"type": "lifespan.shutdown.complete"})
                return

    # --- the read path ---

    async def http(self, scope: Scope, send: Send) -> None:
        """Any HTTP request, the full way: route, resolve, choose, conditions, bytes; the hot table filled."""
        method = scope["method"]
        path = scope["path"]
        if path == "/health":
            await _json(send, 200, self.health())
            return
        if method not in ("GET", "HEAD"):
            await _problem(send, MethodNotAllowed(f"{method} is not served here; use GET or HEAD", "GET, HEAD"))
            return
        if path.startswith(MANIFEST_PREFIX):
            await self._manifest(send, method, path[len(MANIFEST_PREFIX) :])
            return
        if path.startswith(PROJECTS_PREFIX):
            await self._project(scope, send, method, path)
            return
        try:
            wanted = parse_target(path, scope["query_string"].decode("latin-1"))
        except InputError as exc:  # an UnknownRoute is a 404
            await _problem(send, exc)
            return
        found = self._resolve(wanted.short_id)
        if found is None:
            await _problem(send, NotRegistered(f"no media has the id {wanted.short_id!r}; check the link"))
            return
        media, placements = found
        if media.deleted:
            await _problem(send, Deleted(f"media {wanted.short_id} was deleted by its owner"))
            return
        chosen = choose(media, wanted.size)
        if chosen is None:
            await _problem(send, NotRegistered(f"media {wanted.short_id} has no stored bytes yet; try again soon"))
            return
        rendition, exact = chosen
        if_none_match = range_header = if_range = None
        for name, value in scope["headers"]:
            if name == b"if-none-match":
                if_none_match = value.decode("latin-1")
            elif name == b"range":
                range_header = value.decode("latin-1")
            elif name == b"if-range":
                if_range = value.decode("latin-1")
        disposition = content_disposition(media.title, rendition.media_type, rendition.name, wanted.attachment)
        if if_none_match is None and range_header is None:
            # The common case (a first view): the same answer every time, so made once per rendition and name.
            key = (rendition.sha256, exact, rendition.media_type, disposition)
            plan = self._plain.get(key) or self._plain.setdefault(
                key, answer(rendition, exact, None, None, None, disposition)
            )
        else:
            plan = answer(rendition, exact, if_none_match, range_header, if_range, disposition)
        if plan.status in (304, 416):
            await _send_all(send, plan.status, plan.headers, b"" if method == "HEAD" else plan.body)
            if plan.status == 304:
                self._viewed(wanted.short_id, wanted.size, rendition, 304, 0, 0)
            return
        if method == "HEAD":
            await _send_all(send, plan.status, plan.headers, b"")
            return
        blob_placements = placements.get(rendition.sha256)
        if blob_placements is None:
            blob_placements = placements[rendition.sha256] = self._placements(rendition.sha256)
        if self.cache.fits(rendition.size):
            generation = self._generation
            data = await self._send_cached(send, plan, rendition, blob_placements)
            if (
                data is not None
                and plan.status == 200
                and if_none_match is None
                and range_header is None
                and generation == self._generation
                and self._sweeper is not None
                and len(self._hot) < RESOLVED_LIMIT
            ):
                self._keep_hot(path, scope["query_string"], plan, data, wanted.short_id, wanted.size, rendition)
        else:
            await self._send_streamed(send, plan, rendition, blob_placements)
        self._viewed(wanted.short_id, wanted.size, rendition, plan.status, plan.offset, plan.length)

    def _keep_hot(
        self, path: str, query: bytes, plan: Answer, data: bytes, short_id: str, size: str, rendition: Rendition
    ) -> None:
        line = view(short_id, size, rendition.name, rendition.sha256, 200, 0, plan.length)
        start = {"type": "http.response.start", "status": 200, "headers": plan.headers}
        body = {"type": "http.response.body", "body": data}
        str_headers = [(k.decode("latin-1"), v.decode("latin-1")) for k, v in plan.headers]
        entry = (start, body, line, str_headers, data)
        self._hot[(path, query)] = self._hot[(path, query.decode("latin-1"))] = entry

    async def _send_cached(self, send: Send, plan: Answer, rendition: Rendition, placements: list[int]) -> bytes | None:
        """Sends the answer from the cached object (loading it first); returns the object, None if it failed."""
        data = self.cache.get(rendition.sha256)
        if data is None:
            try:
                data = await self._load(rendition, placements)
            except StorageError as exc:
                self.failed += 1
                await _problem(send, exc, [(b"retry-after", b"5")])
                return None
        body = data[plan.offset : plan.offset + plan.length] if plan.status == 206 else data
        await _send_all(send, plan.status, plan.headers, body)
        self.served += 1
        return data

    async def _load(self, rendition: Rendition, placements: list[int]) -> bytes:
        """The whole object into the cache; concurrent misses for the same bytes share one fetch."""
        pending = self._loading.get(rendition.sha256)
        if pending is not None:
            return await asyncio.shield(pending)
        future: asyncio.Future[bytes] = asyncio.get_running_loop().create_future()
        self._loading[rendition.sha256] = future
        try:
            data = await self.replicas.fetch(rendition.sha256, placements, rendition.size)
            self.cache.put(rendition.sha256, data)
            future.set_result(data)
            return data
        except BaseException as exc:
            future.set_exception(exc)
            future.exception()  # retrieved here, so an unawaited failure is not logged as lost
            raise
        finally:
            del self._loading[rendition.sha256]

    async def _send_streamed(self, send: Send, plan: Answer, rendition: Rendition, placements: list[int]) -> None:
        chunks = self.replicas.stream(rendition.sha256, placements, plan.offset, plan.length)
        try:
            try:
                first = await chunks.__anext__() if plan.length else b""
            except StorageError as exc:
                self.failed += 1
                await _problem(send, exc, [(b"retry-after", b"5")])
                return
            except StopAsyncIteration:
                first = b""
            await send({"type": "http.response.start", "status": plan.status, "headers": plan.headers})
            await send({"type": "http.response.body", "body": first, "more_body": True})
            # A failure past this point cannot become an error answer (the status is sent): the exception
            # propagates and the server drops the connection, so the client sees a short body, never wrong bytes.
            async for chunk in chunks:
                await send({"type": "http.response.body", "body": chunk, "more_body": True})
            await send({"type": "http.response.body", "body": b""})
            self.served += 1
        finally:
            await chunks.aclose()

    async def _project(self, scope: Scope, send: Send, method: str, path: str) -> None:
        """A project's manifest or file, once mediaproof.download.projects admits the request. Never kept in the hot
        table or the views: private bytes are answered only after their access check, every time."""
        authorization = next((value for name, value in scope["headers"] if name == b"authorization"), None)
        try:
            read = await self.projects.admit(path, authorization)
            if read.kind == "manifests":
                found = self.projects.manifest(read)
            else:
                rendition = self.projects.blob(read, self._open_store())
        except MediaproofError as exc:
            await _problem(send, exc)
            return
        if read.kind == "manifests":
            headers = [(b"content-type", b"application/json"), (b"cache-control", read.caching),
                       (b"etag", f'"{found.sha256}"'.encode()), (b"content-length", b"%d" % found.size)]  # fmt: skip
            await _send_all(send, 200, headers, b"" if method == "HEAD" else found.data)
            return
        wanted = {name: value.decode("latin-1") for name, value in scope["headers"]
                  if name in (b"if-none-match", b"range", b"if-range")}  # fmt: skip
        plan = answer(rendition, True, wanted.get(b"if-none-match"), wanted.get(b"range"), wanted.get(b"if-range"))
        plan = Answer(plan.status, [(k, read.caching if k == b"cache-control" else v) for k, v in plan.headers],
                      plan.offset, plan.length, plan.body)  # fmt: skip
        if plan.status in (304, 416) or method == "HEAD":
            await _send_all(send, plan.status, plan.headers, plan.body if method != "HEAD" else b"")
            return
        placements = self._placements(rendition.sha256)
        if self.cache.fits(rendition.size):
            await self._send_cached(send, plan, rendition, placements)
        else:
            await self._send_streamed(send, plan, rendition, placements)

    async def _manifest(self, send: Send, method: str, cid: str) -> None:
        """An anchored batch's manifest by its CID (what the indexer and `mediaproof proof` read); nothing of a
        batch is served before its root is on chain."""
        store = self._open_store()
        found = store.manifest(cid) if store is not None else None
        if found is None:
            await _problem(send, NotRegistered(f"no anchored batch has the manifest {cid!r}"))
            return
        sha256, data = found
        headers = [
            (b"content-type", b"application/json"),
            (b"cache-control", b"public, max-age=31536000, immutable"),
            (b"etag", f'"{sha256}"'.encode()),
        ]
        await _send_all(send, 200, headers, b"" if method == "HEAD" else data)

    # --- lookups ---

    def _resolve(self, short_id: str) -> tuple[LinkedMedia, dict[str, list[int]]] | None:
        hit = self._resolved.get(short_id)
        if hit is not None:
            return hit
        store = self._open_store()
        if store is None:
            return None
        try:
            media = store.resolve(short_id)
        except gateway_db.Error as exc:
            logger.warning("gateway database read failed: %s", exc)
            self._close_store()
            return None
        if media is None:
            return None
        entry: tuple[LinkedMedia, dict[str, list[int]]] = (media, {})
        # Kept until the next sweep; without sweeps (no lifespan, or a ttl of 0) every read asks the database.
        if self._sweeper is not None and len(self._resolved) < RESOLVED_LIMIT:
            self._resolved[short_id] = entry
        return entry

    def _placements(self, sha256: str) -> list[int]:
        store = self._open_store()
        try:
            return store.placements(sha256) if store is not None else []
        except gateway_db.Error:
            return []

    def _open_store(self) -> GatewayStore | None:
        if self._store is None:
            target = self.settings.resolved_gateway_store()
            if not gateway_db.exists(target):
                return None  # no upload yet: nothing to serve
            try:
                self._store = GatewayStore(target, readonly=True)
            except gateway_db.Error as exc:
                logger.warning("cannot open the gateway database %s: %s", gateway_db.describe(target), exc)
                return None
        return self._store

    def _close_store(self) -> None:
        if self._store is not None:
            self._store.close()
            self._store = None

    def _viewed(self, short_id: str, size: str, rendition: Rendition, status: int, offset: int, length: int) -> None:
        self.views.record(short_id, size, rendition.name, rendition.sha256, status, offset, length)

    def health(self) -> dict[str, Any]:
        return {
            "served": self.served,
            "failed": self.failed,
            "cache": {"objects": len(self.cache), "bytes": self.cache.size, "hits": self.cache.hits},
            "views": {
                "recorded": self.views.recorded,
                "pending": self.views.pending,
                "dropped": self.views.dropped,
                "removed": self.views.removed,
            },
            "clusters": {
                str(c.id): {"endpoint": c.endpoint, "status": c.status.name.lower()}
                for c in self.replicas.topology.clusters.values()
            },
            "ring": self.replicas.topology.ring is not None,
        }


async def _send_all(send: Send, status: int, headers: list[tuple[bytes, bytes]], body: bytes) -> None:
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


async def _json(send: Send, status: int, payload: Any, extra: list[tuple[bytes, bytes]] | None = None) -> None:
    body = json.dumps(payload).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", b"%d" % len(body)), *(extra or [])]
    await _send_all(send, status, headers, body)


async def _problem(send: Send, exc: MediaproofError, extra: list[tuple[bytes, bytes]] | None = None) -> None:
    """An error answer in the format every service uses (mediaproof.problems)."""
    status, headers, body = problems.encode(exc)
    await _send_all(send, status, [*headers, *(extra or [])], body)


def create_app(settings: Settings | None = None) -> DownloadApp:
    """The ASGI app (uvicorn's `--factory` target): Settings from the environment when none are given."""
    return DownloadApp(settings or Settings())
