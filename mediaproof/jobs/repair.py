"""One repair copy: a blob streamed from a cluster that holds it to a target cluster, which verifies the bytes (sha256,
size and CID) and pins them; only then is the placement recorded. The one place a repair copy is made: the observer
decides what needs copying and queues a job per (sha256, target); the jobs worker runs it here.

A job may run late or twice (a retry, a second sweep), so it first looks again: a target that already holds the blob
pinned, or R confirmed copies already, end the job with nothing copied. Failures that may pass (a cluster down, a
timeout) raise StorageError and are retried after a back-off; two never are (PERMANENT): no source holds the bytes
any more (Stranded), or the target pinned other bytes than asked (ContentMismatch).

Clusters serve object requests only to gateways: the copy is signed by the jobs worker's gateway key (its Placer's).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from enum import StrEnum

from mediaproof.errors import ContentMismatch, MediaproofError, StorageError, Stranded
from mediaproof.gateway_store import GatewayStore
from mediaproof.upload.placement import Placer

logger = logging.getLogger(__name__)
PERMANENT: tuple[type[BaseException], ...] = (Stranded, ContentMismatch)


class RepairOutcome(StrEnum):
    COPIED = "copied"
    HELD = "held"  # the target already held the blob pinned (a duplicate or late job): recorded, nothing copied
    ENOUGH = "enough"  # R clusters already hold it, confirmed: nothing to do
    INACTIVE = "inactive"  # the target is no longer Active on chain: a copy there would not count


@dataclass
class RepairCopier:
    """What every repair job of the jobs process shares: the Placer (its clients sign as the gateway)."""

    placer: Placer
    fail_tries: int = 0  # tests only (MEDIAPROOF_JOBS_TEST_FAIL_TRIES): the first tries fail as an outage would

    def run(self, sha256: str, target: int, sources: list[int], try_number: int, store: GatewayStore) -> RepairOutcome:
        """Try number `try_number` (from 1) of copying `sha256` to cluster `target` from the first of `sources`
        that holds it."""
        if try_number <= self.fail_tries:
            raise StorageError(f"test outage: try {try_number} of {self.fail_tries} failing on purpose")
        topology = self.placer.topology()
        if not topology.active(target):
            logger.warning("repair of %s to cluster %d dropped: the cluster is not Active", sha256, target)
            return RepairOutcome.INACTIVE
        target_client = self.placer.client(target)
        if target_client.has(sha256):  # StorageError while the target is down: retried
            store.add_placement(sha256, target)  # a no-op when recorded; a copy that landed unrecorded counts
            logger.warning("repair of %s to cluster %d: it already holds it, nothing copied", sha256, target)
            return RepairOutcome.HELD
        confirmed = [c for c in store.placements(sha256) if c != target and self._holds(c, sha256)]
        if len(confirmed) >= topology.replication_factor:
            logger.warning("repair of %s to cluster %d: %d copies already, nothing copied", sha256, target,
                           len(confirmed))  # fmt: skip
            return RepairOutcome.ENOUGH
        unanswered: list[str] = []
        for source in sources:
            if source not in topology.endpoints:  # a Down source may still serve its copy; a gone one cannot
                continue
            source_client = self.placer.client(source)
            try:
                held = source_client.stat(sha256)
            except MediaproofError as exc:  # down, or refusing us: the next source, and a retry if none has it
                unanswered.append(f"cluster {source}: {exc}")
                continue
            if held is None:
                continue
            stored = target_client.store(source_client.iter_bytes(sha256), sha256, held.cid, held.size)
            if (stored.sha256.hex(), stored.cid, stored.size, stored.pinned) != (sha256, held.cid, held.size, True):
                raise ContentMismatch(f"cluster {target} pinned other bytes than {sha256}; not recorded")
            store.add_placement(sha256, target)
            logger.warning("copied %s from cluster %d to cluster %d", sha256, source, target)
            return RepairOutcome.COPIED
        if unanswered:
            raise StorageError(f"no source could give {sha256} now ({'; '.join(unanswered)}); will try again")
        raise Stranded(f"none of clusters {sources} holds {sha256} any more: stranded, not retried")

    def _holds(self, cluster_id: int, sha256: str) -> bool:
        if not self.placer.topology().active(cluster_id):
            return False
        try:
            return self.placer.client(cluster_id).has(sha256)
        except MediaproofError:
            return False  # no answer: not counted, so the copy goes ahead (one too many is harmless)
