"""The observer's pure rules (no processes, despite the folder): when to mark Down or Active, where a copy goes."""

from __future__ import annotations

import hashlib
from functools import cache

from hypothesis import given
from hypothesis import strategies as st

from mediaproof.observer.health import HealthTracker, repair_targets
from mediaproof.ring import ClusterRing, RingMember
from mediaproof.topology import ClusterStatus

ACTIVE, DOWN, DRAINING = ClusterStatus.ACTIVE, ClusterStatus.DOWN, ClusterStatus.DRAINING


def test_marked_down_only_after_enough_failures_in_a_row() -> None:
    tracker = HealthTracker(failures_to_down=3)
    assert tracker.observe(1, False, ACTIVE, False) is None
    assert tracker.observe(1, False, ACTIVE, False) is None
    assert tracker.observe(1, True, ACTIVE, False) is None  # a pass resets the count
    assert tracker.observe(1, False, ACTIVE, False) is None
    assert tracker.observe(1, False, ACTIVE, False) is None
    assert tracker.observe(1, False, ACTIVE, False) is DOWN


def test_active_again_only_when_we_marked_it_down() -> None:
    tracker = HealthTracker(failures_to_down=1)
    assert tracker.observe(1, True, DOWN, True) is ACTIVE
    assert tracker.observe(2, True, DOWN, False) is None  # the admin's decision stands
    assert tracker.observe(3, False, DRAINING, False) is None  # draining is the admin's too
    assert tracker.observe(4, False, DOWN, True) is None  # already down


@cache
def ring(n: int) -> ClusterRing:
    return ClusterRing([RingMember(i, 1, ACTIVE) for i in range(1, n + 1)], vnodes_per_weight=20)


def test_repair_goes_to_the_next_healthy_cluster_of_the_ring() -> None:
    r = ring(3)
    sha = hashlib.sha256(b"x").hexdigest()
    first, second, third = r.place(sha, 3)
    assert repair_targets(sha, [first, second], r, {first, second, third}, 2) == []
    assert repair_targets(sha, [first, second], r, {second, third}, 2) == [third]
    assert repair_targets(sha, [first], r, {third}, 2) == [third]  # one short: no second healthy cluster
    assert repair_targets(sha, [first, second], r, set(), 2) == []


@given(
    key=st.binary(min_size=32, max_size=32),
    holders=st.sets(st.integers(1, 5)),
    healthy=st.sets(st.integers(1, 5)),
    replication=st.integers(1, 4),
)
def test_fuzz_repair_targets_restore_r_healthy_copies_when_possible(
    key: bytes, holders: set[int], healthy: set[int], replication: int
) -> None:
    targets = repair_targets(key.hex(), holders, ring(5), healthy, replication)
    assert set(targets) <= healthy - holders and len(targets) == len(set(targets))
    after = len((holders | set(targets)) & healthy)
    assert after == min(replication, len(healthy)) or after == len(holders & healthy) >= replication
