"""Simulation of the notes' scale (issue 12): 1,000 storage clusters, 500,000 uploads a day for 30 days, R = 2 and 3.

Placement is the real ClusterRing (mediaproof/ring.py), read exactly from its arcs (ClusterRing.arcs: every arc's
share of all keys and the R clusters it maps to), not sampled. For each R it prints:
- ring balance: the most loaded cluster over the mean (baseline: `hash mod N`-style perfect balance is 1.00, and a
  ring of 100 vnodes per cluster, measured in the same run);
- storage per cluster after 30 days (mean and max);
- bytes moved when 1 and when 10 clusters are lost (the copies that must be made again, each to where the ring now
  places it), the bytes lost outright (keys whose every copy was on a lost cluster), and repair time at the stated
  per-cluster bandwidth (the busiest cluster's sending or receiving decides);
- gas per day for direct registration vs batched anchoring, on mainnet and on an L2, at the stated prices with the
  gas figures measured by bench/gas.py (bench/results/gas.md).

Run: `.venv/bin/python bench/simulate.py` (under a minute); writes bench/results/simulate.txt. Never fails a build.
"""

from __future__ import annotations

import random
import time
from pathlib import Path

import numpy as np

from mediaproof.ring import DEFAULT_VNODES_PER_WEIGHT, ClusterRing, RingArcs, RingMember
from mediaproof.topology import ClusterStatus

RESULTS = Path(__file__).resolve().parent / "results" / "simulate.txt"

# --- the scenario (the notes: bench/../../shared/seeds, issue 12) ---
CLUSTERS = 1_000
UPLOADS_PER_DAY = 500_000
DAYS = 30
MEAN_FILE_BYTES = 200_000  # the notes' average photo/video size (200 KB); variants add ~15 % (small, medium)
VARIANT_OVERHEAD = 1.15
REPLICATIONS = (2, 3)
LOST_SETS = (1, 10)
# --- stated, not measured ---
CLUSTER_BANDWIDTH_BPS = 1e9  # each cluster sends and receives repair traffic at 1 Gbit/s
ETH_USD = 3_000.0
MAINNET_GWEI = 5.0
L2_GWEI = 0.01  # an L2's execution gas price (Base-like); its L1 data fee is in bench/results/gas.md, not here
# --- measured by bench/gas.py (bench/results/gas.md), whole-transaction gas ---
DIRECT_GAS = 116_913  # registerMedia, owner sends, R = 2, no variants
ANCHOR_GAS = 50_499  # anchorBatch of a 1024-leaf root
BATCH_FILES = 1_024


def ring_of(n: int, vnodes: int) -> ClusterRing:
    return ClusterRing([RingMember(i, 1, ClusterStatus.ACTIVE) for i in range(1, n + 1)], vnodes_per_weight=vnodes)


def loads(arcs: RingArcs) -> np.ndarray:
    """Each cluster's share of all copies, indexed by cluster id (shares of one R sum to R)."""
    r = arcs.owners.shape[1]
    return np.bincount(arcs.owners.ravel(), weights=np.repeat(arcs.shares, r), minlength=CLUSTERS + 1)[1:]


def loss(ring: ClusterRing, before: RingArcs, lost: frozenset[int], r: int, total_bytes: float) -> dict[str, float]:
    """Copies to make again after `lost` clusters go Down, where they go, who sends them, and what is gone."""
    # Down clusters keep their points on the ring, so arc k is the same keys before and after.
    after = ring.arcs(r, lost)
    old, new, nbytes = before.owners, after.owners, before.shares * total_bytes
    gone = np.isin(old, np.array(sorted(lost), np.uint32))
    held = r - gone.sum(axis=1)
    lost_bytes = float(nbytes[held == 0].sum())
    # A copy is new where the arc's new owner did not hold it; arcs that lost every copy have nothing to copy from.
    fresh = ~(new[:, :, None] == old[:, None, :]).any(axis=2) & (held > 0)[:, None]
    moved = float((fresh.sum(axis=1) * nbytes).sum())
    received = np.bincount(new[fresh], weights=np.broadcast_to(nbytes[:, None], fresh.shape)[fresh])
    # The k-th new copy of an arc is sent by its (k mod held)-th surviving holder, in the old owners' order.
    survivors_first = np.argsort(gone, axis=1, kind="stable")
    rank = np.cumsum(fresh, axis=1) - 1
    rows = np.nonzero(fresh)[0]
    which = survivors_first[rows, rank[fresh] % held[rows]]
    sent = np.bincount(old[rows, which], weights=nbytes[rows])
    busiest = max(float(sent.max(initial=0.0)), float(received.max(initial=0.0)))
    return {"moved": moved, "lost": lost_bytes, "busiest": busiest, "seconds": busiest * 8 / CLUSTER_BANDWIDTH_BPS}


def gib(n: float) -> str:
    return f"{n / 2**30:,.2f} GiB" if n < 2**40 else f"{n / 2**40:,.2f} TiB"


def usd(gas_per_day: float, gwei: float) -> str:
    return f"${gas_per_day * gwei * 1e-9 * ETH_USD:,.2f}"


def main() -> None:
    started = time.perf_counter()
    files = UPLOADS_PER_DAY * DAYS
    unique_bytes = files * MEAN_FILE_BYTES * VARIANT_OVERHEAD
    vnodes = DEFAULT_VNODES_PER_WEIGHT  # the ring a deployment of this size really builds
    lines = [
        f"scenario: {CLUSTERS:,} clusters (weight 1), {UPLOADS_PER_DAY:,} uploads/day x {DAYS} days = {files:,} files, "
        f"{MEAN_FILE_BYTES / 1e3:.0f} KB mean + {VARIANT_OVERHEAD - 1:.0%} variants = {gib(unique_bytes)} before "
        f"replication; repair at {CLUSTER_BANDWIDTH_BPS / 1e9:g} Gbit/s per cluster",
        f"ring: {vnodes:,} vnodes per cluster (the default; {vnodes * CLUSTERS:,} points)",
    ]
    build = time.perf_counter()
    ring = ring_of(CLUSTERS, vnodes)
    coarse = ring_of(CLUSTERS, 100)
    lines.append(f"ring built in {time.perf_counter() - build:.1f} s")
    rng = random.Random(12)
    for r in REPLICATIONS:
        arcs = ring.arcs(r)
        load = loads(arcs)
        mean = r / CLUSTERS
        coarse_load = loads(coarse.arcs(r))
        stored = unique_bytes * r
        lines.append(f"\nR = {r}")
        top, low, coarse_top = load.max() / mean, load.min() / mean, coarse_load.max() / mean
        lines.append(f"  balance max/mean: {top:.3f} (min/mean {low:.3f}); baseline ring of 100 vnodes: "
                     f"{coarse_top:.3f}; perfect: 1.000")  # fmt: skip
        lines.append(f"  storage per cluster after {DAYS} days: mean {gib(stored / CLUSTERS)}, "
                     f"max {gib(load.max() * unique_bytes)}; total {gib(stored)}")  # fmt: skip
        for count in LOST_SETS:
            lost = frozenset(rng.sample(range(1, CLUSTERS + 1), count))
            found = loss(ring, arcs, lost, r, unique_bytes)
            lines.append(f"  {count:>2} cluster(s) lost: {gib(found['moved'])} copied again "
                         f"({found['moved'] / stored:.2%} of all copies), {gib(found['lost'])} lost outright (every "
                         f"copy on a lost cluster); repair {found['seconds']:,.1f} s: the busiest cluster sends or "
                         f"receives {found['busiest'] / 2**20:,.1f} MiB")  # fmt: skip
    per_day_direct = UPLOADS_PER_DAY * DIRECT_GAS
    anchors = -(-UPLOADS_PER_DAY // BATCH_FILES)
    per_day_batched = anchors * ANCHOR_GAS
    lines.append(f"\ngas per day for {UPLOADS_PER_DAY:,} files (ETH ${ETH_USD:,.0f}):")
    lines.append(f"  direct registration ({DIRECT_GAS:,} gas each): {per_day_direct:,} gas = "
                 f"{usd(per_day_direct, MAINNET_GWEI)} on mainnet at {MAINNET_GWEI} gwei, "
                 f"{usd(per_day_direct, L2_GWEI)} on an L2 at {L2_GWEI} gwei")  # fmt: skip
    lines.append(f"  batched anchoring ({anchors} anchors of {BATCH_FILES} at {ANCHOR_GAS:,} gas): {per_day_batched:,} "
                 f"gas = {usd(per_day_batched, MAINNET_GWEI)} on mainnet, {usd(per_day_batched, L2_GWEI)} on an L2 "
                 f"({per_day_direct / per_day_batched:,.0f}x less)")  # fmt: skip
    lines.append(f"\n({time.perf_counter() - started:.0f} s)")
    text = "\n".join(lines) + "\n"
    print(text, end="")
    RESULTS.write_text(text)


if __name__ == "__main__":
    main()
