"""The download service on real parts: anvil, 3 js-ipfs nodes, 3 storage clusters (R = 2), the gateway database.

One stack for the module (start-up is paid once); media is stored the way the upload service stores it (bytes on
the ring's R clusters, placements and renditions in the gateway database), then read through the service.
"""

from __future__ import annotations

import io
import random
import sqlite3
import time
from collections.abc import Iterator
from dataclasses import dataclass

import httpx
import pytest
from PIL import Image

from mediaproof.chain import MediaproofChain, connect, gateway_account
from mediaproof.clients.storage import StorageClusterClient
from mediaproof.content import digest_bytes
from mediaproof.deployment import read_deployment
from mediaproof.devstack import LocalStack
from mediaproof.download.launch import download_process
from mediaproof.gateway_store import GatewayStore, Rendition
from mediaproof.processes import ManagedProcess
from mediaproof.ring import ClusterRing
from mediaproof.settings import LOCAL_CHAIN_ID, Settings
from mediaproof.view_records import ViewRecords
from tests.integration.stack import stack_settings

pytestmark = pytest.mark.integration
OWNER = "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266"
STREAM_THRESHOLD = 64 * 1024  # objects above this are streamed from a cluster, not cached whole


def jpeg(seed: int, size: tuple[int, int]) -> bytes:
    rng = random.Random(seed)
    image = Image.frombytes("RGB", size, rng.randbytes(size[0] * size[1] * 3))
    out = io.BytesIO()
    image.save(out, "JPEG", quality=85)
    return out.getvalue()


@dataclass
class Seeder:
    """Stores blobs on the ring's R clusters and records links, renditions and placements like the upload service."""

    stack: LocalStack
    store: GatewayStore
    ring: ClusterRing
    replication: int

    def client(self, cluster_id: int) -> StorageClusterClient:
        """A client signing as the gateway, as the upload service's does (clusters serve only gateways)."""
        parts = next(c for c in self.stack.clusters if c.cluster_id == cluster_id)
        gateway = gateway_account(self.stack.settings, LOCAL_CHAIN_ID)
        return StorageClusterClient(parts.endpoint, cluster_id, gateway, timeout=60)

    def blob(self, data: bytes) -> tuple[str, str]:
        digest = digest_bytes(data)
        sha = digest.sha256.hex()
        for cluster_id in self.ring.place(sha, self.replication):
            with self.client(cluster_id) as client:
                client.store([data], sha, digest.cid, digest.size)
            self.store.add_placement(sha, cluster_id)
        return sha, digest.cid

    def media(
        self, short_id: str, original: bytes, media_type: str = "image/jpeg", variants: dict[str, bytes] | None = None,
        pending: tuple[str, ...] = ()
    ) -> dict[str, bytes]:  # fmt: skip
        """A link to `original` with ready `variants` and not-yet-ready renditions named in `pending`."""
        sha, cid = self.blob(original)
        self.store.add_link(short_id, sha, OWNER, f"title {short_id}", media_type, len(original), None)
        self.store.put_rendition(sha, Rendition("original", sha, cid, len(original), media_type, None, None, True))
        for name, data in (variants or {}).items():
            vsha, vcid = self.blob(data)
            self.store.put_rendition(sha, Rendition(name, vsha, vcid, len(data), "image/jpeg", None, None, True))
        for name in pending:
            fake = digest_bytes(f"{short_id}-{name}-not-made".encode())
            self.store.put_rendition(
                sha, Rendition(name, fake.sha256.hex(), fake.cid, fake.size, "image/jpeg", None, None, False)
            )
        return {"original": original, **(variants or {})}


def topology_ring(settings: Settings, stack: LocalStack) -> tuple[ClusterRing, int]:
    deployment = read_deployment(settings.resolved_deployment_file())
    chain = MediaproofChain(connect(stack.anvil.url), deployment)
    reading = chain.topology_reader.read()
    return ClusterRing.from_clusters(reading.clusters), reading.replication_factor


@dataclass
class DownloadHarness:
    stack: LocalStack
    settings: Settings
    seeder: Seeder
    service: ManagedProcess
    url: str
    media: dict[str, dict[str, bytes]]


def service_settings(stack: LocalStack, **overrides: object) -> Settings:
    """Settings for a second download service beside the stack's, on a free port it takes as it starts."""
    return stack.settings.model_copy(update={"download_port": 0, **overrides})


@pytest.fixture(scope="module")
def download(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DownloadHarness]:
    tmp = tmp_path_factory.mktemp("download")
    base = stack_settings(tmp, clusters=3, replication_factor=2)
    settings = base.model_copy(
        update={
            "download_resolve_ttl": 0.2,
            "download_topology_refresh": 0.5,
            "download_cache_object_bytes": STREAM_THRESHOLD,
            "observer_interval": 600.0,  # this module tests failover in the reader, before any observer reacts
        }
    )
    stack = LocalStack(settings).start()  # with the download service, on a free port
    try:
        assert stack.download is not None
        ring, replication = topology_ring(settings, stack)
        assert replication == 2
        seeder = Seeder(stack, GatewayStore(settings.resolved_gateway_db()), ring, replication)
        media = {
            "photo1": seeder.media(
                "photo1",
                jpeg(1, (900, 600)),
                variants={"small": jpeg(2, (320, 213)), "medium": jpeg(3, (800, 533))},
                pending=("large",),
            ),
            # Over the cache threshold: served by streaming ranges from a cluster, as a video is.
            "clip1": seeder.media("clip1", random.Random(5).randbytes(700_000), media_type="video/mp4"),
        }
        for i in range(12):  # read only in the failover test, so no cache can hide a dead cluster
            media[f"fail{i}"] = seeder.media(
                f"fail{i}",
                random.Random(100 + i).randbytes(150_000 if i % 3 == 0 else 20_000),
                variants={"small": random.Random(200 + i).randbytes(3_000)},
            )
        url = f"http://127.0.0.1:{stack.settings.download_port}"
        yield DownloadHarness(stack, stack.settings, seeder, stack.download, url, media)
    finally:
        stack.stop()


def get(h: DownloadHarness, path: str, **kwargs: object) -> httpx.Response:
    return httpx.get(h.url + path, timeout=30, **kwargs)  # type: ignore[arg-type]


def test_sizes_serve_their_variant_with_immutable_caching(download: DownloadHarness) -> None:
    photo = download.media["photo1"]
    for size in ("small", "medium", "original"):
        response = get(download, f"/m/photo1?size={size}")
        assert response.status_code == 200, response.text
        assert response.content == photo[size]
        assert response.headers["content-type"] == "image/jpeg"
        assert response.headers["content-length"] == str(len(photo[size]))
        assert response.headers["etag"] == f'"{digest_bytes(photo[size]).sha256.hex()}"'
        assert response.headers["cache-control"] == "public, max-age=31536000, immutable"
        assert "x-mediaproof-rendition" not in response.headers
    assert get(download, "/m/photo1").content == photo["original"]
    assert get(download, "/m/photo1/small").content == photo["small"]


def test_downloads_carry_the_title_as_file_name(download: DownloadHarness) -> None:
    shown = get(download, "/m/photo1?size=small")
    assert shown.headers["content-disposition"] == (
        "inline; filename=\"title photo1-small.jpg\"; filename*=UTF-8''title%20photo1-small.jpg"
    )
    saved = get(download, "/m/clip1?download=1")  # streamed, not cached: the same header
    assert saved.headers["content-disposition"].startswith('attachment; filename="title clip1.mp4"')
    assert saved.content == download.media["clip1"]["original"]
    assert get(download, "/m/photo1?download=maybe").status_code == 422


def test_size_not_ready_falls_back_to_original_with_short_caching(download: DownloadHarness) -> None:
    photo = download.media["photo1"]
    response = get(download, "/m/photo1?size=large")
    assert response.status_code == 200
    assert response.content == photo["original"]
    assert response.headers["x-mediaproof-rendition"] == "original"
    assert response.headers["cache-control"] == "public, max-age=60"  # the variant replaces it once ready


def test_variant_made_later_is_served_once_ready(download: DownloadHarness) -> None:
    seeder = download.seeder
    original = jpeg(11, (640, 480))
    seeder.media("later1", original, pending=("small",))
    assert get(download, "/m/later1?size=small").content == original
    small = jpeg(12, (320, 240))
    sha, cid = seeder.blob(small)
    orig_sha = digest_bytes(original).sha256.hex()
    seeder.store.put_rendition(orig_sha, Rendition("small", sha, cid, len(small), "image/jpeg", 320, 240, True))
    deadline = time.monotonic() + 10
    while get(download, "/m/later1?size=small").content != small:
        assert time.monotonic() < deadline, "the ready variant was never served"
        time.sleep(0.2)
    assert get(download, "/m/later1?size=small").headers["cache-control"].endswith("immutable")


def test_if_none_match_gives_304_without_body(download: DownloadHarness) -> None:
    first = get(download, "/m/photo1?size=small")
    etag = first.headers["etag"]
    for header in (etag, f"W/{etag}", f'"nope", {etag}', "*"):
        again = get(download, "/m/photo1?size=small", headers={"If-None-Match": header})
        assert again.status_code == 304, header
        assert again.content == b""
        assert again.headers["etag"] == etag
        assert again.headers["cache-control"].endswith("immutable")
    other = get(download, "/m/photo1?size=small", headers={"If-None-Match": '"0000"'})
    assert other.status_code == 200 and other.content == download.media["photo1"]["small"]


@pytest.mark.parametrize("short_id", ["photo1", "clip1"])  # cached whole, and streamed from a cluster
def test_range_requests_give_206_and_416(download: DownloadHarness, short_id: str) -> None:
    data = download.media[short_id]["original"]
    size = len(data)
    cases = {
        "bytes=0-99": (0, 99),
        "bytes=100-": (100, size - 1),
        "bytes=-500": (size - 500, size - 1),
        f"bytes={size - 10}-{size + 1000}": (size - 10, size - 1),
        "bytes=300000-300010" if size > 300_011 else "bytes=3000-3010": None,
    }
    for header, span in cases.items():
        if span is None:
            start, end = (int(x) for x in header.removeprefix("bytes=").split("-"))
            span = (start, end)
        response = get(download, f"/m/{short_id}", headers={"Range": header})
        assert response.status_code == 206, (header, response.text)
        assert response.content == data[span[0] : span[1] + 1]
        assert response.headers["content-range"] == f"bytes {span[0]}-{span[1]}/{size}"
        assert response.headers["content-length"] == str(span[1] - span[0] + 1)
    unsatisfiable = get(download, f"/m/{short_id}", headers={"Range": f"bytes={size}-"})
    assert unsatisfiable.status_code == 416
    assert unsatisfiable.headers["content-range"] == f"bytes */{size}"
    assert "outside" in unsatisfiable.json()["detail"]
    # If-Range with another version's tag: the whole file, not the range.
    stale = get(download, f"/m/{short_id}", headers={"Range": "bytes=0-9", "If-Range": '"other"'})
    assert stale.status_code == 200 and stale.content == data


def test_streamed_object_served_whole_with_content_type(download: DownloadHarness) -> None:
    response = get(download, "/m/clip1")
    assert response.status_code == 200
    assert response.content == download.media["clip1"]["original"]
    assert response.headers["content-type"] == "video/mp4"
    assert response.headers["accept-ranges"] == "bytes"


def test_head_gives_headers_without_body(download: DownloadHarness) -> None:
    for short_id, size in (("photo1", "small"), ("clip1", "original")):
        data = download.media[short_id][size]
        response = httpx.head(f"{download.url}/m/{short_id}?size={size}", timeout=30)
        assert response.status_code == 200
        assert response.content == b""
        assert response.headers["content-length"] == str(len(data))
        assert response.headers["etag"] == f'"{digest_bytes(data).sha256.hex()}"'


def test_unknown_id_bad_size_bad_path_and_method(download: DownloadHarness) -> None:
    unknown = get(download, "/m/doesNotExist9")
    assert unknown.status_code == 404
    assert "no media has the id 'doesNotExist9'" in unknown.json()["detail"]
    bad = get(download, "/m/photo1?size=huge")
    assert bad.status_code == 422 and bad.json()["error"] == "InputError"
    assert "size 'huge' is not one of" in bad.json()["detail"]
    assert get(download, "/m/photo1/gigantic").status_code == 422
    assert get(download, "/elsewhere").status_code == 404
    assert get(download, "/m/bad!id").status_code == 404
    posted = httpx.post(f"{download.url}/m/photo1", timeout=30)
    assert posted.status_code == 405 and posted.headers["allow"] == "GET, HEAD"


def test_deleted_media_is_gone(download: DownloadHarness) -> None:
    seeder = download.seeder
    data = jpeg(21, (200, 200))
    seeder.media("gone1", data)
    seeder.store.set_media_id("gone1", "0x" + "ab" * 32)
    assert get(download, "/m/gone1").content == data
    seeder.store.mark_deleted("0x" + "ab" * 32)
    deadline = time.monotonic() + 10
    while (response := get(download, "/m/gone1")).status_code != 410:
        assert time.monotonic() < deadline
        time.sleep(0.2)
    assert "deleted" in response.json()["detail"]


def view_rows(settings: Settings) -> list[tuple[object, ...]]:
    """Every view record in the gateway database, as the indexer reads them: (rowid, ts, short_id, size, served,
    sha256, status, byte_offset, bytes)."""
    records = ViewRecords(settings.resolved_gateway_store(), readonly=True)
    try:
        return records.after(0, 100_000)  # type: ignore[return-value]
    finally:
        records.close()


def test_views_are_recorded_in_the_gateway_store(download: DownloadHarness) -> None:
    assert get(download, "/m/photo1?size=medium").status_code == 200
    assert get(download, "/m/photo1?size=large").status_code == 200
    deadline = time.monotonic() + 10
    wanted = {("photo1", "medium", "medium"), ("photo1", "large", "original")}
    while not wanted <= {(r[2], r[3], r[4]) for r in view_rows(download.settings)}:
        assert time.monotonic() < deadline, f"views not recorded: {view_rows(download.settings)}"
        time.sleep(0.2)
    rows = view_rows(download.settings)
    _, ts, _, _, _, sha256, status, offset, length = next(r for r in rows if r[3] == "medium")
    assert sha256 == digest_bytes(download.media["photo1"]["medium"]).sha256.hex()
    assert (status, offset, length) == (200, 0, len(download.media["photo1"]["medium"]))
    assert isinstance(ts, float) and ts > 0
    assert httpx.get(f"{download.url}/health", timeout=10).json()["views"]["dropped"] == 0


def test_a_flood_of_views_while_the_store_is_locked_is_dropped_and_counted_and_never_blocks_reads(
    download: DownloadHarness,
) -> None:
    """A hostile client floods reads while the gateway database will not take writes (another process holds its
    write lock): every read is answered, views past the queue bound are dropped and counted, and once the lock is
    gone the queued ones are written: recorded + dropped is every view."""
    settings = service_settings(download.stack, download_view_queue=5)
    service = download_process(settings, rpc_url=download.stack.anvil.url).start()
    holder = sqlite3.connect(settings.resolved_gateway_db(), isolation_level=None)
    try:
        url = f"http://127.0.0.1:{service.ports[0]}"
        holder.execute("BEGIN IMMEDIATE")  # the one writer's lock, as a long transaction elsewhere would hold it
        with httpx.Client(timeout=30) as client:
            for _ in range(60):
                response = client.get(f"{url}/m/photo1?size=small")
                assert response.status_code == 200
                assert response.content == download.media["photo1"]["small"]
            views = client.get(f"{url}/health").json()["views"]
            assert views["dropped"] >= 60 - 2 * 5 and views["recorded"] == 0  # the queue, and one batch waiting
        holder.execute("ROLLBACK")
        deadline = time.monotonic() + 60
        while (views := httpx.get(f"{url}/health", timeout=10).json()["views"])["pending"] or (
            views["recorded"] + views["dropped"] < 60
        ):
            assert time.monotonic() < deadline, views
            time.sleep(0.2)
        assert views["recorded"] + views["dropped"] == 60 and views["recorded"] <= 2 * 5
    finally:
        holder.close()
        service.stop()


def test_view_records_past_retention_are_deleted_and_new_ones_still_written(download: DownloadHarness) -> None:
    settings = service_settings(download.stack, download_views_retention=5.0)
    old = ViewRecords(settings.resolved_gateway_store())
    old.append([(time.time() - 1000, ("stale00", "small", "small", "00" * 32, 200, 0, 1))])
    old.close()
    service = download_process(settings, rpc_url=download.stack.anvil.url).start()
    try:
        url = f"http://127.0.0.1:{service.ports[0]}"
        deadline = time.monotonic() + 60
        while any(r[2] == "stale00" for r in view_rows(settings)):
            assert time.monotonic() < deadline, "a record past retention was never deleted"
            time.sleep(0.2)
        assert httpx.get(f"{url}/health", timeout=10).json()["views"]["removed"] >= 1
        assert httpx.get(f"{url}/m/photo1?size=small", timeout=30).status_code == 200
        while httpx.get(f"{url}/health", timeout=10).json()["views"]["recorded"] < 1:
            assert time.monotonic() < deadline, "a view after the deletion was never written"
            time.sleep(0.2)
    finally:
        service.stop()


def test_every_read_succeeds_with_one_ipfs_daemon_stopped(download: DownloadHarness) -> None:
    # Nothing tells the service the cluster is down (no observer here): reads must find out and fail over.
    parts = download.stack.clusters
    victim = parts[0]
    victim.ipfs.stop()
    failover = {k: v for k, v in download.media.items() if k.startswith("fail")}
    try:
        for short_id, sizes in failover.items():
            for size, data in sizes.items():
                response = get(download, f"/m/{short_id}?size={size}")
                assert response.status_code == 200, (short_id, size, response.text)
                assert response.content == data
                if len(data) > STREAM_THRESHOLD:
                    part = get(download, f"/m/{short_id}?size={size}", headers={"Range": "bytes=1000-1999"})
                    assert part.status_code == 206 and part.content == data[1000:2000]
        # The dead cluster came first in read order for some of them: the test would prove nothing otherwise.
        ring = download.seeder.ring
        firsts = [
            next(c for c in ring.preference_list(sha) if c in clusters)
            for sha, clusters in download.seeder.store.blobs()
        ]
        assert victim.cluster_id in firsts
    finally:
        victim.ipfs.start()
