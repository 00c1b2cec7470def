"""A third party's contract (solidity/ProvenanceGate.sol, not ours to deploy) gates a call on a Mediaproof proof
through MediaApp.verifyInclusion alone: the owner with a real bundle passes; a stranger holding the same bundle, a
wrong path, a wrong batch, an altered receipts hash or media id are all refused. Runs on Ape's chain and on anvil."""

from __future__ import annotations

from dataclasses import replace

import ape
import pytest
from mediakit import private_key, random_sha

from mediaproof import merkle

pytestmark = pytest.mark.usefixtures("gate")  # deployed before Ape snapshots the first test


@pytest.fixture(scope="module")
def gate(compile_test_contract, app, accounts):
    marketplace = accounts[6]  # someone else's deployer, not Mediaproof's admin
    return compile_test_contract("ProvenanceGate").deploy(app.address, sender=marketplace)


@pytest.fixture
def batch(kit, owner, owner_key, other_owner, sequencer):
    entries = [kit.entry(kit.record(owner, max_fee=0), owner_key) for _ in range(4)]
    entries.insert(2, kit.entry(kit.record(other_owner, max_fee=0), private_key(other_owner)))
    tree, number, _ = kit.anchor(entries, sequencer)
    return entries, tree, number


def claim_args(entry, tree, index, number):
    return (entry.record.sha256, entry.media_id, entry.receipts_hash, tree.proof(index), number)


def test_owner_with_a_real_bundle_claims_the_listing(gate, app, batch, owner):
    entries, tree, number = batch
    entry = entries[3]
    assert gate.mediaApp() == app.address
    assert gate.batchLeaf(*entry.leaf_values) == app.batchLeaf(*entry.leaf_values) == tree.leaf(3)
    assert gate.listedBy(entry.record.sha256) == ape.utils.ZERO_ADDRESS
    tx = gate.claimListing(*claim_args(entry, tree, 3, number), sender=owner)
    (event,) = tx.decode_logs(gate.ListingClaimed)
    assert (event.sha256, event.owner, event.mediaId, event.batch) == (
        entry.record.sha256,
        owner.address,
        entry.media_id,
        number,
    )
    assert gate.listedBy(entry.record.sha256) == owner.address


def test_a_stranger_holding_the_owners_bundle_is_refused(gate, batch, stranger, other_owner):
    entries, tree, number = batch
    entry = entries[0]
    for caller in (stranger, other_owner):
        with ape.reverts(gate.ProvenanceNotProven, sha256=entry.record.sha256, caller=caller.address, batch=number):
            gate.claimListing(*claim_args(entry, tree, 0, number), sender=caller)
    assert gate.listedBy(entry.record.sha256) == ape.utils.ZERO_ADDRESS


def test_wrong_path_wrong_batch_and_altered_fields_are_refused(gate, batch, owner, other_owner):
    entries, tree, number = batch
    entry = entries[1]
    sha, media_id, receipts_hash, proof, _ = claim_args(entry, tree, 1, number)
    refused = [
        (sha, media_id, receipts_hash, tree.proof(0), number),  # another leaf's path
        (sha, media_id, receipts_hash, proof[:-1], number),  # a path cut short
        (sha, media_id, receipts_hash, proof, number + 1),  # wrong batch
        (sha, media_id, receipts_hash, proof, number - 1),
        (sha, media_id, random_sha(), proof, number),  # altered receipts hash
        (sha, random_sha(), receipts_hash, proof, number),  # another media id
        (random_sha(), media_id, receipts_hash, proof, number),  # other bytes
    ]
    altered_receipts = list(entry.receipts)
    altered_receipts[0] = (altered_receipts[0][0], altered_receipts[0][1] + 1, altered_receipts[0][2])
    refused.append((sha, media_id, replace(entry, receipts=altered_receipts).receipts_hash, proof, number))
    for args in refused:
        with ape.reverts(gate.ProvenanceNotProven):
            gate.claimListing(*args, sender=owner)
    assert gate.listedBy(sha) == ape.utils.ZERO_ADDRESS
    # The other owner's own entry in the same batch is theirs to claim.
    theirs = entries[2]
    assert theirs.record.owner == other_owner.address
    gate.claimListing(*claim_args(theirs, tree, 2, number), sender=other_owner)
    assert gate.listedBy(theirs.record.sha256) == other_owner.address


def test_the_gate_computes_the_leaf_as_mediaproof_does(gate, batch):
    entries, _, _ = batch
    for entry in entries:
        assert gate.batchLeaf(*entry.leaf_values) == merkle.batch_leaf(*entry.leaf_values)
