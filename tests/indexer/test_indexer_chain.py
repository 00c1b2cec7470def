"""The follower on a real anvil chain with the round-2 contracts: what it stores from direct registrations and from
anchored batches (their manifests served over real HTTP), the read API over it, first proofs and proof bundles the
contracts accept, a manifest that does not come, reorgs, SIGKILLs mid-backfill, and the indexer process taking in
short ids and views while it serves."""

from __future__ import annotations

import json
import logging
import multiprocessing
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from batchkit import cluster_key
from eth_account import Account
from fastapi.testclient import TestClient
from indexer_chainwork import ChainWork
from pausing_indexer import AFTER_COMMIT, IN_TRANSACTION, run_until_paused
from schema_check import errors

from indexer.api import create_app
from indexer.engine import Follower
from indexer.manifest_source import HttpManifestSource
from indexer.search import TitleIndex
from indexer.short_links import ShortLinkSync
from indexer.source import JsonRpcSource
from indexer.store import TABLES, Store
from mediaproof import eip712, merkle
from mediaproof.anvil import AnvilNode
from mediaproof.deployment import write_deployment
from mediaproof.download.views import ViewRecorder
from mediaproof.gateway_store import GatewayStore
from mediaproof.ports import port_of, reserve_port
from mediaproof.settings import ANVIL_TEST_KEYS, PROJECT_ROOT

ALICE, BOB, CAROL = ANVIL_TEST_KEYS[1], ANVIL_TEST_KEYS[2], ANVIL_TEST_KEYS[3]
SCHEMA = json.loads((PROJECT_ROOT / "docs" / "proof-bundle.schema.json").read_text())
GUARD_SECONDS = 120  # a failure guard only, never what decides when to kill


def address(key: str) -> str:
    return str(Account.from_key(key).address)


def follower(url: str, work: ChainWork, store: Store, **kw) -> Follower:
    return Follower(JsonRpcSource(url), store, work.deployment, manifests=HttpManifestSource(work.manifests.url), **kw)


def index_once(url: str, work: ChainWork, db: Path, **kw) -> Store:
    store = Store(db)
    follower(url, work, store, **kw).catch_up()
    return store


def snapshot(store: Store) -> dict[str, list]:
    return {table: store.table_rows(table) for table in TABLES}


def test_follower_indexes_chain_and_api_serves_it(
    anvil: AnvilNode, work: ChainWork, tmp_path: Path, caplog: pytest.LogCaptureFixture
):
    alice = work.register_user(ALICE)
    first = work.register_media(ALICE, alice, "Sunset over Zürich 2024", variants=2)
    gone = work.register_media(ALICE, alice, "Sunset to delete")
    work.delete_media(ALICE, alice, gone)
    # a batch: carol has no UserMedia; alice's UserMedia owns one record (a contract: its signature is ERC-1271's
    # business, kept unchecked); one entry claims bob's name with carol's signature and is left out
    harbour = work.entry(CAROL, "Zürich harbour from the batch", variants=1)
    wallet = work.entry(ALICE, "owned by a contract wallet", owner=alice)
    forged = work.entry(CAROL, "forged for bob", owner=address(BOB))
    batch = work.anchor_batch([harbour, wallet, forged])
    store = Store(tmp_path / "i.duckdb")
    index = TitleIndex(store)
    f = follower(anvil.url, work, store, batch_blocks=3, on_commit=index.refresh, on_rollback=index.rollback)
    with caplog.at_level(logging.WARNING, logger="indexer"):
        f.catch_up()
    assert f"batch {batch.block} (manifest {batch.cid}): entry 2 not indexed" in caplog.text
    bob = work.register_user(BOB)  # a clone discovered while following
    work.register_media(BOB, bob, "Zürich lake by night")
    work.set_cluster_status(1, 2)
    f.catch_up()
    api = TestClient(create_app(store, index))

    found = api.get("/search", params={"q": "zurich"}).json()["results"]
    assert sorted(r["title"] for r in found) == [
        "Sunset over Zürich 2024", "Zürich harbour from the batch", "Zürich lake by night"
    ]  # fmt: skip
    assert [r["title"] for r in api.get("/search", params={"q": "sunset"}).json()["results"]] == [
        "Sunset over Zürich 2024"
    ]
    detail = api.get(f"/media/{first}").json()
    assert detail["owner"] == address(ALICE) and detail["kind"] == "direct" and detail["batch"] == 0
    assert [v["name"] for v in detail["variants"]] == ["small", "medium"]
    assert [(r["cluster_id"], r["signer"]) for r in detail["receipts"]] == [(1, cluster_key(1).address)]
    assert detail["first_registration"]["media_id"] == first and detail["is_first_proof"] is True
    assert api.get(f"/media/{detail['sha256']}").json()["id"] == first
    assert api.get(f"/media/{gone}").json()["deleted"] is True

    batched = api.get(f"/media/{batch.media_ids[0]}").json()
    assert (batched["kind"], batched["batch"], batched["tx_hash"]) == ("batched", batch.block, batch.tx_hash)
    assert batched["owner"] == address(CAROL) and batched["user_contract"] is None
    assert batched["manifest_cid"] == batch.cid and batched["revealed"] is False
    assert batched["signature_check"] == "ecdsa" and [v["name"] for v in batched["variants"]] == ["small"]
    assert [(r["cluster_id"], r["signer"]) for r in batched["receipts"]] == [(1, cluster_key(1).address)]
    assert api.get(f"/media/{batch.media_ids[1]}").json()["signature_check"] == "erc1271-unchecked"
    assert api.get(f"/media/{batch.media_ids[2]}").status_code == 404
    anchors = api.get(f"/batches/{batch.block}").json()["anchors"]
    assert [(a["declared"], a["indexed"], a["status"]) for a in anchors] == [(3, 2, "indexed")]
    assert anchors[0]["rejected"][0]["entry"] == 2 and "not the owner" in anchors[0]["rejected"][0]["why"]

    assert [c["status"] for c in api.get("/clusters").json()["clusters"]] == ["draining"]
    assert api.get("/clusters").json()["clusters"][0]["objects"] == 4  # first, harbour, wallet, lake (not gone)
    assert api.get("/recent").json()["results"][0]["title"] == "Zürich lake by night"
    profile = api.get(f"/users/{address(ALICE)}").json()
    assert profile["user_contract"] == alice and profile["media_count"] == 1
    carol = api.get(f"/users/{address(CAROL)}").json()  # only batched media, no UserMedia
    assert carol["user_contract"] is None and [m["title"] for m in carol["media"]] == ["Zürich harbour from the batch"]
    assert api.get(f"/analytics/media/{first}").json()["views"] == 0
    assert api.get("/search", params={"q": "x", "limit": 0}).status_code == 422
    assert "limit" in api.get("/search", params={"q": "x", "limit": 0}).json()["detail"]
    assert api.get("/media/no-pe").status_code == 422
    assert api.get("/media/nope").status_code == 404  # could be a short id the gateway has not given yet
    assert api.get("/media/0x" + "11" * 32).status_code == 404
    assert api.get("/users/0x12").status_code == 422
    assert {"/search", "/proofs/{sha256}", "/media/{key}/proof"} <= set(api.get("/openapi.json").json()["paths"])
    store.close()


def test_first_proofs_bundles_the_contracts_accept_and_short_ids_of_one_record_each(
    anvil: AnvilNode, work: ChainWork, tmp_path: Path
):
    alice, bob = work.register_user(ALICE), work.register_user(BOB)
    sha = bytes.fromhex("5e" * 32)
    batch = work.anchor_batch([work.entry(ALICE, "harbour, the original", sha256=sha, variants=1)])
    original = batch.media_ids[0]
    bobs = work.register_media(BOB, bob, "bob's copy of the harbour", sha256=sha)  # another owner, later
    retitled = work.register_media(ALICE, alice, "harbour, retitled", sha256=sha)  # the same owner, a new title
    store = Store(tmp_path / "i.duckdb")
    index = TitleIndex(store)
    f = follower(anvil.url, work, store, on_commit=index.refresh)
    f.catch_up()
    api = TestClient(create_app(store, index))

    first = {"owner": address(ALICE), "media_id": original, "block": batch.block, "short_id": None}
    for media_id, is_first in ((original, True), (bobs, False), (retitled, False)):
        detail = api.get(f"/media/{media_id}").json()
        assert detail["is_first_proof"] is is_first and detail["first_registration"] == first

    bundles = api.get(f"/proofs/0x{sha.hex()}").json()["bundles"]
    assert [(b["media_id"], b["kind"]) for b in bundles] == [
        (original, "batched"),
        (bobs, "direct"),
        (retitled, "direct"),
    ]
    for b in bundles:
        assert errors(b, SCHEMA) == [], b
        rec = eip712.MediaRecord.from_message(b["record"])
        assert "0x" + work.chain.media_app.functions.recordDigest(rec.as_tuple()).call().hex() == b["media_id"]
        owner = eip712.recover_digest(bytes.fromhex(b["media_id"][2:]), bytes.fromhex(b["owner_signature"][2:]))
        assert owner == b["owner"]
    app = work.chain.media_app.functions
    b = bundles[0]
    proof = [bytes.fromhex(p[2:]) for p in b["proof"]]
    leaf = bytes.fromhex(b["leaf"][2:])
    assert (
        app.batchLeaf(sha, b["owner"], bytes.fromhex(b["media_id"][2:]), bytes.fromhex(b["receipts_hash"][2:])).call()
        == leaf
    )
    assert app.verifyInclusion(leaf, proof, b["batch"]).call() is True
    assert app.anchorOf(merkle.process_proof(leaf, proof)).call()[0] == batch.block
    assert (b["tx"], b["block"], b["manifest_cid"]) == (batch.tx_hash, batch.block, batch.cid)
    d = bundles[1]
    assert d["record"]["title"] == "bob's copy of the harbour" and d["user_contract"] == bob
    assert d["owner"] == address(BOB) and (d["proof"], d["batch"]) == ([], 0)
    logs = work.w3.eth.get_transaction_receipt(d["tx"])["logs"]
    assert any(lg["address"] == bob and lg["topics"][1].hex().removeprefix("0x") == d["media_id"][2:] for lg in logs)
    assert api.get(f"/media/{bobs}/proof").json() == d

    # bob's direct registration took proofOf (nothing was revealed yet); the bundle reveals the earlier batched one
    assert app.proofOf(sha).call()[0] == address(BOB)
    work.reveal(b, CAROL)
    assert app.proofOf(sha).call()[0] == address(ALICE)
    f.catch_up()
    assert api.get(f"/media/{original}").json()["revealed"] is True

    # each short id shows its own record, not the first record of its bytes
    gateway = GatewayStore(tmp_path / "gateway.db")
    for short_id, media_id, key, title in (("Orig1", original, ALICE, "harbour, the original"),
                                           ("Bob2", bobs, BOB, "bob's copy of the harbour"),
                                           ("Ret3", retitled, ALICE, "harbour, retitled")):  # fmt: skip
        gateway.add_link(short_id, sha.hex(), address(key), title, "image/jpeg", 1, media_id)
    index.set_short_ids(ShortLinkSync(store, tmp_path / "gateway.db").sync())
    for short_id, media_id, key, title in (("Bob2", bobs, BOB, "bob's copy of the harbour"),
                                           ("Ret3", retitled, ALICE, "harbour, retitled"),
                                           ("Orig1", original, ALICE, "harbour, the original")):  # fmt: skip
        shown = api.get(f"/media/{short_id}").json()
        assert (shown["id"], shown["title"], shown["owner"], shown["short_id"]) == (
            media_id,
            title,
            address(key),
            short_id,
        )
        assert api.get(f"/media/{short_id}/proof").json()["media_id"] == media_id
    assert api.get(f"/media/{bobs}").json()["first_registration"]["short_id"] == "Orig1"
    gateway.close()
    store.close()


def test_a_manifest_that_does_not_come_holds_the_indexer_before_its_block(
    anvil: AnvilNode, work: ChainWork, tmp_path: Path, caplog: pytest.LogCaptureFixture
):
    alice = work.register_user(ALICE)
    work.register_media(ALICE, alice, "before the batch")
    batch = work.anchor_batch([work.entry(ALICE, "waited for")], serve=False)
    # a manifest that is served but is not the anchored batch's: its batch is recorded, with no media
    wrong_doc = json.loads(work.manifests.withheld[batch.cid])
    refused = work.anchor_batch([work.entry(BOB, "never indexed")], doc=wrong_doc | {"sequencer": "0x" + "00" * 20})
    work.register_media(ALICE, alice, "after the batch")
    store = Store(tmp_path / "i.duckdb")
    index = TitleIndex(store)
    f = follower(anvil.url, work, store, batch_blocks=100, on_commit=index.refresh)
    with caplog.at_level(logging.WARNING, logger="indexer"):
        f.catch_up()  # writes the blocks before the batch, then tries the batch's block again and stops
        assert f.waiting is not None and (f.waiting.block, f.waiting.cid) == (batch.block, batch.cid)
        tries = f.waiting.tries
        f.catch_up()
    assert store.head().number == batch.block - 1
    assert f.waiting.tries == tries + 1 and "answered 404" in f.waiting.reason
    assert caplog.text.count(f"the manifest {batch.cid} of batch {batch.block} cannot be fetched") == tries + 1
    assert f.pause(0.25) == min(30.0, 0.25 * 2 ** (tries + 1))  # longer pauses while it keeps failing
    assert [h.media_pos >> 32 for h in index.search("before")] == [batch.block - 1]
    assert index.search("waited") == [] and index.search("after") == []

    work.manifests.manifests[batch.cid] = work.manifests.withheld.pop(batch.cid)  # the download service has it now
    f.catch_up()
    assert f.waiting is None and f.pause(0.25) == 0.25
    assert store.head().number == work.w3.eth.block_number
    assert len(index.search("waited")) == 1 and len(index.search("after")) == 1 and index.search("never") == []
    api = TestClient(create_app(store, index))
    anchors = api.get(f"/batches/{refused.block}").json()["anchors"]
    assert anchors[0]["status"] == "refused" and "not the anchored root" in anchors[0]["problem"]


def test_reorg_leaves_the_database_equal_to_a_fresh_index(anvil: AnvilNode, work: ChainWork, tmp_path: Path):
    alice = work.register_user(ALICE)
    kept = work.register_media(ALICE, alice, "kept before the fork")
    store = Store(tmp_path / "live.duckdb")
    index = TitleIndex(store)
    f = follower(anvil.url, work, store, on_commit=index.refresh, on_rollback=index.rollback)
    f.catch_up()
    snap = work.rpc("evm_snapshot")
    bob = work.register_user(BOB)
    work.register_media(BOB, bob, "orphaned title")
    orphaned = work.anchor_batch([work.entry(CAROL, "orphaned batch"), work.entry(BOB, "orphaned too")])
    work.delete_media(ALICE, alice, kept)
    f.catch_up()
    assert len(index.search("orphaned")) == 3 and not index.search("kept ")
    assert store.batches_in_block(orphaned.block)
    assert work.rpc("evm_revert", snap)
    work.register_media(ALICE, alice, "canonical one")
    canonical = work.anchor_batch([work.entry(CAROL, "canonical batched")])
    work.register_media(ALICE, alice, "canonical two")
    work.register_media(ALICE, alice, "canonical three")  # the new branch is longer than the old one
    work.register_media(ALICE, alice, "canonical four")
    f.catch_up()
    assert f.reorgs >= 1
    fresh = index_once(anvil.url, work, tmp_path / "fresh.duckdb")
    assert snapshot(store) == snapshot(fresh)
    assert index.search("orphaned") == [] and len(index.search("canonical")) == 5
    assert len(index.search("kept ")) == 1
    assert [b["root"] for b in store.batches_in_block(canonical.block)] == ["0x" + canonical.tree.root.hex()]
    assert len(store.table_rows("batches")) == 1


def test_sigkill_during_backfill_then_restart_equals_an_uninterrupted_run(
    anvil: AnvilNode, work: ChainWork, tmp_path: Path
):
    users = [(key, work.register_user(key)) for key in (ALICE, BOB)]
    rng = random.Random(7)
    for i in range(40):
        key, user = users[i % 2]
        work.register_media(key, user, f"backfill title {i} {rng.choice(['red', 'blue', 'green'])}")
    deployment_file = tmp_path / "deployment.json"
    write_deployment(deployment_file, work.deployment)
    db = tmp_path / "killed.duckdb"
    args = ["--rpc", anvil.url, "--deployment", str(deployment_file), "--db", str(db), "--batch-blocks", "1", "--once"]
    args += ["--gateway-db", str(tmp_path / "no-gateway.db")]
    # Each run is the entry point's main() in a process forked from this one (no thread, no open database here),
    # which has imported the indexer already: a restart costs milliseconds, so 20 kills fit in seconds. Ranges of
    # one block are written one transaction each; the child reports each and holds still at the k-th (k from the
    # seeded RNG), inside its transaction or right after its commit by turns, until it is SIGKILLed there.
    ctx = multiprocessing.get_context("fork")
    final = work.w3.eth.block_number
    kills = 20
    head = work.deployment.block - 1  # nothing indexed yet
    assert final - head - 1 >= kills, "too few blocks for every kill to land part-way"
    heads = []
    for kill in range(kills):
        where = (IN_TRANSACTION, AFTER_COMMIT)[kill % 2]
        # at most an even share of what is left, so every later kill still finds blocks to land among
        pause_at = rng.randint(1, max(1, (final - head - 1) // (kills - kill)))
        ours, theirs = ctx.Pipe()
        proc = ctx.Process(target=run_until_paused, args=(args, theirs, pause_at, where))
        proc.start()
        theirs.close()
        wrote = []
        try:
            while True:
                # the timeout only turns a hang into a failure; the kill waits for the child's word, not the clock
                assert ours.poll(GUARD_SECONDS), f"no word from the indexer in {GUARD_SECONDS} s"
                message, count, block = ours.recv()
                if message == "paused":
                    break
                assert message == "wrote", (message, count, wrote)
                wrote.append(block)
        finally:
            proc.kill()  # SIGKILL, where it holds still (or wherever it is if the guard fired)
            proc.join()
            ours.close()
        assert count == pause_at and wrote == list(range(head + 1, head + pause_at + 1)), (pause_at, wrote, head)
        probe = Store(db)
        stored = probe.head()
        head = stored.number if stored else work.deployment.block - 1
        # the killed transaction left nothing behind; a committed one survived the kill whole
        assert head == (block if where == AFTER_COMMIT else block - 1), (where, block, head)
        for table in TABLES:
            assert probe.cursor().execute(f"SELECT coalesce(max(block), -1) FROM {table}").fetchone()[0] <= head
        probe.close()
        heads.append(head)
    # every kill landed part-way, and the cursor never moved back
    assert all(h < final for h in heads) and heads == sorted(heads), heads
    # the real entry point finishes the job
    env = {**os.environ, "PYTHONPATH": str(PROJECT_ROOT)}
    finish = subprocess.run([sys.executable, "-m", "indexer", *args], env=env, cwd=PROJECT_ROOT, timeout=120)
    assert finish.returncode == 0
    killed = Store(db)
    whole = index_once(anvil.url, work, tmp_path / "whole.duckdb")
    assert snapshot(killed) == snapshot(whole)
    assert len(killed.table_rows("media")) == 40


def test_indexer_process_serves_short_ids_and_views_as_they_arrive(anvil: AnvilNode, work: ChainWork, tmp_path: Path):
    alice = work.register_user(ALICE)
    first = work.register_media(ALICE, alice, "served title")
    deployment_file = tmp_path / "deployment.json"
    write_deployment(deployment_file, work.deployment)
    gateway = GatewayStore(tmp_path / "gateway.db")
    listener = reserve_port()  # the indexer serves on it: no one can take the port in between
    argv = [sys.executable, "-m", "indexer", "--rpc", anvil.url, "--deployment", str(deployment_file),
            "--db", str(tmp_path / "i.duckdb"), "--fd", str(listener.fileno()),
            "--gateway-db", str(tmp_path / "gateway.db")]  # fmt: skip
    env = {**os.environ, "PYTHONPATH": str(PROJECT_ROOT)}
    base = f"http://127.0.0.1:{port_of(listener)}"
    with listener:
        proc = subprocess.Popen(argv, env=env, cwd=PROJECT_ROOT, start_new_session=True, pass_fds=[listener.fileno()])

    def eventually(check, seconds: float = 60.0):
        deadline = time.monotonic() + seconds
        while True:
            try:
                answer = check()
                if answer:
                    return answer
            except httpx.HTTPError:
                pass
            assert proc.poll() is None, "the indexer exited"
            assert time.monotonic() < deadline, "the indexer did not get there in time"
            time.sleep(0.1)

    try:
        eventually(lambda: httpx.get(base + "/search", params={"q": "served"}).json()["results"])
        # the upload service links it and the download service records views while the indexer runs
        gateway.add_link("Sv1", "00" * 32, "0xowner", "served title", "image/jpeg", 1, first)
        recorder = ViewRecorder(tmp_path / "gateway.db", capacity=10)
        recorder.record("Sv1", "small", "small", "ab" * 32, 200, 0, 10)
        recorder.record("Sv1", "large", "original", "cd" * 32, 200, 0, 10)
        recorder.close()
        rows = eventually(
            lambda: [r for r in httpx.get(base + "/search", params={"q": "served"}).json()["results"] if r["short_id"]]
        )
        assert rows[0]["short_id"] == "Sv1"
        assert httpx.get(base + "/media/Sv1").json()["id"] == first
        stats = eventually(lambda: (a := httpx.get(base + "/analytics/media/Sv1").json())["views"] == 2 and a)
        assert stats["per_size"] == [{"size": "large", "views": 1}, {"size": "small", "views": 1}]

        # issue 4: a title is searchable within 2 s of its block (the follower polls every 0.25 s)
        fresh = work.register_media(ALICE, alice, "lighthouse zq7 freshness")
        mined = time.monotonic()
        eventually(lambda: [r for r in httpx.get(base + "/search", params={"q": "zq7"}).json()["results"]])
        assert time.monotonic() - mined < 2.0
        assert httpx.get(base + "/search", params={"q": "zq7"}).json()["results"][0]["id"] == fresh
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=30)
        gateway.close()
