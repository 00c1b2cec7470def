"""UserMedia: owner-signed registration with storage receipts, relayed registration paid from the deposit,
deletes (direct and by signed order), and the EIP-712 digests matching mediaproof.eip712 byte for byte."""

from __future__ import annotations

import ape
from eth_account import Account
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from mediakit import cluster_key, delete_tuple, private_key, random_sha

from mediaproof import eip712

ZERO = b"\x00" * 32


def register(user_media, kit, record, key, sender, receipts=None):
    signature = kit.sign_record(record, key, user_media)
    receipts = kit.receipts(record) if receipts is None else receipts
    return user_media.registerMedia(record.as_tuple(), signature, receipts, sender=sender)


def test_register_media_by_owner_records_entry_events_and_proofs(user_media, app, kit, owner, owner_key):
    record = kit.record(variants=2)
    tx = register(user_media, kit, record, owner_key, owner)
    media_id = kit.record_id(record, user_media)

    (registered,) = tx.decode_logs(user_media.MediaRegistered)
    assert registered.mediaId == media_id
    assert registered.owner == owner.address
    assert registered.sha256 == record.sha256
    assert (registered.cid, registered.size, registered.title) == (record.cid, record.size, record.title)
    assert registered.mediaType == "image/jpeg"
    assert list(registered.clusterIds) == [1, 2]
    assert registered.sender == owner.address
    variants = tx.decode_logs(user_media.MediaVariantRegistered)
    assert [(v.sha256, v.name, v.cid, v.size) for v in variants] == [
        (v.sha256, v.name, v.cid, v.size) for v in record.variants
    ]
    accepted = tx.decode_logs(user_media.StorageReceiptAccepted)
    assert [(a.clusterId, a.signer) for a in accepted] == [(1, cluster_key(1).address), (2, cluster_key(2).address)]
    # The event carries the signature so a verifier can recover the signer off chain.
    for event, (cluster_id, pinned_at, signature) in zip(accepted, kit.receipts(record), strict=True):
        assert bytes(event.signature) == signature and event.pinnedAt == pinned_at
        receipt = eip712.StorageReceipt(cluster_id, record.sha256, record.cid, record.size, pinned_at)
        typed = eip712.receipt_typed_data(receipt, kit.chain_id, str(kit.topology.address))
        assert eip712.recover(typed, bytes(event.signature)) == event.signer

    entry = user_media.media(media_id)
    assert (entry.sha256, entry.parent, entry.deleted) == (record.sha256, ZERO, False)
    assert entry.blockNumber == tx.block_number and entry.timestamp > 0
    assert user_media.mediaCount() == 1
    assert user_media.nonceUsed(record.nonce)
    for sha in [record.sha256, *(v.sha256 for v in record.variants)]:
        proof_owner, proof_contract, timestamp, block = app.proofOf(sha)
        assert (proof_owner, proof_contract) == (owner.address, user_media.address)
        assert (timestamp, block) == (entry.timestamp, tx.block_number)
        assert app.proofDetail(sha).mediaId == media_id
    assert len(tx.decode_logs(app.ProofRecorded)) == 3


def test_record_digest_matches_python_for_a_signed_record(user_media, kit, owner_key):
    record = kit.record(variants=3)
    assert user_media.recordDigest(record.as_tuple()) == kit.record_id(record, user_media)
    assert user_media.domainSeparator() != ZERO


texts = st.text(max_size=40)
byte32 = st.binary(min_size=32, max_size=32)
uint64 = st.integers(min_value=0, max_value=2**64 - 1)
variant_strategy = st.builds(eip712.MediaVariant, name=texts, sha256=byte32, cid=texts, size=uint64)
record_strategy = st.builds(
    eip712.MediaRecord,
    sha256=byte32,
    cid=texts,
    size=uint64,
    media_type=texts,
    title=st.text(max_size=120),
    nonce=st.integers(min_value=0, max_value=2**256 - 1),
    deadline=uint64,
    variants=st.lists(variant_strategy, max_size=4).map(tuple),
    parent=byte32,
)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(record=record_strategy)
def test_record_digest_fuzz_equals_mediaproof_eip712(user_media, kit, record):
    assert user_media.recordDigest(record.as_tuple()) == kit.record_id(record, user_media)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    cluster_id=st.integers(min_value=0, max_value=2**32 - 1),
    sha=byte32,
    cid=texts,
    size=uint64,
    pinned_at=uint64,
)
def test_receipt_digest_fuzz_equals_mediaproof_eip712(topology, kit, cluster_id, sha, cid, size, pinned_at):
    receipt = eip712.StorageReceipt(cluster_id, sha, cid, size, pinned_at)
    expected = eip712.digest(eip712.receipt_typed_data(receipt, kit.chain_id, str(topology.address)))
    assert topology.receiptDigest(cluster_id, sha, cid, size, pinned_at) == expected


def test_register_media_with_parent_links_versions(user_media, kit, owner, owner_key):
    first = kit.record()
    register(user_media, kit, first, owner_key, owner)
    parent_id = kit.record_id(first, user_media)
    second = kit.record(parent=parent_id)
    tx = register(user_media, kit, second, owner_key, owner)
    assert tx.decode_logs(user_media.MediaRegistered)[0].parent == parent_id
    assert user_media.media(kit.record_id(second, user_media)).parent == parent_id


def test_register_media_unknown_parent_reverts(user_media, kit, owner, owner_key):
    parent = random_sha()
    with ape.reverts(user_media.UserMediaUnknownParent, parent=parent):
        register(user_media, kit, kit.record(parent=parent), owner_key, owner)


def test_register_media_forged_owner_signature_reverts(user_media, kit, owner, stranger):
    record = kit.record()
    forger = private_key(stranger)
    with ape.reverts(user_media.UserMediaBadOwnerSignature, recovered=stranger.address):
        register(user_media, kit, record, forger, owner)


def test_register_media_signature_for_another_users_contract_reverts(
    project, app, user_media, kit, owner, owner_key, other_owner
):
    app.register(sender=other_owner, value=10**17)
    theirs = project.UserMedia.at(app.userContract(other_owner))
    record = kit.record()
    signature = kit.sign_record(record, owner_key, user_media)  # domain: owner's contract, not theirs
    with ape.reverts(theirs.UserMediaBadOwnerSignature):
        theirs.registerMedia(record.as_tuple(), signature, kit.receipts(record), sender=other_owner)


def test_register_media_malformed_signature_reverts(user_media, kit, owner):
    record = kit.record()
    with ape.reverts(user_media.UserMediaBadOwnerSignature, recovered=ape.utils.ZERO_ADDRESS):
        user_media.registerMedia(record.as_tuple(), b"\x01" * 64, kit.receipts(record), sender=owner)


def test_register_media_replayed_nonce_reverts(user_media, kit, owner, owner_key):
    record = kit.record(nonce=7)
    register(user_media, kit, record, owner_key, owner)
    with ape.reverts(user_media.UserMediaNonceUsed, nonce=7):
        register(user_media, kit, record, owner_key, owner)
    other_bytes_same_nonce = kit.record(nonce=7)
    with ape.reverts(user_media.UserMediaNonceUsed, nonce=7):
        register(user_media, kit, other_bytes_same_nonce, owner_key, owner)


def test_register_media_expired_deadline_reverts(user_media, kit, owner, owner_key):
    deadline = kit.deadline(-10)
    with ape.reverts(user_media.UserMediaSignatureExpired, deadline=deadline):
        register(user_media, kit, kit.record(deadline=deadline), owner_key, owner)


def test_register_media_empty_record_reverts(user_media, kit, owner, owner_key):
    with ape.reverts(user_media.UserMediaEmptyRecord):
        register(user_media, kit, kit.record(sha256=ZERO), owner_key, owner)


def test_register_media_receipt_from_unknown_cluster_reverts(user_media, topology, kit, owner, owner_key):
    record = kit.record()
    receipts = [kit.receipt(record, 1), kit.receipt(record, 9)]
    with ape.reverts(topology.TopologyUnknownCluster, clusterId=9):
        register(user_media, kit, record, owner_key, owner, receipts)


def test_register_media_receipt_from_down_cluster_reverts(user_media, topology, kit, owner, owner_key, admin):
    topology.setClusterStatus(2, 3, sender=admin)  # Down
    record = kit.record()
    with ape.reverts(topology.TopologyClusterNotActive, clusterId=2, status=3):
        register(user_media, kit, record, owner_key, owner)
    # The other two clusters still make R=2.
    register(user_media, kit, record, owner_key, owner, kit.receipts(record, (1, 3)))


def test_register_media_receipt_from_rotated_away_signer_reverts(user_media, topology, kit, owner, owner_key, admin):
    new_key = Account.create()
    topology.rotateSigner(1, new_key.address, sender=admin)
    record = kit.record()
    with ape.reverts(topology.TopologyBadReceiptSignature, clusterId=1, recovered=cluster_key(1).address):
        register(user_media, kit, record, owner_key, owner)
    receipts = [kit.receipt(record, 1, new_key), kit.receipt(record, 2)]
    tx = register(user_media, kit, record, owner_key, owner, receipts)
    assert tx.decode_logs(user_media.StorageReceiptAccepted)[0].signer == new_key.address


def test_register_media_receipt_for_other_bytes_reverts(user_media, topology, kit, owner, owner_key):
    record = kit.record()
    receipts = [kit.receipt(record, 1), kit.receipt(record, 2, sha256=random_sha())]
    with ape.reverts(topology.TopologyBadReceiptSignature, clusterId=2):
        register(user_media, kit, record, owner_key, owner, receipts)


def test_register_media_duplicate_receipts_from_one_cluster_revert(user_media, topology, kit, owner, owner_key):
    record = kit.record()
    receipts = [kit.receipt(record, 1), kit.receipt(record, 1, pinned_at=5)]
    with ape.reverts(topology.TopologyDuplicateReceipt, clusterId=1):
        register(user_media, kit, record, owner_key, owner, receipts)


def test_register_media_too_few_receipts_reverts(user_media, topology, kit, owner, owner_key):
    record = kit.record()
    with ape.reverts(topology.TopologyTooFewReceipts, given=1, required=2):
        register(user_media, kit, record, owner_key, owner, kit.receipts(record, (1,)))


def test_register_media_same_bytes_keeps_first_proof(project, app, user_media, kit, owner, owner_key, other_owner):
    record = kit.record()
    first = register(user_media, kit, record, owner_key, owner)
    app.register(sender=other_owner, value=10**17)
    theirs = project.UserMedia.at(app.userContract(other_owner))
    copy = kit.record(sha256=record.sha256)
    second = register(theirs, kit, copy, private_key(other_owner), other_owner)
    assert second.decode_logs(app.ProofRecorded) == []
    assert app.proofOf(record.sha256)[:2] == (owner.address, user_media.address)
    assert app.proofOf(record.sha256).blockNumber == first.block_number
    assert app.proofDetail(record.sha256).mediaId == kit.record_id(record, user_media)


def test_register_media_by_unapproved_relayer_reverts(user_media, kit, owner_key, stranger):
    record = kit.record()
    with ape.reverts(user_media.UserMediaNotRelayer, caller=stranger.address):
        register(user_media, kit, record, owner_key, stranger)


def test_register_media_by_relayer_repays_relayer_from_deposit(user_media, app, kit, owner, owner_key, relayer):
    record = kit.record(variants=3)
    gas_price = 2 * 10**9
    deposit_before = app.depositOf(owner)
    relayer_before = relayer.balance
    signature = kit.sign_record(record, owner_key, user_media)
    tx = user_media.registerMedia(
        record.as_tuple(), signature, kit.receipts(record), sender=relayer, gas_price=gas_price, type=0
    )
    (paid,) = tx.decode_logs(app.RelayFeePaid)
    assert (paid.owner, paid.relayer) == (owner.address, relayer.address)
    assert app.depositOf(owner) == deposit_before - paid.amount == paid.balance
    assert tx.decode_logs(user_media.MediaRegistered)[0].sender == relayer.address
    spent = tx.gas_used * gas_price
    # The relayer is made whole: never out of pocket, and overpaid by at most the fixed overhead's slack.
    net = relayer.balance - relayer_before
    assert net >= 0, f"relayer lost {-net} wei (paid {paid.amount}, spent {spent})"
    assert net <= 60_000 * gas_price


def test_register_media_by_relayer_with_short_deposit_reverts(user_media, app, kit, owner, owner_key, relayer):
    app.withdraw(app.depositOf(owner), sender=owner)
    record = kit.record()
    signature = kit.sign_record(record, owner_key, user_media)
    with ape.reverts(app.MediaAppInsufficientDeposit, available=0):
        user_media.registerMedia(
            record.as_tuple(), signature, kit.receipts(record), sender=relayer, gas_price=10**9, type=0
        )


def test_delete_media_by_owner_tombstones_and_keeps_proof(user_media, app, kit, owner, owner_key):
    record = kit.record()
    register(user_media, kit, record, owner_key, owner)
    media_id = kit.record_id(record, user_media)
    tx = user_media.deleteMedia(media_id, sender=owner)
    (deleted,) = tx.decode_logs(user_media.MediaDeleted)
    assert (deleted.mediaId, deleted.owner, deleted.sha256, deleted.sender) == (
        media_id,
        owner.address,
        record.sha256,
        owner.address,
    )
    assert user_media.media(media_id).deleted
    assert app.proofOf(record.sha256).owner == owner.address
    with ape.reverts(user_media.UserMediaAlreadyDeleted, mediaId=media_id):
        user_media.deleteMedia(media_id, sender=owner)


def test_delete_media_by_stranger_reverts(user_media, kit, owner, owner_key, stranger):
    record = kit.record()
    register(user_media, kit, record, owner_key, owner)
    with ape.reverts(user_media.UserMediaNotOwner, caller=stranger.address):
        user_media.deleteMedia(kit.record_id(record, user_media), sender=stranger)


def test_delete_media_unknown_id_reverts(user_media, owner):
    unknown = random_sha()
    with ape.reverts(user_media.UserMediaUnknownMedia, mediaId=unknown):
        user_media.deleteMedia(unknown, sender=owner)


def test_delete_media_by_sig_sent_by_anyone(user_media, kit, owner, owner_key, stranger):
    record = kit.record()
    register(user_media, kit, record, owner_key, owner)
    media_id = kit.record_id(record, user_media)
    order = eip712.DeleteMedia(media_id, nonce=99, deadline=kit.deadline())
    tx = user_media.deleteMediaBySig(
        delete_tuple(order), kit.sign_delete(order, owner_key, user_media), sender=stranger
    )
    assert tx.decode_logs(user_media.MediaDeleted)[0].sender == stranger.address
    assert user_media.media(media_id).deleted
    assert user_media.nonceUsed(99)


def test_delete_media_by_sig_rejects_forgery_expiry_and_shared_nonce(user_media, kit, owner, owner_key, stranger):
    record = kit.record(nonce=5)
    register(user_media, kit, record, owner_key, owner)
    media_id = kit.record_id(record, user_media)
    order = eip712.DeleteMedia(media_id, nonce=6, deadline=kit.deadline())
    with ape.reverts(user_media.UserMediaBadOwnerSignature, recovered=stranger.address):
        user_media.deleteMediaBySig(
            delete_tuple(order), kit.sign_delete(order, private_key(stranger), user_media), sender=stranger
        )
    expired = eip712.DeleteMedia(media_id, nonce=6, deadline=kit.deadline(-5))
    with ape.reverts(user_media.UserMediaSignatureExpired):
        user_media.deleteMediaBySig(
            delete_tuple(expired), kit.sign_delete(expired, owner_key, user_media), sender=stranger
        )
    # Records and delete orders share one nonce space.
    reused = eip712.DeleteMedia(media_id, nonce=5, deadline=kit.deadline())
    with ape.reverts(user_media.UserMediaNonceUsed, nonce=5):
        user_media.deleteMediaBySig(delete_tuple(reused), kit.sign_delete(reused, owner_key, user_media), sender=owner)


def test_initialize_twice_reverts(user_media, implementation, stranger):
    with ape.reverts(user_media.UserMediaAlreadyInitialized):
        user_media.initialize(stranger, stranger, stranger, sender=stranger)
    with ape.reverts(implementation.UserMediaAlreadyInitialized):
        implementation.initialize(stranger, stranger, stranger, sender=stranger)


def test_clone_reports_its_owner_and_contracts(user_media, app, topology, owner):
    assert user_media.owner() == owner.address
    assert user_media.mediaApp() == app.address
    assert user_media.topology() == topology.address
    assert user_media.mediaCount() == 0
    assert not user_media.nonceUsed(1)
    assert user_media.media(random_sha()).timestamp == 0
