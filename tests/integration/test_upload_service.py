"""The upload service on real parts: anvil, 3 js-ipfs daemons, 3 storage clusters, R = 2.

Streaming upload, validation against a hostile corpus, de-duplication, variants (and their queue surviving a
restart), receipts from R distinct clusters, forged signatures, client-sent registration, onboarding, delete.
"""

from __future__ import annotations

import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import imageio_ffmpeg
import pytest
from eth_account import Account
from web3.logs import DISCARD

from mediaproof import eip712
from mediaproof.chain import MediaproofChain
from mediaproof.devstack import LocalStack
from mediaproof.gateway_store import GatewayStore
from mediaproof.settings import ANVIL_TEST_KEYS, Settings
from mediaproof.storage.client import StorageClusterClient
from mediaproof.upload.client import UploadClient, ensure_wallet
from mediaproof.upload.launch import upload_process
from tests.integration.stack import stack_settings
from tests.unit.test_upload_intake import HOSTILE, photo_bytes

pytestmark = pytest.mark.integration
ALICE = Account.from_key(ANVIL_TEST_KEYS[0])
BOB = Account.from_key(ANVIL_TEST_KEYS[1])
LIMIT = 8 << 20  # a small upload limit so the oversized case is cheap


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalStack]:
    settings = stack_settings(tmp_path_factory.mktemp("upload"), clusters=3, replication_factor=2).model_copy(
        update={"max_upload_bytes": LIMIT, "prepare_variant_wait": 10.0}
    )
    running = LocalStack(settings).start()
    yield running
    running.stop()


@pytest.fixture(scope="module")
def chain(stack: LocalStack) -> MediaproofChain:
    chain = MediaproofChain.from_settings(stack.settings.model_copy(update={"rpc_url": stack.anvil.url}))
    with UploadClient(stack.settings.resolved_upload_url()) as client:
        for account in (ALICE, BOB):
            ensure_wallet(client, chain, account, 10**17)
    return chain


def url(stack: LocalStack) -> str:
    return stack.settings.resolved_upload_url()


def object_counts(stack: LocalStack) -> dict[int, int]:
    return {c.cluster_id: StorageClusterClient(c.endpoint).health()["objects"] for c in stack.clusters}


def gateway(stack: LocalStack) -> GatewayStore:
    return GatewayStore(stack.settings.resolved_gateway_db(), readonly=True)


def upload(stack: LocalStack, data: bytes) -> httpx.Response:
    return httpx.post(url(stack) + "/uploads", content=data, timeout=120)


def register(stack: LocalStack, data: bytes, owner: Any, title: str) -> dict[str, Any]:
    stored = upload(stack, data)
    assert stored.status_code == 201, stored.text
    prepared = httpx.post(
        url(stack) + f"/uploads/{stored.json()['upload_id']}/prepare",
        json={"owner": owner.address, "title": title},
        timeout=60,
    )
    assert prepared.status_code == 200, prepared.text
    signature = eip712.sign(prepared.json()["typed_data"], owner.key)
    done = httpx.post(
        url(stack) + f"/uploads/{stored.json()['upload_id']}/commit",
        json={"signature": "0x" + signature.hex()},
        timeout=120,
    )
    assert done.status_code == 200, done.text
    return {"upload": stored.json(), "prepared": prepared.json(), **done.json()}


def registered_event(chain: MediaproofChain, user_contract: str, tx: str) -> Any:
    receipt = chain.w3.eth.get_transaction_receipt(tx)  # type: ignore[arg-type]
    (event,) = chain.user_media(user_contract).events.MediaRegistered().process_receipt(receipt, errors=DISCARD)
    return event


def test_upload_prepare_commit_gives_a_link_with_variants_and_r_receipts(
    stack: LocalStack, chain: MediaproofChain
) -> None:
    data = photo_bytes(21, (2000, 1500))
    result = register(stack, data, ALICE, "Harbour at dusk")
    stored = result["upload"]
    assert stored["media_type"] == "image/jpeg" and stored["size"] == len(data)
    assert (stored["width"], stored["height"]) == (2000, 1500)
    assert len(set(stored["clusters"])) == 2
    # prepare waited for the variants, so the signed record carries all three
    assert result["prepared"]["variants"] == ["large", "medium", "small"]
    assert result["link"] == f"/m/{result['short_id']}" and len(result["short_id"]) == 7
    assert result["media_id"] == result["prepared"]["media_id"]

    event = registered_event(chain, result["prepared"]["user_contract"], result["tx"])
    assert "0x" + bytes(event["args"]["mediaId"]).hex() == result["media_id"]
    assert event["blockNumber"] == result["block"]
    clusters = list(event["args"]["clusterIds"])
    assert len(clusters) == 2 and len(set(clusters)) == 2  # R receipts from distinct clusters
    assert event["args"]["sender"] == chain.w3.eth.get_transaction(result["tx"])["from"] != ALICE.address  # relayed

    store = gateway(stack)
    linked = store.resolve(result["short_id"])
    assert linked is not None and linked.media_id == result["media_id"] and linked.owner == ALICE.address
    assert {"original", "large", "medium", "small"} <= set(linked.renditions)
    widths = {name: r.width for name, r in linked.renditions.items()}
    assert (widths["large"], widths["medium"], widths["small"]) == (1600, 800, 320)
    for rendition in linked.renditions.values():
        assert rendition.ready
        holders = store.placements(rendition.sha256)
        assert len(set(holders)) == 2
        by_id = {c.cluster_id: c.endpoint for c in stack.clusters}
        assert all(StorageClusterClient(by_id[c]).has(rendition.sha256) for c in holders)


def test_hostile_corpus_gets_4xx_sentences_and_leaves_nothing(stack: LocalStack, chain: MediaproofChain) -> None:
    before = object_counts(stack)
    store = gateway(stack)
    placements_before = store._db.execute("SELECT count(*) FROM placements").fetchone()[0]
    uploads_before = store._db.execute("SELECT count(*) FROM uploads").fetchone()[0]
    corpus = {**HOSTILE, "oversized.jpg": b"\xff\xd8\xff\xe0" + bytes(LIMIT)}
    for name, data in corpus.items():
        answer = upload(stack, data)
        assert 400 <= answer.status_code < 500, (name, answer.status_code, answer.text)
        detail = answer.json()["detail"]
        assert len(detail) > 20 and " " in detail, (name, detail)
    streamed_oversize = httpx.post(
        url(stack) + "/uploads", content=iter([b"\xff\xd8\xff\xe0", bytes(LIMIT)]), timeout=60
    )  # no Content-Length: the limit is enforced while streaming
    assert streamed_oversize.status_code == 413, streamed_oversize.text
    assert "over the upload limit" in streamed_oversize.json()["detail"]
    assert object_counts(stack) == before
    assert store._db.execute("SELECT count(*) FROM placements").fetchone()[0] == placements_before
    assert store._db.execute("SELECT count(*) FROM uploads").fetchone()[0] == uploads_before
    assert list((stack.settings.data_dir / "upload" / "incoming").iterdir()) == []


def test_same_bytes_again_move_nothing_and_register_for_a_second_owner(
    stack: LocalStack, chain: MediaproofChain
) -> None:
    data = photo_bytes(22, (1200, 900))
    first = register(stack, data, ALICE, "Original")
    counts = object_counts(stack)
    placements = sorted(gateway(stack).placements(first["sha256"]))
    second = register(stack, data, BOB, "Copy")
    assert second["upload"]["deduplicated"] is True and first["upload"]["deduplicated"] is False
    assert object_counts(stack) == counts  # no cluster took a new object: no bytes moved
    assert sorted(gateway(stack).placements(first["sha256"])) == placements
    assert sorted(second["upload"]["clusters"]) == placements
    assert second["media_id"] != first["media_id"] and second["short_id"] != first["short_id"]


def test_forged_signature_is_refused_and_nothing_registered(stack: LocalStack, chain: MediaproofChain) -> None:
    stored = upload(stack, photo_bytes(23, (640, 480))).json()
    prepared = httpx.post(
        url(stack) + f"/uploads/{stored['upload_id']}/prepare", json={"owner": ALICE.address, "title": "Mine"}
    ).json()
    user = chain.user_media(prepared["user_contract"])
    count = user.functions.mediaCount().call()
    forged = eip712.sign(prepared["typed_data"], BOB.key)
    refused = httpx.post(url(stack) + f"/uploads/{stored['upload_id']}/commit", json={"signature": "0x" + forged.hex()})
    assert refused.status_code == 403
    assert BOB.address in refused.json()["detail"] and "not by its owner" in refused.json()["detail"]
    garbage = httpx.post(url(stack) + f"/uploads/{stored['upload_id']}/commit", json={"signature": "0x1234"})
    assert garbage.status_code == 422
    assert user.functions.mediaCount().call() == count
    assert httpx.get(url(stack) + f"/uploads/{stored['upload_id']}").json()["state"] == "prepared"
    assert gateway(stack).short_ids_for(stored["sha256"]) == []


def test_client_can_send_the_registration_itself(stack: LocalStack, chain: MediaproofChain) -> None:
    stored = upload(stack, photo_bytes(24, (800, 600))).json()
    prepared = httpx.post(
        url(stack) + f"/uploads/{stored['upload_id']}/prepare", json={"owner": BOB.address, "title": "Self-sent"}
    ).json()
    signature = eip712.sign(prepared["typed_data"], BOB.key)
    answer = httpx.post(
        url(stack) + f"/uploads/{stored['upload_id']}/commit",
        json={"signature": "0x" + signature.hex(), "send": "client"},
        timeout=60,
    ).json()
    tx = answer["transaction"]
    assert tx["to"] == prepared["user_contract"]
    w3 = chain.w3
    sent = {"from": BOB.address, "to": tx["to"], "data": tx["data"], "chainId": chain.chain_id,
            "nonce": w3.eth.get_transaction_count(BOB.address, "pending")}  # fmt: skip
    sent["gas"] = w3.eth.estimate_gas(sent)  # type: ignore[arg-type]
    sent["gasPrice"] = w3.eth.gas_price
    tx_hash = w3.eth.send_raw_transaction(BOB.sign_transaction(sent).raw_transaction)
    assert w3.eth.wait_for_transaction_receipt(tx_hash)["status"] == 1
    confirmed = httpx.post(url(stack) + f"/uploads/{stored['upload_id']}/confirm", json={"tx": "0x" + tx_hash.hex()})
    assert confirmed.status_code == 200, confirmed.text
    assert confirmed.json()["media_id"] == answer["media_id"] == prepared["media_id"]
    assert registered_event(chain, prepared["user_contract"], "0x" + tx_hash.hex())["args"]["sender"] == BOB.address


def test_onboarding_describes_the_register_transaction(stack: LocalStack, chain: MediaproofChain) -> None:
    newcomer = Account.create()
    w3 = chain.w3
    w3.eth.wait_for_transaction_receipt(
        w3.eth.send_transaction({"from": w3.eth.accounts[5], "to": newcomer.address, "value": 10**18})
    )
    assert httpx.get(url(stack) + f"/users/{newcomer.address}").json()["registered"] is False
    refused = httpx.post(url(stack) + "/users", json={"owner": newcomer.address, "deposit_wei": "1"})
    assert refused.status_code == 422 and "minimum" in refused.json()["detail"]
    with UploadClient(url(stack)) as client:
        user_contract = ensure_wallet(client, chain, newcomer, 2 * 10**16)
        wallet = client.wallet(newcomer.address)
    assert wallet["registered"] and wallet["user_contract"] == user_contract
    assert int(wallet["deposit_wei"]) == 2 * 10**16
    bad = httpx.get(url(stack) + "/users/not-an-address")
    assert bad.status_code == 422


def test_video_gets_duration_and_a_poster(stack: LocalStack, chain: MediaproofChain, tmp_path: Path) -> None:
    clip = tmp_path / "clip.mp4"
    subprocess.run(
        [imageio_ffmpeg.get_ffmpeg_exe(), "-hide_banner", "-loglevel", "error", "-y", "-f", "lavfi",
         "-i", "testsrc=duration=1.5:size=320x240:rate=25", "-c:v", "libx264", "-pix_fmt", "yuv420p", str(clip)],
        check=True, timeout=120,
    )  # fmt: skip
    result = register(stack, clip.read_bytes(), ALICE, "Test pattern")
    assert result["upload"]["media_type"] == "video/mp4"
    assert result["upload"]["duration"] == pytest.approx(1.5, abs=0.1)
    assert result["prepared"]["variants"] == ["poster"]
    poster = gateway(stack).resolve(result["short_id"]).renditions["poster"]  # type: ignore[union-attr]
    assert poster.ready and poster.media_type == "image/jpeg" and (poster.width, poster.height) == (320, 240)


def test_delete_unpins_only_when_no_live_record_points_at_the_bytes(stack: LocalStack, chain: MediaproofChain) -> None:
    data = photo_bytes(25, (900, 700))
    first = register(stack, data, ALICE, "To delete")
    second = register(stack, data, BOB, "Kept a while")
    sha = first["sha256"]
    holders = {c.cluster_id: StorageClusterClient(c.endpoint) for c in stack.clusters}
    copies = gateway(stack).placements(sha)
    assert len(copies) == 2

    def delete(media_id: str, signer: Any) -> httpx.Response:
        order = httpx.post(url(stack) + f"/media/{media_id}/delete/prepare").json()
        signature = eip712.sign(order["typed_data"], signer.key)
        body = {"nonce": order["nonce"], "deadline": order["deadline"], "signature": "0x" + signature.hex()}
        return httpx.post(url(stack) + f"/media/{media_id}/delete", json=body, timeout=60)

    forged = delete(first["media_id"], BOB)
    assert forged.status_code == 403 and "not by the owner" in forged.json()["detail"]
    done = delete(first["media_id"], ALICE)
    assert done.status_code == 200, done.text
    entry = chain.user_media(first["prepared"]["user_contract"]).functions.media(first["media_id"]).call()
    assert entry[4] is True  # tombstoned on chain
    assert all(holders[c].has(sha) for c in copies)  # Bob's record still points at the bytes
    assert done.json()["unpinned"] == {}
    done = delete(second["media_id"], BOB)
    assert done.status_code == 200, done.text
    assert not any(holders[c].has(sha) for c in copies)
    assert gateway(stack).placements(sha) == []
    assert sha in done.json()["unpinned"]


def test_variant_queue_survives_a_killed_service(stack: LocalStack, chain: MediaproofChain) -> None:
    settings: Settings = stack.settings
    assert stack.upload is not None
    stack.upload.stop()
    queue_only = upload_process(settings.model_copy(update={"variant_workers": 0}), rpc_url=stack.anvil.url).start()
    try:
        stored = [upload(stack, photo_bytes(30 + n, (1000, 750))).json() for n in range(3)]
        assert all(s["variants_state"] == "pending" and s["variants"] == {} for s in stored)
    finally:
        queue_only.kill()  # SIGKILL: the queue is left as a crash would leave it
    stack.upload = upload_process(settings, rpc_url=stack.anvil.url).start()
    deadline = time.monotonic() + 60
    while True:
        states = [httpx.get(url(stack) + f"/uploads/{s['upload_id']}").json() for s in stored]
        if all(s["variants_state"] == "done" for s in states) or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    # 1000 px on the long edge: no "large" (1600 px) is made, readers fall back to the original
    assert [sorted(s["variants"]) for s in states] == [["medium", "small"]] * 3
