"""The sequencer: closes a batch after `batch_max_files` entries and social actions together, or when the oldest of
them waited `batch_interval` seconds, pins its manifest on R clusters, anchors its root with MediaApp.anchorBatch,
and hands every entry back as anchored (actions are marked anchored in the store; their proofs are read from the
stored manifest). A batch may hold only actions.

Before a batch carries a later proof of some bytes for another owner, the earlier (batched) proof of those bytes is
revealed into MediaApp.proofOf, so a bundle's `first` never lies while the first proof is unrevealed. Crash-safe:
a batch is remembered (root and manifest) before its anchor is sent, and a restart settles it from the chain.

One batcher closes batches at a time, however many upload processes share the gateway database: each runs one, and
the one holding the `batcher` session lock leads; the others wait for it, and one takes over when the leader dies
(the lock dies with its process or connection). Only a new leader hands a dead leader's taken entries back.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable
from pathlib import Path

from mediaproof import eip712, faults, social
from mediaproof.bundle import BatchManifest, parse_manifest, parse_manifest_entry
from mediaproof.chain import MediaproofChain
from mediaproof.content import cid_to_bytes, digest_bytes
from mediaproof.errors import ChainError
from mediaproof.gateway_db import SessionLock
from mediaproof.gateway_store import GatewayStore
from mediaproof.upload.batch_store import ActionEntry, Batch, BatchStore, Entry
from mediaproof.upload.placement import Placer
from mediaproof.upload.relay import Relay

logger = logging.getLogger(__name__)
RETRY_SECONDS = 2.0
SETTLE_AFTER = 60.0  # seconds a batch may stay built (its anchor on its way) before this batcher settles it
LEADER_POLL = 1.0  # seconds between a follower's tries to take the lead

Anchored = Callable[[list[Entry], int, str], None]  # (entries, batch, tx): give each its link


class Batcher:
    """One thread that closes batches; `wake()` when an entry arrives, `done` is notified after each anchor."""

    def __init__(
        self,
        db_path: Path | str,
        chain: MediaproofChain,
        relay: Relay,
        placer: Placer,
        max_files: int,
        interval: float,
        on_anchored: Anchored,
        leader: SessionLock | None = None,
    ) -> None:
        self._db_path = db_path  # the gateway database: a SQLite file or a PostgreSQL DSN
        self._chain = chain
        self._relay = relay
        self._placer = placer
        self._max_files = max_files
        self._interval = interval
        self._on_anchored = on_anchored
        self._leader = leader  # None: the only batcher on its database (tests)
        self.leading = False
        self._bell = threading.Event()
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        self.done = threading.Condition()

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="batcher", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stopping.set()
        self._bell.set()
        if self._thread is not None:
            self._thread.join(timeout=30)
        if self._leader is not None:
            self._leader.close()

    def wake(self) -> None:
        self._bell.set()

    def _run(self) -> None:
        store, placements = BatchStore(self._db_path), GatewayStore(self._db_path)
        try:
            while not self._stopping.is_set():
                if not self._lead(store):
                    self._stopping.wait(LEADER_POLL)
                    continue
                try:
                    # A batch whose anchor failed (RPC away, a revert) stays built: settle it from the chain again.
                    self._settle_built(store, older_than=SETTLE_AFTER)
                    wait = self.close_due(store, placements)
                except Exception as exc:  # whatever it was, this thread must live on: entries depend on it
                    logger.warning("closing a batch failed, retrying in %.0f s: %s", RETRY_SECONDS, exc)
                    store.release_closing()
                    wait = RETRY_SECONDS
                self._bell.wait(timeout=wait)
                self._bell.clear()
        finally:
            store.close()
            placements.close()

    def _lead(self, store: BatchStore) -> bool:
        """Whether this batcher leads now; on taking the lead, what a stopped leader left is settled first."""
        if self.leading and (self._leader is None or self._leader.held()):
            return True
        if self.leading:
            logger.warning("this process lost the batcher lead (its database connection dropped)")
            self.leading = False
        if self._leader is not None and not self._leader.acquire(blocking=False):
            return False
        try:
            released = store.release_closing()
            if released:
                logger.info("%d batch entries a stopped process had taken are pending again", released)
            self._settle_built(store)
        except Exception as exc:  # the database away: the lead is taken again later
            logger.warning("taking the batcher lead failed, retrying: %s", exc)
            if self._leader is not None:
                self._leader.release()
            return False
        self.leading = True
        logger.info("this process closes the gateway's batches")
        return True

    def close_due(self, store: BatchStore, placements: GatewayStore) -> float:
        """Close one batch if one is due; the seconds until the next may be."""
        count, oldest = store.pending_summary()
        if count == 0 or oldest is None:
            return self._interval
        age = time.time() - oldest
        if count < self._max_files and age < self._interval:
            return self._interval - age
        entries = store.take_pending(self._max_files)
        actions = store.take_pending_actions(self._max_files - len(entries))
        if entries or actions:
            self._anchor(store, placements, entries, actions)
        return 0.0 if count > self._max_files else self._interval

    def _anchor(
        self, store: BatchStore, placements: GatewayStore, entries: list[Entry], actions: list[ActionEntry]
    ) -> None:
        for entry in entries:
            self._reveal_earlier_proof(store, entry)
        manifest = BatchManifest(
            chain_id=self._chain.chain_id,
            contract=self._chain.media_app.address,
            topology=self._chain.topology.address,
            sequencer=self._relay.gateway.address,
            entries=tuple(parse_manifest_entry(e.entry) for e in entries),
            actions=tuple(social.parse_signed_action(a.action) for a in actions),
        )
        tree = manifest.tree()
        body = json.dumps(manifest.to_json(tree), separators=(",", ":")).encode()
        digest = digest_bytes(body)
        self._placer.place(placements, digest, body, title="batch manifest")
        root = "0x" + tree.root.hex()
        store.add_batch(
            root, body.decode(), digest.sha256_hex, digest.cid, [e.media_id for e in entries],
            [a.action_id for a in actions],
        )  # fmt: skip
        self._send_anchor(store, store.batch(root))  # type: ignore[arg-type]

    def _send_anchor(self, store: BatchStore, batch: Batch) -> None:
        root = bytes.fromhex(batch.root[2:])
        anchored_in, _ = self._chain.media_app.functions.anchorOf(root).call()
        if anchored_in:
            tx = self._anchor_tx(root, int(anchored_in))
        else:
            call = self._chain.media_app.functions.anchorBatch(root, cid_to_bytes(batch.manifest_cid))
            receipt = self._relay.send(call)
            anchored_in, tx = int(receipt["blockNumber"]), "0x" + bytes(receipt["transactionHash"]).hex()
            faults.point("anchor-sent")
        store.mark_anchored(batch.root, int(anchored_in), tx)
        faults.point("batch-anchored")
        entries = store.entries_of(batch.root)
        logger.info("anchored batch %d: %d files, %d actions, root %s, tx %s", anchored_in, len(entries),
                    len(store.actions_of(batch.root)), batch.root, tx)  # fmt: skip
        self._on_anchored(entries, int(anchored_in), tx)
        with self.done:
            self.done.notify_all()

    def _anchor_tx(self, root: bytes, block: int) -> str:
        logs = self._chain.media_app.events.BatchAnchored.get_logs(
            argument_filters={"root": root}, from_block=block, to_block=block
        )
        if not logs:
            raise ChainError(f"root 0x{root.hex()} is anchored in block {block}, but its event is missing")
        return "0x" + bytes(logs[0]["transactionHash"]).hex()

    def _settle_built(self, store: BatchStore, older_than: float = 0.0) -> None:
        """After a crash, or a failed anchor: batches (built more than `older_than` seconds ago, so not one another
        process is anchoring right now) whose anchor may or may not have been mined are anchored (again) or
        settled, as `MediaApp.anchorOf(root)` says."""
        for batch in store.built_batches(time.time() - older_than):
            try:
                self._send_anchor(store, batch)
            except Exception as exc:  # the RPC node away, a revert: tried again later
                logger.warning("could not settle batch %s yet: %s", batch.root, exc)

    def _reveal_earlier_proof(self, store: BatchStore, entry: Entry) -> None:
        first = store.first_claim(entry.sha256)
        if first is None or first.owner == entry.owner or first.kind != "batched" or first.state != "proven":
            return
        reveal_batched(self._chain, self._relay, store, first.media_id)


def reveal_batched(chain: MediaproofChain, relay: Relay, store: BatchStore, media_id: str) -> None:
    """Write the anchored proof `media_id` into MediaApp.proofOf (unless an earlier one is there already)."""
    entry = store.entry(media_id)
    batch = store.batch(entry.root) if entry is not None and entry.root else None
    if entry is None or batch is None or batch.batch is None or entry.leaf_index is None:
        raise ChainError(f"cannot reveal {media_id}: its batch is not anchored yet")
    manifest = parse_manifest(batch.manifest)
    bundle = manifest.bundle(entry.leaf_index, manifest.tree(), batch.batch, batch.tx or "0x" + "00" * 32, "")
    current = chain.media_app.functions.proofDetail(bundle.sha256).call()
    if current[0] == eip712.ZERO_ADDRESS or int(current[3]) > batch.batch:
        call = chain.media_app.functions.revealProof(
            bundle.record.as_tuple(), bundle.owner_signature, bundle.receipts_hash, list(bundle.proof), batch.batch
        )
        relay.send(call)
        logger.info("revealed the batched proof %s of %s before a later one", media_id, entry.sha256)
    store.claim_revealed(media_id)
