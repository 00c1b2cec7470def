"""The follower on a real anvil chain: what it stores, the read API over it, reorgs, SIGKILLs mid-backfill, and the
indexer process taking in short ids and views while it serves."""

from __future__ import annotations

import multiprocessing
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
from fastapi.testclient import TestClient
from indexer_chainwork import ChainWork
from pausing_indexer import AFTER_COMMIT, IN_TRANSACTION, run_until_paused

from indexer.api import create_app
from indexer.engine import Follower
from indexer.search import TitleIndex
from indexer.source import JsonRpcSource
from indexer.store import TABLES, Store
from mediaproof.anvil import AnvilNode
from mediaproof.deployment import write_deployment
from mediaproof.download.views import ViewRecorder
from mediaproof.gateway_store import GatewayStore
from mediaproof.ports import port_of, reserve_port
from mediaproof.settings import ANVIL_TEST_KEYS, PROJECT_ROOT

ALICE, BOB = ANVIL_TEST_KEYS[1], ANVIL_TEST_KEYS[2]
GUARD_SECONDS = 120  # a failure guard only, never what decides when to kill


def index_once(url: str, work: ChainWork, db: Path, **kw) -> Store:
    store = Store(db)
    Follower(JsonRpcSource(url), store, work.deployment, **kw).catch_up()
    return store


def snapshot(store: Store) -> dict[str, list]:
    return {table: store.table_rows(table) for table in TABLES}


def test_follower_indexes_chain_and_api_serves_it(anvil: AnvilNode, work: ChainWork, tmp_path: Path):
    alice = work.register_user(ALICE)
    first = work.register_media(ALICE, alice, "Sunset over Zürich 2024", variants=2)
    gone = work.register_media(ALICE, alice, "Sunset to delete")
    work.delete_media(ALICE, alice, gone)
    store = Store(tmp_path / "i.duckdb")
    index = TitleIndex(store)
    follower = Follower(
        JsonRpcSource(anvil.url),
        store,
        work.deployment,
        batch_blocks=3,
        on_commit=index.refresh,
        on_rollback=index.rollback,
    )
    follower.catch_up()
    bob = work.register_user(BOB)  # a clone discovered while following
    work.register_media(BOB, bob, "Zürich lake by night")
    work.set_cluster_status(1, 2)
    follower.catch_up()
    api = TestClient(create_app(store, index))

    found = api.get("/search", params={"q": "zurich"}).json()["results"]
    assert [r["title"] for r in found] == ["Sunset over Zürich 2024", "Zürich lake by night"] or [
        r["title"] for r in found
    ] == ["Zürich lake by night", "Sunset over Zürich 2024"]
    assert [r["title"] for r in api.get("/search", params={"q": "sunset"}).json()["results"]] == [
        "Sunset over Zürich 2024"
    ]
    detail = api.get(f"/media/{first}").json()
    assert detail["owner"] == work.w3.eth.account.from_key(ALICE).address
    assert [v["name"] for v in detail["variants"]] == ["v0", "v1"]
    assert [r["cluster_id"] for r in detail["receipts"]] == [1]
    assert detail["first_registration"]["media_id"] == first
    assert api.get(f"/media/{detail['sha256']}").json()["id"] == first
    assert api.get(f"/media/{gone}").json()["deleted"] is True
    assert [c["status"] for c in api.get("/clusters").json()["clusters"]] == ["draining"]
    assert api.get("/clusters").json()["clusters"][0]["objects"] == 2
    assert api.get("/recent").json()["results"][0]["title"] == "Zürich lake by night"
    profile = api.get(f"/users/{work.w3.eth.account.from_key(ALICE).address}").json()
    assert profile["user_contract"] == alice and profile["media_count"] == 1
    assert api.get(f"/analytics/media/{first}").json()["views"] == 0
    assert api.get("/search", params={"q": "x", "limit": 0}).status_code == 400
    assert "limit" in api.get("/search", params={"q": "x", "limit": 0}).json()["detail"]
    assert api.get("/media/no-pe").status_code == 400
    assert api.get("/media/nope").status_code == 404  # could be a short id the gateway has not given yet
    assert api.get("/media/0x" + "11" * 32).status_code == 404
    assert api.get("/users/0x12").status_code == 400
    assert "/search" in api.get("/openapi.json").json()["paths"]
    store.close()


def test_reorg_leaves_the_database_equal_to_a_fresh_index(anvil: AnvilNode, work: ChainWork, tmp_path: Path):
    alice = work.register_user(ALICE)
    kept = work.register_media(ALICE, alice, "kept before the fork")
    store = Store(tmp_path / "live.duckdb")
    index = TitleIndex(store)
    follower = Follower(
        JsonRpcSource(anvil.url), store, work.deployment, on_commit=index.refresh, on_rollback=index.rollback
    )
    follower.catch_up()
    snap = work.rpc("evm_snapshot")
    bob = work.register_user(BOB)
    work.register_media(BOB, bob, "orphaned title")
    work.delete_media(ALICE, alice, kept)
    follower.catch_up()
    assert [h for h in index.search("orphaned")] and not index.search("kept ")
    assert work.rpc("evm_revert", snap)
    work.register_media(ALICE, alice, "canonical one")
    work.register_media(ALICE, alice, "canonical two")
    work.register_media(ALICE, alice, "canonical three")  # the new branch is longer than the old one
    follower.catch_up()
    assert follower.reorgs >= 1
    fresh = index_once(anvil.url, work, tmp_path / "fresh.duckdb")
    assert snapshot(store) == snapshot(fresh)
    assert index.search("orphaned") == [] and len(index.search("canonical")) == 3
    assert len(index.search("kept ")) == 1


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
    args += ["--gateway-db", str(tmp_path / "no-gateway.db"), "--views-dir", str(tmp_path / "no-views")]
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
    views = tmp_path / "views"
    listener = reserve_port()  # the indexer serves on it: no one can take the port in between
    argv = [sys.executable, "-m", "indexer", "--rpc", anvil.url, "--deployment", str(deployment_file),
            "--db", str(tmp_path / "i.duckdb"), "--fd", str(listener.fileno()),
            "--gateway-db", str(tmp_path / "gateway.db"), "--views-dir", str(views)]  # fmt: skip
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
        recorder = ViewRecorder(views, capacity=10)
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
