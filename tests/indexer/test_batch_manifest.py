"""A batch manifest is believed only as far as it checks out against the anchored root, the records' digests and
the owners' signatures; the download service is asked for it over real HTTP."""

from __future__ import annotations

import json
import re

import pytest
from batchkit import (
    CHAIN_ID,
    Domain,
    ManifestServer,
    follow,
    like,
    manifest,
    manifest_cid,
    record,
    sign,
    signed_action,
    tree_of,
)
from eth_account import Account

from indexer import batch_manifest
from indexer.batch_manifest import ECDSA, ERC1271_UNCHECKED, read_batch
from indexer.manifest_source import HttpManifestSource, ManifestUnavailable, manifest_cid_text
from mediaproof.bundle import parse_manifest
from mediaproof.errors import InputError, ProofError
from mediaproof.settings import ANVIL_TEST_KEYS

DOMAIN = Domain(CHAIN_ID, "0x5FbDB2315678afecb367f032d93F642f64180aa3", "0xe7f1725E7734CE288F8367e1Bb143E90bb3F0512")
ALICE, BOB = Account.from_key(ANVIL_TEST_KEYS[1]), Account.from_key(ANVIL_TEST_KEYS[2])
SEQUENCER = Account.from_key(ANVIL_TEST_KEYS[0]).address
NOW = 1_733_000_000


def entry(owner=ALICE, title="harbour at dawn", **kw):
    return sign(DOMAIN, record(owner.address, title, variants=kw.pop("variants", 0)), owner.key, issued_at=NOW, **kw)


def check(doc, root, contract_owners=()):
    raw = json.dumps(doc).encode()
    identity = {"chain_id": DOMAIN.chain_id, "media_app": DOMAIN.media_app, "topology": DOMAIN.topology}
    return read_batch(raw, "bafkcid", root, contract_owners=contract_owners, **identity)


def test_a_good_batch_gives_every_entry_with_its_place_in_the_tree():
    entries = [entry(title="one", variants=2), entry(BOB, "two"), entry(title="three", clusters=(1, 2))]
    doc, tree = manifest(DOMAIN, entries, SEQUENCER)
    content = check(doc, tree.root)
    assert content.problem is None and content.rejected == () and content.declared == 3
    assert content.tree == tree.tree
    assert [e.media_id for e in content.entries] == [e.media_id for e in entries]
    for i, got in enumerate(content.entries):
        assert got.tree_index == tree.tree_indices[i] and got.leaf == tree.leaf(i)
        assert got.signature_check == ECDSA and got.receipts == tuple(entries[i].receipts)
        assert got.record_message == entries[i].record.message()
    assert [v.name for v in content.entries[0].record.variants] == ["small", "medium"]


def test_a_root_that_is_not_the_anchored_one_gives_nothing():
    doc, _ = manifest(DOMAIN, [entry(), entry()], SEQUENCER)
    other = tree_of([entry()]).root
    content = check(doc, other)
    assert content.entries == () and "not the anchored root" in (content.problem or "")


def test_an_entry_whose_media_id_is_not_its_records_digest_is_left_out():
    honest = entry(title="honest")
    rec = record(ALICE.address, "claims another id")
    forged = sign(DOMAIN, rec, ALICE.key, issued_at=NOW, media_id=honest.media_id[::-1])
    doc, tree = manifest(DOMAIN, [honest, forged], SEQUENCER)  # the root commits to the forged values
    content = check(doc, tree.root)
    assert [e.media_id for e in content.entries] == [honest.media_id]
    assert content.rejected[0][0] == 1 and "EIP-712 digest" in content.rejected[0][1]


def test_a_signature_by_someone_else_is_left_out_unless_the_owner_is_a_contract():
    good = entry(title="signed by its owner")
    rec = record(ALICE.address, "signed by bob")
    wrong = sign(DOMAIN, rec, BOB.key, issued_at=NOW)
    doc, tree = manifest(DOMAIN, [good, wrong], SEQUENCER)
    content = check(doc, tree.root)
    assert [e.index for e in content.entries] == [0]
    assert f"recovers to {BOB.address}, not the owner {ALICE.address}" in content.rejected[0][1]
    parsed = batch_manifest.parse(
        json.dumps(doc).encode(), "c", chain_id=CHAIN_ID, media_app=DOMAIN.media_app, topology=DOMAIN.topology
    )
    assert parsed.owners_to_look_up() == {ALICE.address}
    # an owner with code is a contract wallet: its ERC-1271 signature is kept, marked unchecked
    content = check(doc, tree.root, contract_owners=[ALICE.address.lower()])
    assert [(e.index, e.signature_check) for e in content.entries] == [(0, ECDSA), (1, ERC1271_UNCHECKED)]


def test_a_malformed_entry_is_left_out_and_its_dumped_leaf_keeps_the_others_checkable():
    entries = [entry(title="fine"), entry(title="broken later")]
    doc, tree = manifest(DOMAIN, entries, SEQUENCER)
    del doc["entries"][1]["record"]["nonce"]
    content = check(doc, tree.root)
    assert [e.index for e in content.entries] == [0]
    assert "malformed entry" in content.rejected[0][1]
    doc["tree"]["values"][1]["value"] = "garbage"  # and without a usable dumped leaf, the root cannot be rebuilt
    assert "cannot be rebuilt" in (check(doc, tree.root).problem or "")


def test_a_media_id_twice_in_one_batch_is_indexed_once():
    once = entry()
    doc, tree = manifest(DOMAIN, [once, once], SEQUENCER)
    content = check(doc, tree.root)
    assert len(content.entries) == 1 and "entry 0's too" in content.rejected[0][1]


@pytest.mark.parametrize(
    ("change", "complaint"),
    [
        (lambda d: d.update(format="mediaproof-batch-v0"), "format"),
        (lambda d: d.update(chain_id=1), "chain 1"),
        (lambda d: d.update(contract="0x" + "11" * 20), "contract"),
        (lambda d: d.update(topology="nope"), "topology"),
        (lambda d: d.update(entries=[]), "no entries"),
    ],
)
def test_a_manifest_of_another_deployment_or_format_gives_nothing(change, complaint):
    doc, tree = manifest(DOMAIN, [entry()], SEQUENCER)
    change(doc)
    content = check(doc, tree.root)
    assert content.entries == () and complaint in (content.problem or "")


def test_bytes_that_are_not_json_give_nothing():
    identity = {"chain_id": DOMAIN.chain_id, "media_app": DOMAIN.media_app, "topology": DOMAIN.topology}
    content = read_batch(b"\xff<html>", "c", b"\1" * 32, **identity)
    assert "not JSON" in (content.problem or "")


def test_manifest_cids_are_read_as_base32_cidv1_and_other_bytes_are_refused():
    binary, text = manifest_cid(b'{"format": "mediaproof-batch-v1"}')
    assert text.startswith("bafkrei") and manifest_cid_text(binary) == text
    with pytest.raises(InputError):
        manifest_cid_text(b"cid")


def test_http_source_gets_manifests_from_the_download_service_and_says_when_it_cannot():
    server = ManifestServer()
    try:
        doc, _ = manifest(DOMAIN, [entry()], SEQUENCER)
        _, cid = server.put(doc)
        source = HttpManifestSource(server.url + "/")
        assert json.loads(source.fetch(cid)) == doc
        assert server.requests == [f"/manifests/{cid}"]
        with pytest.raises(ManifestUnavailable, match="404"):
            source.fetch("bafkreimissing")
        server.failing = True
        with pytest.raises(ManifestUnavailable, match="503"):
            source.fetch(cid)
        with pytest.raises(ManifestUnavailable, match="more than 10 bytes"):
            server.failing = False
            HttpManifestSource(server.url, max_bytes=10).fetch(cid)
    finally:
        server.close()
    with pytest.raises(ManifestUnavailable, match="did not answer"):
        HttpManifestSource(server.url, timeout=2).fetch("bafkrei")


@pytest.mark.parametrize(
    ("field", "value", "says"),
    [
        ("cluster_id", "1", "receipt cluster_id '1' is not an integer"),
        ("cluster_id", True, "receipt cluster_id True is not an integer"),
        ("cluster_id", 0, "receipt cluster_id 0 is not an integer from 1"),
        ("issued_at", 2**64, "receipt issued_at"),
    ],
)
def test_a_forged_receipt_is_refused_alike_by_the_indexer_and_the_one_manifest_parser(field, value, says):
    """The indexer reads entries with mediaproof.bundle's parser, so both refuse the same forged receipt."""
    doc, tree = manifest(DOMAIN, [entry(title="fine"), entry(title="forged")], SEQUENCER)
    doc["entries"][1]["receipts"][0][field] = value
    content = check(doc, tree.root)
    assert [e.index for e in content.entries] == [0]
    assert content.rejected[0][0] == 1 and says in content.rejected[0][1]
    with pytest.raises(ProofError, match=re.escape(says)):
        parse_manifest(doc)


# -- social actions --------------------------------------------------------------------------------------------
def test_actions_after_the_entries_are_read_with_their_place_in_the_tree():
    media = entry(title="liked")
    media_id = "0x" + media.media_id.hex()
    acts = [signed_action(DOMAIN, like(BOB.address, media_id), BOB.key),
            signed_action(DOMAIN, follow(ALICE.address, BOB.address), ALICE.key)]  # fmt: skip
    doc, tree = manifest(DOMAIN, [media], SEQUENCER, acts)
    content = check(doc, tree.root)
    assert [a.signed.action_id for a in content.actions] == [a.action_id for a in acts]
    assert [a.tree_index for a in content.actions] == [tree.tree_indices[1], tree.tree_indices[2]]
    assert content.actions[0].leaf == tree.leaf(1) and content.actions[0].signature_check == ECDSA
    assert parse_manifest(doc).actions == tuple(acts)  # the one manifest parser reads the same


def test_a_batch_of_actions_only_is_read():
    acts = [signed_action(DOMAIN, follow(ALICE.address, BOB.address), ALICE.key)]
    doc, tree = manifest(DOMAIN, [], SEQUENCER, acts)
    content = check(doc, tree.root)
    assert content.problem is None and len(content.actions) == 1 and content.entries == ()


def test_forged_actions_are_left_out_and_the_rest_kept():
    media_id = "0x" + entry().media_id.hex()
    good = signed_action(DOMAIN, like(BOB.address, media_id), BOB.key)
    lifted = signed_action(DOMAIN, like(ALICE.address, media_id), BOB.key)  # bob signs in alice's name
    wrong_id = signed_action(DOMAIN, like(BOB.address, media_id), BOB.key, action_id=b"\x11" * 32)
    self_follow = signed_action(DOMAIN, follow(BOB.address, BOB.address), BOB.key)
    doc, tree = manifest(DOMAIN, [], SEQUENCER, [good, lifted, wrong_id, self_follow, good])
    content = check(doc, tree.root)
    assert [a.index for a in content.actions] == [0]
    why = dict(content.rejected_actions)
    assert f"recovers to {BOB.address}, not the author {ALICE.address}" in why[1]
    assert "EIP-712 digest" in why[2] and "cannot follow yourself" in why[3] and "action 0's too" in why[4]
    # an author with code is a contract wallet: kept, marked unchecked
    parsed = batch_manifest.parse(
        json.dumps(doc).encode(), "c", chain_id=CHAIN_ID, media_app=DOMAIN.media_app, topology=DOMAIN.topology
    )
    assert ALICE.address in parsed.owners_to_look_up()
    content = check(doc, tree.root, contract_owners=[ALICE.address])
    assert [(a.index, a.signature_check) for a in content.actions] == [(0, ECDSA), (1, ERC1271_UNCHECKED)]


def test_an_action_not_in_the_anchored_tree_refuses_the_manifest():
    acts = [signed_action(DOMAIN, follow(ALICE.address, BOB.address), ALICE.key)]
    doc, tree = manifest(DOMAIN, [entry()], SEQUENCER, acts)
    doc["actions"].append(signed_action(DOMAIN, follow(BOB.address, ALICE.address), BOB.key).to_json())
    assert "not the anchored root" in (check(doc, tree.root).problem or "")
