"""The follower: reads logs in block ranges from the deployment block, orders them, hands them to the pure
handlers, and writes each range with its cursor atomically. Owns reorgs: it keeps recent block hashes linked
by parent hash and, on a mismatch, rolls back to the common ancestor and re-applies the canonical blocks.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

from eth_utils import to_checksum_address

from indexer.abi import EventDecoder, all_topics, checksum_address, load_events
from indexer.handlers import ChainEvent, Position, Write, handle
from indexer.source import ChainSource, RawLog
from indexer.store import BlockRef, Store
from mediaproof.deployment import Deployment
from mediaproof.errors import ChainError

log = logging.getLogger("indexer")


def deployment_identity(deployment: Deployment) -> dict[str, object]:
    """What ties a database to one deployment: the chain and the two root contracts."""
    return {
        "chain_id": deployment.chain_id,
        "media_app": deployment.media_app,
        "topology": deployment.storage_topology,
    }


class ReorgDetected(Exception):
    """The chain changed under a range being read; the step is retried."""


class Follower:
    """Follows one deployment into one store. `step()` does one unit of work; `run()` loops until stopped."""

    def __init__(
        self,
        source: ChainSource,
        store: Store,
        deployment: Deployment,
        confirmations: int = 0,
        batch_blocks: int = 2000,
        on_commit: Callable[[], None] | None = None,
        on_rollback: Callable[[int], None] | None = None,
    ):
        self.source = source
        self.store = store
        self.deployment = deployment
        self.confirmations = confirmations
        self.batch_blocks = batch_blocks
        self.on_commit = on_commit
        self.on_rollback = on_rollback
        events = load_events()
        self.topics = all_topics(events)
        self.decoders = {role: EventDecoder(evs) for role, evs in events.items()}
        self.reorgs = 0
        store.bind_deployment(deployment_identity(deployment))
        self._media_app = to_checksum_address(deployment.media_app)
        self._topology = to_checksum_address(deployment.storage_topology)
        self._user_contracts = store.user_contracts()

    # -- one step --------------------------------------------------------------------------------------------
    def step(self) -> bool:
        """Reads and writes the next range; False when there was nothing new to read."""
        safe_head = self.source.head_number() - self.confirmations
        cursor = self.store.head()
        start = cursor.number + 1 if cursor else self.deployment.block
        if start > safe_head:
            if cursor is not None and self.source.blocks([cursor.number])[cursor.number].hash != cursor.hash:
                self._reorg()  # same height, different chain
                return True
            return False
        end = min(safe_head, start + self.batch_blocks - 1)
        try:
            blocks, writes = self._read_range(start, end, cursor)
        except ReorgDetected:
            self._reorg()
            return True
        try:
            self.store.apply(blocks, writes)
        except BaseException:
            self._user_contracts = self.store.user_contracts()
            raise
        if self.on_commit:
            self.on_commit()
        return True

    def _read_range(self, start: int, end: int, cursor: BlockRef | None) -> tuple[list[BlockRef], list[Write]]:
        end_before = self.source.blocks([end])[end]
        logs = self.source.logs(start, end, self.topics)
        numbers = sorted({start, end} | {lg.block_number for lg in logs})
        headers = self.source.blocks(numbers)
        if headers[end].hash != end_before.hash:
            raise ReorgDetected(f"block {end} changed while its range was read")
        if cursor is not None and headers[start].parent_hash != cursor.hash:
            raise ReorgDetected(f"block {start} does not build on the stored block {cursor.number}")
        for lg in logs:
            if headers[lg.block_number].hash != lg.block_hash:
                raise ReorgDetected(f"a log of block {lg.block_number} belongs to another chain")
        writes: list[Write] = []
        for lg in sorted(logs, key=lambda lg: (lg.block_number, lg.tx_index, lg.log_index)):
            event = self._decode(lg, headers[lg.block_number].time)
            if event is None:
                continue
            result = handle(event)
            writes.extend(result.writes)
            if result.new_user_contract:
                self._user_contracts.add(result.new_user_contract)
        return [headers[n] for n in numbers], writes

    def _decode(self, lg: RawLog, block_time: int) -> ChainEvent | None:
        address = checksum_address(lg.address)
        if address == self._media_app:
            role = "MediaApp"
        elif address == self._topology:
            role = "StorageTopology"
        elif address in self._user_contracts:
            role = "UserMedia"
        else:
            return None  # same event shape from a contract that is not ours
        decoded = self.decoders[role].decode(lg.topics, lg.data)
        if decoded is None:
            return None
        name, args = decoded
        return ChainEvent(
            role,
            address,
            name,
            args,
            Position(lg.block_number, lg.tx_index, lg.log_index),
            lg.tx_hash,
            block_time,
        )

    # -- reorgs ----------------------------------------------------------------------------------------------
    def _reorg(self) -> None:
        """Rolls back to the newest stored block that is still canonical (or to before the deployment)."""
        stored = self.store.recent_blocks()
        head = self.source.head_number()
        ancestor = self.deployment.block - 1
        candidates = [b for b in stored if b.number <= head]
        canonical = self.source.blocks([b.number for b in candidates])
        for b in candidates:
            if canonical[b.number].hash == b.hash:
                ancestor = b.number
                break
        log.warning("reorg: rolling back to block %d", ancestor)
        self.store.rollback_to(ancestor)
        self._user_contracts = self.store.user_contracts()
        self.reorgs += 1
        if self.on_rollback:
            self.on_rollback(ancestor)

    # -- the loop --------------------------------------------------------------------------------------------
    def run(
        self,
        stop: threading.Event,
        poll_seconds: float = 0.25,
        side_work: Callable[[], None] | None = None,
        side_seconds: float = 1.0,
    ) -> None:
        """Steps until `stop` is set; sleeps when caught up; survives a node that is briefly away. `side_work`
        (views, short links: the same single writer) runs about every `side_seconds`, between steps."""
        next_side = 0.0
        while not stop.is_set():
            try:
                busy = self.step()
            except ChainError as exc:
                log.warning("%s; retrying", exc)
                busy = False
            if side_work is not None and time.monotonic() >= next_side:
                next_side = time.monotonic() + side_seconds
                try:
                    side_work()
                except Exception:  # a broken view file or gateway must not stop the chain being followed
                    log.exception("side work failed; retrying in %.0f s", side_seconds)
            if not busy:
                stop.wait(poll_seconds)

    def catch_up(self) -> None:
        """Steps until nothing is left to read (tests, one-shot runs)."""
        while self.step():
            pass
