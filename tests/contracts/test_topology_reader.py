"""mediaproof.topology against a deployed StorageTopology: the reader decodes clusters() by the ABI's field names
into `Cluster`, agrees with the contract's own view after any sequence of admin changes, and keeps its reading until
the TTL runs out and the head block moves (or it is told to forget)."""

from __future__ import annotations

import re

import pytest
from eth_account import Account
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from mediakit import CLUSTER_COUNT, REPLICATION_FACTOR

from mediaproof.deployment import load_abi
from mediaproof.errors import ChainError
from mediaproof.settings import PROJECT_ROOT
from mediaproof.topology import CLUSTER_FIELDS, Cluster, ClusterStatus, TopologyReader, cluster_fields, decode_cluster

TTL = 2.0


class Clock:
    """A clock the test moves by hand (the reader's TTL is measured on it)."""

    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def reader(chain, topology, clock) -> TopologyReader:
    contract = chain.provider.web3.eth.contract(address=str(topology.address), abi=load_abi("StorageTopology"))
    return TopologyReader(contract, ttl=TTL, clock=clock)


def as_contract_says(struct) -> Cluster:
    """A Cluster from Ape's own decoding of the struct (by name), to hold the reader's against."""
    return Cluster(struct.id, struct.signer, struct.weight, ClusterStatus(struct.status), struct.endpoint, struct.held)


def test_reader_decodes_every_cluster_by_field_name(reader, topology):
    reading = reader.read()
    assert reading.clusters == tuple(as_contract_says(c) for c in topology.clusters())
    assert [c.id for c in reading.clusters] == list(range(1, CLUSTER_COUNT + 1))
    assert all(c.status is ClusterStatus.ACTIVE and not c.held for c in reading.clusters)
    assert reading.replication_factor == REPLICATION_FACTOR
    assert reading.registered == reading.clusters


def test_cluster_status_names_and_numbers_match_the_contract_enum():
    source = (PROJECT_ROOT / "contracts" / "types" / "MediaTypes.sol").read_text()
    body = re.search(r"enum ClusterStatus \{([^}]*)\}", source)
    assert body is not None
    names = [name.strip() for name in body.group(1).split(",")]
    assert [(s.value, s.label) for s in ClusterStatus] == list(enumerate(names))
    assert set(CLUSTER_FIELDS) <= set(cluster_fields(load_abi("StorageTopology")))


def test_decode_follows_the_abi_order_not_a_fixed_one():
    signer = Account.create().address
    fields = ("endpoint", "held", "id", "status", "weight", "signer")  # a reordered struct
    cluster = decode_cluster(fields, ("http://c", True, 7, 2, 3, signer.lower()))
    assert cluster == Cluster(7, signer, 3, ClusterStatus.DRAINING, "http://c", True)
    with pytest.raises(ChainError, match="has 5 fields, the ABI names 6"):
        decode_cluster(fields, ("http://c", True, 7, 2, 3))
    with pytest.raises(ChainError, match="status 9"):
        decode_cluster(fields, ("http://c", True, 7, 9, 3, signer))
    without_held = [{"name": name} for name in CLUSTER_FIELDS if name != "held"]
    abi = [{"type": "function", "name": "clusters", "inputs": [], "outputs": [{"components": without_held}]}]
    with pytest.raises(ChainError, match="has no field held"):
        cluster_fields(abi)


def test_reader_keeps_its_reading_for_the_ttl_then_until_the_head_moves(reader, clock, chain, topology, admin):
    first = reader.read()
    assert reader.reads == 1
    with chain.isolate():
        topology.setClusterStatus(3, int(ClusterStatus.DRAINING), sender=admin)
        assert reader.read() is first and reader.reads == 1  # within the TTL: no call to the chain at all
        clock.now += TTL
        moved = reader.read()
        assert reader.reads == 2 and moved.block_number > first.block_number
        assert moved.clusters[2].status is ClusterStatus.DRAINING and moved.clusters[2].held
        clock.now += 10 * TTL
        assert reader.read() is moved and reader.reads == 2  # TTL over, but the head is the same block
        assert reader.read(max_age=0) is moved and reader.reads == 2
        reader.invalidate()
        again = reader.read()
        assert reader.reads == 3 and again == moved and again is not moved
    # Reverted to before the change: another head, so the next look reads the contract again.
    back = reader.read(max_age=0)
    assert reader.reads == 4 and back.clusters == first.clusters


status_changes = st.lists(
    st.tuples(st.integers(min_value=1, max_value=CLUSTER_COUNT + 2), st.sampled_from(list(ClusterStatus)[1:])),
    max_size=4,
)
registrations = st.lists(
    st.tuples(st.integers(min_value=1, max_value=60), st.text("abcxyz:/.", max_size=12)), max_size=2
)


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(new=registrations, changes=status_changes, factor=st.integers(min_value=1, max_value=CLUSTER_COUNT))
def test_reader_agrees_with_the_contract_after_any_admin_changes_fuzz(
    reader, chain, topology, admin, new, changes, factor
):
    with chain.isolate():
        expected = {c.id: as_contract_says(c) for c in topology.clusters()}
        for weight, endpoint in new:
            signer = Account.create().address
            topology.registerCluster(signer, weight, endpoint, sender=admin)
            cid = len(expected) + 1
            expected[cid] = Cluster(cid, signer, weight, ClusterStatus.ACTIVE, endpoint, False)
        topology.setReplicationFactor(factor, sender=admin)
        for cid, status in changes:
            if cid in expected:
                topology.setClusterStatus(cid, int(status), sender=admin)
                held = status is not ClusterStatus.ACTIVE
                expected[cid] = Cluster(
                    cid, expected[cid].signer, expected[cid].weight, status, expected[cid].endpoint, held
                )
        reading = reader.read(max_age=0)
        assert reading.clusters == tuple(expected[i] for i in sorted(expected))
        assert reading.clusters == tuple(as_contract_says(c) for c in topology.clusters())
        assert reading.replication_factor == factor
    reader.invalidate()
