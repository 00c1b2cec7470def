"""ProjectRegistry in the indexer, on a real anvil chain: projects, their versions and grants as the read API serves
them, what a stranger can and cannot make it say, and a reorg that takes commits and grants away."""

from __future__ import annotations

import hashlib
from dataclasses import replace
from pathlib import Path

import pytest
from eth_account import Account
from fastapi.testclient import TestClient
from indexer_chainwork import ChainWork
from test_indexer_chain import address, follower, index_once, snapshot

from indexer.api import create_app
from indexer.search import TitleIndex
from indexer.store import Store
from mediaproof.abis import load_abi
from mediaproof.anvil import AnvilNode
from mediaproof.deployment import with_project_registry
from mediaproof.errors import ChainError
from mediaproof.settings import ANVIL_TEST_KEYS

ALICE, BOB, CAROL = ANVIL_TEST_KEYS[1], ANVIL_TEST_KEYS[2], ANVIL_TEST_KEYS[3]
MALLORY = "0x47e179ec197488593b187f80a00eb0da91f1b9d0b13f8733639f19c30a34926a"  # anvil account 4, funded
READ, WRITE = 1, 2


def versions_block(work: ChainWork, tx: str) -> int:
    return int(work.w3.eth.get_transaction_receipt(tx)["blockNumber"])


def api_over(anvil: AnvilNode, work: ChainWork, store: Store) -> TestClient:
    follower(anvil.url, work, store).catch_up()
    return TestClient(create_app(store, TitleIndex(store)))


def test_projects_versions_and_grants_are_served_as_the_chain_has_them(
    anvil: AnvilNode, work: ChainWork, tmp_path: Path
):
    robots = work.create_project(ALICE, "field robots")
    tx1 = work.commit_project(ALICE, robots, 0, "bafy-one")
    tx2 = work.commit_project(ALICE, robots, 1, "bafy-two")
    work.grant(ALICE, robots, address(BOB), WRITE)
    work.grant(ALICE, robots, address(CAROL), READ)
    work.revoke(ALICE, robots, address(CAROL))
    tx3 = work.commit_project(BOB, robots, 2, "bafy-three")  # a write grantee commits
    diary = work.create_project(ALICE, "diary \u202e", private=True)
    work.grant(ALICE, diary, address(CAROL), READ)
    work.grant(ALICE, diary, address(CAROL), WRITE)  # a second grant replaces the first
    api = api_over(anvil, work, Store(tmp_path / "i.duckdb"))

    found = api.get(f"/projects/{robots}").json()
    assert (found["project_id"], found["owner"], found["name"]) == (robots, address(ALICE), "field robots")
    assert (found["private"], found["version"]) == (False, 3)
    head = found["head"]
    assert (head["manifest_cid"], head["committer"], head["tx_hash"]) == ("bafy-three", address(BOB), tx3)
    assert head["block"] == versions_block(work, tx3) and head["time"] > 0
    assert head["manifest_sha256"] == "0x" + hashlib.sha256(b"bafy-three").hexdigest()
    assert [(g["grantee"], g["role"]) for g in found["grants"]] == [(address(BOB), "write")]
    assert api.get(f"/projects/{robots.upper().replace('0X', '0x')}").json()["version"] == 3

    versions = api.get(f"/projects/{robots}/versions").json()["versions"]
    assert [(v["version"], v["committer"], v["tx_hash"], v["manifest_cid"]) for v in versions] == [
        (3, address(BOB), tx3, "bafy-three"),
        (2, address(ALICE), tx2, "bafy-two"),
        (1, address(ALICE), tx1, "bafy-one"),
    ]
    assert all(v["time"] > 0 and v["block"] > 0 for v in versions)
    page = api.get(f"/projects/{robots}/versions", params={"limit": 1, "offset": 1}).json()["versions"]
    assert [v["version"] for v in page] == [2]

    private = api.get(f"/projects/{diary}")
    assert b"\\u202e" in private.content  # a name from the chain cannot carry a raw bidi override
    assert private.json()["private"] is True and private.json()["head"] is None and private.json()["version"] == 0
    assert [(g["grantee"], g["role"]) for g in private.json()["grants"]] == [(address(CAROL), "write")]
    assert api.get(f"/projects/{diary}/versions").json()["versions"] == []

    alice = api.get(f"/users/{address(ALICE).lower()}/projects").json()
    assert alice["address"] == address(ALICE) and alice["shared"] == []
    assert [(p["name"], p["role"], p["version"]) for p in alice["owned"]] == [
        ("diary \u202e", "owner", 0),
        ("field robots", "owner", 3),
    ]
    bob = api.get(f"/users/{address(BOB)}/projects").json()
    assert bob["owned"] == [] and [(p["project_id"], p["role"], p["manifest_cid"]) for p in bob["shared"]] == [
        (robots, "write", "bafy-three")
    ]
    carol = api.get(f"/users/{address(CAROL)}/projects").json()  # revoked on robots, write on the diary
    assert [(p["project_id"], p["role"]) for p in carol["shared"]] == [(diary, "write")]
    nobody = api.get(f"/users/{address(MALLORY)}/projects").json()
    assert (nobody["owned"], nobody["shared"]) == ([], [])
    assert "/projects/{pid}/versions" in api.get("/openapi.json").json()["paths"]


def test_hostile_project_ids_addresses_and_pages_get_a_sentence(anvil: AnvilNode, work: ChainWork, tmp_path: Path):
    robots = work.create_project(ALICE, "field robots")
    api = api_over(anvil, work, Store(tmp_path / "i.duckdb"))
    for bad in ("0x12", "robots", "0x" + "zz" * 32, "0x" + "11" * 33, robots[2:], "' OR 1=1 --"):
        for path in (f"/projects/{bad}", f"/projects/{bad}/versions"):
            reply = api.get(path)
            assert reply.status_code == 422, path
            assert reply.headers["content-type"].startswith("application/problem+json")
            assert "not a project id" in reply.json()["detail"]
    for bad in ("0x12", "alice", "0x" + "g" * 40, "0x" + "11" * 21):
        reply = api.get(f"/users/{bad}/projects")
        assert reply.status_code == 422 and "not an address" in reply.json()["detail"]
    for params in ({"limit": 0}, {"limit": 101}, {"offset": -1}, {"limit": "ten"}):
        assert api.get(f"/projects/{robots}/versions", params=params).status_code == 422, params
        assert api.get(f"/users/{address(ALICE)}/projects", params=params).status_code == 422, params
    unknown = "0x" + "11" * 32
    assert api.get(f"/projects/{unknown}").status_code == 404
    assert api.get(f"/projects/{unknown}/versions").status_code == 404
    assert api.get(f"/projects/{robots}").status_code == 200  # nothing above broke the store


def test_a_stranger_cannot_put_projects_or_grants_into_the_index(anvil: AnvilNode, work: ChainWork, tmp_path: Path):
    robots = work.create_project(ALICE, "field robots")
    work.commit_project(ALICE, robots, 0, "bafy-one")
    # Mallory's own ProjectRegistry emits the same events: the same name and grants for herself on alice's id shape
    without = {k: v for k, v in work.deployment.contracts.items() if k != "ProjectRegistry"}
    impostor = with_project_registry(
        work.w3, Account.from_key(MALLORY), replace(work.deployment, contracts=without)
    ).project_registry
    fake = work.w3.eth.contract(address=impostor, abi=load_abi("ProjectRegistry"))
    mallory = Account.from_key(MALLORY)
    work.chain.transact(mallory, fake.functions.createProject("field robots", False))
    fake_id = fake.functions.projectIdOf(mallory.address, "field robots").call()
    work.chain.transact(mallory, fake.functions.grant(fake_id, address(BOB), WRITE))
    work.chain.transact(mallory, fake.functions.commit(fake_id, 0, b"\x01" * 32, "bafy-fake"))
    # and on the real registry she can neither grant herself alice's project nor commit to it
    for fn in (
        work.projects.functions.grant(bytes.fromhex(robots[2:]), mallory.address, WRITE),
        work.projects.functions.commit(bytes.fromhex(robots[2:]), 1, b"\x02" * 32, "bafy-stolen"),
    ):
        with pytest.raises(ChainError, match="refused"):
            work.chain.transact(mallory, fn)
    api = api_over(anvil, work, Store(tmp_path / "i.duckdb"))

    assert api.get(f"/projects/0x{bytes(fake_id).hex()}").status_code == 404
    assert api.get(f"/users/{mallory.address}/projects").json()["owned"] == []
    assert api.get(f"/users/{address(BOB)}/projects").json()["shared"] == []
    found = api.get(f"/projects/{robots}").json()
    assert (found["version"], found["head"]["manifest_cid"], found["grants"]) == (1, "bafy-one", [])


def test_a_reorg_takes_commits_and_grants_away_and_the_index_equals_a_fresh_one(
    anvil: AnvilNode, work: ChainWork, tmp_path: Path
):
    robots = work.create_project(ALICE, "field robots")
    work.commit_project(ALICE, robots, 0, "bafy-one")
    work.grant(ALICE, robots, address(BOB), WRITE)
    store = Store(tmp_path / "live.duckdb")
    f = follower(anvil.url, work, store)
    f.catch_up()
    snap = work.rpc("evm_snapshot")
    work.commit_project(BOB, robots, 1, "bafy-orphaned")
    work.revoke(ALICE, robots, address(BOB))
    work.grant(ALICE, robots, address(CAROL), READ)
    orphan = work.create_project(CAROL, "orphaned project")
    f.catch_up()
    api = TestClient(create_app(store, TitleIndex(store)))
    assert api.get(f"/projects/{robots}").json()["head"]["manifest_cid"] == "bafy-orphaned"
    assert api.get(f"/projects/{orphan}").status_code == 200
    assert work.rpc("evm_revert", snap)
    tx2 = work.commit_project(ALICE, robots, 1, "bafy-canonical-two")
    work.commit_project(BOB, robots, 2, "bafy-canonical-three")
    work.grant(ALICE, robots, address(BOB), READ)
    work.create_project(ALICE, "canonical project")
    work.set_cluster_status(1, 2)  # the new branch is longer than the old one
    f.catch_up()

    assert f.reorgs >= 1
    fresh = index_once(anvil.url, work, tmp_path / "fresh.duckdb")
    assert snapshot(store) == snapshot(fresh)
    found = api.get(f"/projects/{robots}").json()
    assert (found["version"], found["head"]["manifest_cid"]) == (3, "bafy-canonical-three")
    assert [(g["grantee"], g["role"]) for g in found["grants"]] == [(address(BOB), "read")]
    versions = api.get(f"/projects/{robots}/versions").json()["versions"]
    assert [v["manifest_cid"] for v in versions] == ["bafy-canonical-three", "bafy-canonical-two", "bafy-one"]
    assert versions[1]["tx_hash"] == tx2
    assert api.get(f"/projects/{orphan}").status_code == 404
    assert api.get(f"/users/{address(CAROL)}/projects").json() == {
        "address": address(CAROL), "limit": 100, "offset": 0, "owned": [], "shared": []
    }  # fmt: skip
    assert [p["name"] for p in api.get(f"/users/{address(ALICE)}/projects").json()["owned"]] == [
        "canonical project", "field robots"
    ]  # fmt: skip
