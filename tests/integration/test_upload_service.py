"""The upload service on real parts: anvil, 3 js-ipfs daemons, 3 storage clusters, R = 2.

Streaming upload, validation against a hostile corpus, de-duplication, variants (and their queue surviving a
restart), batched proofs (anchored, with a bundle that verifies against the chain) and direct ones (relayed under
the owner's fee cap, or sent by the client), the gateway's order of first claims, forged signatures, delete.
"""

from __future__ import annotations

import subprocess
import threading
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
from mediaproof.bundle import parse_bundle, parse_manifest
from mediaproof.chain import MediaproofChain, gateway_account
from mediaproof.clients.storage import StorageClusterClient
from mediaproof.clients.upload import UploadClient, ensure_wallet
from mediaproof.content import ContentDigest
from mediaproof.devstack import LocalStack
from mediaproof.gateway_store import GatewayStore
from mediaproof.jobs.launch import jobs_process
from mediaproof.settings import ANVIL_TEST_KEYS, Settings
from mediaproof.upload.launch import upload_process
from mediaproof.verify import ChainReader, verify_bundle
from tests.integration.auth import auth
from tests.integration.stack import stack_settings
from tests.unit.test_upload_intake import HOSTILE, photo_bytes

pytestmark = pytest.mark.integration
ALICE = Account.from_key(ANVIL_TEST_KEYS[0])
BOB = Account.from_key(ANVIL_TEST_KEYS[1])
CAROL = Account.create()  # a brand-new wallet: the batched path needs no registration and no funds
LIMIT = 8 << 20  # a small upload limit so the oversized case is cheap


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalStack]:
    settings = stack_settings(tmp_path_factory.mktemp("upload"), clusters=3, replication_factor=2).model_copy(
        update={"max_upload_bytes": LIMIT, "prepare_variant_wait": 10.0, "batch_interval": 0.5}
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


def clients(stack: LocalStack, chain: MediaproofChain) -> dict[int, StorageClusterClient]:
    gateway = gateway_account(stack.settings, chain.chain_id)
    return {c.cluster_id: StorageClusterClient(c.endpoint, c.cluster_id, gateway) for c in stack.clusters}


def object_counts(stack: LocalStack) -> dict[int, int]:
    gateway = Account.from_key(ANVIL_TEST_KEYS[2])
    return {c.cluster_id: StorageClusterClient(c.endpoint, c.cluster_id, gateway).health()["objects"]
            for c in stack.clusters}  # fmt: skip


def gateway_db(stack: LocalStack) -> GatewayStore:
    return GatewayStore(stack.settings.resolved_gateway_db(), readonly=True)


def upload(stack: LocalStack, data: bytes, sender: Any = ALICE) -> httpx.Response:
    return httpx.post(url(stack) + "/uploads", content=data, headers=auth(url(stack), sender), timeout=120)


def prepare(stack: LocalStack, upload_id: str, owner: Any, title: str, **extra: Any) -> dict[str, Any]:
    answer = httpx.post(
        url(stack) + f"/uploads/{upload_id}/prepare",
        json={"owner": owner.address, "title": title, **extra},
        headers=auth(url(stack), owner),
        timeout=60,
    )
    assert answer.status_code == 200, answer.text
    return dict(answer.json())


def commit(stack: LocalStack, upload_id: str, signature: bytes, sender: Any = ALICE, **extra: Any) -> httpx.Response:
    body = {"signature": "0x" + signature.hex(), **extra}
    return httpx.post(
        url(stack) + f"/uploads/{upload_id}/commit", json=body, headers=auth(url(stack), sender), timeout=120
    )


def register(stack: LocalStack, data: bytes, owner: Any, title: str, mode: str = "batched") -> dict[str, Any]:
    stored = upload(stack, data, owner)
    assert stored.status_code == 201, stored.text
    upload_id = stored.json()["upload_id"]
    prepared = prepare(stack, upload_id, owner, title, mode=mode)
    done = commit(stack, upload_id, eip712.sign(prepared["typed_data"], owner.key), owner)
    assert done.status_code == 200, done.text
    assert done.json()["state"] == "committed", done.json()
    return {"upload": stored.json(), "prepared": prepared, **done.json()}


def reader(chain: MediaproofChain) -> ChainReader:
    return ChainReader(chain.w3, chain.media_app.address, chain.topology.address)


def test_batched_upload_gets_a_link_and_a_bundle_that_proves_it(stack: LocalStack, chain: MediaproofChain) -> None:
    data = photo_bytes(21, (2000, 1500))
    result = register(stack, data, ALICE, "Harbour at dusk")
    stored = result["upload"]
    assert stored["media_type"] == "image/jpeg" and stored["size"] == len(data)
    assert (stored["width"], stored["height"]) == (2000, 1500)
    assert len(set(stored["clusters"])) == 2
    # prepare waited for the variants, so the signed record carries all three
    assert result["prepared"]["variants"] == ["large", "medium", "small"]
    assert result["prepared"]["mode"] == "batched" and result["prepared"]["max_fee_wei"] == "0"
    assert result["link"] == f"/m/{result['short_id']}" and len(result["short_id"]) == 7
    assert result["media_id"] == result["prepared"]["media_id"]
    assert result["mode"] == "batched" and result["batch"] == result["block"]

    bundle = parse_bundle(result["proof"])
    digest = ContentDigest(bytes.fromhex(result["sha256"]), result["cid"], len(data))
    report = verify_bundle(reader(chain), bundle, digest)
    assert report.proven and report.first, report.problems
    assert report.owner == ALICE.address and report.block == result["block"]
    assert sorted(r.cluster_id for r in report.receipts) == sorted(stored["clusters"])
    # The anchor carried the manifest's CID, and the download service serves that manifest.
    anchored = chain.media_app.events.BatchAnchored().process_receipt(
        chain.w3.eth.get_transaction_receipt(result["tx"]), errors=DISCARD
    )
    manifest = httpx.get(f"{stack.settings.resolved_download_url()}/manifests/{bundle.manifest_cid}", timeout=30)
    assert manifest.status_code == 200
    assert parse_manifest(manifest.json()).tree().root == anchored[0]["args"]["root"]

    linked = gateway_db(stack).resolve(result["short_id"])
    assert linked is not None and linked.media_id == result["media_id"] and linked.owner == ALICE.address
    assert {"original", "large", "medium", "small"} <= set(linked.renditions)
    holders = clients(stack, chain)
    for rendition in linked.renditions.values():
        assert rendition.ready
        copies = gateway_db(stack).placements(rendition.sha256)
        assert len(set(copies)) == 2 and all(holders[c].has(rendition.sha256) for c in copies)


def test_direct_upload_is_relayed_under_the_owners_fee_cap(stack: LocalStack, chain: MediaproofChain) -> None:
    before = chain.media_app.functions.depositOf(BOB.address).call()
    result = register(stack, photo_bytes(26, (900, 600)), BOB, "Straight to chain", mode="direct")
    cap = int(result["prepared"]["max_fee_wei"])
    assert cap > 0 and result["mode"] == "direct" and result["batch"] == 0
    receipt = chain.w3.eth.get_transaction_receipt(result["tx"])
    user_contract = chain.media_app.functions.userContract(BOB.address).call()
    (event,) = chain.user_media(user_contract).events.MediaRegistered().process_receipt(receipt, errors=DISCARD)
    assert "0x" + bytes(event["args"]["mediaId"]).hex() == result["media_id"]
    assert len({r["clusterId"] for r in event["args"]["receipts"]}) == 2  # R receipts from distinct clusters
    assert event["args"]["sender"] == gateway_account(stack.settings, chain.chain_id).address  # relayed
    (paid,) = chain.media_app.events.RelayFeePaid().process_receipt(receipt, errors=DISCARD)
    assert 0 < paid["args"]["amount"] <= cap
    assert chain.media_app.functions.depositOf(BOB.address).call() == before - paid["args"]["amount"]
    report = verify_bundle(reader(chain), parse_bundle(result["proof"]), None)
    assert report.proven and report.kind == "direct", report.problems


def test_hostile_corpus_gets_4xx_sentences_and_leaves_nothing(stack: LocalStack, chain: MediaproofChain) -> None:
    before = object_counts(stack)
    store = gateway_db(stack)
    placements_before = store._db.execute("SELECT count(*) FROM placements").fetchone()[0]
    uploads_before = store._db.execute("SELECT count(*) FROM uploads").fetchone()[0]
    corpus = {**HOSTILE, "oversized.jpg": b"\xff\xd8\xff\xe0" + bytes(LIMIT)}
    for name, data in corpus.items():
        answer = upload(stack, data)
        assert 400 <= answer.status_code < 500, (name, answer.status_code, answer.text)
        detail = answer.json()["detail"]
        assert len(detail) > 20 and " " in detail, (name, detail)
    streamed_oversize = httpx.post(
        url(stack) + "/uploads",
        content=iter([b"\xff\xd8\xff\xe0", bytes(LIMIT)]),
        headers=auth(url(stack), ALICE),
        timeout=60,
    )  # no Content-Length: the limit is enforced while streaming
    assert streamed_oversize.status_code == 413, streamed_oversize.text
    assert "over the upload limit" in streamed_oversize.json()["detail"]
    assert object_counts(stack) == before
    assert store._db.execute("SELECT count(*) FROM placements").fetchone()[0] == placements_before
    assert store._db.execute("SELECT count(*) FROM uploads").fetchone()[0] == uploads_before
    assert list((stack.settings.data_dir / "upload" / "incoming").glob("*/upload-*.part")) == []


def test_same_bytes_again_move_nothing_and_a_second_owner_is_not_first(
    stack: LocalStack, chain: MediaproofChain
) -> None:
    data = photo_bytes(22, (1200, 900))
    first = register(stack, data, ALICE, "Original")
    counts = object_counts(stack)
    placements = sorted(gateway_db(stack).placements(first["sha256"]))
    second = register(stack, data, BOB, "Copy")
    assert second["upload"]["deduplicated"] is True and first["upload"]["deduplicated"] is False
    # No bytes of the photo moved: the only new objects are R copies of the second batch's manifest.
    after = object_counts(stack)
    assert sum(after.values()) - sum(counts.values()) == stack.settings.replication_factor
    assert sorted(gateway_db(stack).placements(first["sha256"])) == placements
    assert second["media_id"] != first["media_id"] and second["short_id"] != first["short_id"]
    # Before Bob's later proof was anchored, the gateway revealed Alice's earlier one into proofOf.
    proof = chain.media_app.functions.proofDetail(bytes.fromhex(first["sha256"])).call()
    assert (proof[0], proof[3], proof[4]) == (ALICE.address, first["batch"], True)
    later = verify_bundle(reader(chain), parse_bundle(second["proof"]), None)
    assert later.proven and not later.first
    assert later.first_proof == {"owner": ALICE.address, "block": first["batch"], "batched": True}
    assert verify_bundle(reader(chain), parse_bundle(first["proof"]), None).first


def test_a_second_owner_waits_while_the_first_proof_is_on_its_way(stack: LocalStack, chain: MediaproofChain) -> None:
    """The gateway sequences first claims: while Carol's batch is open, Bob's commit of the same bytes is refused
    (409); once her batch is anchored, his later proof goes through and she stays first. The batch is held open by
    an upload service whose batch interval is an hour, then closed by a restarted one (its batcher settles what the
    stopped process left)."""
    settings: Settings = stack.settings
    assert stack.upload is not None
    stack.upload.stop()
    slow = upload_process(settings.model_copy(update={"batch_interval": 3600.0}), rpc_url=stack.anvil.url).start()
    try:
        data = photo_bytes(27, (700, 500))
        ids = [upload(stack, data, sender).json()["upload_id"] for sender in (CAROL, BOB)]
        carol = prepare(stack, ids[0], CAROL, "Carol's")
        bob = prepare(stack, ids[1], BOB, "Bob's")
        carol_commit: list[httpx.Response | httpx.TransportError] = []

        def commit_carol() -> None:
            try:
                carol_commit.append(commit(stack, ids[0], eip712.sign(carol["typed_data"], CAROL.key), CAROL))
            except httpx.TransportError as cut:  # the slow service is stopped while her commit waits for its batch
                carol_commit.append(cut)

        waiting = threading.Thread(target=commit_carol)
        waiting.start()
        deadline = time.monotonic() + 60
        while httpx.get(url(stack) + f"/uploads/{ids[0]}").json()["state"] != "anchoring":
            assert time.monotonic() < deadline, "Carol's commit never reached its batch"
            time.sleep(0.05)
        refused = commit(stack, ids[1], eip712.sign(bob["typed_data"], BOB.key), BOB)
        assert refused.status_code == 409, refused.text
        assert CAROL.address in refused.json()["detail"] and "try again" in refused.json()["detail"]
    finally:
        slow.stop()
        waiting.join(timeout=120)
    # Stopping a service cuts off the commit still waiting for its batch; it never claims a proof it lacks.
    (cut,) = carol_commit
    assert isinstance(cut, httpx.TransportError) or cut.status_code == 503, repr(cut)
    stack.upload = upload_process(settings, rpc_url=stack.anvil.url).start()
    deadline = time.monotonic() + 60
    while (state := httpx.get(url(stack) + f"/uploads/{ids[0]}").json())["state"] != "committed":
        assert time.monotonic() < deadline, state
        time.sleep(0.1)
    done = commit(stack, ids[1], eip712.sign(bob["typed_data"], BOB.key), BOB)
    assert done.status_code == 200, done.text
    assert verify_bundle(reader(chain), parse_bundle(state["proof"]), None).first
    assert not verify_bundle(reader(chain), parse_bundle(done.json()["proof"]), None).first


def test_forged_signature_is_refused_and_nothing_registered(stack: LocalStack, chain: MediaproofChain) -> None:
    stored = upload(stack, photo_bytes(23, (640, 480))).json()
    prepared = prepare(stack, stored["upload_id"], ALICE, "Mine")
    forged = eip712.sign(prepared["typed_data"], BOB.key)
    refused = commit(stack, stored["upload_id"], forged)
    assert refused.status_code == 403
    assert ALICE.address in refused.json()["detail"] and "not" in refused.json()["detail"]
    garbage = httpx.post(
        url(stack) + f"/uploads/{stored['upload_id']}/commit",
        json={"signature": "0x1234"},
        headers=auth(url(stack), ALICE),
    )
    assert garbage.status_code == 422
    assert httpx.get(url(stack) + f"/uploads/{stored['upload_id']}").json()["state"] == "prepared"
    assert gateway_db(stack).short_ids_for(stored["sha256"]) == []
    # A record altered after prepare (another title) is not what the owner signed either.
    typed = prepared["typed_data"]
    altered = {**typed, "message": {**typed["message"], "title": "Someone else's"}}
    assert commit(stack, stored["upload_id"], eip712.sign(altered, ALICE.key)).status_code == 403


def test_client_can_send_the_direct_registration_itself(stack: LocalStack, chain: MediaproofChain) -> None:
    stored = upload(stack, photo_bytes(24, (800, 600)), BOB).json()
    prepared = prepare(stack, stored["upload_id"], BOB, "Self-sent", mode="direct")
    answer = commit(stack, stored["upload_id"], eip712.sign(prepared["typed_data"], BOB.key), BOB, send="client").json()
    tx = answer["transaction"]
    user_contract = chain.media_app.functions.userContract(BOB.address).call()
    assert tx["to"] == user_contract
    w3 = chain.w3
    sent = {"from": BOB.address, "to": tx["to"], "data": tx["data"], "chainId": chain.chain_id,
            "nonce": w3.eth.get_transaction_count(BOB.address, "pending")}  # fmt: skip
    sent["gas"] = w3.eth.estimate_gas(sent)  # type: ignore[arg-type]
    sent["gasPrice"] = w3.eth.gas_price
    tx_hash = w3.eth.send_raw_transaction(BOB.sign_transaction(sent).raw_transaction)
    assert w3.eth.wait_for_transaction_receipt(tx_hash)["status"] == 1
    confirmed = httpx.post(
        url(stack) + f"/uploads/{stored['upload_id']}/confirm",
        json={"tx": "0x" + tx_hash.hex()},
        headers=auth(url(stack), BOB),
    )
    assert confirmed.status_code == 200, confirmed.text
    assert confirmed.json()["media_id"] == answer["media_id"] == prepared["media_id"]
    receipt = w3.eth.get_transaction_receipt(tx_hash)
    (event,) = chain.user_media(user_contract).events.MediaRegistered().process_receipt(receipt, errors=DISCARD)
    assert event["args"]["sender"] == BOB.address
    assert verify_bundle(reader(chain), parse_bundle(confirmed.json()["proof"]), None).proven


def test_onboarding_describes_the_register_transaction(stack: LocalStack, chain: MediaproofChain) -> None:
    newcomer = Account.create()
    w3 = chain.w3
    w3.eth.wait_for_transaction_receipt(
        w3.eth.send_transaction({"from": w3.eth.accounts[5], "to": newcomer.address, "value": 10**18})
    )
    assert httpx.get(url(stack) + f"/users/{newcomer.address}").json()["registered"] is False
    refused = httpx.post(
        url(stack) + "/users", json={"owner": newcomer.address, "deposit_wei": "1"}, headers=auth(url(stack), newcomer)
    )
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
    poster = gateway_db(stack).resolve(result["short_id"]).renditions["poster"]  # type: ignore[union-attr]
    assert poster.ready and poster.media_type == "image/jpeg" and (poster.width, poster.height) == (320, 240)


def test_delete_unpins_only_when_no_live_record_points_at_the_bytes(stack: LocalStack, chain: MediaproofChain) -> None:
    data = photo_bytes(25, (900, 700))
    first = register(stack, data, ALICE, "To delete")
    second = register(stack, data, BOB, "Kept a while")
    sha = first["sha256"]
    holders = clients(stack, chain)
    copies = gateway_db(stack).placements(sha)
    assert len(copies) == 2

    def delete(media_id: str, signer: Any, sender: Any = None) -> httpx.Response:
        headers = auth(url(stack), sender or signer)
        order = httpx.post(url(stack) + f"/media/{media_id}/delete/prepare", headers=headers).json()
        signature = eip712.sign(order["typed_data"], signer.key)
        body = {"nonce": order["nonce"], "deadline": order["deadline"], "signature": "0x" + signature.hex()}
        return httpx.post(url(stack) + f"/media/{media_id}/delete", json=body, headers=headers, timeout=60)

    forged = delete(first["media_id"], BOB, sender=ALICE)
    assert forged.status_code == 403 and "not by the owner" in forged.json()["detail"]
    done = delete(first["media_id"], ALICE)
    assert done.status_code == 200, done.text
    alice_media = chain.user_media(chain.media_app.functions.userContract(ALICE.address).call())
    assert alice_media.functions.isDeleted(bytes.fromhex(first["media_id"][2:])).call()  # tombstoned on chain
    assert all(holders[c].has(sha) for c in copies)  # Bob's record still points at the bytes
    assert done.json()["unpinned"] == {}
    replayed = delete(first["media_id"], ALICE)
    assert replayed.status_code == 409, replayed.text
    done = delete(second["media_id"], BOB)
    assert done.status_code == 200, done.text
    assert not any(holders[c].has(sha) for c in copies)
    assert gateway_db(stack).placements(sha) == []
    assert sha in done.json()["unpinned"]


def test_variant_queue_survives_a_killed_service(stack: LocalStack, chain: MediaproofChain) -> None:
    settings: Settings = stack.settings
    assert stack.upload is not None and stack.jobs is not None
    stack.jobs.stop()  # nothing makes variants now: the jobs are only queued
    stack.upload.stop()
    killed = upload_process(settings, rpc_url=stack.anvil.url).start()
    try:
        stored = [upload(stack, photo_bytes(30 + n, (1000, 750))).json() for n in range(3)]
        assert all(s["variants_state"] == "pending" and s["variants"] == {} for s in stored)
    finally:
        killed.kill()  # SIGKILL: the queue is left as a crash would leave it
    stack.upload = upload_process(settings, rpc_url=stack.anvil.url).start()
    stack.jobs = jobs_process(settings, rpc_url=stack.anvil.url).start()
    deadline = time.monotonic() + 60
    while True:
        states = [httpx.get(url(stack) + f"/uploads/{s['upload_id']}").json() for s in stored]
        if all(s["variants_state"] == "done" for s in states) or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    # 1000 px on the long edge: no "large" (1600 px) is made, readers fall back to the original
    assert [sorted(s["variants"]) for s in states] == [["medium", "small"]] * 3
