"""StorageTopology: cluster registry (register, update, rotate, status), roles (two-step admin, observers that
cannot overrule the admin nor go below R, gateways), R ≤ active clusters, and the bound, expiring receipt check."""

from __future__ import annotations

import ape
from eth_account import Account
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from mediakit import CLUSTER_COUNT, RECEIPT_LIFETIME, REPLICATION_FACTOR, cluster_key, random_sha

from mediaproof import eip712

ACTIVE, DRAINING, DOWN = 1, 2, 3
SECP256K1_ORDER = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141


def check(topology, record, receipts, kit):
    topology.checkReceipts(record.sha256, record.owner, kit.record_id(record), receipts)


def test_deployed_topology_lists_clusters_in_id_order(topology, admin):
    assert topology.owner() == admin.address
    assert topology.replicationFactor() == REPLICATION_FACTOR
    assert topology.clusterCount() == CLUSTER_COUNT == topology.activeClusterCount()
    assert topology.receiptLifetime() == RECEIPT_LIFETIME
    listed = topology.clusters()
    assert [c.id for c in listed] == [1, 2, 3]
    assert [c.signer for c in listed] == [cluster_key(i).address for i in (1, 2, 3)]
    assert all(c.status == ACTIVE and c.weight == 1 and not c.held for c in listed)
    assert listed[0].endpoint == "http://127.0.0.1:8601"


def test_eip712_domain_is_erc5267(topology, kit):
    fields, name, version, chain_id, verifying, _salt, extensions = topology.eip712Domain()
    assert (name, version, chain_id, verifying) == ("Mediaproof", "1", kit.chain_id, topology.address)
    assert fields == b"\x0f" and list(extensions) == []


def test_constructor_refuses_zero_admin_and_lifetime(project, admin):
    with ape.reverts():
        project.StorageTopology.deploy(ape.utils.ZERO_ADDRESS, RECEIPT_LIFETIME, sender=admin)
    with ape.reverts(project.StorageTopology.TopologyInvalidLifetime):
        project.StorageTopology.deploy(admin, 0, sender=admin)


def test_register_cluster_emits_and_indexes_signer(topology, admin):
    signer = Account.create().address
    tx = topology.registerCluster(signer, 7, "http://cluster-4", sender=admin)
    (event,) = tx.decode_logs(topology.ClusterRegistered)
    assert (event.clusterId, event.signer, event.weight, event.endpoint) == (4, signer, 7, "http://cluster-4")
    assert topology.cluster(4).signer == signer
    assert topology.clusterOfSigner(signer) == 4
    assert topology.isActiveSigner(signer)
    assert topology.clusterCount() == 4 == topology.activeClusterCount()


def test_register_cluster_rejects_bad_input(topology, admin, stranger):
    with ape.reverts(topology.OwnableUnauthorizedAccount, account=stranger.address):
        topology.registerCluster(Account.create().address, 1, "x", sender=stranger)
    with ape.reverts(topology.TopologyZeroAddress):
        topology.registerCluster(ape.utils.ZERO_ADDRESS, 1, "x", sender=admin)
    with ape.reverts(topology.TopologySignerInUse, signer=cluster_key(2).address, clusterId=2):
        topology.registerCluster(cluster_key(2).address, 1, "x", sender=admin)
    with ape.reverts(topology.TopologyInvalidWeight, weight=0):
        topology.registerCluster(Account.create().address, 0, "x", sender=admin)


def test_update_cluster_changes_weight_and_endpoint(topology, admin, stranger):
    tx = topology.updateCluster(2, 3, "http://moved", sender=admin)
    assert tx.decode_logs(topology.ClusterUpdated)[0].endpoint == "http://moved"
    assert (topology.cluster(2).weight, topology.cluster(2).endpoint) == (3, "http://moved")
    with ape.reverts(topology.TopologyUnknownCluster, clusterId=42):
        topology.updateCluster(42, 1, "x", sender=admin)
    with ape.reverts(topology.TopologyInvalidWeight, weight=0):
        topology.updateCluster(2, 0, "x", sender=admin)
    with ape.reverts(topology.OwnableUnauthorizedAccount):
        topology.updateCluster(2, 1, "x", sender=stranger)


def test_rotate_signer_moves_the_key(topology, admin, stranger):
    new = Account.create().address
    old = cluster_key(1).address
    tx = topology.rotateSigner(1, new, sender=admin)
    (event,) = tx.decode_logs(topology.ClusterSignerRotated)
    assert (event.clusterId, event.oldSigner, event.newSigner) == (1, old, new)
    assert topology.clusterOfSigner(old) == 0 and not topology.isActiveSigner(old)
    assert topology.clusterOfSigner(new) == 1 and topology.isActiveSigner(new)
    with ape.reverts(topology.TopologySignerInUse, signer=new, clusterId=1):
        topology.rotateSigner(2, new, sender=admin)
    with ape.reverts(topology.TopologyZeroAddress):
        topology.rotateSigner(2, ape.utils.ZERO_ADDRESS, sender=admin)
    with ape.reverts(topology.TopologyUnknownCluster, clusterId=0):
        topology.rotateSigner(0, Account.create().address, sender=admin)
    with ape.reverts(topology.OwnableUnauthorizedAccount):
        topology.rotateSigner(2, Account.create().address, sender=stranger)


def test_observer_marks_down_and_up_and_emits(topology, admin, accounts):
    observer = accounts[6]
    with ape.reverts(topology.TopologyNotObserver, caller=observer.address):
        topology.setClusterStatus(1, DOWN, sender=observer)
    assert topology.setObserver(observer, True, sender=admin).decode_logs(topology.ObserverSet)[0].allowed
    tx = topology.setClusterStatus(1, DOWN, sender=observer)
    (event,) = tx.decode_logs(topology.ClusterStatusChanged)
    assert (event.clusterId, event.status, event.changedBy, event.held) == (1, DOWN, observer.address, False)
    assert not topology.isActiveSigner(cluster_key(1).address)
    assert topology.activeClusterCount() == 2
    topology.setClusterStatus(1, ACTIVE, sender=observer)
    assert topology.activeClusterCount() == 3 and topology.isActiveSigner(cluster_key(1).address)
    topology.setObserver(observer, False, sender=admin)
    with ape.reverts(topology.TopologyNotObserver):
        topology.setClusterStatus(1, DOWN, sender=observer)


def test_observer_cannot_revive_a_cluster_the_admin_took_down(topology, admin, accounts):
    """A leaked key: the admin takes the cluster Down; the observer's health check must not bring it back."""
    observer = accounts[6]
    topology.setObserver(observer, True, sender=admin)
    tx = topology.setClusterStatus(2, DOWN, sender=admin)
    assert tx.decode_logs(topology.ClusterStatusChanged)[0].held
    assert topology.cluster(2).held
    with ape.reverts(topology.TopologyClusterHeld, clusterId=2):
        topology.setClusterStatus(2, ACTIVE, sender=observer)
    topology.setClusterStatus(2, DRAINING, sender=admin)
    with ape.reverts(topology.TopologyClusterHeld, clusterId=2):
        topology.setClusterStatus(2, DOWN, sender=observer)
    # The admin's Active releases the hold.
    topology.setClusterStatus(2, ACTIVE, sender=admin)
    assert not topology.cluster(2).held
    topology.setClusterStatus(2, DOWN, sender=observer)


def test_observer_cannot_take_clusters_below_r_nor_drain(topology, admin, accounts):
    observer = accounts[6]
    topology.setObserver(observer, True, sender=admin)
    topology.setClusterStatus(1, DOWN, sender=observer)  # 2 left == R
    with ape.reverts(topology.TopologyInvalidFactor, factor=REPLICATION_FACTOR, active=1):
        topology.setClusterStatus(2, DOWN, sender=observer)
    with ape.reverts(topology.TopologyInvalidStatus, status=DRAINING):
        topology.setClusterStatus(3, DRAINING, sender=observer)
    with ape.reverts(topology.TopologyInvalidStatus, status=0):
        topology.setClusterStatus(3, 0, sender=admin)
    with ape.reverts(topology.TopologyUnknownCluster, clusterId=99):
        topology.setClusterStatus(99, ACTIVE, sender=observer)
    # The admin may (a key leak must come out at once, whatever R says).
    topology.setClusterStatus(2, DOWN, sender=admin)
    assert topology.activeClusterCount() == 1


def test_replication_factor_at_most_active_clusters(topology, admin, stranger):
    tx = topology.setReplicationFactor(3, sender=admin)
    assert tx.decode_logs(topology.ReplicationFactorChanged)[0].factor == 3
    with ape.reverts(topology.TopologyInvalidFactor, factor=4, active=3):
        topology.setReplicationFactor(4, sender=admin)
    with ape.reverts(topology.TopologyInvalidFactor, factor=0, active=3):
        topology.setReplicationFactor(0, sender=admin)
    with ape.reverts(topology.OwnableUnauthorizedAccount):
        topology.setReplicationFactor(1, sender=stranger)
    topology.setReplicationFactor(2, sender=admin)
    topology.setClusterStatus(3, DOWN, sender=admin)
    with ape.reverts(topology.TopologyInvalidFactor, factor=3, active=2):
        topology.setReplicationFactor(3, sender=admin)


def test_gateways_are_set_by_the_admin_only(topology, admin, stranger):
    gateway = Account.create().address
    assert not topology.isGateway(gateway)
    tx = topology.setGateway(gateway, True, sender=admin)
    assert (tx.decode_logs(topology.GatewaySet)[0].gateway, tx.decode_logs(topology.GatewaySet)[0].allowed) == (
        gateway,
        True,
    )
    assert topology.isGateway(gateway)
    with ape.reverts(topology.OwnableUnauthorizedAccount, account=stranger.address):
        topology.setGateway(stranger, True, sender=stranger)
    with ape.reverts(topology.TopologyZeroAddress):
        topology.setGateway(ape.utils.ZERO_ADDRESS, True, sender=admin)
    topology.setGateway(gateway, False, sender=admin)
    assert not topology.isGateway(gateway)


def test_admin_handover_takes_two_steps_and_never_reaches_zero(topology, admin, stranger, accounts):
    topology.transferOwnership(stranger, sender=admin)
    # Nothing moves until the new admin accepts; the old admin still rules meanwhile.
    assert topology.owner() == admin.address and topology.pendingOwner() == stranger.address
    with ape.reverts(topology.OwnableUnauthorizedAccount, account=accounts[7].address):
        topology.acceptOwnership(sender=accounts[7])
    topology.acceptOwnership(sender=stranger)
    assert topology.owner() == stranger.address
    with ape.reverts(topology.OwnableUnauthorizedAccount, account=admin.address):
        topology.setReplicationFactor(1, sender=admin)
    # Handing over to zero only cancels: the zero address can never accept.
    topology.transferOwnership(ape.utils.ZERO_ADDRESS, sender=stranger)
    assert topology.owner() == stranger.address
    with ape.reverts(topology.TopologyCannotRenounce):
        topology.renounceOwnership(sender=stranger)
    assert topology.owner() == stranger.address


def test_check_receipts_accepts_bound_fresh_receipts(topology, kit, owner):
    record = kit.record(owner)
    check(topology, record, kit.receipts(record, (3, 1, 2)), kit)


def test_check_receipts_lifted_to_another_owner_fail(topology, kit, owner, other_owner):
    """Receipts copied out of a victim's pending registration vouch for nothing in the attacker's record."""
    victim = kit.record(owner)
    lifted = kit.receipts(victim)
    attacker = kit.record(other_owner, sha256=victim.sha256)
    with ape.reverts(topology.TopologyBadReceiptSignature, clusterId=1):
        check(topology, attacker, lifted, kit)
    # Even a receipt naming the attacker as owner but another record (media id) does not count.
    other_record = kit.receipts(attacker, media_id=random_sha())
    with ape.reverts(topology.TopologyBadReceiptSignature, clusterId=1):
        check(topology, attacker, other_record, kit)


def test_check_receipts_expire_and_refuse_the_future(topology, kit, owner, chain):
    record = kit.record(owner)
    now = kit.now
    stale = now - RECEIPT_LIFETIME - 100
    with ape.reverts(topology.TopologyReceiptExpired, clusterId=1, issuedAt=stale):
        check(topology, record, kit.receipts(record, issued_at=stale), kit)
    for far in (now + 3600, 16725225600, 2**64 - 1):  # an hour ahead, the year 2500, the end of uint64
        with ape.reverts(topology.TopologyReceiptFromFuture, clusterId=1, issuedAt=far):
            check(topology, record, kit.receipts(record, issued_at=far), kit)
    with ape.reverts(topology.TopologyReceiptExpired, clusterId=1, issuedAt=0):
        check(topology, record, kit.receipts(record, issued_at=0), kit)
    # A receipt valid now is refused once its lifetime has passed.
    fresh = kit.receipts(record)
    chain.mine(timestamp=kit.now + RECEIPT_LIFETIME + 100)
    with ape.reverts(topology.TopologyReceiptExpired, clusterId=1):
        check(topology, record, fresh, kit)


def test_check_receipts_draining_cluster_is_not_active(topology, kit, admin, owner):
    topology.setClusterStatus(3, DRAINING, sender=admin)
    record = kit.record(owner)
    with ape.reverts(topology.TopologyClusterNotActive, clusterId=3, status=DRAINING):
        check(topology, record, kit.receipts(record, (1, 3)), kit)


def test_check_receipts_rejects_high_s_and_bad_v(topology, kit, owner):
    record = kit.record(owner)
    cluster_id, issued_at, signature = kit.receipt(record, 1)
    r, s, v = signature[:32], int.from_bytes(signature[32:64], "big"), signature[64]
    # The same signature in its malleable twin form (n - s, flipped v) recovers the same key: it must not count.
    twin = r + (SECP256K1_ORDER - s).to_bytes(32, "big") + bytes([55 - v])
    bad_v = signature[:64] + bytes([v + 2])
    for forged in (twin, bad_v, signature[:64], b""):
        receipts = [(cluster_id, issued_at, forged), kit.receipt(record, 2)]
        with ape.reverts(topology.TopologyBadReceiptSignature, clusterId=1, recovered=ape.utils.ZERO_ADDRESS):
            check(topology, record, receipts, kit)


def test_check_receipts_signed_by_another_clusters_key(topology, kit, owner):
    record = kit.record(owner)
    receipts = [kit.receipt(record, 1, cluster_key(2)), kit.receipt(record, 2)]
    with ape.reverts(topology.TopologyBadReceiptSignature, clusterId=1, recovered=cluster_key(2).address):
        check(topology, record, receipts, kit)


def test_check_receipts_duplicates_unknown_and_too_few(topology, kit, owner):
    record = kit.record(owner)
    with ape.reverts(topology.TopologyDuplicateReceipt, clusterId=1):
        check(topology, record, [kit.receipt(record, 1), kit.receipt(record, 1, issued_at=kit.now - 5)], kit)
    with ape.reverts(topology.TopologyClusterNotActive, clusterId=9, status=0):
        check(topology, record, [kit.receipt(record, 1), kit.receipt(record, 9)], kit)
    with ape.reverts(topology.TopologyTooFewReceipts, given=1, required=2):
        check(topology, record, kit.receipts(record, (1,)), kit)


def test_check_receipts_after_rotation_needs_the_new_key(topology, kit, admin, owner):
    new_key = Account.create()
    topology.rotateSigner(1, new_key.address, sender=admin)
    record = kit.record(owner)
    with ape.reverts(topology.TopologyBadReceiptSignature, clusterId=1, recovered=cluster_key(1).address):
        check(topology, record, kit.receipts(record), kit)
    check(topology, record, [kit.receipt(record, 1, new_key), kit.receipt(record, 2)], kit)


byte32 = st.binary(min_size=32, max_size=32)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    cluster_id=st.integers(min_value=0, max_value=2**32 - 1),
    sha=byte32,
    media_id=byte32,
    issued_at=st.integers(min_value=0, max_value=2**64 - 1),
    owner_key=st.binary(min_size=32, max_size=32).filter(lambda k: 0 < int.from_bytes(k, "big") < SECP256K1_ORDER),
)
def test_receipt_digest_fuzz_equals_mediaproof_eip712(topology, kit, cluster_id, sha, media_id, issued_at, owner_key):
    owner = Account.from_key(owner_key).address
    receipt = eip712.StorageReceipt(cluster_id, sha, owner, media_id, issued_at)
    expected = eip712.digest(eip712.receipt_typed_data(receipt, kit.chain_id, str(topology.address)))
    assert topology.receiptDigest(cluster_id, sha, owner, media_id, issued_at) == expected
