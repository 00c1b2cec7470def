"""Pure rules of the observer: when a cluster is marked Down or Active again, and where a lost copy goes.

No I/O: the service feeds in check results and the chain's statuses and carries out what comes back.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from mediaproof.ring import ClusterRing
from mediaproof.topology import ClusterStatus


@dataclass
class HealthTracker:
    """Counts failed checks in a row per cluster.

    - An Active cluster that failed `failures_to_down` checks in a row is to be marked Down.
    - A Down cluster that passes a check is to be marked Active, but only if this observer marked it Down: a cluster
      the admin took down (maintenance) stays down until the admin says otherwise. Draining is the admin's too.
    """

    failures_to_down: int
    failures: dict[int, int] = field(default_factory=dict)

    def observe(
        self, cluster_id: int, healthy: bool, status: ClusterStatus, marked_down_by_us: bool
    ) -> ClusterStatus | None:
        """The status to set now, or None to leave the cluster as it is."""
        if healthy:
            self.failures[cluster_id] = 0
            if status is ClusterStatus.DOWN and marked_down_by_us:
                return ClusterStatus.ACTIVE
            return None
        count = self.failures.get(cluster_id, 0) + 1
        self.failures[cluster_id] = count
        if status is ClusterStatus.ACTIVE and count >= self.failures_to_down:
            return ClusterStatus.DOWN
        return None


def repair_targets(
    sha256: str, holders: Iterable[int], ring: ClusterRing, healthy: set[int], replication: int
) -> list[int]:
    """Clusters that must take a new copy so that `replication` healthy clusters hold the blob: the next ones of the
    ring (its placement order over every active cluster) that are healthy and lack it. Fewer (or none) when the
    ring runs out of healthy clusters; empty when enough healthy copies exist.

    `healthy`: clusters Active on chain whose last check passed. Copies on Draining or failing clusters do not count.
    """
    held = set(holders)
    missing = replication - len(held & healthy)
    if missing <= 0:
        return []
    active = len(ring.active_ids)
    if active == 0:
        return []
    order = ring.place(sha256, active)
    return [c for c in order if c in healthy and c not in held][:missing]
