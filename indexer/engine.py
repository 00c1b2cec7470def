"""The follower: reads logs in block ranges from the deployment block, orders them, hands them to the pure
handlers, and writes each range with its cursor atomically. Owns reorgs: it keeps recent block hashes linked
by parent hash and, on a mismatch, rolls back to the common ancestor and re-applies the canonical blocks.

I/O at the edges: before the handlers see a range, the follower fetches what its events need from beyond the logs
— each BatchAnchored's manifest (from a ManifestSource, checked by indexer.batch_manifest), each direct
registration's calldata — and hands it over on the event. A manifest that cannot be fetched stops the range
before its block: the blocks before it are written, and that block is tried again (with a growing pause) until the
manifest comes, never skipped.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from eth_utils import to_checksum_address

from indexer import batch_manifest
from indexer.abi import EventDecoder, all_topics, checksum_address, load_events
from indexer.batch_manifest import BatchContent
from indexer.direct_calls import read_direct_record
from indexer.handlers import ChainEvent, Position, Write, handle
from indexer.manifest_source import ManifestSource, ManifestUnavailable, manifest_cid_text
from indexer.source import ChainSource, RawLog, TxCall
from indexer.store import BlockRef, Store
from mediaproof.deployment import Deployment
from mediaproof.errors import ChainError, InputError

log = logging.getLogger("indexer")
MAX_MANIFEST_PAUSE = 30.0  # seconds between tries of a manifest that keeps failing


def deployment_identity(deployment: Deployment) -> dict[str, object]:
    """What ties a database to one deployment: the chain and the two root contracts."""
    return {
        "chain_id": deployment.chain_id,
        "media_app": deployment.media_app,
        "topology": deployment.storage_topology,
    }


class ReorgDetected(Exception):
    """The chain changed under a range being read; the step is retried."""


@dataclass(frozen=True)
class ManifestWait:
    """The block the follower is stopped before: its batch's manifest could not be fetched `tries` times."""

    block: int
    cid: str
    tries: int
    reason: str


@dataclass
class _Range:
    """What was read for one range: the logs to handle (up to `last`) and what their events need beside."""

    logs: list[RawLog]
    last: int
    batches: dict[tuple[int, int], BatchContent]
    calls: dict[tuple[int, int], TxCall]  # by (block, transaction index)


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
        *,
        manifests: ManifestSource,
    ):
        self.source = source
        self.store = store
        self.deployment = deployment
        self.manifests = manifests
        self.confirmations = confirmations
        self.batch_blocks = batch_blocks
        self.on_commit = on_commit
        self.on_rollback = on_rollback
        events = load_events()
        self.topics = all_topics(events)
        self.decoders = {role: EventDecoder(evs) for role, evs in events.items()}
        self._anchor_topic = self.decoders["MediaApp"].topic_of("BatchAnchored")
        self._user_registered_topic = self.decoders["MediaApp"].topic_of("UserRegistered")
        self._registered_topic = self.decoders["UserMedia"].topic_of("MediaRegistered")
        self.reorgs = 0
        self.waiting: ManifestWait | None = None  # set while stopped before a block whose manifest did not come
        store.bind_deployment(deployment_identity(deployment))
        self._media_app = to_checksum_address(deployment.media_app)
        self._topology = to_checksum_address(deployment.storage_topology)
        # Deployments made before projects existed have no ProjectRegistry: their projects are simply not followed.
        registry = deployment.contracts.get("ProjectRegistry")
        self._projects = to_checksum_address(registry) if registry else None
        self._user_contracts = store.user_contracts()

    # -- one step --------------------------------------------------------------------------------------------
    def step(self) -> bool:
        """Reads and writes the next range; False when there was nothing new to read, or the next block waits for
        its batch manifest."""
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
            read = self._read_range(start, end, cursor)
        except ReorgDetected:
            self._reorg()
            return True
        if read is None:
            return False
        blocks, writes = read
        try:
            self.store.apply(blocks, writes)
        except BaseException:
            self._user_contracts = self.store.user_contracts()
            raise
        if self.waiting is not None and blocks[-1].number >= self.waiting.block:
            self.waiting = None
        if self.on_commit:
            self.on_commit()
        return True

    def _read_range(self, start: int, end: int, cursor: BlockRef | None) -> tuple[list[BlockRef], list[Write]] | None:
        end_before = self.source.blocks([end])[end]
        logs = sorted(
            self.source.logs(start, end, self.topics), key=lambda lg: (lg.block_number, lg.tx_index, lg.log_index)
        )
        batches, last = self._read_manifests(logs, end)
        if last < start:
            return None
        logs = [lg for lg in logs if lg.block_number <= last]
        numbers = sorted({start, last} | {lg.block_number for lg in logs})
        headers = self.source.blocks(sorted(set(numbers) | {end}))
        if headers[end].hash != end_before.hash:
            raise ReorgDetected(f"block {end} changed while its range was read")
        if cursor is not None and headers[start].parent_hash != cursor.hash:
            raise ReorgDetected(f"block {start} does not build on the stored block {cursor.number}")
        for lg in logs:
            if headers[lg.block_number].hash != lg.block_hash:
                raise ReorgDetected(f"a log of block {lg.block_number} belongs to another chain")
        read = _Range(logs, last, batches, self._read_calls(logs))
        writes: list[Write] = []
        for lg in logs:
            event = self._decode(lg, headers[lg.block_number].time, read)
            if event is None:
                continue
            result = handle(event)
            writes.extend(result.writes)
            if result.new_user_contract:
                self._user_contracts.add(result.new_user_contract)
        return [headers[n] for n in numbers], writes

    # -- what events need from beyond the logs ---------------------------------------------------------------
    def _is_app_event(self, lg: RawLog, topic: bytes) -> bool:
        return bool(lg.topics) and lg.topics[0] == topic and checksum_address(lg.address) == self._media_app

    def _read_manifests(self, logs: list[RawLog], end: int) -> tuple[dict[tuple[int, int], BatchContent], int]:
        """Each anchor's manifest, read and checked, by (block, log index); and the last block that can be written
        (the one before the first anchor whose manifest could not be fetched)."""
        found: dict[tuple[int, int], BatchContent] = {}
        for lg in logs:
            if not self._is_app_event(lg, self._anchor_topic):
                continue
            decoded = self.decoders["MediaApp"].decode(lg.topics, lg.data)
            assert decoded is not None
            args = decoded[1]
            batch = lg.block_number
            try:
                cid = manifest_cid_text(bytes.fromhex(args["manifestCid"][2:]))
            except InputError as exc:
                content = BatchContent.refused("", f"the anchored manifestCid {args['manifestCid']} is no CID: {exc}")
            else:
                try:
                    raw = self.manifests.fetch(cid)
                except ManifestUnavailable as exc:
                    tries = self.waiting.tries + 1 if self.waiting and self.waiting.block == batch else 1
                    self.waiting = ManifestWait(batch, cid, tries, str(exc))
                    log.warning(
                        "the manifest %s of batch %d cannot be fetched (%s): waiting on block %d (try %d)",
                        cid, batch, exc, batch, tries,
                    )  # fmt: skip
                    return found, batch - 1
                content = self._check_manifest(raw, cid, bytes.fromhex(args["root"][2:]), batch)
            cid_text = content.manifest_cid or args["manifestCid"]
            if content.problem is not None:
                log.warning("batch %d (manifest %s): no media indexed: %s", batch, cid_text, content.problem)
            for index, why in content.rejected:
                log.warning("batch %d (manifest %s): entry %d not indexed: %s", batch, cid_text, index, why)
            for index, why in content.rejected_actions:
                log.warning("batch %d (manifest %s): action %d not indexed: %s", batch, cid_text, index, why)
            found[(batch, lg.log_index)] = content
        return found, end

    def _check_manifest(self, raw: bytes, cid: str, root: bytes, batch: int) -> BatchContent:
        try:
            parsed = batch_manifest.parse(
                raw, cid, chain_id=self.deployment.chain_id, media_app=self._media_app, topology=self._topology
            )
        except batch_manifest.ManifestRejected as exc:
            return BatchContent.refused(cid, str(exc))
        owners = sorted(parsed.owners_to_look_up())
        with_code = [a for a, has in self.source.has_code(owners).items() if has] if owners else []
        return batch_manifest.verify(parsed, root, with_code)

    def _read_calls(self, logs: list[RawLog]) -> dict[tuple[int, int], TxCall]:
        """The calldata of the transactions that registered media directly in these logs (for their records)."""
        ours = set(self._user_contracts)
        for lg in logs:  # clones created in this range register media in it too
            if self._is_app_event(lg, self._user_registered_topic):
                decoded = self.decoders["MediaApp"].decode(lg.topics, lg.data)
                if decoded is not None:
                    ours.add(decoded[1]["userContract"])
        places = {
            (lg.block_number, lg.tx_index): lg.tx_hash
            for lg in logs
            if lg.topics and lg.topics[0] == self._registered_topic and checksum_address(lg.address) in ours
        }
        calls = self.source.transactions(sorted(places)) if places else {}
        for place, tx_hash in places.items():
            found = calls.get(place)
            if found is None or found.hash.lower() != tx_hash.lower():
                raise ReorgDetected(f"transaction {place[1]} of block {place[0]} is not {tx_hash} any more")
        return calls

    def _decode(self, lg: RawLog, block_time: int, read: _Range) -> ChainEvent | None:
        address = checksum_address(lg.address)
        if address == self._media_app:
            role = "MediaApp"
        elif address == self._topology:
            role = "StorageTopology"
        elif address == self._projects:
            role = "ProjectRegistry"
        elif address in self._user_contracts:
            role = "UserMedia"
        else:
            return None  # same event shape from a contract that is not ours
        decoded = self.decoders[role].decode(lg.topics, lg.data)
        if decoded is None:
            return None
        name, args = decoded
        batch = read.batches.get((lg.block_number, lg.log_index)) if name == "BatchAnchored" else None
        direct = None
        call = read.calls.get((lg.block_number, lg.tx_index)) if name == "MediaRegistered" else None
        if call is not None:
            direct = read_direct_record(
                call.to, call.input, address, args["mediaId"], self.deployment.chain_id, self._media_app
            )
        return ChainEvent(
            role,
            address,
            name,
            args,
            Position(lg.block_number, lg.tx_index, lg.log_index),
            lg.tx_hash,
            block_time,
            batch=batch,
            direct=direct,
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
        self.waiting = None  # the anchor waited for may be gone with the old branch; the next read will tell
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
                stop.wait(self.pause(poll_seconds))

    def pause(self, poll_seconds: float) -> float:
        """Seconds to sleep when there is nothing to do: the poll interval, or, while a manifest keeps failing,
        twice as long after each failed try, up to MAX_MANIFEST_PAUSE."""
        if self.waiting is None:
            return poll_seconds
        return min(MAX_MANIFEST_PAUSE, poll_seconds * 2 ** min(self.waiting.tries, 16))

    def catch_up(self) -> None:
        """Steps until nothing is left to read, or until a manifest does not come (`waiting`): tests, one-shot
        runs."""
        while self.step():
            pass
