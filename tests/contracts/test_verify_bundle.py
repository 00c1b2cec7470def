"""mediaproof.verify against the real contracts: bundles of batched and direct proofs are proven with nothing but
the bundle, the file's digest and the chain; every way a bundle can lie is caught; receipts are judged by the
topology as it stood at the proof's block, and `first` by MediaApp.proofOf."""

from __future__ import annotations

from dataclasses import replace

import pytest
from eth_account import Account
from mediakit import cluster_key, private_key, random_sha

from mediaproof import eip712
from mediaproof.bundle import BatchManifest, ProofBundle, parse_bundle, receipts_of
from mediaproof.content import ContentDigest
from mediaproof.errors import ProofError
from mediaproof.verify import ChainReader, verify_bundle, verify_from_chain

DOWN, ACTIVE = 3, 1


@pytest.fixture
def reader(chain, app, topology):
    return ChainReader(chain.provider.web3, str(app.address), str(topology.address))


def digest_of(record: eip712.MediaRecord) -> ContentDigest:
    return ContentDigest(record.sha256, record.cid, record.size)


def batched_bundle(kit, app, topology, sequencer, owner, key, **record_kw) -> ProofBundle:
    entries = [kit.entry(kit.record(owner, max_fee=0, **record_kw), key) for _ in range(3)]
    tree, batch, tx = kit.anchor(entries, sequencer)
    manifest = BatchManifest(
        chain_id=kit.chain_id,
        contract=str(app.address),
        topology=str(topology.address),
        sequencer=str(sequencer.address),
        entries=tuple(_manifest_entry(e) for e in entries),
    )
    bundle = manifest.bundle(1, manifest.tree(), batch, str(tx.txn_hash), "bafytest")
    assert manifest.tree().root == tree.root
    return bundle


def _manifest_entry(e):
    from mediaproof.bundle import ManifestEntry

    return ManifestEntry(e.record, e.signature, e.media_id, receipts_of(e.receipts))


def test_batched_bundle_is_proven_and_first(reader, kit, app, topology, sequencer, owner, owner_key):
    bundle = batched_bundle(kit, app, topology, sequencer, owner, owner_key)
    report = verify_bundle(reader, parse_bundle(bundle.to_json()), digest_of(bundle.record))
    assert report.proven, report.problems
    assert (report.owner, report.first, report.kind, report.block, report.batch) == (
        owner.address,
        True,
        "batched",
        bundle.batch,
        bundle.batch,
    )
    assert report.timestamp > 0
    assert [(r.cluster_id, r.signature_valid, r.active_when_signed) for r in report.receipts] == [
        (1, True, True),
        (2, True, True),
    ]


def test_one_changed_byte_is_not_proven(reader, kit, app, topology, sequencer, owner, owner_key):
    bundle = batched_bundle(kit, app, topology, sequencer, owner, owner_key)
    other = ContentDigest(bytes([bundle.sha256[0] ^ 1]) + bundle.sha256[1:], bundle.record.cid, bundle.record.size)
    report = verify_bundle(reader, bundle, other)
    assert not report.proven and "sha256" in report.problems[0]


@pytest.mark.parametrize(
    "lie",
    ["title", "owner", "receipt", "path", "batch", "signature"],
)
def test_every_lie_in_a_bundle_is_caught(reader, kit, app, topology, sequencer, owner, owner_key, stranger, lie):
    bundle = batched_bundle(kit, app, topology, sequencer, owner, owner_key)
    if lie == "title":
        bundle = replace(bundle, record=replace(bundle.record, title="Something else"))
    elif lie == "owner":
        record = replace(bundle.record, owner=stranger.address)
        bundle = replace(bundle, record=record, owner_signature=kit.sign_record(record, private_key(stranger)),
                         media_id=kit.record_id(record))  # fmt: skip
    elif lie == "receipt":
        forged = kit.receipt(bundle.record, 3)
        bundle = replace(bundle, receipts=(*bundle.receipts[:1], *receipts_of([forged])))
    elif lie == "path":
        bundle = replace(bundle, proof=(random_sha(), *bundle.proof[1:]))
    elif lie == "batch":
        bundle = replace(bundle, batch=bundle.batch - 1)
    elif lie == "signature":
        bundle = replace(bundle, owner_signature=kit.sign_record(bundle.record, private_key(stranger)))
    report = verify_bundle(reader, bundle, digest_of(bundle.record))
    assert not report.proven, lie
    assert report.problems


def test_receipts_are_judged_by_the_topology_at_the_proofs_block(
    reader, kit, app, topology, sequencer, owner, owner_key, admin
):
    """A cluster taken down or re-keyed after the anchor leaves the proof standing; before it, the receipt fails."""
    before = batched_bundle(kit, app, topology, sequencer, owner, owner_key)
    topology.setClusterStatus(2, DOWN, sender=admin)
    topology.rotateSigner(1, Account.create().address, sender=admin)
    later = verify_bundle(reader, before, digest_of(before.record))
    assert later.proven, later.problems
    topology.setClusterStatus(2, ACTIVE, sender=admin)
    topology.setClusterStatus(2, DOWN, sender=admin)
    # Receipts signed by cluster 2 (now down) and cluster 1's old key, anchored now: not enough good receipts.
    record = kit.record(owner, max_fee=0)
    entry = kit.entry(record, owner_key)
    entry = replace(entry, receipts=[kit.receipt(record, 1, cluster_key(1)), kit.receipt(record, 2)])
    tree, batch, tx = kit.anchor([entry], sequencer)
    bundle = ProofBundle(
        kind="batched", record=record, owner_signature=entry.signature, receipts=receipts_of(entry.receipts),
        media_id=entry.media_id, chain_id=kit.chain_id, contract=str(app.address), topology=str(topology.address),
        tx=str(tx.txn_hash), block=batch, batch=batch, proof=tuple(tree.proof(0)),
    )  # fmt: skip
    report = verify_bundle(reader, bundle, digest_of(record))
    assert not report.proven
    assert [(r.cluster_id, r.signature_valid, r.active_when_signed) for r in report.receipts] == [
        (1, False, True),
        (2, True, False),
    ]


def test_direct_bundle_and_chain_only_verification(reader, kit, app, topology, user_media, owner, owner_key):
    record = kit.record(owner)
    signature = kit.sign_record(record, owner_key)
    receipts = kit.receipts(record)
    tx = user_media.registerMedia(record.as_tuple(), signature, receipts, sender=owner)
    bundle = ProofBundle(
        kind="direct", record=record, owner_signature=signature, receipts=receipts_of(receipts),
        media_id=kit.record_id(record), chain_id=kit.chain_id, contract=str(app.address),
        topology=str(topology.address), tx=str(tx.txn_hash), block=tx.block_number,
        user_contract=str(user_media.address),
    )  # fmt: skip
    report = verify_bundle(reader, parse_bundle(bundle.to_json()), digest_of(record))
    assert report.proven and report.first and report.block == tx.block_number, report.problems
    from_chain = verify_from_chain(reader, digest_of(record))
    assert from_chain.proven and from_chain.media_id == "0x" + kit.record_id(record).hex()
    assert [r.signature_valid for r in from_chain.receipts] == [True, True]


def test_a_later_proof_says_who_was_first(reader, kit, app, topology, sequencer, user_media, owner, owner_key,
                                          other_owner):  # fmt: skip
    first = batched_bundle(kit, app, topology, sequencer, owner, owner_key)
    app.revealProof(first.record.as_tuple(), first.owner_signature, first.receipts_hash, list(first.proof),
                    first.batch, sender=owner)  # fmt: skip
    later = batched_bundle(kit, app, topology, sequencer, other_owner, private_key(other_owner), sha256=first.sha256)
    report = verify_bundle(reader, later, digest_of(later.record))
    assert report.proven and not report.first
    assert report.first_proof == {"owner": owner.address, "block": first.batch, "batched": True}
    assert verify_bundle(reader, first, digest_of(first.record)).first


def test_bundle_for_another_chain_is_an_error(reader, kit, app, topology, sequencer, owner, owner_key):
    bundle = batched_bundle(kit, app, topology, sequencer, owner, owner_key)
    with pytest.raises(ProofError, match="chain"):
        verify_bundle(reader, replace(bundle, chain_id=bundle.chain_id + 1), digest_of(bundle.record))
