"""StorageTopology: cluster registry (register, update, rotate, status), roles, R, and the receipt check."""

from __future__ import annotations

import ape
from eth_account import Account
from mediakit import CLUSTER_COUNT, REPLICATION_FACTOR, cluster_key

ACTIVE, DRAINING, DOWN = 1, 2, 3


def test_deployed_topology_lists_clusters_in_id_order(topology, admin):
    assert topology.admin() == admin.address
    assert topology.replicationFactor() == REPLICATION_FACTOR
    assert topology.clusterCount() == CLUSTER_COUNT
    listed = topology.clusters()
    assert [c.id for c in listed] == [1, 2, 3]
    assert [c.signer for c in listed] == [cluster_key(i).address for i in (1, 2, 3)]
    assert all(c.status == ACTIVE and c.weight == 100 for c in listed)
    assert listed[0].endpoint == "http://127.0.0.1:8601"


def test_register_cluster_emits_and_indexes_signer(topology, admin):
    signer = Account.create().address
    tx = topology.registerCluster(signer, 7, "http://cluster-4", sender=admin)
    (event,) = tx.decode_logs(topology.ClusterRegistered)
    assert (event.clusterId, event.signer, event.weight, event.endpoint) == (4, signer, 7, "http://cluster-4")
    assert topology.cluster(4).signer == signer
    assert topology.clusterOfSigner(signer) == 4
    assert topology.isActiveSigner(signer)
    assert topology.clusterCount() == 4


def test_register_cluster_rejects_bad_input(topology, admin, stranger):
    with ape.reverts(topology.TopologyNotAdmin, caller=stranger.address):
        topology.registerCluster(Account.create().address, 1, "x", sender=stranger)
    with ape.reverts(topology.TopologyZeroSigner):
        topology.registerCluster(ape.utils.ZERO_ADDRESS, 1, "x", sender=admin)
    with ape.reverts(topology.TopologySignerInUse, signer=cluster_key(2).address, clusterId=2):
        topology.registerCluster(cluster_key(2).address, 1, "x", sender=admin)
    with ape.reverts(topology.TopologyInvalidWeight, weight=0):
        topology.registerCluster(Account.create().address, 0, "x", sender=admin)


def test_update_cluster_changes_weight_and_endpoint(topology, admin, stranger):
    tx = topology.updateCluster(2, 300, "http://moved", sender=admin)
    assert tx.decode_logs(topology.ClusterUpdated)[0].endpoint == "http://moved"
    assert (topology.cluster(2).weight, topology.cluster(2).endpoint) == (300, "http://moved")
    with ape.reverts(topology.TopologyUnknownCluster, clusterId=42):
        topology.updateCluster(42, 1, "x", sender=admin)
    with ape.reverts(topology.TopologyInvalidWeight, weight=0):
        topology.updateCluster(2, 0, "x", sender=admin)
    with ape.reverts(topology.TopologyNotAdmin):
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
    with ape.reverts(topology.TopologyZeroSigner):
        topology.rotateSigner(2, ape.utils.ZERO_ADDRESS, sender=admin)
    with ape.reverts(topology.TopologyUnknownCluster, clusterId=0):
        topology.rotateSigner(0, Account.create().address, sender=admin)
    with ape.reverts(topology.TopologyNotAdmin):
        topology.rotateSigner(2, Account.create().address, sender=stranger)


def test_set_cluster_status_by_observer(topology, admin, stranger, accounts):
    observer = accounts[6]
    with ape.reverts(topology.TopologyNotObserver, caller=observer.address):
        topology.setClusterStatus(1, DOWN, sender=observer)
    tx = topology.setObserver(observer, True, sender=admin)
    assert tx.decode_logs(topology.ObserverSet)[0].allowed
    assert topology.isObserver(observer)
    tx = topology.setClusterStatus(1, DOWN, sender=observer)
    (event,) = tx.decode_logs(topology.ClusterStatusChanged)
    assert (event.clusterId, event.status, event.changedBy) == (1, DOWN, observer.address)
    assert not topology.isActiveSigner(cluster_key(1).address)
    topology.setClusterStatus(1, DRAINING, sender=admin)
    assert topology.cluster(1).status == DRAINING
    with ape.reverts(topology.TopologyInvalidStatus, status=0):
        topology.setClusterStatus(1, 0, sender=admin)
    with ape.reverts(topology.TopologyUnknownCluster, clusterId=99):
        topology.setClusterStatus(99, ACTIVE, sender=observer)
    topology.setObserver(observer, False, sender=admin)
    with ape.reverts(topology.TopologyNotObserver):
        topology.setClusterStatus(1, ACTIVE, sender=observer)
    with ape.reverts(topology.TopologyNotAdmin):
        topology.setObserver(stranger, True, sender=stranger)


def test_set_replication_factor(topology, admin, stranger):
    tx = topology.setReplicationFactor(3, sender=admin)
    assert tx.decode_logs(topology.ReplicationFactorChanged)[0].factor == 3
    assert topology.replicationFactor() == 3
    with ape.reverts(topology.TopologyInvalidFactor, factor=0):
        topology.setReplicationFactor(0, sender=admin)
    with ape.reverts(topology.TopologyNotAdmin):
        topology.setReplicationFactor(1, sender=stranger)


def test_transfer_admin_hands_over_every_admin_call(topology, admin, stranger):
    tx = topology.transferAdmin(stranger, sender=admin)
    (event,) = tx.decode_logs(topology.AdminTransferred)
    assert (event.previousAdmin, event.newAdmin) == (admin.address, stranger.address)
    assert topology.admin() == stranger.address
    with ape.reverts(topology.TopologyNotAdmin, caller=admin.address):
        topology.transferAdmin(admin, sender=admin)
    topology.setReplicationFactor(1, sender=stranger)


def test_check_receipts_returns_vouching_clusters(topology, kit):
    record = kit.record()
    receipts = kit.receipts(record, (3, 1, 2))
    assert list(topology.checkReceipts(record.sha256, record.cid, record.size, receipts)) == [3, 1, 2]


def test_check_receipts_draining_cluster_is_not_active(topology, kit, admin):
    topology.setClusterStatus(3, DRAINING, sender=admin)
    record = kit.record()
    with ape.reverts(topology.TopologyClusterNotActive, clusterId=3, status=DRAINING):
        topology.checkReceipts(record.sha256, record.cid, record.size, kit.receipts(record, (1, 3)))


def test_check_receipts_rejects_high_s_and_bad_v(topology, kit):
    record = kit.record()
    cluster_id, pinned_at, signature = kit.receipt(record, 1)
    r, s, v = signature[:32], int.from_bytes(signature[32:64], "big"), signature[64]
    order = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141
    # The same signature in its malleable twin form (n - s, flipped v) recovers the same key: it must not count.
    twin = r + (order - s).to_bytes(32, "big") + bytes([55 - v])
    bad_v = signature[:64] + bytes([v + 2])
    for forged in (twin, bad_v, signature[:64]):
        receipts = [(cluster_id, pinned_at, forged), kit.receipt(record, 2)]
        with ape.reverts(topology.TopologyBadReceiptSignature, clusterId=1, recovered=ape.utils.ZERO_ADDRESS):
            topology.checkReceipts(record.sha256, record.cid, record.size, receipts)


def test_check_receipts_receipt_signed_by_another_clusters_key(topology, kit):
    record = kit.record()
    receipts = [kit.receipt(record, 1, cluster_key(2)), kit.receipt(record, 2)]
    with ape.reverts(topology.TopologyBadReceiptSignature, clusterId=1, recovered=cluster_key(2).address):
        topology.checkReceipts(record.sha256, record.cid, record.size, receipts)
