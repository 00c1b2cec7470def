"""Storage clusters on real parts (js-ipfs daemons, anvil with the contracts deployed): they serve only requests a
gateway StorageTopology lists has signed, sign receipts only for a record of bytes pinned right now (receipts that
StorageTopology.checkReceipts accepts), and verify, pin, serve, refuse and survive restarts as before.
"""

from __future__ import annotations

import io
import json
import os
import random
import secrets
import socket
import stat
import time
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest
from eth_account import Account
from eth_account.signers.local import LocalAccount
from PIL import Image
from web3.exceptions import ContractCustomError

from mediaproof import eip712
from mediaproof.content import ContentDigest, digest_bytes
from mediaproof.errors import (
    ContentMismatch,
    InputError,
    NotAuthenticated,
    NotPinned,
    NotRegistered,
    SignatureRefused,
    StorageError,
)
from mediaproof.gateway_auth import UNSIGNED_PAYLOAD, body_hash, sign_request
from mediaproof.processes import free_port
from mediaproof.receipts import SignedReceipt, receipt_signer
from mediaproof.storage.config import ClusterConfig
from mediaproof.storage.keys import KEY_FILE, load_or_create_signer
from mediaproof.storage.launch import config_process
from mediaproof.transactions import describe_revert
from tests.integration.fixtures_ipfs import (
    ADMIN,
    GATEWAY,
    SPARE_GATEWAY,
    ClusterHarness,
    ClusterNet,
    cluster_net,
    storage_cluster,
)

pytestmark = pytest.mark.integration
__all__ = ["cluster_net", "storage_cluster"]  # the fixtures, imported for pytest to find
OWNER = Account.from_key("0x" + "a1" * 32).address
OTHER_OWNER = Account.from_key("0x" + "b2" * 32).address
STRANGER = Account.from_key("0x" + "c3" * 32)  # signs validly, but is no gateway


def _jpeg(seed: int, size: tuple[int, int] = (640, 480)) -> bytes:
    """A real JPEG: noisy pixels so it is not tiny and differs per seed."""
    rng = random.Random(seed)
    image = Image.frombytes("RGB", size, bytes(rng.getrandbits(8) for _ in range(size[0] * size[1] * 3)))
    out = io.BytesIO()
    image.save(out, format="JPEG", quality=90)
    return out.getvalue()


def _record(digest: ContentDigest, owner: str = OWNER, **changes: object) -> eip712.MediaRecord:
    fields: dict[str, object] = {
        "owner": owner,
        "sha256": digest.sha256,
        "cid": digest.cid,
        "size": digest.size,
        "media_type": "image/jpeg",
        "title": "a cat",
        "nonce": secrets.randbits(256),
        "deadline": int(time.time()) + 3600,
    }
    fields.update(changes)
    return eip712.MediaRecord(**fields)  # type: ignore[arg-type]


def _receipt_body(record: eip712.MediaRecord) -> bytes:
    return json.dumps({"record": record.message()}).encode()


def _request(
    cluster: ClusterHarness,
    method: str,
    target: str,
    content: bytes | Iterable[bytes] | None = None,
    *,
    account: LocalAccount | None = GATEWAY,
    signed_for: int | None = None,
    ts: int | None = None,
    signed_body: bytes | None = None,
) -> httpx.Request:
    """A request as sent on the wire, signed by `account` (None: unsigned) for cluster `signed_for` (default: the
    one it goes to) over `signed_body` (default: the body sent; a streamed body is sent UNSIGNED-PAYLOAD)."""
    request = httpx.Request(method, cluster.endpoint + target, content=content)
    if account is not None:
        body = signed_body if signed_body is not None else content
        payload = body_hash(body or b"") if body is None or isinstance(body, bytes) else UNSIGNED_PAYLOAD
        credentials = sign_request(
            account,
            signed_for if signed_for is not None else cluster.cluster_id,
            method,
            request.url.raw_path.decode("ascii"),
            payload,
            ts if ts is not None else int(time.time()),
        )
        request.headers["Authorization"] = credentials.header()
    return request


def _send(request: httpx.Request) -> httpx.Response:
    with httpx.Client(timeout=60) as client:
        return client.send(request)


def _call(cluster: ClusterHarness, method: str, target: str, content: object = None, **kw: object) -> httpx.Response:
    return _send(_request(cluster, method, target, content, **kw))  # type: ignore[arg-type]


def _put(cluster: ClusterHarness, data: bytes, sha256: str, cid: str, size: int) -> httpx.Response:
    chunks = (data[i : i + 65536] for i in range(0, len(data), 65536))
    return _call(cluster, "PUT", f"/objects/{sha256}?cid={cid}&size={size}&title=t", chunks)


def _stored(cluster: ClusterHarness, data: bytes) -> ContentDigest:
    digest = digest_bytes(data)
    cluster.client.store([data], digest.sha256, digest.cid, digest.size, title="private title")
    return digest


def _every_route(held: ContentDigest, new: ContentDigest, new_data: bytes) -> list[tuple[str, str, object]]:
    """(method, target, body) of every route but /health: on bytes held, and a PUT (streamed) of bytes not held."""
    sha = held.sha256.hex()
    return [
        ("GET", "/objects?limit=1000", None),
        ("PUT", f"/objects/{new.sha256.hex()}?cid={new.cid}&size={new.size}", [new_data]),
        ("POST", f"/objects/{sha}/receipts", _receipt_body(_record(held))),
        ("HEAD", f"/objects/{sha}", None),
        ("GET", f"/objects/{sha}", None),
        ("GET", f"/objects/{sha}?offset=5&length=10", None),
        ("DELETE", f"/objects/{sha}", None),
    ]


def _assert_unchanged(cluster: ClusterHarness, held: ContentDigest, data: bytes, new: ContentDigest) -> None:
    assert cluster.ipfs.is_pinned(held.cid)
    assert cluster.client.fetch(held.sha256) == data
    assert cluster.client.stat(new.sha256) is None
    assert new.cid not in cluster.ipfs.pin_ls()


def wait_until(condition: Callable[[], bool], what: str, timeout: float = 60) -> None:
    """Poll the observed state; the timeout only bounds a failure."""
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out after {timeout:.0f} s waiting until {what}"
        time.sleep(0.2)


# --- who may ask ---


def test_anonymous_requests_to_every_route_are_401_and_change_nothing(storage_cluster: ClusterHarness) -> None:
    data = _jpeg(11, (200, 150))
    held = _stored(storage_cluster, data)
    new_data = b"bytes a stranger would like stored"
    new = digest_bytes(new_data)
    objects = storage_cluster.client.health()["objects"]

    for method, target, body in _every_route(held, new, new_data):
        response = _call(storage_cluster, method, target, body, account=None)
        assert response.status_code == 401, (method, target, response.text)
        assert response.headers["www-authenticate"] == "Mediaproof-Gateway"
        if method != "HEAD":
            assert response.json()["error"] == "NotAuthenticated"
            assert "carries no Authorization header" in response.json()["detail"]
            assert held.sha256.hex() not in response.text and "private title" not in response.text

    # A header in another scheme, or with a part missing, is refused the same way, naming what is wrong.
    listing = f"{storage_cluster.endpoint}/objects"
    bearer = httpx.get(listing, headers={"Authorization": "Bearer secret"}, timeout=10)
    assert bearer.status_code == 401 and "scheme is 'Bearer'" in bearer.json()["detail"]
    partial = httpx.get(listing, headers={"Authorization": "Mediaproof-Gateway ts=1, nonce=00"}, timeout=10)
    assert partial.status_code == 401 and "lacks signer, sig" in partial.json()["detail"]

    anonymous = storage_cluster.client_for(None)
    for call in (
        lambda: anonymous.list_objects(),
        lambda: anonymous.delete(held.sha256),
        lambda: anonymous.receipt(held.sha256, _record(held)),
        lambda: anonymous.fetch(held.sha256),
        lambda: anonymous.store([new_data], new.sha256, new.cid, new.size),
    ):
        with pytest.raises(NotAuthenticated, match="no Authorization header"):
            call()
    with pytest.raises(NotAuthenticated, match="no Authorization header"):
        anonymous.has(held.sha256)  # HEAD: the sentence comes in a header
    assert anonymous.health()["cluster_id"] == storage_cluster.cluster_id  # health alone is public

    _assert_unchanged(storage_cluster, held, data, new)
    assert storage_cluster.client.health()["objects"] == objects


def test_key_that_is_no_gateway_is_403_on_every_route_and_changes_nothing(storage_cluster: ClusterHarness) -> None:
    data = _jpeg(12, (200, 150))
    held = _stored(storage_cluster, data)
    new_data = b"bytes a non-gateway would like stored"
    new = digest_bytes(new_data)

    for method, target, body in _every_route(held, new, new_data):
        response = _call(storage_cluster, method, target, body, account=STRANGER)
        assert response.status_code == 403, (method, target, response.text)
        if method != "HEAD":
            assert response.json()["error"] == "SignatureRefused"
            assert f"{STRANGER.address} signed this request" in response.json()["detail"]
            assert "does not list it as a gateway" in response.json()["detail"]
    with pytest.raises(SignatureRefused, match="does not list it as a gateway"):
        storage_cluster.client_for(STRANGER).delete(held.sha256)

    _assert_unchanged(storage_cluster, held, data, new)


def test_replayed_authorization_header_is_401(storage_cluster: ClusterHarness) -> None:
    data = b"deleted once, stored again, must survive a replayed delete"
    digest = _stored(storage_cluster, data)
    delete = _request(storage_cluster, "DELETE", f"/objects/{digest.sha256.hex()}")
    assert _send(delete).json()["deleted"] is True
    _stored(storage_cluster, data)

    replayed = _send(delete)

    assert replayed.status_code == 401
    assert "already used" in replayed.json()["detail"]
    assert storage_cluster.client.has(digest.sha256)
    listing = _request(storage_cluster, "GET", "/objects?limit=1")
    assert _send(listing).status_code == 200
    assert _send(listing).status_code == 401


@pytest.mark.parametrize(("offset", "phrase"), [(-120, "s old"), (120, "s in the future")])
def test_stale_or_future_ts_is_401(storage_cluster: ClusterHarness, offset: int, phrase: str) -> None:
    response = _call(storage_cluster, "GET", "/objects", ts=int(time.time()) + offset)
    assert response.status_code == 401
    assert phrase in response.json()["detail"] and "good for 60 s" in response.json()["detail"]


def test_header_signed_for_cluster_2_is_401_at_cluster_1(cluster_net: ClusterNet) -> None:
    one, two = cluster_net.clusters
    data = b"held by cluster 1, which only cluster-1 requests may delete"
    digest = _stored(one, data)
    target = f"/objects/{digest.sha256.hex()}"
    for_two = _request(two, "DELETE", target)

    sent_to_one = _send(_request(one, "DELETE", target, signed_for=two.cluster_id))
    moved = httpx.Request("DELETE", one.endpoint + target, headers={"Authorization": for_two.headers["authorization"]})
    sent_moved = _send(moved)

    for response in (sent_to_one, sent_moved):
        assert response.status_code == 401
        assert f"over this request to cluster {one.cluster_id}" in response.json()["detail"]
    assert one.client.has(digest.sha256)
    # The same header is good where it was meant to go (cluster 2 holds no such object: 404, past the gatekeeper).
    assert _send(for_two).status_code == 404


def test_receipt_request_altered_after_signing_is_401(storage_cluster: ClusterHarness) -> None:
    digest = _stored(storage_cluster, _jpeg(13, (160, 120)))
    target = f"/objects/{digest.sha256.hex()}/receipts"
    signed = _receipt_body(_record(digest))
    altered = _receipt_body(_record(digest, owner=OTHER_OWNER))

    response = _call(storage_cluster, "POST", target, altered, signed_body=signed)

    assert response.status_code == 401
    assert "altered after signing" in response.json()["detail"]
    assert "signature" not in response.json()
    assert _call(storage_cluster, "POST", target, signed).status_code == 200


def test_removed_gateway_is_refused_once_the_cache_expires(cluster_net: ClusterNet) -> None:
    cluster = cluster_net.clusters[0]
    spare = cluster.client_for(SPARE_GATEWAY)
    topology = cluster_net.chain.topology.functions
    assert spare.list_objects(limit=1)["cluster_id"] == cluster.cluster_id
    cluster_net.chain.transact(ADMIN, topology.setGateway(SPARE_GATEWAY.address, False))
    try:

        def refused() -> bool:
            try:
                spare.list_objects(limit=1)
            except SignatureRefused as exc:
                assert "does not list it as a gateway" in str(exc)
                return True
            return False

        wait_until(refused, "the cluster refuses the removed gateway")
        with pytest.raises(SignatureRefused):
            spare.list_objects(limit=1)
        assert cluster.client.list_objects(limit=1)["cluster_id"] == cluster.cluster_id
    finally:
        cluster_net.chain.transact(ADMIN, topology.setGateway(SPARE_GATEWAY.address, True))


def test_chain_that_cannot_be_asked_is_503_and_nothing_served(storage_cluster: ClusterHarness, tmp_path: Path) -> None:
    """A cluster whose RPC node is gone cannot tell a gateway from a stranger: it serves no one."""
    config = ClusterConfig(
        cluster_id=storage_cluster.cluster_id,
        data_dir=tmp_path / "orphan",
        ipfs_api=storage_cluster.config.ipfs_api,
        chain_id=storage_cluster.config.chain_id,
        topology=storage_cluster.config.topology,
        rpc_url=f"http://127.0.0.1:{free_port()}",  # nothing listens there
        media_app=storage_cluster.config.media_app,
        port=free_port(),
    )
    process = config_process(config).start()
    try:
        orphan = ClusterHarness(storage_cluster.node, config, GATEWAY)
        response = _call(orphan, "GET", "/objects")
        assert response.status_code == 503
        assert "cannot ask StorageTopology" in response.json()["detail"]
        assert response.json()["error"] == "ChainError"
        assert _call(orphan, "GET", "/objects", account=None).status_code == 401
    finally:
        process.stop()


# --- receipts ---


def test_receipts_of_two_clusters_pass_check_receipts_and_fail_for_another_owner(cluster_net: ClusterNet) -> None:
    data = _jpeg(21)
    digest = digest_bytes(data)
    record = _record(digest)
    chain = cluster_net.chain
    receipts: list[SignedReceipt] = []
    signers = {c.id: c.signer for c in chain.topology_reader.read().clusters}
    for cluster in cluster_net.clusters:
        pinned = cluster.client.store(io.BytesIO(data), digest.sha256, digest.cid, digest.size)
        assert (pinned.cluster_id, pinned.sha256, pinned.cid, pinned.size, pinned.pinned) == (
            cluster.cluster_id, digest.sha256, digest.cid, digest.size, True
        )  # fmt: skip
        receipt = cluster.client.receipt(digest.sha256, record)
        on_chain_signer = signers[cluster.cluster_id]
        assert receipt.signer == on_chain_signer == load_or_create_signer(cluster.config.data_dir)
        assert receipt_signer(receipt.message, receipt.signature, chain.chain_id, chain.topology.address) == (
            on_chain_signer
        )
        assert receipt.media_id == eip712.media_id(record, chain.chain_id, chain.media_app.address)
        assert (receipt.owner, receipt.sha256) == (OWNER, digest.sha256)
        assert abs(receipt.issued_at - time.time()) < 300
        receipts.append(receipt)

    check = chain.topology.functions.checkReceipts
    tuples = [r.as_tuple() for r in receipts]
    check(digest.sha256, OWNER, receipts[0].media_id, tuples).call()  # no revert: accepted
    for owner, media_id in [
        (OTHER_OWNER, receipts[0].media_id),
        (OWNER, eip712.media_id(_record(digest), chain.chain_id, chain.media_app.address)),
    ]:
        with pytest.raises(ContractCustomError) as refused:
            check(digest.sha256, owner, media_id, tuples).call()
        assert describe_revert(str(refused.value.data)).startswith("TopologyBadReceiptSignature")
    with pytest.raises(ContractCustomError) as too_few:
        check(digest.sha256, OWNER, receipts[0].media_id, tuples[:1]).call()
    assert describe_revert(str(too_few.value.data)).startswith("TopologyTooFewReceipts")


def test_receipt_for_a_record_of_other_bytes_is_422_and_unknown_bytes_404(storage_cluster: ClusterHarness) -> None:
    digest = _stored(storage_cluster, _jpeg(22, (160, 120)))
    other = digest_bytes(b"some other bytes")
    target = f"/objects/{digest.sha256.hex()}/receipts"
    cases = {
        "names sha256": _record(other),
        f"its CID is {other.cid}": _record(digest, cid=other.cid),
        f"its size is {digest.size + 1}": _record(digest, size=digest.size + 1),
    }
    for phrase, record in cases.items():
        response = _call(storage_cluster, "POST", target, _receipt_body(record))
        assert response.status_code == 422, response.text
        assert phrase in response.json()["detail"]
        assert "signature" not in response.json()
        with pytest.raises(InputError, match=phrase):
            storage_cluster.client.receipt(digest.sha256, record)
    for body in (b"not json", b'{"record": 5}', json.dumps({"record": {"owner": OWNER}}).encode()):
        response = _call(storage_cluster, "POST", target, body)
        assert response.status_code == 422
        assert "the body must be JSON" in response.json()["detail"]
    with pytest.raises(NotRegistered, match="holds no object"):
        storage_cluster.client.receipt(other.sha256, _record(other))


def test_receipt_after_unpin_behind_the_clusters_back_is_refused(storage_cluster: ClusterHarness) -> None:
    data = _jpeg(23, (160, 120))
    digest = _stored(storage_cluster, data)
    record = _record(digest)
    storage_cluster.client.receipt(digest.sha256, record)

    storage_cluster.ipfs.pin_rm(digest.cid)  # through the IPFS API, not the cluster

    response = _call(storage_cluster, "POST", f"/objects/{digest.sha256.hex()}/receipts", _receipt_body(record))
    assert response.status_code == 409
    assert "does not have CID" in response.json()["detail"] and "signature" not in response.json()
    with pytest.raises(NotPinned, match="signs no receipt"):
        storage_cluster.client.receipt(digest.sha256, record)
    held = storage_cluster.client.stat(digest.sha256)
    assert held is not None and not held.pinned
    # Storing the bytes again pins them again, and receipts follow.
    assert storage_cluster.client.store([data], digest.sha256, digest.cid, digest.size).pinned
    assert storage_cluster.ipfs.is_pinned(digest.cid)
    assert storage_cluster.client.receipt(digest.sha256, record).owner == OWNER


def test_receipt_while_ipfs_daemon_is_stopped_is_503_without_receipt(cluster_net: ClusterNet) -> None:
    cluster = cluster_net.clusters[1]
    digest = _stored(cluster, _jpeg(24, (160, 120)))
    record = _record(digest)
    cluster.node.stop()
    try:
        response = _call(cluster, "POST", f"/objects/{digest.sha256.hex()}/receipts", _receipt_body(record))
        assert response.status_code == 503
        assert "IPFS node" in response.json()["detail"] and "signature" not in response.json()
        with pytest.raises(StorageError, match="IPFS node"):
            cluster.client.receipt(digest.sha256, record)
    finally:
        cluster.node.start()
    wait_until(lambda: cluster.client_for(None).health()["ipfs"] == "ok", "the cluster sees its IPFS node again")
    assert cluster.client.receipt(digest.sha256, record).cluster_id == cluster.cluster_id


# --- storing and serving ---


def test_store_jpeg_pins_and_answers_without_a_receipt(storage_cluster: ClusterHarness) -> None:
    data = _jpeg(1)
    assert data[:3] == b"\xff\xd8\xff"
    digest = digest_bytes(data)
    target = f"/objects/{digest.sha256.hex()}?cid={digest.cid}&size={digest.size}&title=cat"
    response = _call(storage_cluster, "PUT", target, [data])

    assert response.status_code == 201, response.text
    assert response.json() == {
        "cluster_id": storage_cluster.cluster_id,
        "sha256": digest.sha256.hex(),
        "cid": digest.cid,
        "size": len(data),
        "pinned": True,
    }
    assert storage_cluster.client.fetch(digest.sha256) == data
    assert storage_cluster.ipfs.is_pinned(digest.cid)
    key_mode = stat.S_IMODE((storage_cluster.config.data_dir / KEY_FILE).stat().st_mode)
    assert key_mode == 0o600
    listed = storage_cluster.client.list_objects(limit=1000)["objects"]
    assert {"sha256": digest.sha256.hex(), "title": "cat", "pinned": True}.items() <= next(
        row for row in listed if row["sha256"] == digest.sha256.hex()
    ).items()


def test_store_multichunk_file_round_trips_with_ranges(storage_cluster: ClusterHarness) -> None:
    data = os.urandom(3 * 1024 * 1024 + 12345)  # 13 IPFS chunks: a dag-pb root over raw leaves
    digest = digest_bytes(data)
    assert digest.cid.startswith("bafybei")
    response = _put(storage_cluster, data, digest.sha256.hex(), digest.cid, digest.size)
    assert response.status_code == 201, response.text
    assert response.json()["cid"] == digest.cid

    target = f"/objects/{digest.sha256.hex()}"
    whole = _call(storage_cluster, "GET", target)
    assert whole.status_code == 200
    assert whole.content == data
    assert whole.headers["etag"] == f'"{digest.sha256.hex()}"'
    assert whole.headers["x-content-cid"] == digest.cid

    def ranged(header: str) -> httpx.Response:
        request = _request(storage_cluster, "GET", target)
        request.headers["Range"] = header  # not signed: it only picks which of the same bytes come back
        return _send(request)

    part = ranged("bytes=262100-262299")  # across a chunk edge
    assert part.status_code == 206
    assert part.headers["content-range"] == f"bytes 262100-262299/{len(data)}"
    assert part.content == data[262100:262300]
    tail = ranged("bytes=-100")
    assert tail.status_code == 206 and tail.content == data[-100:]
    assert ranged(f"bytes={len(data)}-").status_code == 416
    assert storage_cluster.client.fetch(digest.sha256, offset=1_000_000, length=500_000) == data[1_000_000:1_500_000]

    head = _call(storage_cluster, "HEAD", target)
    assert head.status_code == 200 and int(head.headers["content-length"]) == len(data)
    assert head.headers["x-pinned"] == "true"


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
        missing = _call(storage_cluster, "GET", f"/objects/{name}")
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

    assert (first.status_code, second.status_code) == (201, 200)  # 200: already held and pinned, no second add
    assert first.json() == second.json()
    assert storage_cluster.ipfs.pin_ls() - pins_before == {digest.cid}
    listed = storage_cluster.client.list_objects(limit=1000)["objects"]
    assert [row["sha256"] for row in listed].count(digest.sha256.hex()) == 1
    # The client asks first and sends no bytes when the cluster already has them pinned.
    sent: list[int] = []
    again = storage_cluster.client.store([b"never read"], digest.sha256, digest.cid, digest.size, progress=sent.append)
    assert (again.sha256, again.cid, again.size, again.pinned) == (digest.sha256, digest.cid, digest.size, True)
    assert sent == [digest.size]
    # Resending already held bytes with a wrong claim is still refused.
    wrong = _put(storage_cluster, data + b"x", digest.sha256.hex(), digest.cid, digest.size + 1)
    assert wrong.status_code == 422


def test_unknown_object_is_404_with_a_sentence(storage_cluster: ClusterHarness) -> None:
    unknown = "ab" * 32
    record = _record(digest_bytes(b"x"), sha256=bytes.fromhex(unknown))
    for method, path, body in [
        ("GET", f"/objects/{unknown}", None),
        ("DELETE", f"/objects/{unknown}", None),
        ("POST", f"/objects/{unknown}/receipts", _receipt_body(record)),
    ]:
        response = _call(storage_cluster, method, path, body)
        assert response.status_code == 404
        assert f"holds no object with sha256 {unknown}" in response.json()["detail"]
    assert _call(storage_cluster, "HEAD", f"/objects/{unknown}").status_code == 404
    assert storage_cluster.client.stat(unknown) is None and not storage_cluster.client.has(unknown)
    with pytest.raises(NotRegistered, match="holds no object"):
        storage_cluster.client.fetch(unknown)
    # The old route that signed a receipt for anyone is gone.
    assert _call(storage_cluster, "GET", f"/objects/{unknown}/receipt").status_code == 404


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
    for target, phrase in cases.values():
        response = _call(storage_cluster, "PUT", target, [b"hello world\n"])
        assert response.status_code == 422
        assert phrase in response.json()["detail"]
    with pytest.raises(ContentMismatch, match="do not match"):
        storage_cluster.client.store([b"hello world?"], digest.sha256, digest.cid, digest.size)


def test_list_pages_and_delete_unpins(storage_cluster: ClusterHarness) -> None:
    stored = [_stored(storage_cluster, f"small object {seed}".encode()) for seed in range(3)]
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
    # A pin already removed behind the cluster's back does not stop a delete.
    storage_cluster.ipfs.pin_rm(stored[1].cid)
    storage_cluster.client.delete(stored[1].sha256)
    assert storage_cluster.client.stat(stored[1].sha256) is None


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
    assert storage_cluster.process is not None and storage_cluster.process.proc is not None
    pid = storage_cluster.process.proc.pid
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
    assert len({json.dumps(a.json(), sort_keys=True) for a in answers}) == 1
    assert storage_cluster.ipfs.pin_ls() - pins_before == {digest.cid}
    assert storage_cluster.client.fetch(digest.sha256) == data


def test_upload_broken_off_keeps_nothing_and_service_carries_on(storage_cluster: ClusterHarness) -> None:
    data = os.urandom(2 << 20)
    digest = digest_bytes(data)
    port = storage_cluster.config.port
    target = f"/objects/{digest.sha256.hex()}?cid={digest.cid}&size={digest.size}"
    authorization = _request(storage_cluster, "PUT", target, iter([data])).headers["authorization"]
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        head = (
            f"PUT {target} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nAuthorization: {authorization}\r\n"
            f"Content-Length: {digest.size}\r\n\r\n"
        )
        sock.sendall(head.encode() + data[: 600 << 10])
    # The service notices the disconnect on its own time; the upload must end, not hang, and leave nothing.
    wait_until(lambda: storage_cluster.client.health()["uploads_in_flight"] == 0, "the broken upload ends", 30)
    assert not storage_cluster.client.has(digest.sha256)
    assert digest.cid not in storage_cluster.ipfs.pin_ls()
    assert storage_cluster.client.store([data], digest.sha256, digest.cid, digest.size).size == digest.size
    assert storage_cluster.client.fetch(digest.sha256) == data


def test_restart_of_daemon_and_service_keeps_data_and_receipts(storage_cluster: ClusterHarness) -> None:
    data = _jpeg(42)
    digest = _stored(storage_cluster, data)
    record = _record(digest)
    before = storage_cluster.client.receipt(digest.sha256, record)
    health_before = storage_cluster.client.health()

    storage_cluster.restart()

    health = storage_cluster.client.health()
    health.pop("gc"), health_before.pop("gc")  # this process's collections so far: counted anew after a restart
    assert health == health_before
    assert storage_cluster.client.fetch(digest.sha256) == data
    assert storage_cluster.ipfs.is_pinned(digest.cid)
    again = storage_cluster.client.receipt(digest.sha256, record)
    assert (again.signer, again.media_id, again.owner) == (before.signer, before.media_id, before.owner)
