"""Backfill throughput: decode recorded logs, run the pure handlers and write them with the store (one transaction
per range of blocks), beside DuckDB alone inserting the same rows in the same transactions.

Run: .venv/bin/python bench/indexer_backfill.py [EVENTS]   (writes bench/results/indexer_backfill.txt)
"""

from __future__ import annotations

import hashlib
import sys
import tempfile
import time
from pathlib import Path

from eth_abi import encode

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from indexer.abi import EventDecoder, load_events
from indexer.handlers import ChainEvent, Position, handle
from indexer.store import BlockRef, Store

OWNER = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8"
USER = "0xBA5Cb98A032237C75F0fFd8c08F17C00223A8Eaa"


def recorded_logs(n_media: int) -> list[tuple[int, list[bytes], bytes]]:
    """(block, topics, data) of MediaRegistered (with two receipts) + two MediaVariantRegistered per media: what a
    direct registration with two variants emits."""
    events = {e.name: e for e in load_events()["UserMedia"]}
    owner_topic = bytes(12) + bytes.fromhex(OWNER[2:])
    logs = []
    for i in range(n_media):
        mid = hashlib.sha256(b"m%d" % i).digest()
        sha = hashlib.sha256(b"s%d" % i).digest()
        title = f"holiday photo {i % 977} beach sunset {i}"
        receipts = [(1, 1700000000, b"\x01" * 65), (2, 1700000001, b"\x02" * 65)]
        logs.append(
            (
                i,
                [events["MediaRegistered"].topic0, mid, owner_topic, sha],
                encode(
                    ["string", "uint64", "string", "string", "bytes32", "address", "(uint32,uint64,bytes)[]"],
                    [f"bafk{i}", 1000 + i, "image/jpeg", title, bytes(32), OWNER, receipts],
                ),
            )
        )
        for name in ("small", "poster"):
            logs.append(
                (
                    i,
                    [events["MediaVariantRegistered"].topic0, mid, hashlib.sha256(sha + name.encode()).digest()],
                    encode(["string", "string", "uint64"], [name, f"bafk{name}{i}", 100]),
                )
            )
    return logs


def measure(logs: list[tuple[int, list[bytes], bytes]], blocks_per_range: int, tmp: Path) -> tuple[float, float, int]:
    """Seconds for decode + handlers + store, and for the store alone writing the same prebuilt rows, with one
    transaction per range of `blocks_per_range` blocks; and the number of rows."""
    decoder = EventDecoder(load_events()["UserMedia"])
    ranges: dict[int, list] = {}
    for block, topics, data in logs:
        ranges.setdefault(block // blocks_per_range, []).append((block, topics, data))

    def blocks_of(r: int) -> list[BlockRef]:
        last = r * blocks_per_range + blocks_per_range - 1
        return [BlockRef(last, f"0x{last:064x}", f"0x{last - 1:064x}", 1700000000)]

    store = Store(tmp / f"full-{blocks_per_range}.duckdb")
    t = time.perf_counter()
    all_writes = []
    for r, items in ranges.items():
        writes = []
        for log_index, (block, topics, data) in enumerate(items):
            name, args = decoder.decode(topics, data)
            event = ChainEvent(
                "UserMedia", USER, name, args, Position(block, 0, log_index), "0x" + "ab" * 32, 1700000000
            )
            writes.extend(handle(event).writes)
        all_writes.append((r, writes))
        store.apply(blocks_of(r), writes)
    full = time.perf_counter() - t
    store.close()

    # DuckDB alone: the same rows, already built, inserted in the same transactions.
    store = Store(tmp / f"alone-{blocks_per_range}.duckdb")
    t = time.perf_counter()
    for r, writes in all_writes:
        store.apply(blocks_of(r), writes)
    alone = time.perf_counter() - t
    store.close()
    return full, alone, sum(len(w) for _, w in all_writes)


def main() -> None:
    n_events = int(sys.argv[1]) if len(sys.argv) > 1 else 60_000
    logs = recorded_logs(n_events // 3)
    lines = [f"indexer backfill benchmark: {len(logs):,} recorded events (3 per block), one transaction per range"]
    with tempfile.TemporaryDirectory() as tmp:
        # 100-block ranges (300 events per transaction) and the follower's default 2000-block ranges.
        for blocks_per_range in (100, 2000):
            full, alone, rows = measure(logs, blocks_per_range, Path(tmp))
            lines += [
                f"ranges of {blocks_per_range} blocks ({rows:,} rows):",
                f"  decode + handlers + store : {full:6.2f} s  {len(logs) / full:>10,.0f} events/s  (goal >= 10,000/s)",
                f"  DuckDB alone, same rows   : {alone:6.2f} s  {len(logs) / alone:>10,.0f} events/s",
                f"  decode + handlers share   : {max(full - alone, 0) / full:6.0%}",
            ]
    text = "\n".join(lines)
    print(text)
    (Path(__file__).resolve().parent / "results" / "indexer_backfill.txt").write_text(text + "\n")


if __name__ == "__main__":
    main()
