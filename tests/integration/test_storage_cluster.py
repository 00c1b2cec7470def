"""The storage cluster service against a real js-ipfs daemon: verify, pin, sign, serve, refuse, survive restarts."""

from __future__ import annotations

import io
import os
import random
import socket
import stat
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest
from PIL import Image

from mediaproof.content import ContentDigest, digest_bytes
from mediaproof.errors import ContentMismatch, NotRegistered
from mediaproof.receipts import receipt_signer
from mediaproof.storage.keys import KEY_FILE, load_or_create_signer
from tests.integration.fixtures_ipfs import TEST_CHAIN_ID, TEST_TOPOLOGY, ClusterHarness, storage_cluster

pytestmark = pytest.mark.integration
__all__ = ["storage_cluster"]  # the fixture, imported for pytest to find


def _jpeg(seed: int, size: tuple[int, int] = (640, 480)) -> bytes:
    """A real JPEG: noisy pixels so it is not tiny and differs per seed."""
    rng = random.Random(seed)
    image = Image.frombytes("RGB", size, bytes(rng.getrandbits(8) for _ in range(size[0] * size[1] * 3)))
    out = io.BytesIO()
    image.save(out, format="JPEG", quality=90)
    return out.getvalue()


def _put(cluster: ClusterHarness, data: bytes, sha256: str, cid: str, size: int) -> httpx.Response:
    chunks = (data[i : i + 65536] for i in range(0, len(data), 65536))
    return httpx.put(
        f"{cluster.endpoint}/objects/{sha256}",
        params={"cid": cid, "size": size, "title": "t"},
        content=chunks,
        timeout=60,
    )


def test_store_jpeg_gives_receipt_signed_by_cluster_signer(storage_cluster: ClusterHarness) -> None:
    data = _jpeg(1)
    assert data[:3] == b"\xff\xd8\xff"
    digest = digest_bytes(data)
    receipt = storage_cluster.client.store(io.BytesIO(data), digest.sha256, digest.cid, digest.size, title="cat")

    signer = load_or_create_signer(storage_cluster.config.data_dir)
    assert receipt.signer == signer == storage_cluster.client.health()["signer"]
    assert (receipt.cluster_id, receipt.sha256, receipt.cid, receipt.size) == (1, digest.sha256, digest.cid, len(data))
    assert receipt_signer(receipt.receipt, receipt.signature, TEST_CHAIN_ID, TEST_TOPOLOGY) == signer
    # The same signature does not hold for other bytes or another domain.
    other = digest_bytes(b"other")
    forged = type(receipt.receipt)(1, other.sha256, other.cid, other.size, receipt.pinned_at)
    assert receipt_signer(forged, receipt.signature, TEST_CHAIN_ID, TEST_TOPOLOGY) != signer
    assert receipt_signer(receipt.receipt, receipt.signature, 1, TEST_TOPOLOGY) != signer

    assert storage_cluster.client.fetch(digest.sha256) == data
    assert storage_cluster.ipfs.is_pinned(digest.cid)
    key_mode = stat.S_IMODE((storage_cluster.config.data_dir / KEY_FILE).stat().st_mode)
    assert key_mode == 0o600


def test_store_multichunk_file_round_trips_with_ranges(storage_cluster: ClusterHarness) -> None:
    data = os.urandom(3 * 1024 * 1024 + 12345)  # 13 IPFS chunks: a dag-pb root over raw leaves
    digest = digest_bytes(data)
    assert digest.cid.startswith("bafybei")
    response = _put(storage_cluster, data, digest.sha256.hex(), digest.cid, digest.size)
    assert response.status_code == 201, response.text
    assert response.json()["cid"] == digest.cid

    url = f"{storage_cluster.endpoint}/objects/{digest.sha256.hex()}"
    whole = httpx.get(url, timeout=60)
    assert whole.status_code == 200
    assert whole.content == data
    assert whole.headers["etag"] == f'"{digest.sha256.hex()}"'
    assert whole.headers["x-content-cid"] == digest.cid

    part = httpx.get(url, headers={"Range": "bytes=262100-262299"}, timeout=60)  # across a chunk edge
    assert part.status_code == 206
    assert part.headers["content-range"] == f"bytes 262100-262299/{len(data)}"
    assert part.content == data[262100:262300]
    tail = httpx.get(url, headers={"Range": "bytes=-100"}, timeout=60)
    assert tail.status_code == 206 and tail.content == data[-100:]
    outside = httpx.get(url, headers={"Range": f"bytes={len(data)}-"}, timeout=60)
    assert outside.status_code == 416
    assert storage_cluster.client.fetch(digest.sha256, offset=1_000_000, length=500_000) == data[1_000_000:1_500_000]

    head = httpx.head(url, timeout=10)
    assert head.status_code == 200 and int(head.headers["content-length"]) == len(data)


def _wrong_claims(data: bytes, digest: ContentDigest) -> dict[str, tuple[str, str, int]]:
    other = digest_bytes(data + b"!")
    prefix = digest_bytes(data[:-1])
    return {
        "sha256": (other.sha256.hex(), digest.cid, digest.size),
        "cid": (digest.sha256.hex(), other.cid, digest.size),
        "larger size": (digest.sha256.hex(), digest.cid, digest.size + 1),
        "smaller size": (digest.sha256.hex(), digest.cid, digest.size - 1),
        # Everything right about the first n-1 bytes, but n bytes sent: IPFS is given only the claimed prefix.
        "prefix": (prefix.sha256.hex(), prefix.cid, prefix.size),
    }


@pytest.mark.parametrize("wrong", ["sha256", "cid", "larger size", "smaller size", "prefix"])
def test_store_with_wrong_claim_is_refused_and_nothing_kept(storage_cluster: ClusterHarness, wrong: str) -> None:
    data = _jpeg(100 + len(wrong), size=(400, 300))
    digest = digest_bytes(data)
    sha256, cid, size = _wrong_claims(data, digest)[wrong]
    objects_before = storage_cluster.client.health()["objects"]

    response = _put(storage_cluster, data, sha256, cid, size)

    assert response.status_code == 422, response.text
    detail = response.json()["detail"]
    assert "do not match the claim" in detail and "kept nothing" in detail
    for name in {sha256, digest.sha256.hex()}:
        missing = httpx.get(f"{storage_cluster.endpoint}/objects/{name}", timeout=10)
        assert missing.status_code == 404
        assert "holds no object" in missing.json()["detail"]
    pins = storage_cluster.ipfs.pin_ls()
    blocks = storage_cluster.ipfs.local_blocks()
    for stray in {digest.cid, cid, digest_bytes(data[:-1]).cid}:
        assert stray not in pins
        assert stray not in blocks
    assert storage_cluster.client.health()["objects"] == objects_before


def test_store_same_bytes_twice_keeps_one_pin_and_answers_again(storage_cluster: ClusterHarness) -> None:
    data = _jpeg(7)
    digest = digest_bytes(data)
    pins_before = storage_cluster.ipfs.pin_ls()

    first = _put(storage_cluster, data, digest.sha256.hex(), digest.cid, digest.size)
    second = _put(storage_cluster, data, digest.sha256.hex(), digest.cid, digest.size)

    assert (first.status_code, second.status_code) == (201, 200)  # 200: already held, no second add
    assert first.json() == second.json()
    assert storage_cluster.ipfs.pin_ls() - pins_before == {digest.cid}
    listed = storage_cluster.client.list_objects(limit=1000)["objects"]
    assert [row["sha256"] for row in listed].count(digest.sha256.hex()) == 1
    # The client asks for a receipt first and sends no bytes when the cluster already has them.
    sent: list[int] = []
    receipt = storage_cluster.client.store(
        [b"never read"], digest.sha256, digest.cid, digest.size, progress=sent.append
    )
    assert receipt.signature.hex() == first.json()["signature"].removeprefix("0x")
    assert sent == [digest.size]
    # Resending already held bytes with a wrong claim is still refused.
    wrong = _put(storage_cluster, data + b"x", digest.sha256.hex(), digest.cid, digest.size + 1)
    assert wrong.status_code == 422


def test_unknown_object_is_404_with_a_sentence(storage_cluster: ClusterHarness) -> None:
    unknown = "ab" * 32
    for method, path in [
        ("GET", f"/objects/{unknown}"),
        ("DELETE", f"/objects/{unknown}"),
        ("GET", f"/objects/{unknown}/receipt"),
    ]:
        response = httpx.request(method, storage_cluster.endpoint + path, timeout=10)
        assert response.status_code == 404
        assert f"holds no object with sha256 {unknown}" in response.json()["detail"]
    assert httpx.head(f"{storage_cluster.endpoint}/objects/{unknown}", timeout=10).status_code == 404
    with pytest.raises(NotRegistered, match="holds no object"):
        storage_cluster.client.fetch(unknown)


def test_bad_parameters_are_422_naming_what_was_wrong(storage_cluster: ClusterHarness) -> None:
    digest = digest_bytes(b"hello world\n")
    cases = {
        "not-a-hash": (f"/objects/xyz?cid={digest.cid}&size=12", "not a sha256"),
        "cid v0": (
            f"/objects/{digest.sha256.hex()}?cid=QmT78zSuBmuS4z925WZfrqQ1qHaJ56DQaTfyMUF7F8ff5o&size=12",
            "CIDv0",
        ),
        "no size": (f"/objects/{digest.sha256.hex()}?cid={digest.cid}", "size"),
    }
    for path, phrase in cases.values():
        response = httpx.put(storage_cluster.endpoint + path, content=b"hello world\n", timeout=10)
        assert response.status_code == 422
        assert phrase in response.json()["detail"]
    with pytest.raises(ContentMismatch, match="do not match"):
        storage_cluster.client.store([b"hello world?"], digest.sha256, digest.cid, digest.size)


def test_list_pages_and_delete_unpins(storage_cluster: ClusterHarness) -> None:
    stored = []
    for seed in range(3):
        data = f"small object {seed}".encode()
        digest = digest_bytes(data)
        storage_cluster.client.store([data], digest.sha256, digest.cid, digest.size)
        stored.append(digest)
    first = storage_cluster.client.list_objects(limit=2)
    rest = storage_cluster.client.list_objects(limit=1000, after=first["next"])
    names = [row["sha256"] for row in first["objects"] + rest["objects"]]
    assert names == sorted(names) and len(names) == len(set(names))
    assert {d.sha256.hex() for d in stored} <= set(names)

    gone = stored[0]
    storage_cluster.client.delete(gone.sha256)
    assert not storage_cluster.client.has(gone.sha256)
    assert gone.cid not in storage_cluster.ipfs.pin_ls()
    assert storage_cluster.client.has(stored[1].sha256)


def _vm(pid: int, field: str) -> int:
    """A /proc/<pid>/status memory figure in bytes (VmRSS now, VmHWM the peak)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) * 1024
    raise AssertionError(f"no {field} for process {pid}")


def test_store_streams_without_holding_the_file_in_memory(storage_cluster: ClusterHarness) -> None:
    size = 32 << 20
    data = os.urandom(size)
    digest = digest_bytes(data)
    pid = storage_cluster.process.proc.pid  # type: ignore[union-attr]
    rss_before = _vm(pid, "VmRSS")

    response = _put(storage_cluster, data, digest.sha256.hex(), digest.cid, digest.size)

    assert response.status_code == 201, response.text
    assert _vm(pid, "VmHWM") - rss_before < size // 2  # a buffered upload would add the whole 32 MiB
    assert storage_cluster.client.fetch(digest.sha256, offset=size - 10) == data[-10:]


def test_concurrent_uploads_of_the_same_bytes_pin_once(storage_cluster: ClusterHarness) -> None:
    data = os.urandom(1 << 20)
    digest = digest_bytes(data)
    pins_before = storage_cluster.ipfs.pin_ls()
    with ThreadPoolExecutor(max_workers=3) as pool:
        answers = list(
            pool.map(lambda _: _put(storage_cluster, data, digest.sha256.hex(), digest.cid, digest.size), range(3))
        )
    assert all(a.status_code in (200, 201) for a in answers), [a.text for a in answers]
    assert len({a.json()["signature"] for a in answers}) == 1  # one row, one pinned_at, one receipt
    assert storage_cluster.ipfs.pin_ls() - pins_before == {digest.cid}
    assert storage_cluster.client.fetch(digest.sha256) == data


def test_upload_broken_off_keeps_nothing_and_service_carries_on(storage_cluster: ClusterHarness) -> None:
    data = os.urandom(2 << 20)
    digest = digest_bytes(data)
    port = storage_cluster.config.port
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        head = (
            f"PUT /objects/{digest.sha256.hex()}?cid={digest.cid}&size={digest.size} HTTP/1.1\r\n"
            f"Host: 127.0.0.1:{port}\r\nContent-Length: {digest.size}\r\n\r\n"
        )
        sock.sendall(head.encode() + data[: 600 << 10])
    # The service notices the disconnect on its own time; the upload must end, not hang, and leave nothing.
    deadline = time.monotonic() + 30
    while storage_cluster.client.health()["uploads_in_flight"] and time.monotonic() < deadline:
        time.sleep(0.2)
    assert storage_cluster.client.health()["uploads_in_flight"] == 0
    assert not storage_cluster.client.has(digest.sha256)
    assert digest.cid not in storage_cluster.ipfs.pin_ls()
    receipt = storage_cluster.client.store([data], digest.sha256, digest.cid, digest.size)
    assert receipt.size == digest.size
    assert storage_cluster.client.fetch(digest.sha256) == data


def test_restart_of_daemon_and_service_keeps_data(storage_cluster: ClusterHarness) -> None:
    data = _jpeg(42)
    digest = digest_bytes(data)
    before = storage_cluster.client.store([data], digest.sha256, digest.cid, digest.size)
    health_before = storage_cluster.client.health()

    storage_cluster.restart()

    health = storage_cluster.client.health()
    assert health == health_before
    assert storage_cluster.client.fetch(digest.sha256) == data
    assert storage_cluster.ipfs.is_pinned(digest.cid)
    again = storage_cluster.client.receipt(digest.sha256)
    assert again is not None and again.signature == before.signature
