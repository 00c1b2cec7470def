"""MediaApp: users and clones, deposits with delayed withdrawal, two-step admin, batch anchors, inclusion proofs
checked on chain, reveals that only ever move proofOf earlier, and the ERC-5267 domain."""

from __future__ import annotations

import ape
from eth_abi import encode
from eth_account import Account
from eth_utils import keccak
from mediakit import MIN_DEPOSIT, OWNER_DEPOSIT, WITHDRAWAL_DELAY, private_key, random_sha

from mediaproof import merkle


def test_register_creates_deterministic_clone_with_deposit(project, app, kit, other_owner):
    tx = app.register(sender=other_owner, value=MIN_DEPOSIT)
    (event,) = tx.decode_logs(app.UserRegistered)
    assert (event.owner, event.deposit) == (other_owner.address, MIN_DEPOSIT)
    clone = project.UserMedia.at(app.userContract(other_owner))
    assert event.userContract == clone.address
    assert (clone.owner(), clone.mediaApp(), clone.topology()) == (
        other_owner.address,
        app.address,
        kit.topology.address,
    )
    assert app.isUserContract(clone.address) and app.depositOf(other_owner) == MIN_DEPOSIT
    with ape.reverts(app.MediaAppAlreadyRegistered, owner=other_owner.address):
        app.register(sender=other_owner, value=MIN_DEPOSIT)


def test_register_refuses_low_deposit_and_deposit_needs_registration(app, stranger):
    with ape.reverts(app.MediaAppDepositTooLow, sent=1, minimum=MIN_DEPOSIT):
        app.register(sender=stranger, value=1)
    with ape.reverts(app.MediaAppNotRegistered, owner=stranger.address):
        app.deposit(sender=stranger, value=1)


def test_eip712_domain_is_erc5267_and_names_this_app(app, kit):
    fields, name, version, chain_id, verifying, _salt, _extensions = app.eip712Domain()
    assert (fields, name, version, chain_id, verifying) == (b"\x0f", "Mediaproof", "1", kit.chain_id, app.address)
    type_hash = keccak(text="EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)")
    expected = keccak(
        encode(
            ["bytes32", "bytes32", "bytes32", "uint256", "address"],
            [type_hash, keccak(text="Mediaproof"), keccak(text="1"), kit.chain_id, app.address],
        )
    )
    assert app.domainSeparator() == expected
    record = kit.record(Account.create().address)
    assert app.recordDigest(record.as_tuple()) == kit.record_id(record)


def test_withdrawal_waits_out_the_delay_so_accepted_relays_stay_paid(
    user_media, app, kit, owner, owner_key, relayer, chain
):
    """The owner cannot pull the deposit out from under a relayed call: a withdrawal needs a request and a delay
    longer than any record's life, and relayers are paid from the deposit meanwhile."""
    with ape.reverts(app.MediaAppWithdrawalNotReady, availableAt=0):
        app.withdraw(sender=owner)
    balance = app.depositOf(owner)
    tx = app.requestWithdrawal(balance, sender=owner)
    (requested,) = tx.decode_logs(app.WithdrawalRequested)
    assert requested.amount == balance
    assert requested.availableAt == chain.blocks[tx.block_number].timestamp + WITHDRAWAL_DELAY
    with ape.reverts(app.MediaAppWithdrawalNotReady):
        app.withdraw(sender=owner)
    # A relayed registration the relayer accepted still lands and is paid.
    record = kit.record(owner)
    paid = user_media.registerMedia(
        record.as_tuple(), kit.sign_record(record, owner_key), kit.receipts(record), sender=relayer,
        gas_price=10**9, type=0,
    ).decode_logs(app.RelayFeePaid)[0].amount  # fmt: skip
    assert paid > 0
    chain.mine(timestamp=kit.now + WITHDRAWAL_DELAY + 1)
    owner_before = owner.balance
    tx = app.withdraw(sender=owner)
    (withdrawn,) = tx.decode_logs(app.DepositWithdrawn)
    assert withdrawn.amount == balance - paid and withdrawn.balance == 0
    assert owner.balance - owner_before + tx.total_fees_paid == balance - paid
    assert app.pendingWithdrawal(owner) == (0, 0)
    with ape.reverts(app.MediaAppInsufficientDeposit):
        app.requestWithdrawal(1, sender=owner)


def test_withdrawal_request_can_be_cancelled(app, owner):
    app.requestWithdrawal(5, sender=owner)
    app.requestWithdrawal(0, sender=owner)
    assert app.pendingWithdrawal(owner) == (0, 0)


def test_admin_roles_and_two_step_handover(app, admin, stranger, accounts):
    for setter in (app.setRelayer, app.setSequencer):
        with ape.reverts(app.OwnableUnauthorizedAccount, account=stranger.address):
            setter(stranger, True, sender=stranger)
        with ape.reverts(app.MediaAppZeroAddress):
            setter(ape.utils.ZERO_ADDRESS, True, sender=admin)
    tx = app.setSequencer(accounts[7], True, sender=admin)
    assert tx.decode_logs(app.SequencerSet)[0].allowed and app.isSequencer(accounts[7])
    assert app.setMinimumDeposit(5, sender=admin).decode_logs(app.MinimumDepositChanged)[0].minimumDeposit == 5
    app.transferOwnership(stranger, sender=admin)
    assert app.owner() == admin.address
    app.acceptOwnership(sender=stranger)
    assert app.owner() == stranger.address
    with ape.reverts(app.OwnableUnauthorizedAccount, account=admin.address):
        app.setRelayer(admin, True, sender=admin)
    with ape.reverts(app.MediaAppCannotRenounce):
        app.renounceOwnership(sender=stranger)


def test_constructor_refuses_zero_addresses(project, admin, topology):
    with ape.reverts(project.MediaApp.MediaAppZeroAddress):
        project.MediaApp.deploy(ape.utils.ZERO_ADDRESS, 1, WITHDRAWAL_DELAY, admin, sender=admin)
    with ape.reverts():
        project.MediaApp.deploy(topology, 1, WITHDRAWAL_DELAY, ape.utils.ZERO_ADDRESS, sender=admin)


def test_record_direct_only_from_the_owners_user_contract(app, owner, stranger):
    with ape.reverts(app.MediaAppNotUserContract, caller=stranger.address):
        app.recordDirect(random_sha(), owner, ape.utils.ZERO_ADDRESS, 0, sender=stranger)


# --- batches ---


def make_batch(kit, owners_and_keys, size):
    return [kit.entry(kit.record(o, max_fee=0), k) for o, k in (owners_and_keys * size)[:size]]


def test_anchor_batch_and_verify_every_leaf_on_chain(app, kit, owner, owner_key, sequencer):
    entries = make_batch(kit, [(owner, owner_key)], 9)
    tree, batch, tx = kit.anchor(entries, sequencer)
    (event,) = tx.decode_logs(app.BatchAnchored)
    assert (event.root, event.sequencer) == (tree.root, sequencer.address)
    assert tx.block_number == batch and app.anchorOf(tree.root)[0] == batch
    for i, entry in enumerate(entries):
        leaf = app.batchLeaf(*entry.leaf_values)
        assert leaf == merkle.batch_leaf(*entry.leaf_values) == tree.leaf(i)
        assert app.verifyInclusion(leaf, tree.proof(i), batch)
        assert not app.verifyInclusion(leaf, tree.proof(i), batch + 1)
        assert not app.verifyInclusion(random_sha(), tree.proof(i), batch)
    # A batched file needs no storage of its own: proofOf learns it only when revealed.
    assert app.proofDetail(entries[0].record.sha256).owner == ape.utils.ZERO_ADDRESS


def test_anchor_batch_only_by_sequencers_once_per_root(app, kit, owner, owner_key, sequencer, stranger):
    entries = make_batch(kit, [(owner, owner_key)], 2)
    tree = kit.tree(entries)
    with ape.reverts(app.MediaAppNotSequencer, caller=stranger.address):
        app.anchorBatch(tree.root, b"cid", sender=stranger)
    with ape.reverts(app.MediaAppEmptyBatch):
        app.anchorBatch(b"\x00" * 32, b"cid", sender=sequencer)
    _, batch, _ = kit.anchor(entries, sequencer)
    # Re-anchoring the same root later would move its time: refused.
    with ape.reverts(app.MediaAppBatchAlreadyAnchored, root=tree.root, batch=batch):
        app.anchorBatch(tree.root, b"cid", sender=sequencer)


def test_reveal_writes_proof_of_a_batched_file(app, kit, owner, owner_key, sequencer, stranger):
    entries = make_batch(kit, [(owner, owner_key)], 5)
    tree, batch, _anchor_tx = kit.anchor(entries, sequencer)
    entry = entries[3]
    tx = app.revealProof(
        entry.record.as_tuple(), entry.signature, entry.receipts_hash, tree.proof(3), batch, sender=stranger
    )
    (event,) = tx.decode_logs(app.ProofRevealed)
    assert (event.sha256, event.mediaId, event.owner, event.batch, event.revealer) == (
        entry.record.sha256,
        entry.media_id,
        owner.address,
        batch,
        stranger.address,
    )
    proof = app.proofDetail(entry.record.sha256)
    assert (proof.owner, proof.blockNumber, proof.batched) == (owner.address, batch, True)
    assert proof.timestamp == app.anchorOf(tree.root)[1] > 0
    # Revealing again moves nothing and says so.
    with ape.reverts(app.MediaAppProofNotEarlier, batch=batch, existingBlock=batch):
        app.revealProof(
            entry.record.as_tuple(), entry.signature, entry.receipts_hash, tree.proof(3), batch, sender=stranger
        )


def test_reveal_refuses_wrong_batch_forged_signature_and_altered_record(
    app, kit, owner, owner_key, sequencer, stranger
):
    entries = make_batch(kit, [(owner, owner_key)], 4)
    tree, batch, _ = kit.anchor(entries, sequencer)
    e = entries[1]
    with ape.reverts(app.MediaAppNotInBatch, batch=batch + 1):
        app.revealProof(e.record.as_tuple(), e.signature, e.receipts_hash, tree.proof(1), batch + 1, sender=stranger)
    with ape.reverts(app.MediaAppNotInBatch, batch=batch):
        app.revealProof(e.record.as_tuple(), e.signature, e.receipts_hash, tree.proof(2), batch, sender=stranger)
    forged = kit.sign_record(e.record, private_key(stranger))
    with ape.reverts(app.MediaAppBadOwnerSignature, owner=owner.address):
        app.revealProof(e.record.as_tuple(), forged, e.receipts_hash, tree.proof(1), batch, sender=stranger)
    # The stranger re-signs the record as his own: the leaf commits to the owner, so it is not in the batch.
    theirs = kit.record(stranger, sha256=e.record.sha256, max_fee=0)
    with ape.reverts(app.MediaAppNotInBatch, batch=batch):
        app.revealProof(
            theirs.as_tuple(), kit.sign_record(theirs, private_key(stranger)), e.receipts_hash, tree.proof(1), batch,
            sender=stranger,
        )  # fmt: skip


def test_proof_of_only_moves_to_an_earlier_proof(
    project, app, kit, owner, owner_key, other_owner, sequencer, stranger, chain
):
    """A batched proof anchored before a direct registration of the same bytes wins once revealed; a later batched
    proof can never displace an earlier one."""
    sha = random_sha()
    early = kit.entry(kit.record(owner, sha256=sha, max_fee=0), owner_key)
    early_tree, early_batch, _ = kit.anchor([early, *make_batch(kit, [(owner, owner_key)], 2)], sequencer)
    chain.mine(3)
    app.register(sender=other_owner, value=OWNER_DEPOSIT)
    theirs = project.UserMedia.at(app.userContract(other_owner))
    direct = kit.record(other_owner, sha256=sha)
    direct_tx = theirs.registerMedia(
        direct.as_tuple(), kit.sign_record(direct, private_key(other_owner)), kit.receipts(direct), sender=other_owner
    )
    assert app.proofDetail(sha).owner == other_owner.address
    late = kit.entry(kit.record(stranger, sha256=sha, max_fee=0), private_key(stranger))
    late_tree, late_batch, _ = kit.anchor([late], sequencer)
    with ape.reverts(app.MediaAppProofNotEarlier, batch=late_batch, existingBlock=direct_tx.block_number):
        app.revealProof(late.record.as_tuple(), late.signature, late.receipts_hash, late_tree.proof(0), late_batch,
                        sender=stranger)  # fmt: skip
    index = [merkle.batch_leaf(*early.leaf_values) == early_tree.leaf(i) for i in range(3)].index(True)
    app.revealProof(
        early.record.as_tuple(), early.signature, early.receipts_hash, early_tree.proof(index), early_batch,
        sender=stranger,
    )  # fmt: skip
    proof = app.proofDetail(sha)
    assert (proof.owner, proof.blockNumber, proof.batched) == (owner.address, early_batch, True)
    # And a later direct registration of the bytes leaves it alone.
    again = kit.record(other_owner, sha256=sha)
    theirs.registerMedia(
        again.as_tuple(), kit.sign_record(again, private_key(other_owner)), kit.receipts(again), sender=other_owner
    )
    assert app.proofDetail(sha).owner == owner.address


def test_reveal_by_erc1271_owner(app, kit, compile_test_contract, accounts, sequencer, stranger):
    holder = accounts[8]
    wallet = compile_test_contract("OwnedWallet").deploy(holder, sender=holder)
    entry = kit.entry(kit.record(wallet.address, max_fee=0), private_key(holder))
    tree, batch, _ = kit.anchor([entry], sequencer)
    app.revealProof(
        entry.record.as_tuple(), entry.signature, entry.receipts_hash, tree.proof(0), batch, sender=stranger
    )
    assert app.proofDetail(entry.record.sha256).owner == wallet.address


def test_anchor_gas_per_file_at_1024_files(app, kit, owner, sequencer):
    """The batched path's whole cost is one anchor per batch, whatever the batch size: ≤ 50 gas per file at 1024."""
    leaves = [(random_sha(), owner.address, random_sha(), random_sha()) for _ in range(1024)]
    tree = merkle.StandardMerkleTree.of(leaves, merkle.BATCH_LEAF_ENCODING)
    tx = app.anchorBatch(tree.root, bytes.fromhex("01701220") + random_sha(), sender=sequencer)
    assert tx.gas_used / 1024 <= 50, tx.gas_used
    assert app.verifyInclusion(tree.leaf(777), tree.proof(777), tx.block_number)
