"""Nothing leaked, on real parts (anvil, two js-ipfs daemons, two storage clusters with R = 2, the upload service):
deleted and abandoned bytes are unpinned and garbage-collected until no cluster's IPFS node serves them (asked on
the node's own API), uploads never committed expire, an aborted upload leaves no blocks, and a delete never takes
the bytes another wallet's accepted upload relies on. Every wait is for an observed state, never a clock.
"""

from __future__ import annotations

import hashlib
import random
import time
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest
from eth_account import Account

from mediaproof import eip712
from mediaproof.bundle import parse_bundle
from mediaproof.chain import MediaproofChain, gateway_account
from mediaproof.clients.storage import StorageClusterClient
from mediaproof.clients.upload import UploadClient, ensure_wallet
from mediaproof.content import CHUNK_SIZE, cid_v1_raw, digest_bytes
from mediaproof.devstack import ClusterParts, LocalStack
from mediaproof.gateway_store import GatewayStore
from mediaproof.settings import ANVIL_TEST_KEYS
from mediaproof.upload.launch import upload_process
from mediaproof.verify import ChainReader, verify_bundle
from tests.integration.auth import auth
from tests.integration.stack import stack_settings
from tests.unit.test_upload_intake import photo_bytes

pytestmark = pytest.mark.integration
ALICE = Account.from_key(ANVIL_TEST_KEYS[0])
BOB = Account.from_key(ANVIL_TEST_KEYS[1])


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalStack]:
    settings = stack_settings(tmp_path_factory.mktemp("garbage"), clusters=2, replication_factor=2).model_copy(
        update={"batch_interval": 0.5, "prepare_variant_wait": 10.0}
    )
    running = LocalStack(settings).start()
    yield running
    running.stop()


@pytest.fixture(scope="module")
def chain(stack: LocalStack) -> MediaproofChain:
    chain = MediaproofChain.from_settings(stack.settings)
    with UploadClient(url(stack)) as client:
        for wallet in (ALICE, BOB):  # deletes are relayed from the owner's UserMedia
            ensure_wallet(client, chain, wallet, 10**17)
    return chain


def url(stack: LocalStack) -> str:
    return stack.settings.resolved_upload_url()


def wait_until(done: Callable[[], Any], what: str, timeout: float = 90.0) -> Any:
    deadline = time.monotonic() + timeout
    while not (result := done()):
        assert time.monotonic() < deadline, f"never saw: {what}"
        time.sleep(0.1)
    return result


def cluster_client(stack: LocalStack, parts: ClusterParts) -> StorageClusterClient:
    gateway = gateway_account(stack.settings, 31337)
    return StorageClusterClient(parts.endpoint, parts.cluster_id, gateway, timeout=60)


def node_serves(parts: ClusterParts, cid: str) -> bool:
    """Whether the cluster's IPFS node itself answers the CID: in its blockstore, or `cat` gives the bytes (the
    node is offline from the world, so a block it lacks can only time out)."""
    if cid in parts.ipfs.client(timeout=30).local_blocks():
        return True
    answer = httpx.post(f"{parts.ipfs.api_url}/cat", params={"arg": cid, "timeout": "2s"}, timeout=30)
    return answer.status_code == 200


def wait_unserved(stack: LocalStack, cids: list[str]) -> None:
    for parts in stack.clusters:
        for cid in cids:
            wait_until(lambda p=parts, c=cid: not node_serves(p, c), f"IPFS node of cluster {parts.cluster_id} "
                       f"no longer serving {cid}")  # fmt: skip


def gateway_db(stack: LocalStack) -> GatewayStore:
    return GatewayStore(stack.settings.resolved_gateway_db(), readonly=True)


def blobs_of(stack: LocalStack, sha: str) -> dict[str, str]:
    """sha256 → CID of an original and every rendition the gateway made of it."""
    return {r.sha256: r.cid for r in gateway_db(stack).renditions_of(sha).values()}


def upload(stack: LocalStack, data: bytes, sender: Any) -> dict[str, Any]:
    answer = httpx.post(url(stack) + "/uploads", content=data, headers=auth(url(stack), sender), timeout=120)
    assert answer.status_code == 201, answer.text
    return dict(answer.json())


def prepare(stack: LocalStack, upload_id: str, owner: Any, title: str) -> dict[str, Any]:
    answer = httpx.post(url(stack) + f"/uploads/{upload_id}/prepare", json={"title": title},
                        headers=auth(url(stack), owner), timeout=60)  # fmt: skip
    assert answer.status_code == 200, answer.text
    return dict(answer.json())


def commit(stack: LocalStack, upload_id: str, prepared: dict[str, Any], owner: Any) -> httpx.Response:
    signature = eip712.sign(prepared["typed_data"], owner.key)
    return httpx.post(url(stack) + f"/uploads/{upload_id}/commit", json={"signature": "0x" + signature.hex()},
                      headers=auth(url(stack), owner), timeout=120)  # fmt: skip


def register(stack: LocalStack, data: bytes, owner: Any, title: str) -> dict[str, Any]:
    stored = upload(stack, data, owner)
    prepared = prepare(stack, stored["upload_id"], owner, title)
    done = commit(stack, stored["upload_id"], prepared, owner)
    assert done.status_code == 200 and done.json()["state"] == "committed", done.text
    return {"upload": stored, **done.json()}


def delete(stack: LocalStack, media_id: str, owner: Any) -> httpx.Response:
    headers = auth(url(stack), owner)
    order = httpx.post(url(stack) + f"/media/{media_id}/delete/prepare", headers=headers, timeout=60).json()
    signature = eip712.sign(order["typed_data"], owner.key)
    body = {"nonce": order["nonce"], "deadline": order["deadline"], "signature": "0x" + signature.hex()}
    return httpx.post(url(stack) + f"/media/{media_id}/delete", json=body, headers=headers, timeout=120)


def test_deleted_bytes_are_no_longer_served_by_any_ipfs_node(stack: LocalStack, chain: MediaproofChain) -> None:
    result = register(stack, photo_bytes(61, (1000, 800)), ALICE, "Soon gone")
    blobs = blobs_of(stack, result["sha256"])
    assert len(blobs) == 3  # the original, medium and small
    assert all(node_serves(parts, result["cid"]) for parts in stack.clusters)
    done = delete(stack, result["media_id"], ALICE)
    assert done.status_code == 200, done.text
    assert set(done.json()["unpinned"]) == set(blobs)
    wait_unserved(stack, list(blobs.values()))
    assert all(cluster_client(stack, p).stat(sha) is None for p in stack.clusters for sha in blobs)


def test_delete_keeps_the_bytes_another_wallets_pending_upload_relies_on(
    stack: LocalStack, chain: MediaproofChain
) -> None:
    data = photo_bytes(62, (900, 700))
    alice = register(stack, data, ALICE, "Alice's")
    bobs = upload(stack, data, BOB)  # accepted, not committed
    assert bobs["deduplicated"] is True
    done = delete(stack, alice["media_id"], ALICE)
    assert done.status_code == 200, done.text
    assert done.json()["unpinned"] == {}  # Bob's upload still relies on them
    holders = [cluster_client(stack, p) for p in stack.clusters]
    assert all(h.has(sha) for h in holders for sha in blobs_of(stack, alice["sha256"]))
    prepared = prepare(stack, bobs["upload_id"], BOB, "Bob's")
    assert prepared["variants"] == ["medium", "small"]  # the variants Alice's delete would have taken stayed too
    committed = commit(stack, bobs["upload_id"], prepared, BOB)
    assert committed.status_code == 200, committed.text
    assert committed.json()["state"] == "committed"
    reader = ChainReader(chain.w3, chain.media_app.address, chain.topology.address)
    assert verify_bundle(reader, parse_bundle(committed.json()["proof"]), None).proven
    link = httpx.get(f"{stack.settings.resolved_download_url()}/m/{committed.json()['short_id']}", timeout=60)
    assert link.status_code == 200 and link.content == data


def test_deleting_a_duplicate_never_takes_the_bytes_another_record_uses(
    stack: LocalStack, chain: MediaproofChain
) -> None:
    data = photo_bytes(67, (820, 640))
    alice = register(stack, data, ALICE, "Alice's original")
    bobs = register(stack, data, BOB, "Bob's copy")
    assert bobs["upload"]["deduplicated"] is True
    blobs = blobs_of(stack, alice["sha256"])
    refused = httpx.post(url(stack) + f"/media/{alice['media_id']}/delete/prepare", headers=auth(url(stack), BOB),
                         timeout=60)  # fmt: skip
    assert refused.status_code == 403  # and Alice's record is not Bob's to delete
    done = delete(stack, bobs["media_id"], BOB)
    assert done.status_code == 200, done.text
    assert done.json()["unpinned"] == {}
    # A delete of something only Bob had makes every cluster collect garbage; Alice's bytes must survive it.
    runs = {p.cluster_id: cluster_client(stack, p).health()["gc"]["runs"] for p in stack.clusters}
    other = register(stack, photo_bytes(68, (640, 480)), BOB, "Bob's alone")
    assert delete(stack, other["media_id"], BOB).status_code == 200
    for parts in stack.clusters:
        client = cluster_client(stack, parts)
        wait_until(lambda c=client, r=runs[parts.cluster_id]: (gc := c.health()["gc"])["runs"] > r and not
                   gc["pending"], f"a garbage collection on cluster {parts.cluster_id}")  # fmt: skip
    wait_unserved(stack, [other["cid"]])
    assert all(node_serves(parts, cid) for parts in stack.clusters for cid in blobs.values())
    assert all(cluster_client(stack, p).has(sha) for p in stack.clusters for sha in blobs)
    link = httpx.get(f"{stack.settings.resolved_download_url()}/m/{alice['short_id']}", timeout=60)
    assert link.status_code == 200 and link.content == data


def test_uploads_never_committed_expire_and_their_bytes_go(stack: LocalStack, chain: MediaproofChain) -> None:
    kept_data = photo_bytes(63, (700, 500))
    kept = register(stack, kept_data, ALICE, "Still live")
    carol, dave, erin = Account.create(), Account.create(), Account.create()
    abandoned = upload(stack, photo_bytes(64, (1000, 750)), carol)  # never prepared
    unsigned = upload(stack, photo_bytes(65, (760, 1000)), dave)
    wait_until(lambda: httpx.get(url(stack) + f"/uploads/{abandoned['upload_id']}").json()["variants_state"] == "done",
               "the abandoned upload's variants")  # fmt: skip
    prepare(stack, unsigned["upload_id"], dave, "never signed")  # prepared, never committed
    copy = upload(stack, kept_data, erin)  # bytes of a live record: they must stay
    assert copy["deduplicated"] is True
    gone = {**blobs_of(stack, abandoned["sha256"]), **blobs_of(stack, unsigned["sha256"])}
    assert len(gone) == 6
    assert stack.upload is not None
    stack.upload.stop()
    short = stack.settings.model_copy(update={"upload_ttl": 1.0, "upload_sweep_interval": 0.2})
    expiring = upload_process(short, rpc_url=stack.anvil.url).start()
    try:
        for stored in (abandoned, unsigned, copy):
            wait_until(lambda s=stored: httpx.get(url(stack) + f"/uploads/{s['upload_id']}").status_code == 404,
                       f"upload {stored['upload_id']} expired")  # fmt: skip
        refused = httpx.post(
            url(stack) + f"/uploads/{unsigned['upload_id']}/commit",
            json={"signature": "0x" + "11" * 65},
            headers=auth(url(stack), dave),
            timeout=60,
        )
        assert refused.status_code == 404 and "no upload" in refused.json()["detail"]
    finally:
        expiring.stop()
        stack.upload = upload_process(stack.settings, rpc_url=stack.anvil.url).start()
    store = gateway_db(stack)
    assert all(store.placements(sha) == [] for sha in gone)
    assert all(cluster_client(stack, p).stat(sha) is None for p in stack.clusters for sha in gone)
    wait_unserved(stack, list(gone.values()))
    # The live record's bytes (original and variants) stayed where they were, and its link still serves.
    assert all(cluster_client(stack, p).has(sha) for p in stack.clusters for sha in blobs_of(stack, kept["sha256"]))
    assert all(node_serves(parts, kept["cid"]) for parts in stack.clusters)
    link = httpx.get(f"{stack.settings.resolved_download_url()}/m/{kept['short_id']}", timeout=60)
    assert link.status_code == 200 and link.content == kept_data


def test_an_aborted_upload_to_a_cluster_leaves_no_blocks(stack: LocalStack) -> None:
    parts = stack.clusters[0]
    client = cluster_client(stack, parts)
    data = random.Random(66).randbytes(32 * CHUNK_SIZE)
    digest = digest_bytes(data)
    leaves = [cid_v1_raw(hashlib.sha256(data[i : i + CHUNK_SIZE]).digest()) for i in range(0, len(data), CHUNK_SIZE)]
    runs = client.health()["gc"]["runs"]

    def broken_off() -> Iterator[bytes]:
        # js-ipfs writes leaves in batches of ten (its importer's blockWriteConcurrency): send more than that.
        yield data[: 24 * CHUNK_SIZE]
        # Wait until the cluster's IPFS node has written blocks of this upload, then hang up mid-body.
        wait_until(lambda: leaves[0] in parts.ipfs.client(timeout=30).local_blocks(), "the first block written")
        raise ConnectionAbortedError("the uploader went away")

    with pytest.raises(Exception, match="went away"):
        client.store(broken_off(), sha256=digest.sha256, cid=digest.cid, size=digest.size)
    wait_until(lambda: (gc := client.health()["gc"])["runs"] > runs and not gc["pending"], "a garbage collection")
    assert not set(leaves) & parts.ipfs.client(timeout=30).local_blocks()
    assert client.stat(digest.sha256) is None
