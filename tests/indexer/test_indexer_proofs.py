"""First proofs and proof bundles over a real DuckDB store fed by the pure handlers: batched entries come from
manifests checked by indexer.batch_manifest, direct registrations from events with their calldata's record."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from batchkit import CHAIN_ID, Domain, Entry, manifest, record, sign
from eth_account import Account
from fastapi.testclient import TestClient
from schema_check import errors

from indexer.api import create_app
from indexer.batch_manifest import read_batch
from indexer.direct_calls import DirectRecord
from indexer.handlers import ChainEvent, Insert, Position, handle
from indexer.search import TitleIndex
from indexer.store import TABLES, BlockRef, Store
from mediaproof import eip712, merkle
from mediaproof.settings import ANVIL_TEST_KEYS, PROJECT_ROOT

DOMAIN = Domain(CHAIN_ID, "0x5FbDB2315678afecb367f032d93F642f64180aa3", "0xe7f1725E7734CE288F8367e1Bb143E90bb3F0512")
IDENTITY = {"chain_id": CHAIN_ID, "media_app": DOMAIN.media_app, "topology": DOMAIN.topology}
ALICE, BOB, CAROL = (Account.from_key(k) for k in ANVIL_TEST_KEYS[1:4])
SEQUENCER = Account.from_key(ANVIL_TEST_KEYS[0]).address
ALICE_MEDIA = "0xBA5Cb98A032237C75F0fFd8c08F17C00223A8Eaa"
SCHEMA = json.loads((PROJECT_ROOT / "docs" / "proof-bundle.schema.json").read_text())
NOW = 1_733_000_000
SHA = bytes.fromhex("ab" * 32)


def signed(owner, title: str, sha256: bytes | None = None) -> Entry:
    return sign(DOMAIN, record(owner.address, title, sha256=sha256, variants=1), owner.key, issued_at=NOW)


def tx(block: int, log_index: int) -> str:
    return "0x" + f"{block:032x}{log_index:032x}"


def anchor_event(block: int, log_index: int, entries: list[Entry]) -> ChainEvent:
    doc, tree = manifest(DOMAIN, entries, SEQUENCER)
    content = read_batch(json.dumps(doc).encode(), "bafkreimanifest", tree.root, **IDENTITY)
    args = {"root": "0x" + tree.root.hex(), "sequencer": SEQUENCER, "manifestCid": "0x01551220" + "00" * 32}
    return ChainEvent(
        "MediaApp", DOMAIN.media_app, "BatchAnchored", args, Position(block, 0, log_index), tx(block, log_index),
        NOW, batch=content,
    )  # fmt: skip


def direct_event(block: int, log_index: int, e: Entry) -> ChainEvent:
    r = e.record
    args = {
        "mediaId": "0x" + e.media_id.hex(), "owner": r.owner, "sha256": "0x" + r.sha256.hex(), "cid": r.cid,
        "size": r.size, "mediaType": r.media_type, "title": r.title, "parent": "0x" + r.parent.hex(),
        "sender": r.owner,
        "receipts": [{"clusterId": c, "issuedAt": t, "signature": "0x" + s.hex()} for c, t, s in e.receipts],
    }  # fmt: skip
    return ChainEvent(
        "UserMedia", ALICE_MEDIA, "MediaRegistered", args, Position(block, 0, log_index), tx(block, log_index), NOW,
        direct=DirectRecord(r.message(), e.signature),
    )  # fmt: skip


def deleted_event(block: int, media_id: bytes, owner: str) -> ChainEvent:
    args = {"mediaId": "0x" + media_id.hex(), "owner": owner, "sender": owner}
    return ChainEvent("UserMedia", ALICE_MEDIA, "MediaDeleted", args, Position(block, 0, 0), tx(block, 0), NOW)


def write(store: Store, blocks: list[tuple[int, list[ChainEvent]]]) -> None:
    """One range: the blocks' events in one transaction."""
    refs = [BlockRef(n, f"0x{n:064x}", f"0x{n - 1:064x}", NOW) for n, _ in blocks]
    store.apply(refs, [w for _, events in blocks for e in events for w in handle(e).writes])


@pytest.fixture
def store(tmp_path: Path) -> Store:
    s = Store(tmp_path / "index.duckdb")
    s.bind_deployment(IDENTITY)
    yield s
    s.close()


def test_first_proof_is_the_earliest_block_then_the_earliest_log_across_both_paths(store: Store):
    batched = signed(CAROL, "carol's original", SHA)
    other = signed(CAROL, "something else")
    same_block_direct = signed(ALICE, "alice, same block, later log", SHA)
    later = signed(BOB, "bob, a block later", SHA)
    write(store, [(5, [anchor_event(5, 2, [other, batched]), direct_event(5, 4, same_block_direct)])])
    write(store, [(6, [direct_event(6, 0, later)])])
    api = TestClient(create_app(store, TitleIndex(store)))

    first = {"owner": CAROL.address, "media_id": "0x" + batched.media_id.hex(), "block": 5, "short_id": None}
    for e, is_first in ((batched, True), (same_block_direct, False), (later, False)):
        detail = api.get(f"/media/0x{e.media_id.hex()}").json()
        assert detail["title"] == e.record.title and detail["owner"] == e.record.owner
        assert detail["is_first_proof"] is is_first and detail["first_registration"] == first
    assert api.get(f"/media/0x{SHA.hex()}").json()["id"] == first["media_id"]  # by sha256: the first proof

    # List rows (feed, search, profiles) say the same, so a card can name the first prover of a later record.
    recent = {r["id"]: r for r in api.get("/recent").json()["results"]}
    searched = {r["id"]: r for r in api.get("/search", params={"q": "block"}).json()["results"]}
    bobs = api.get(f"/users/{BOB.address}").json()["media"]
    assert len(recent) == 4 and set(searched) == {"0x" + e.media_id.hex() for e in (same_block_direct, later)}
    assert [r["id"] for r in bobs] == ["0x" + later.media_id.hex()]
    for e, is_first in ((batched, True), (same_block_direct, False), (later, False)):
        rows = [recent["0x" + e.media_id.hex()], *([searched["0x" + e.media_id.hex()]] if not is_first else [])]
        for row in rows:
            assert row["is_first_proof"] is is_first and row["first_registration"] == first
    assert bobs[0]["is_first_proof"] is False and bobs[0]["first_registration"] == first
    alone = recent["0x" + other.media_id.hex()]
    assert alone["is_first_proof"] is True and alone["first_registration"]["media_id"] == alone["id"]

    # The feed says it too, though its items know whether they are first without a lookup (media_social.first_id).
    viewer = Account.create().address  # addresses as the indexer keeps them: checksummed
    follows = [
        Insert("actions", {"action_id": f"0x{i:064x}", "kind": "follow", "author": viewer, "subject": who,
                           "media_id": None, "comment_id": None, "replaces": None, "state": True, "text": None,
                           "status": "applied", "signature_check": "ecdsa", "time": NOW, "batch": 7, "seq": i,
                           "block": 7, "tx_index": 0, "log_index": 0, "tx_hash": "0x07"})
        for i, who in enumerate(sorted({CAROL.address, ALICE.address, BOB.address}))
    ]  # fmt: skip
    store.apply([BlockRef(7, f"0x{7:064x}", f"0x{6:064x}", NOW)], follows)
    for order in ("relevant", "latest"):
        feed = {r["id"]: r for r in api.get("/feed", params={"viewer": viewer, "order": order}).json()["results"]}
        assert set(feed) == set(recent)
        for media_id, row in feed.items():
            assert "first_id" not in row
            want = recent[media_id]
            assert (row["is_first_proof"], row["first_registration"]) == (
                want["is_first_proof"],
                want["first_registration"],
            )

    answer = api.get(f"/proofs/0x{SHA.hex()}").json()
    assert answer["sha256"] == "0x" + SHA.hex()
    bundles = answer["bundles"]
    assert [b["media_id"] for b in bundles] == ["0x" + e.media_id.hex() for e in (batched, same_block_direct, later)]
    assert [b["kind"] for b in bundles] == ["batched", "direct", "direct"]
    for b in bundles:
        assert errors(b, SCHEMA) == [], b
        rec = eip712.MediaRecord.from_message(b["record"])
        assert "0x" + eip712.media_id(rec, b["chain_id"], b["contract"]).hex() == b["media_id"]
        assert (
            eip712.recover_digest(bytes.fromhex(b["media_id"][2:]), bytes.fromhex(b["owner_signature"][2:]))
            == (b["owner"])
        )
        receipts = [(r["cluster_id"], r["issued_at"], bytes.fromhex(r["signature"][2:])) for r in b["receipts"]]
        assert "0x" + merkle.receipts_hash(receipts).hex() == b["receipts_hash"]
    b = bundles[0]
    _, tree = manifest(DOMAIN, [other, batched], SEQUENCER)
    leaf = merkle.batch_leaf(SHA, CAROL.address, batched.media_id, batched.receipts_hash)
    assert b["leaf"] == "0x" + leaf.hex() and b["batch"] == 5 and b["block"] == 5 and b["tx"] == tx(5, 2)
    assert merkle.verify(tree.root, leaf, [bytes.fromhex(p[2:]) for p in b["proof"]])
    assert b["manifest_cid"] == "bafkreimanifest" and b["proof"] == ["0x" + p.hex() for p in tree.proof(1)]
    d = bundles[1]
    assert d["leaf"] == d["media_id"] and d["proof"] == [] and d["batch"] == 0 and d["user_contract"] == ALICE_MEDIA
    assert api.get(f"/media/0x{later.media_id.hex()}/proof").json() == bundles[2]


def test_the_schema_checker_catches_bundles_that_break_the_schema(store: Store):
    e = signed(ALICE, "one")
    write(store, [(5, [direct_event(5, 0, e)])])
    b = TestClient(create_app(store, TitleIndex(store))).get(f"/media/0x{e.media_id.hex()}/proof").json()
    assert errors(b, SCHEMA) == []
    assert errors({**b, "batch": 3}, SCHEMA)  # a direct proof has batch 0
    assert errors({**b, "kind": "batched"}, SCHEMA)  # a batched one names its manifest
    assert errors({**b, "extra": 1}, SCHEMA)
    assert errors({**b, "record": {**b["record"], "nonce": 7}}, SCHEMA)  # integers travel as decimal strings
    assert errors({**b, "receipts": [{"cluster_id": 0, "issued_at": 1, "signature": "0x"}]}, SCHEMA)


def test_bad_keys_get_a_422_with_a_sentence_and_unknown_ones_a_404(store: Store):
    api = TestClient(create_app(store, TitleIndex(store)))
    for path in ("/proofs/0x12", "/proofs/abc", "/media/not-an-id!/proof", "/batches/abc", "/batches/0", "/batches/-1"):
        answer = api.get(path)
        assert answer.status_code == 422, path
        assert answer.headers["content-type"] == "application/problem+json", path
        assert answer.json()["error"] == "InputError" and answer.json()["status"] == 422, path
        assert answer.json()["detail"].endswith(".") or "expected" in answer.json()["detail"], path
    assert api.get(f"/proofs/0x{'11' * 32}").status_code == 404
    assert api.get(f"/media/0x{'11' * 32}/proof").status_code == 404
    assert api.get("/media/Unknown1/proof").status_code == 404
    assert api.get("/batches/7").status_code == 404
    assert api.get("/users/0x" + "11" * 20).status_code == 404
    odd = ["0x" + "zz" * 32, "x" * 5000, "Zürich", "%00", "0X" + "11" * 32, "0x" + "11" * 33, " ", "..", "1e400"]
    for key in odd:
        for path in (f"/media/{key}", f"/media/{key}/proof", f"/proofs/{key}", f"/batches/{key}", f"/users/{key}"):
            answer = api.get(path)
            assert 400 <= answer.status_code < 500 and isinstance(answer.json()["detail"], str), (path, answer.text)


def test_bundles_wait_for_a_bound_deployment_with_a_503_not_a_500(tmp_path: Path):
    unbound = Store(tmp_path / "unbound.duckdb")
    e = signed(ALICE, "before the follower bound a deployment")
    write(unbound, [(5, [direct_event(5, 0, e)])])
    api = TestClient(create_app(unbound, TitleIndex(unbound)))
    answer = api.get(f"/media/0x{e.media_id.hex()}/proof")
    assert answer.status_code == 503 and "deployment" in answer.json()["detail"]
    assert answer.json()["error"] == "NotReady"
    assert api.get(f"/media/0x{e.media_id.hex()}").json()["receipts"][0]["signer"] is None
    unbound.close()


def test_a_tombstone_holds_whether_it_comes_before_or_after_its_record_and_however_ranges_fall(tmp_path: Path):
    e = signed(ALICE, "tombstoned first")
    blocks = [(3, [deleted_event(3, e.media_id, ALICE.address)]), (4, []), (5, [direct_event(5, 0, e)])]
    stores = []
    for name, ranges in (("one", [blocks]), ("split", [[b] for b in blocks])):
        s = Store(tmp_path / f"{name}.duckdb")
        for r in ranges:
            write(s, r)
        stores.append(s)
    assert all(
        t == (True, 3)
        for s in stores
        for t in s.cursor().execute("SELECT deleted, deleted_block FROM media").fetchall()
    )
    assert {t: stores[0].table_rows(t) for t in TABLES} == {t: stores[1].table_rows(t) for t in TABLES}
    # someone else's tombstone of the same id does nothing
    write(stores[0], [(6, [deleted_event(6, signed(BOB, "x").media_id, BOB.address)])])
    stores[0].rollback_to(4)
    assert stores[0].cursor().execute("SELECT count(*) FROM media").fetchone() == (0,)
    for s in stores:
        s.close()


def test_batched_media_are_searchable_in_feeds_and_in_profiles_of_owners_without_a_user_media(store: Store):
    write(store, [(5, [anchor_event(5, 0, [signed(CAROL, "lighthouse at dusk"), signed(BOB, "lighthouse keeper")])])])
    index = TitleIndex(store)
    api = TestClient(create_app(store, index))
    found = api.get("/search", params={"q": "lighthouse"}).json()["results"]
    assert sorted(r["title"] for r in found) == ["lighthouse at dusk", "lighthouse keeper"]
    assert {(r["kind"], r["batch"], r["user_contract"]) for r in found} == {("batched", 5, None)}
    assert [r["title"] for r in api.get("/recent").json()["results"]] == ["lighthouse keeper", "lighthouse at dusk"]
    carol = api.get(f"/users/{CAROL.address}").json()
    assert carol["user_contract"] is None and carol["media_count"] == 1
    assert carol["media"][0]["title"] == "lighthouse at dusk"
    batch = api.get("/batches/5").json()
    assert batch["anchors"][0]["declared"] == 2 and batch["anchors"][0]["indexed"] == 2
    assert batch["anchors"][0]["status"] == "indexed" and batch["anchors"][0]["rejected"] == []


def test_a_transaction_lists_its_batch_and_every_media_it_proved_and_a_direct_one_its_record(store: Store):
    carol, bob = signed(CAROL, "carol's harbour", SHA), signed(BOB, "bob's lighthouse")
    direct = signed(ALICE, "alice, directly")
    write(store, [(5, [anchor_event(5, 1, [carol, bob])]), (6, [direct_event(6, 0, direct)])])
    api = TestClient(create_app(store, TitleIndex(store)))

    answer = api.get(f"/transactions/{tx(5, 1).upper().replace('0X', '0x')}").json()
    assert answer["tx"] == tx(5, 1) and answer["block"] == 5 and answer["time"] == NOW
    assert [(b["batch"], b["declared"], b["indexed"]) for b in answer["batches"]] == [(5, 2, 2)]
    assert [m["id"] for m in answer["media"]] == ["0x" + e.media_id.hex() for e in (carol, bob)]
    assert answer["media"][0]["sha256"] == "0x" + SHA.hex()
    assert all(m["kind"] == "batched" and m["is_first_proof"] for m in answer["media"])

    alone = api.get(f"/transactions/{tx(6, 0)}").json()
    assert alone["batches"] == [] and [m["title"] for m in alone["media"]] == ["alice, directly"]

    assert api.get(f"/transactions/0x{'11' * 32}").status_code == 404
    for key in ("0x12", "abc", "0x" + "zz" * 32, "x" * 5000, "<script>"):
        refused = api.get(f"/transactions/{key}")
        assert refused.status_code == 422 and refused.headers["content-type"] == "application/problem+json", key


def test_badge_says_proven_in_the_first_block_or_not_proven_and_refuses_malformed_hashes(store: Store):
    write(
        store,
        [
            (5, [anchor_event(5, 1, [signed(CAROL, "first", SHA)])]),
            (7, [direct_event(7, 0, signed(BOB, "later", SHA))]),
        ],
    )
    api = TestClient(create_app(store, TitleIndex(store)))

    for name in (f"0x{SHA.hex()}.svg", f"{SHA.hex().upper()}.svg"):
        proven = api.get(f"/badge/{name}")
        assert proven.status_code == 200 and proven.headers["content-type"].startswith("image/svg+xml")
        assert "proven on Ethereum · block 5" in proven.text and "not proven" not in proven.text
        assert proven.headers["x-content-type-options"] == "nosniff"
        assert "default-src 'none'" in proven.headers["content-security-policy"]
    unknown = api.get(f"/badge/{'11' * 32}.svg")
    assert unknown.status_code == 200 and ">not proven<" in unknown.text and "block" not in unknown.text

    hostile = ["<script>alert(1)</script>.svg", f"{SHA.hex()}", f"{SHA.hex()}.png", "0x12.svg", '"onload="x.svg',
               f"{SHA.hex()}0.svg", "%3Csvg%20onload%3Dalert(1)%3E.svg"]  # fmt: skip
    for name in hostile:
        refused = api.get(f"/badge/{name}")
        assert refused.status_code == (404 if "/" in name else 422), name  # a "/" makes it another path
        assert refused.headers["content-type"] == "application/problem+json", name
        if "/" not in name:  # the badge's own refusal does not echo the key (a 404 names the path, as JSON)
            assert "<" not in refused.text and "onload" not in refused.text, name
