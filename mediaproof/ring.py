"""ClusterRing: places a content hash on R distinct active storage clusters by consistent hashing.

Pure (no I/O): built from StorageTopology's clusters (id, weight, status), the same in every process.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any, NamedTuple

import numpy as np

from mediaproof.errors import InputError
from mediaproof.topology import ClusterStatus

# Enough virtual nodes that, with 10 equal clusters, the most loaded one stays well under 1.1x the mean for any set
# of cluster ids. Measured exact ring shares over 600 random 10-cluster topologies: worst 1.063x, p99 1.048x at
# 4000 (1.078x and 1.065x at 2000). Weights are small integers (1 = a standard cluster): points = weight * this.
DEFAULT_VNODES_PER_WEIGHT = 4000
# Points live in numpy arrays (12 bytes each), so 1,000 standard clusters (4 M points) build in ~5 s (the blake2b
# of each point) in ~50 MB; Python lists of ints took 18 s and 600 MB and forced a cap at 2 M points, which refused
# the 1,000-cluster topology bench/simulate.py plans for. Past this cap the weights are surely not small integers.
MAX_RING_POINTS = 1 << 23

_UINT32_MAX = (1 << 32) - 1
_UINT16_MAX = (1 << 16) - 1
_POINT_BYTES = 8  # 64-bit ring positions: collisions between vnode points are practically impossible
_KEY_PERSON = b"mp-ring-key"  # separates key positions from vnode positions


# Draining clusters still hold the copies they took while active, so reads may use them; new copies go elsewhere.
_READABLE = frozenset({ClusterStatus.ACTIVE, ClusterStatus.DRAINING})
_PLACEABLE = frozenset({ClusterStatus.ACTIVE})


@dataclass(frozen=True, slots=True)
class RingMember:
    """The part of a StorageTopology `Cluster` that placement depends on."""

    id: int
    weight: int
    status: ClusterStatus


class RingArcs(NamedTuple):
    """`ClusterRing.arcs`: `shares[k]` of all keys fall in arc k, and `owners[k]` (R cluster ids, primary first)
    are where `place` puts each of them."""

    shares: np.ndarray  # float64, one per arc
    owners: np.ndarray  # uint32, shape (arcs, R)


class ClusterRing:
    """Consistent-hash ring with weighted virtual nodes over storage clusters.

    Every cluster known to the topology (Active, Draining or Down; `None` means unregistered and is dropped)
    owns `weight * vnodes_per_weight` points at blake2b(f"{id}#{vnode}"). A point depends only on its own
    cluster, so adding or removing a cluster moves only the keys that land on, or leave, that cluster.

    - `place(key, R)` walks clockwise from the key and takes the first R distinct *Active* clusters. Skipping
      non-active points is the same as walking a ring of only the active clusters, so a cluster going Down or
      Draining moves exactly the keys it held, each to the next active cluster (where repair copies them).
    - `preference_list(key, n)` walks the same way over the *readable* clusters (Active and Draining) in ring
      order: the clusters that took a copy, in the order a reader should try them. Down clusters are left out.
    """

    __slots__ = ("_active_ids", "_members", "_owners", "_points", "_readable_count", "vnodes_per_weight")

    def __init__(self, members: Iterable[Any], vnodes_per_weight: int = DEFAULT_VNODES_PER_WEIGHT):
        if isinstance(vnodes_per_weight, bool) or not isinstance(vnodes_per_weight, int) or vnodes_per_weight < 1:
            raise InputError(f"vnodes_per_weight must be a positive integer, got {vnodes_per_weight!r}")
        self.vnodes_per_weight = vnodes_per_weight
        by_id: dict[int, RingMember] = {}
        for member in map(_member, members):
            if member.id in by_id:
                raise InputError(f"cluster id {member.id} appears twice in the topology; ids must be unique")
            if member.status is not ClusterStatus.NONE:
                by_id[member.id] = member
        self._members = dict(sorted(by_id.items()))
        self._active_ids = [i for i, m in self._members.items() if m.status is ClusterStatus.ACTIVE and m.weight > 0]
        self._readable_count = sum(1 for m in self._members.values() if m.status in _READABLE and m.weight > 0)
        total = sum(m.weight for m in self._members.values()) * vnodes_per_weight
        if total > MAX_RING_POINTS:
            raise InputError(
                f"the ring would have {total} points (sum of weights x vnodes_per_weight {vnodes_per_weight}), "
                f"over {MAX_RING_POINTS}; use small integer weights or a lower vnodes_per_weight"
            )
        members = [m for m in self._members.values() if m.weight]
        points = np.concatenate(
            [_vnode_points(m.id, m.weight * vnodes_per_weight) for m in members] or [np.empty(0, np.uint64)]
        )
        owners = np.concatenate(
            [np.full(m.weight * vnodes_per_weight, m.id, np.uint32) for m in members] or [np.empty(0, np.uint32)]
        )
        # Sorted by position; ties (never seen with 64-bit positions) break by cluster id, identically everywhere.
        order = np.lexsort((owners, points))
        self._points = points[order]
        self._owners = owners[order]

    @classmethod
    def from_clusters(cls, clusters: Iterable[Any], vnodes_per_weight: int = DEFAULT_VNODES_PER_WEIGHT) -> ClusterRing:
        """Build from StorageTopology clusters: objects with `id`, `weight`, `status` attributes
        (mediaproof.topology.Cluster, RingMember, Ape structs) or mappings with those keys; never tuples by
        position (read the chain through mediaproof.topology, which decodes by the ABI's field names)."""
        return cls(clusters, vnodes_per_weight=vnodes_per_weight)

    @property
    def members(self) -> Mapping[int, RingMember]:
        """Clusters on the ring by id (unregistered `None` entries dropped)."""
        return dict(self._members)

    @property
    def active_ids(self) -> list[int]:
        """Ids of clusters that take new copies, in ascending order."""
        return list(self._active_ids)

    def __len__(self) -> int:
        return len(self._points)

    def place(self, content_sha256: bytes | str, replicas: int) -> list[int]:
        """The R distinct active clusters that must hold these bytes, primary first."""
        if isinstance(replicas, bool) or not isinstance(replicas, int) or replicas < 1:
            raise InputError(f"replicas must be an integer of at least 1, got {replicas!r}")
        if len(self._active_ids) < replicas:
            active = self._active_ids
            raise InputError(
                f"placing {replicas} copies needs {replicas} active clusters with weight > 0, "
                f"but the topology has {len(active)} ({active or 'none'}); register or reactivate clusters, "
                f"or lower the replication factor"
            )
        return self._walk(_key_point(content_sha256), replicas, _PLACEABLE)

    def preference_list(self, content_sha256: bytes | str, n: int | None = None) -> list[int]:
        """Up to n readable (Active or Draining) clusters in ring order from the key: try them in this order.

        Returns fewer than n (possibly none) when fewer clusters are readable; the caller decides if that is fatal.
        """
        if n is not None and (isinstance(n, bool) or not isinstance(n, int) or n < 1):
            raise InputError(f"n must be a positive integer or None (all clusters), got {n!r}")
        position = _key_point(content_sha256)
        want = self._readable_count if n is None else min(n, self._readable_count)
        if want == 0:
            return []
        return self._walk(position, want, _READABLE)

    def arcs(self, replicas: int, down: frozenset[int] = frozenset()) -> RingArcs:
        """Every arc of the ring with the share of all keys it takes (its length over the ring's) and the R clusters
        `place` gives each of its keys, as if the clusters in `down` were Down: the ring's exact load, for capacity
        planning (bench/simulate.py), with no sampling. Arc k is the keys in [point k-1, point k) (arc 0 wraps
        round), so arc k is the same keys for any `down`; the shares sum to 1 (points at the same position leave
        arcs of share 0). Computed over numpy arrays: a 1,000-cluster ring has 4 M arcs."""
        placeable = [i for i in self._active_ids if i not in down]
        if len(placeable) < replicas:
            raise InputError(f"placing {replicas} copies needs {replicas} active clusters")
        points, owners = self._points, self._owners
        lengths = np.ones(len(points), np.float64)  # one point alone: its arc is the whole ring
        if len(points) > 1:
            lengths[1:] = np.diff(points)
            # Array arithmetic on uint64 wraps modulo 2**64: the first arc runs from the last point round to the first.
            lengths[0] = (points[:1] - points[-1:])[0]
        lengths /= lengths.sum()
        # `place` skips points of clusters that take no copies: walk the ring of placeable points only, then give
        # each arc the walk from the first placeable point at or after it.
        at = np.flatnonzero(np.isin(owners, np.array(placeable, np.uint32)))
        ring = owners[at]
        m = len(ring)
        chosen = np.zeros((m, replicas), np.uint32)
        chosen[:, 0] = ring
        cursor = np.arange(m)
        for r in range(1, replicas):
            cursor += 1
            pending = np.arange(m)
            while pending.size:
                candidate = ring[cursor[pending] % m]
                taken = np.zeros(pending.size, bool)
                for earlier in range(r):
                    taken |= candidate == chosen[pending, earlier]
                chosen[pending[~taken], r] = candidate[~taken]
                pending = pending[taken]
                cursor[pending] += 1
        start = np.searchsorted(at, np.arange(len(points))) % m
        return RingArcs(lengths, chosen[start])

    def _walk(self, position: int, want: int, statuses: frozenset[ClusterStatus]) -> list[int]:
        # Callers check that `want` distinct eligible clusters exist, so this loop ends within one lap.
        members = self._members
        chosen: list[int] = []
        start = int(self._points.searchsorted(np.uint64(position), "right"))
        for owner in self._owners_from(start):
            if owner not in chosen and members[owner].status in statuses:
                chosen.append(owner)
                if len(chosen) == want:
                    break
        return chosen

    def _owners_from(self, start: int) -> Iterator[int]:
        """The owners of one lap of points clockwise from index `start`, read in small slices: R distinct clusters
        are usually within the first few points, and indexing a numpy array one scalar at a time is slow."""
        owners, n = self._owners, len(self._owners)
        for offset in range(0, n, 64):
            lo, hi = start + offset, start + min(offset + 64, n)
            if hi <= n:
                yield from owners[lo:hi].tolist()
            else:  # the slice wraps past the last point
                yield from owners.take(np.arange(lo, hi), mode="wrap").tolist()


def _vnode_points(cluster_id: int, count: int) -> np.ndarray:
    """Positions of blake2b(f"{cluster_id}#{vnode}") for vnode 0..count-1 (the prefix is hashed once)."""
    prefix = hashlib.blake2b(f"{cluster_id}#".encode(), digest_size=_POINT_BYTES)
    digests = bytearray()
    for vnode in range(count):
        h = prefix.copy()
        h.update(str(vnode).encode())
        digests += h.digest()
    return np.frombuffer(bytes(digests), dtype=">u8").astype(np.uint64)


def _key_point(content_sha256: bytes | str) -> int:
    key = _key_bytes(content_sha256)
    # Re-hashed so that keys which are not uniformly distributed (test vectors, truncated ids) still spread.
    return int.from_bytes(hashlib.blake2b(key, digest_size=_POINT_BYTES, person=_KEY_PERSON).digest(), "big")


def _key_bytes(content_sha256: bytes | str) -> bytes:
    if isinstance(content_sha256, bytes | bytearray | memoryview):
        key = bytes(content_sha256)
    elif isinstance(content_sha256, str):
        text = content_sha256[2:] if content_sha256[:2] in ("0x", "0X") else content_sha256
        try:
            key = bytes.fromhex(text)
        except ValueError:
            raise InputError(
                f"placement key {content_sha256!r} is not hex; give the 32-byte sha256 as bytes or 64 hex digits"
            ) from None
    else:
        raise InputError(
            "placement key must be the 32-byte sha256 of the content (bytes or hex), "
            f"got {type(content_sha256).__name__}"
        )
    if len(key) != 32:
        raise InputError(f"placement key must be a 32-byte sha256, got {len(key)} bytes")
    return key


def _member(cluster: Any) -> RingMember:
    if isinstance(cluster, RingMember):
        fields: tuple[Any, Any, Any] = (cluster.id, cluster.weight, cluster.status)
    elif isinstance(cluster, Mapping):
        try:
            fields = (cluster["id"], cluster["weight"], cluster["status"])
        except KeyError as missing:
            raise InputError(f"cluster {dict(cluster)!r} lacks the field {missing}") from None
    elif all(hasattr(cluster, name) for name in ("id", "weight", "status")):
        fields = (cluster.id, cluster.weight, cluster.status)
    else:
        raise InputError(f"cannot read id, weight and status from cluster {cluster!r}")
    cluster_id, weight, status = fields
    if isinstance(cluster_id, bool) or not isinstance(cluster_id, int) or not 1 <= cluster_id <= _UINT32_MAX:
        raise InputError(f"cluster id must be a uint32 of at least 1 (StorageTopology starts at 1), got {cluster_id!r}")
    if isinstance(weight, bool) or not isinstance(weight, int) or not 0 <= weight <= _UINT16_MAX:
        raise InputError(f"cluster {cluster_id}: weight must be a uint16, got {weight!r}")
    return RingMember(cluster_id, weight, _status(cluster_id, status))


def _status(cluster_id: int, status: Any) -> ClusterStatus:
    try:
        if isinstance(status, str):
            return ClusterStatus[status.upper()]
        if isinstance(status, bool):
            raise ValueError(status)
        return ClusterStatus(status)
    except (KeyError, ValueError):
        names = ", ".join(f"{s.value}={s.name.title()}" for s in ClusterStatus)
        raise InputError(f"cluster {cluster_id}: unknown status {status!r}; expected one of {names}") from None
