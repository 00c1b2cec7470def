"""Follows, likes and comments from anchored batch manifests on a real anvil chain into DuckDB: the state they make,
what a rogue gateway cannot make count (replays, forged signatures, wrong ids, edits of someone else's comment,
actions on media that is not there), the feed in both orders, the read API and its refusals, and a reorg that takes
a batch of actions away."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import uvicorn
from batchkit import comment, follow, like, signed_action
from eth_utils import keccak
from fastapi.testclient import TestClient
from indexer_chainwork import ChainWork
from test_indexer_chain import ALICE, BOB, CAROL, address, follower, index_once, snapshot

from indexer.api import create_app
from indexer.handlers import Insert
from indexer.schema import SOCIAL_TABLES
from indexer.search import TitleIndex
from indexer.store import BlockRef, Store
from mediaproof.anvil import AnvilNode

DAVE = "0x" + keccak(text="mediaproof-indexer-test-dave").hex()  # only signs actions: needs no funds
A, B, C, D = (address(k) for k in (ALICE, BOB, CAROL, DAVE))


def act(work: ChainWork, action, key: str, **kw):
    return signed_action(work.domain, action, key, **kw)


def full_snapshot(store: Store) -> dict[str, list]:
    return snapshot(store) | {t: store.table_rows(t) for t in SOCIAL_TABLES}


def test_actions_make_follows_likes_comments_and_the_feed(anvil: AnvilNode, work: ChainWork, tmp_path: Path):
    a1, a2, b1 = work.entry(ALICE, "alice one"), work.entry(ALICE, "alice two"), work.entry(BOB, "bob one")
    m_a1, m_a2, m_b1 = ("0x" + e.media_id.hex() for e in (a1, a2, b1))
    carol_likes = act(work, like(C, m_a1), CAROL)
    first = work.anchor_batch([a1, a2, b1], actions=[  # media first, then actions on them in the same batch
        act(work, follow(B, A), BOB), act(work, follow(B, C), BOB), act(work, follow(D, A), DAVE), carol_likes,
        act(work, like(B, m_a2), BOB), act(work, like(B, m_a2, on=False), BOB),  # liked then unliked
    ])  # fmt: skip
    alice = work.register_user(ALICE)
    gone = work.register_media(ALICE, alice, "alice deleted")
    work.delete_media(ALICE, alice, gone)
    carol_says = act(work, comment(C, m_a1, "lovely light"), CAROL)
    cid = "0x" + carol_says.action_id.hex()
    bob_says = act(work, comment(B, m_a1, "agreed"), BOB)
    second = work.anchor_batch([], actions=[
        act(work, follow(B, C, on=False), BOB), carol_says, bob_says, act(work, like(B, m_a1), BOB),
        act(work, comment(B, m_a1, "hijacked", replaces=cid), BOB),  # someone else's comment: ignored
        act(work, comment(C, m_a1, "lovely light!", replaces=cid), CAROL),  # its author's edit, same batch
    ])  # fmt: skip
    unknown = "0x" + "ab" * 32
    lifted = act(work, follow(A, B), BOB)  # bob signs "alice follows bob"
    third = work.anchor_batch([], actions=[
        carol_likes,  # replayed by the gateway: seen before, ignored
        act(work, like(D, unknown), DAVE), act(work, like(D, gone), DAVE),  # unknown, deleted
        lifted, act(work, like(D, m_b1), DAVE, action_id=b"\x22" * 32),  # forged: left out of the manifest
        act(work, comment(B, m_a1, "", replaces="0x" + bob_says.action_id.hex(), deleted=True), BOB),
    ])  # fmt: skip
    store = Store(tmp_path / "i.duckdb")
    follower(anvil.url, work, store).catch_up()
    api = TestClient(create_app(store, TitleIndex(store)))

    fol = api.get(f"/users/{A}/followers").json()
    assert (fol["followers"], fol["following"]) == (2, 0)
    assert sorted(r["address"] for r in fol["results"]) == sorted([B, D])
    bob_follows = api.get(f"/users/{B.lower()}/following").json()
    assert [r["address"] for r in bob_follows["results"]] == [A] and bob_follows["following"] == 1
    assert api.get(f"/users/{C}/followers").json()["followers"] == 0  # unfollowed in the second batch
    page = api.get(f"/users/{A}/followers", params={"limit": 1, "offset": 1}).json()["results"]
    assert len(page) == 1 and page[0]["address"] in (B, D)
    assert (api.get(f"/users/{A}").json()["followers"], api.get(f"/users/{D}").json()["following"]) == (2, 1)

    assert {k: api.get(f"/media/{m}").json()["likes"] for k, m in (("a1", m_a1), ("a2", m_a2))} == {"a1": 2, "a2": 0}
    comments = api.get(f"/media/{m_a1}/comments").json()
    assert comments["count"] == 1 and api.get(f"/media/{m_a1}").json()["comments"] == 1
    [c] = comments["results"]
    assert (c["comment_id"], c["author"], c["text"], c["edited"]) == (cid, C, "lovely light!", True)
    assert c["batch"] == second.block and c["tx_hash"] == second.tx_hash and c["edited_block"] == second.block

    feed = api.get("/feed", params={"viewer": B, "order": "latest"}).json()["results"]
    assert [r["id"] for r in feed] == [m_a2, m_a1]  # alice's, not the deleted one, not bob's own or carol's
    relevant = api.get("/feed", params={"viewer": B}).json()["results"]
    assert [r["id"] for r in relevant] == [m_a1, m_a2] and relevant[0]["likes"] == 2  # liked beats newer
    assert api.get("/feed", params={"viewer": B, "limit": 1, "offset": 1}).json()["results"][0]["id"] == m_a2
    assert api.get("/feed", params={"viewer": A}).json()["results"] == []  # alice follows no one
    assert [r["likes"] for r in api.get("/recent").json()["results"] if r["id"] == m_a1] == [2]

    # "liked by you": bob likes a1 now and liked then unliked a2; without a viewer no answer says either way
    assert [(r["id"], r["liked"]) for r in relevant] == [(m_a1, True), (m_a2, False)]
    assert api.get(f"/media/{m_a1}", params={"viewer": B.lower()}).json()["liked"] is True
    assert api.get(f"/media/{m_a2}", params={"viewer": B}).json()["liked"] is False
    assert api.get(f"/media/{m_a1}", params={"viewer": D}).json()["liked"] is False  # dave's like was forged
    assert "liked" not in api.get(f"/media/{m_a1}").json()
    assert "liked" not in api.get("/recent").json()["results"][0]
    recent = {r["id"]: r["liked"] for r in api.get("/recent", params={"viewer": C}).json()["results"]}
    assert recent[m_a1] is True and recent[m_a2] is False and recent[m_b1] is False
    grid = {r["id"]: r["liked"] for r in api.get(f"/users/{A}", params={"viewer": B}).json()["media"]}
    assert grid[m_a1] is True and grid[m_a2] is False
    found = api.get("/search", params={"q": "alice", "viewer": C}).json()["results"]
    assert {r["id"]: r["liked"] for r in found}[m_a1] is True

    replayed = api.get(f"/actions/0x{carol_likes.action_id.hex()}").json()
    assert replayed["status"] == "applied" and replayed["batch"] == first.block
    assert [(r["status"], r["batch"]) for r in replayed["replays"]] == [("ignored", third.block)]
    assert "seen before" in replayed["replays"][0]["why"]
    whys = [r[0] for r in store.cursor().execute("SELECT why FROM actions WHERE status = 'ignored' "
                                                 "ORDER BY block, seq").fetchall()]  # fmt: skip
    assert len(whys) == 4 and "only the comment's author" in whys[0] and "seen before" in whys[1]
    assert "not indexed" in whys[2] and "deleted before" in whys[3]
    anchors = api.get(f"/batches/{third.block}").json()["anchors"]
    assert (anchors[0]["declared_actions"], anchors[0]["indexed_actions"]) == (6, 4)
    assert [r["action"] for r in anchors[0]["rejected_actions"]] == [3, 4]
    assert api.get(f"/actions/0x{lifted.action_id.hex()}").status_code == 404


def test_bad_input_is_a_problem_with_a_sentence(anvil: AnvilNode, work: ChainWork, tmp_path: Path):
    store = Store(tmp_path / "i.duckdb")
    follower(anvil.url, work, store).catch_up()
    api = TestClient(create_app(store, TitleIndex(store)))
    for path, params in [
        ("/users/0x12/followers", {}),
        (f"/users/{A}/following", {"limit": 0}),
        (f"/users/{A}/followers", {"limit": 101}),
        ("/feed", {"viewer": "bob"}),
        ("/feed", {"viewer": A, "order": "popular"}),
        ("/feed", {"viewer": A, "offset": -1}),
        ("/feed", {}),
        ("/actions/0x1234", {}),
        ("/media/not-an-id!/comments", {}),
        (f"/media/0x{'cd' * 32}", {"viewer": "bob"}),  # checked before the media is looked up
        ("/recent", {"viewer": "0x12"}),
        (f"/users/{A}", {"viewer": A + "00"}),
        ("/search", {"q": "alice", "viewer": "' OR 1=1 --"}),
    ]:
        answer = api.get(path, params=params)
        assert answer.status_code == 422, (path, params)
        assert answer.headers["content-type"].startswith("application/problem+json") and answer.json()["detail"]
    assert "one of relevant, latest" in api.get("/feed", params={"viewer": A, "order": "x"}).json()["detail"]
    assert api.get(f"/media/0x{'cd' * 32}/comments").status_code == 404
    assert api.get(f"/actions/0x{'cd' * 32}").status_code == 404


def test_a_reorged_batch_of_actions_leaves_the_tables_equal_to_a_fresh_index(
    anvil: AnvilNode, work: ChainWork, tmp_path: Path
):
    a1 = work.entry(ALICE, "alice one")
    m_a1 = "0x" + a1.media_id.hex()
    said = act(work, comment(C, m_a1, "first"), CAROL)
    work.anchor_batch([a1], actions=[act(work, follow(B, A), BOB), act(work, like(C, m_a1), CAROL), said])
    store = Store(tmp_path / "live.duckdb")
    f = follower(anvil.url, work, store)
    f.catch_up()
    snap = work.rpc("evm_snapshot")
    orphan = work.entry(BOB, "bob orphaned")
    m_orphan = "0x" + orphan.media_id.hex()
    edit = comment(C, m_a1, "edited", replaces="0x" + said.action_id.hex())
    work.anchor_batch([orphan], actions=[
        act(work, follow(B, A, on=False), BOB), act(work, follow(A, B), ALICE),
        act(work, like(C, m_a1, on=False), CAROL), act(work, like(A, m_orphan), ALICE), act(work, edit, CAROL),
        act(work, comment(A, m_orphan, "on orphaned media"), ALICE),
    ])  # fmt: skip
    f.catch_up()
    assert store.follow_counts(A)["followers"] == 0
    assert store.social_counts([m_a1]) == {m_a1: {"likes": 0, "comments": 1}}
    assert work.rpc("evm_revert", snap)
    work.anchor_batch([], actions=[act(work, follow(D, A), DAVE)])
    for i in range(3):  # the new branch is longer than the old one
        work.anchor_batch([work.entry(CAROL, f"canonical {i}")])
    f.catch_up()
    assert f.reorgs >= 1
    fresh = index_once(anvil.url, work, tmp_path / "fresh.duckdb")
    assert full_snapshot(store) == full_snapshot(fresh)
    assert store.follow_counts(A) == {"followers": 2, "following": 0}
    assert store.social_counts([m_a1]) == {m_a1: {"likes": 1, "comments": 1}}
    assert [c["text"] for c in store.media_comments(m_a1, 10, 0)] == ["first"]
    assert store.social_counts([m_orphan]) == {}


def test_cli_feed_and_followers_read_the_indexer_api(tmp_path: Path):
    """`mediaproof feed`, `followers` and `following` against the real read API over a real store."""
    store = Store(tmp_path / "cli.duckdb")
    media = [{"pos": (2 << 32) | i, "id": f"0x{i + 1:064x}", "kind": "batched", "batch": 2, "owner": A,
              "title": f"alice \x1b[2K{i}", "size": 10, "time": 100 + i, "deleted": False, "block": 2,
              "sha256": f"0x{i + 9:064x}", "tx_index": 0, "log_index": 0, "tx_hash": "0x" + "02" * 32}
             for i in range(2)]  # fmt: skip
    follows = [{"action_id": f"0x{0xF0 + i:064x}", "kind": "follow", "author": who, "subject": A, "state": True,
                "status": "applied", "batch": 3, "seq": i, "block": 3, "tx_index": 0, "log_index": 0,
                "tx_hash": "0x" + "03" * 32, "time": 200} for i, who in enumerate((B, C))]  # fmt: skip
    tokens = [{"media_pos": m["pos"], "tokens": ["alice"], "tfs": [1], "title_len": 1, "block": 2} for m in media]
    store.apply([BlockRef(2, "0x2", "0x1", 100)],
                [*(Insert("media", m) for m in media), *(Insert("search_tokens", t) for t in tokens)])  # fmt: skip
    store.apply([BlockRef(3, "0x3", "0x2", 200)], [Insert("actions", f) for f in follows])
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    server = uvicorn.Server(uvicorn.Config(create_app(store, TitleIndex(store)), log_level="warning"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{sock.getsockname()[1]}"
    try:
        while not server.started:
            time.sleep(0.05)

        def cli(*args: str) -> subprocess.CompletedProcess[str]:
            return subprocess.run([sys.executable, "-m", "mediaproof.cli", *args, "--indexer", url],
                                  capture_output=True, text=True, timeout=60)  # fmt: skip

        shown = cli("feed", "--viewer", B, "--order", "latest")
        assert shown.returncode == 0, shown.stderr
        lines = shown.stdout.splitlines()
        assert len(lines) == 2 and lines[0].startswith("alice \\x1b[2K1") and "0 likes" in lines[0]
        answer = json.loads(cli("feed", "--viewer", C, "--json").stdout)
        assert [r["id"] for r in answer["results"]] == [m["id"] for m in reversed(media)]
        assert json.loads(cli("followers", A, "--json").stdout)["followers"] == 2
        assert cli("following", B).stdout.splitlines()[1].startswith(A)
        refused = cli("feed", "--viewer", B, "--order", "popular")
        assert refused.returncode == 2 and "relevant, latest" in refused.stderr
        assert cli("followers", "0x12").returncode == 2
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        store.close()
