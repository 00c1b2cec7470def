"""Backfill throughput: decode recorded logs, run the pure handlers and write them with the store (one transaction
per 100-block range), beside DuckDB alone inserting the same rows in the same transactions.

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
BLOCKS_PER_RANGE = 100


def recorded_logs(n_media: int) -> list[tuple[int, list[bytes], bytes]]:
    """(block, topics, data) of MediaRegistered + MediaVariantRegistered + StorageReceiptAccepted per media."""
    events = {e.name: e for e in load_events()["UserMedia"]}
    owner_topic = bytes(12) + bytes.fromhex(OWNER[2:])
    logs = []
    for i in range(n_media):
        mid = hashlib.sha256(b"m%d" % i).digest()
        sha = hashlib.sha256(b"s%d" % i).digest()
        title = f"holiday photo {i % 977} beach sunset {i}"
        logs.append(
            (
                i,
                [events["MediaRegistered"].topic0, mid, owner_topic, sha],
                encode(
                    ["string", "uint64", "string", "string", "bytes32", "uint32[]", "address"],
                    [f"bafk{i}", 1000 + i, "image/jpeg", title, bytes(32), [1], OWNER],
                ),
            )
        )
        logs.append(
            (
                i,
                [events["MediaVariantRegistered"].topic0, mid, sha],
                encode(["string", "string", "uint64"], ["small", f"bafks{i}", 100]),
            )
        )
        logs.append(
            (
                i,
                [events["StorageReceiptAccepted"].topic0, mid, (1).to_bytes(32, "big"), owner_topic],
                encode(["uint64", "bytes"], [1700000000, b"\x01" * 65]),
            )
        )
    return logs


def main() -> None:
    n_events = int(sys.argv[1]) if len(sys.argv) > 1 else 60_000
    logs = recorded_logs(n_events // 3)
    decoder = EventDecoder(load_events()["UserMedia"])
    ranges: dict[int, list] = {}
    for block, topics, data in logs:
        ranges.setdefault(block // BLOCKS_PER_RANGE, []).append((block, topics, data))

    def blocks_of(r: int) -> list[BlockRef]:
        last = r * BLOCKS_PER_RANGE + BLOCKS_PER_RANGE - 1
        return [BlockRef(last, f"0x{last:064x}", f"0x{last - 1:064x}", 1700000000)]

    with tempfile.TemporaryDirectory() as tmp:
        store = Store(Path(tmp) / "full.duckdb")
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
        store = Store(Path(tmp) / "alone.duckdb")
        t = time.perf_counter()
        for r, writes in all_writes:
            store.apply(blocks_of(r), writes)
        alone = time.perf_counter() - t
        store.close()
    rows = sum(len(w) for _, w in all_writes)
    lines = [
        f"indexer backfill benchmark: {len(logs):,} recorded events ({rows:,} rows) in {len(ranges)} ranges",
        f"decode + handlers + store : {full:6.2f} s  {len(logs) / full:>10,.0f} events/s   (goal >= 10,000/s)",
        f"DuckDB alone, same rows   : {alone:6.2f} s  {len(logs) / alone:>10,.0f} events/s",
        f"decode + handlers share   : {(full - alone) / full:6.0%}",
    ]
    text = "\n".join(lines)
    print(text)
    (Path(__file__).resolve().parent / "results" / "indexer_backfill.txt").write_text(text + "\n")


if __name__ == "__main__":
    main()
