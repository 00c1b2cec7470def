"""ClusterRing figures: build time, placements/s, load balance and keys moved on a topology change, beside baselines
(a ring of 100 vnodes per cluster and plain `hash mod N`) measured in the same run. Writes bench/results/ring.txt."""

from __future__ import annotations

import hashlib
import random
import time
from collections import Counter
from pathlib import Path

from mediaproof.ring import DEFAULT_VNODES_PER_WEIGHT, ClusterRing, RingMember
from mediaproof.topology import ClusterStatus

KEYS = [hashlib.sha256(i.to_bytes(8, "big")).digest() for i in range(100_000)]
TOPOLOGIES = [list(range(1, 11))] + [random.Random(seed).sample(range(1, 2**32), 10) for seed in range(4)]


def ring(ids: list[int], vnodes: int) -> ClusterRing:
    return ClusterRing([RingMember(i, 1, ClusterStatus.ACTIVE) for i in ids], vnodes_per_weight=vnodes)


def worst_balance(vnodes: int, replicas: int) -> float:
    worst = 0.0
    for ids in TOPOLOGIES:
        r = ring(ids, vnodes)
        load = Counter(c for k in KEYS for c in r.place(k, replicas))
        worst = max(worst, max(load.values()) / (len(KEYS) * replicas / len(ids)))
    return worst


def moved_on_add(vnodes: int, replicas: int) -> float:
    ids = TOPOLOGIES[0]
    before, after = ring(ids, vnodes), ring([*ids, 11], vnodes)
    return sum(set(before.place(k, replicas)) != set(after.place(k, replicas)) for k in KEYS) / len(KEYS)


def moved_mod_n() -> float:
    def owner(key: bytes, n: int) -> int:
        return int.from_bytes(key[:8], "big") % n

    return sum(owner(k, 10) != owner(k, 11) for k in KEYS) / len(KEYS)


def main() -> None:
    lines = [
        f"ClusterRing, 10 equal clusters, {len(KEYS):,} sha256 keys, "
        f"{len(TOPOLOGIES)} topologies (ids 1..10 and random)"
    ]
    started = time.perf_counter()
    r = ring(TOPOLOGIES[0], DEFAULT_VNODES_PER_WEIGHT)
    build_ms = (time.perf_counter() - started) * 1000
    started = time.perf_counter()
    for k in KEYS:
        r.place(k, 2)
    rate = len(KEYS) / (time.perf_counter() - started)
    lines.append(f"  build ({len(r):,} points, {DEFAULT_VNODES_PER_WEIGHT} vnodes/weight)   {build_ms:8.1f} ms")
    lines.append(f"  place(key, R=2)                              {rate:10,.0f} keys/s")
    for vnodes in (DEFAULT_VNODES_PER_WEIGHT, 100):
        label = "mediaproof" if vnodes == DEFAULT_VNODES_PER_WEIGHT else "baseline  "
        for replicas in (1, 2, 3):
            lines.append(
                f"  {label} {vnodes:5} vnodes R={replicas}: most loaded / mean {worst_balance(vnodes, replicas):.3f}"
                + ("   (goal <= 1.1)" if vnodes == DEFAULT_VNODES_PER_WEIGHT else "")
            )
    for replicas in (1, 2):
        moved = moved_on_add(DEFAULT_VNODES_PER_WEIGHT, replicas)
        lines.append(
            f"  add an 11th cluster, R={replicas}: keys whose clusters changed {moved:.4f}"
            f"   (ideal R/11 = {replicas / 11:.4f})"
        )
    lines.append(f"  baseline hash mod N, 10 -> 11 clusters: keys moved {moved_mod_n():.4f}")
    text = "\n".join(lines)
    print(text)
    out = Path(__file__).resolve().parent / "results" / "ring.txt"
    out.parent.mkdir(exist_ok=True)
    out.write_text(text + "\n")


if __name__ == "__main__":
    main()
