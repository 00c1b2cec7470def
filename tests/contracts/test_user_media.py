"""UserMedia, the direct path: owner-signed records with receipts bound to owner and record, relayed registration
paid from the deposit under the owner's fee cap, ERC-1271 owners, deletes; and each attack the review found."""

from __future__ import annotations

from dataclasses import replace

import ape
from eth_account import Account
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from mediakit import RECEIPT_LIFETIME, cluster_key, private_key, random_sha

from mediaproof import eip712

ZERO = b"\x00" * 32
GAS_PRICE = 2 * 10**9


def register(user_media, kit, record, key, sender, receipts=None, **tx):
    signature = kit.sign_record(record, key)
    receipts = kit.receipts(record) if receipts is None else receipts
    return user_media.registerMedia(record.as_tuple(), signature, receipts, sender=sender, **tx)


def relayed(user_media, kit, record, key, relayer, receipts=None, gas_price=GAS_PRICE):
    return register(user_media, kit, record, key, relayer, receipts, gas_price=gas_price, type=0)


def test_register_media_by_owner_emits_record_receipts_and_sets_proof(user_media, app, kit, owner, owner_key):
    record = kit.record(owner, variants=2)
    receipts = kit.receipts(record)
    tx = register(user_media, kit, record, owner_key, owner, receipts)
    media_id = kit.record_id(record)

    (registered,) = tx.decode_logs(user_media.MediaRegistered)
    assert registered.mediaId == media_id
    assert (registered.owner, registered.sha256, registered.sender) == (owner.address, record.sha256, owner.address)
    assert (registered.cid, registered.size, registered.title) == (record.cid, record.size, record.title)
    assert [(r[0], r[1], bytes(r[2])) for r in registered.receipts] == receipts
    variants = tx.decode_logs(user_media.MediaVariantRegistered)
    assert [(v.sha256, v.name, v.cid, v.size) for v in variants] == [
        (v.sha256, v.name, v.cid, v.size) for v in record.variants
    ]
    # A verifier recovers each receipt's signer off chain from the event alone.
    for cluster_id, issued_at, signature in receipts:
        receipt = eip712.StorageReceipt(cluster_id, record.sha256, owner.address, media_id, issued_at)
        typed = eip712.receipt_typed_data(receipt, kit.chain_id, str(kit.topology.address))
        assert eip712.recover(typed, signature) == cluster_key(cluster_id).address
    assert user_media.nonceUsed(record.nonce)
    proof = app.proofDetail(record.sha256)
    assert (proof.owner, proof.userContract, proof.blockNumber, proof.batched) == (
        owner.address,
        user_media.address,
        tx.block_number,
        False,
    )
    assert tuple(app.proofOf(record.sha256))[:2] == (owner.address, user_media.address)


def test_variants_get_no_first_owner_proof(user_media, app, kit, owner, owner_key):
    """A hash listed as a variant is never a proof: otherwise anyone could claim a victim's pending original by
    listing it as his own variant."""
    victim_original = random_sha()
    record = replace(kit.record(owner), variants=(eip712.MediaVariant("small", victim_original, "bafkreismall", 10),))
    register(user_media, kit, record, owner_key, owner)
    assert app.proofDetail(victim_original).owner == ape.utils.ZERO_ADDRESS
    assert app.proofDetail(record.sha256).owner == owner.address


def test_lifted_receipts_from_a_pending_registration_cannot_claim_the_bytes(
    project, app, user_media, kit, owner, owner_key, other_owner
):
    """The attack: copy the receipts out of a victim's pending registerMedia, sign your own record for the same
    bytes, send it first with a higher gas price. Receipts are bound to the owner and the record: it reverts."""
    victim = kit.record(owner)
    victim_receipts = kit.receipts(victim)
    app.register(sender=other_owner, value=10**17)
    attacker_contract = project.UserMedia.at(app.userContract(other_owner))
    attacker_record = kit.record(other_owner, sha256=victim.sha256)
    with ape.reverts(kit.topology.TopologyBadReceiptSignature, clusterId=1):
        register(attacker_contract, kit, attacker_record, private_key(other_owner), other_owner, victim_receipts)
    # The attacker copying the victim's whole record gains nothing either: it names the victim as owner.
    with ape.reverts(attacker_contract.UserMediaWrongOwner, recordOwner=owner.address):
        attacker_contract.registerMedia(
            victim.as_tuple(), kit.sign_record(victim, owner_key), victim_receipts, sender=other_owner
        )
    register(user_media, kit, victim, owner_key, owner, victim_receipts)
    assert app.proofDetail(victim.sha256).owner == owner.address


def test_receipts_read_from_old_events_are_expired(user_media, app, kit, owner, owner_key, chain):
    """Receipts read years later from old events register nothing: they are bound and they expire."""
    record = kit.record(owner, deadline=kit.deadline(10 * RECEIPT_LIFETIME))
    old = kit.receipts(record)
    chain.mine(timestamp=kit.now + RECEIPT_LIFETIME + 1)
    with ape.reverts(kit.topology.TopologyReceiptExpired, clusterId=1):
        register(user_media, kit, record, owner_key, owner, old)
    for pinned_at in (0, 16725225600):  # pinnedAt of 0 and of the year 2500 were accepted before
        with ape.reverts():
            register(user_media, kit, record, owner_key, owner, kit.receipts(record, issued_at=pinned_at))


def test_record_for_another_owner_is_refused(user_media, kit, owner, other_owner, owner_key):
    record = kit.record(other_owner)
    with ape.reverts(user_media.UserMediaWrongOwner, recordOwner=other_owner.address):
        register(user_media, kit, record, owner_key, owner)


def test_forged_or_malformed_owner_signature_reverts(user_media, kit, owner, stranger):
    record = kit.record(owner)
    with ape.reverts(user_media.UserMediaBadOwnerSignature, owner=owner.address):
        register(user_media, kit, record, private_key(stranger), owner)
    with ape.reverts(user_media.UserMediaBadOwnerSignature, owner=owner.address):
        user_media.registerMedia(record.as_tuple(), b"\x01" * 64, kit.receipts(record), sender=owner)


def test_signature_under_another_domain_reverts(user_media, kit, owner, owner_key):
    record = kit.record(owner)
    foreign = eip712.sign(eip712.record_typed_data(record, kit.chain_id, str(user_media.address)), owner_key)
    with ape.reverts(user_media.UserMediaBadOwnerSignature):
        user_media.registerMedia(record.as_tuple(), foreign, kit.receipts(record), sender=owner)


def test_replayed_nonce_reverts_and_shares_the_delete_space(user_media, kit, owner, owner_key):
    record = kit.record(owner, nonce=7)
    register(user_media, kit, record, owner_key, owner)
    with ape.reverts(user_media.UserMediaNonceUsed, nonce=7):
        register(user_media, kit, record, owner_key, owner)
    with ape.reverts(user_media.UserMediaNonceUsed, nonce=7):
        register(user_media, kit, kit.record(owner, nonce=7), owner_key, owner)
    register(user_media, kit, kit.record(owner, nonce=8), owner_key, owner)
    assert user_media.nonceUsed(7) and user_media.nonceUsed(8) and not user_media.nonceUsed(9)
    assert not user_media.nonceUsed(7 + 256)


def test_expired_deadline_and_empty_record_revert(user_media, kit, owner, owner_key):
    deadline = kit.deadline(-10)
    with ape.reverts(user_media.UserMediaSignatureExpired, deadline=deadline):
        register(user_media, kit, kit.record(owner, deadline=deadline), owner_key, owner)
    with ape.reverts(user_media.UserMediaEmptyRecord):
        register(user_media, kit, kit.record(owner, sha256=ZERO), owner_key, owner)


def test_same_bytes_by_a_second_owner_keep_the_first_proof(
    project, app, user_media, kit, owner, owner_key, other_owner
):
    record = kit.record(owner)
    first = register(user_media, kit, record, owner_key, owner)
    app.register(sender=other_owner, value=10**17)
    theirs = project.UserMedia.at(app.userContract(other_owner))
    register(theirs, kit, kit.record(other_owner, sha256=record.sha256), private_key(other_owner), other_owner)
    proof = app.proofDetail(record.sha256)
    assert (proof.owner, proof.blockNumber) == (owner.address, first.block_number)


def test_unapproved_relayer_reverts(user_media, app, kit, owner_key, owner, stranger):
    with ape.reverts(app.MediaAppNotRelayer, relayer=stranger.address):
        relayed(user_media, kit, kit.record(owner), owner_key, stranger)


def test_relayer_is_paid_from_the_deposit_and_never_above_the_cap(user_media, app, kit, owner, owner_key, relayer):
    record = kit.record(owner, max_fee=10**18)
    deposit_before, relayer_before = app.depositOf(owner), relayer.balance
    tx = relayed(user_media, kit, record, owner_key, relayer)
    (paid,) = tx.decode_logs(app.RelayFeePaid)
    assert (paid.owner, paid.relayer) == (owner.address, relayer.address)
    assert app.depositOf(owner) == deposit_before - paid.amount == paid.balance
    net = relayer.balance - relayer_before
    # Made whole: never out of pocket, and overpaid by at most the fixed overhead's slack.
    assert 0 <= net <= 25_000 * GAS_PRICE, (net, paid.amount, tx.gas_used)
    # A relayer choosing a huge gas price still gets no more than the owner's signed cap.
    capped = kit.record(owner, max_fee=12345)
    tx = relayed(user_media, kit, capped, owner_key, relayer, gas_price=10**12)
    assert tx.decode_logs(app.RelayFeePaid)[0].amount == 12345


def test_padding_calldata_does_not_raise_the_fee(user_media, app, kit, owner, owner_key, relayer):
    record = kit.record(owner, max_fee=10**18)
    plain = relayed(user_media, kit, record, owner_key, relayer)
    fee_plain = plain.decode_logs(app.RelayFeePaid)[0].amount
    padded_record = kit.record(owner, max_fee=10**18)
    signature = kit.sign_record(padded_record, owner_key)
    call = user_media.registerMedia.as_transaction(
        padded_record.as_tuple(), signature, kit.receipts(padded_record), sender=relayer, gas_price=GAS_PRICE, type=0
    )
    # The ABI decoder ignores trailing bytes; the gas bill does not.
    call.data = bytes(call.data) + b"\xff" * 4000
    call.gas_limit = None
    tx = relayer.call(call)
    fee_padded = tx.decode_logs(app.RelayFeePaid)[0].amount
    assert tx.gas_used > plain.gas_used + 4000 * 10  # the padding did cost the relayer gas
    assert fee_padded <= fee_plain + 2_000 * GAS_PRICE  # but the fee did not follow it


def test_relayed_call_fails_cleanly_when_the_deposit_is_short(user_media, app, kit, owner, owner_key, relayer, chain):
    app.requestWithdrawal(app.depositOf(owner), sender=owner)
    chain.mine(timestamp=kit.now + app.withdrawalDelay() + 1)
    app.withdraw(sender=owner)
    with ape.reverts(app.MediaAppInsufficientDeposit, available=0):
        relayed(user_media, kit, kit.record(owner, deadline=kit.deadline(99999)), owner_key, relayer)


def test_contract_wallet_owner_registers_by_erc1271(project, app, kit, compile_test_contract, accounts, relayer):
    """A smart-contract wallet (ERC-1271, as a Safe) owns media: its key holder signs, the wallet vouches."""
    holder = accounts[8]
    wallet = compile_test_contract("OwnedWallet").deploy(holder, sender=holder)
    holder.transfer(wallet, 10**18)
    wallet.execute(app.address, 10**17, app.register.encode_input(), sender=holder)
    user_media = project.UserMedia.at(app.userContract(wallet.address))
    record = kit.record(wallet.address)
    tx = relayed(user_media, kit, record, private_key(holder), relayer)
    assert app.proofDetail(record.sha256).owner == wallet.address
    assert tx.decode_logs(user_media.MediaRegistered)[0].owner == wallet.address
    stranger_signed = kit.record(wallet.address)
    with ape.reverts(user_media.UserMediaBadOwnerSignature, owner=wallet.address):
        relayed(user_media, kit, stranger_signed, private_key(accounts[9]), relayer)


def test_delete_by_owner_tombstones_and_keeps_proof(user_media, app, kit, owner, owner_key, stranger):
    record = kit.record(owner)
    register(user_media, kit, record, owner_key, owner)
    media_id = kit.record_id(record)
    with ape.reverts(user_media.UserMediaNotOwner, caller=stranger.address):
        user_media.deleteMedia(media_id, sender=stranger)
    tx = user_media.deleteMedia(media_id, sender=owner)
    (deleted,) = tx.decode_logs(user_media.MediaDeleted)
    assert (deleted.mediaId, deleted.owner, deleted.sender) == (media_id, owner.address, owner.address)
    assert user_media.isDeleted(media_id)
    assert app.proofDetail(record.sha256).owner == owner.address
    with ape.reverts(user_media.UserMediaAlreadyDeleted, mediaId=media_id):
        user_media.deleteMedia(media_id, sender=owner)


def test_delete_by_sig_sent_by_anyone_and_refuses_forgery_expiry_replay(user_media, kit, owner, owner_key, stranger):
    record = kit.record(owner, nonce=5)
    register(user_media, kit, record, owner_key, owner)
    media_id = kit.record_id(record)
    order = eip712.DeleteMedia(media_id, nonce=6, deadline=kit.deadline())
    with ape.reverts(user_media.UserMediaBadOwnerSignature, owner=owner.address):
        user_media.deleteMediaBySig(order.as_tuple(), kit.sign_delete(order, private_key(stranger)), sender=stranger)
    expired = eip712.DeleteMedia(media_id, nonce=6, deadline=kit.deadline(-5))
    with ape.reverts(user_media.UserMediaSignatureExpired):
        user_media.deleteMediaBySig(expired.as_tuple(), kit.sign_delete(expired, owner_key), sender=stranger)
    reused = eip712.DeleteMedia(media_id, nonce=5, deadline=kit.deadline())
    with ape.reverts(user_media.UserMediaNonceUsed, nonce=5):
        user_media.deleteMediaBySig(reused.as_tuple(), kit.sign_delete(reused, owner_key), sender=stranger)
    tx = user_media.deleteMediaBySig(order.as_tuple(), kit.sign_delete(order, owner_key), sender=stranger)
    assert tx.decode_logs(user_media.MediaDeleted)[0].sender == stranger.address
    assert user_media.nonceUsed(6) and user_media.isDeleted(media_id)
    with ape.reverts(user_media.UserMediaNonceUsed, nonce=6):
        user_media.deleteMediaBySig(order.as_tuple(), kit.sign_delete(order, owner_key), sender=stranger)


def test_initialize_is_for_media_app_only_and_once(user_media, implementation, stranger):
    with ape.reverts(user_media.UserMediaAlreadyInitialized):
        user_media.initialize(stranger, sender=stranger)
    with ape.reverts(implementation.UserMediaAlreadyInitialized):
        implementation.initialize(stranger, sender=stranger)
    assert implementation.owner() == implementation.address


texts = st.text(max_size=40)
byte32 = st.binary(min_size=32, max_size=32)
uint64 = st.integers(min_value=0, max_value=2**64 - 1)
uint256 = st.integers(min_value=0, max_value=2**256 - 1)
variant_strategy = st.builds(eip712.MediaVariant, name=texts, sha256=byte32, cid=texts, size=uint64)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    owner_seed=byte32.filter(lambda k: 0 < int.from_bytes(k, "big") < 2**255),
    sha256=byte32,
    cid=texts,
    size=uint64,
    media_type=texts,
    title=st.text(max_size=120),
    nonce=uint256,
    deadline=uint64,
    variants=st.lists(variant_strategy, max_size=4).map(tuple),
    parent=byte32,
    max_fee=uint256,
)
def test_record_digest_fuzz_equals_mediaproof_eip712(app, kit, owner_seed, **fields):
    record = eip712.MediaRecord(owner=Account.from_key(owner_seed).address, **fields)
    assert app.recordDigest(record.as_tuple()) == kit.record_id(record)
