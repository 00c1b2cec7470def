"""StorageTopology as every service reads it: one typed `Cluster`, one `ClusterStatus`, and one cached reader.

`Cluster` rows are decoded by the field names the exported ABI gives the Cluster struct, never by position, so a
field added to the struct changes one place. `TopologyReader` is the only caller of `clusters()` and
`replicationFactor()`; it keeps its last reading for a short TTL and, after that, for as long as the chain's head
block stays the same (chain state cannot change without a new block).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from enum import IntEnum
from typing import TYPE_CHECKING, Any

from eth_utils import to_checksum_address

from mediaproof.errors import ChainError

if TYPE_CHECKING:
    from web3.contract import Contract

DEFAULT_TTL = 2.0  # seconds a reading is trusted without asking the chain: cluster status changes are rare and slow
CLUSTER_FIELDS = ("id", "signer", "weight", "status", "endpoint", "held")  # what `Cluster` needs from the struct


class ClusterStatus(IntEnum):
    """StorageTopology's ClusterStatus enum (contracts/types/MediaTypes.sol): same names, same numbering."""

    NONE = 0
    ACTIVE = 1
    DRAINING = 2
    DOWN = 3

    @property
    def label(self) -> str:
        """The name as the contract spells it: "None", "Active", "Draining", "Down"."""
        return self.name.title()

    @classmethod
    def known(cls, value: object) -> ClusterStatus | None:
        """The status numbered `value`, or None when the contract defines no such status."""
        if isinstance(value, bool) or not isinstance(value, int):
            return None
        try:
            return cls(value)
        except ValueError:
            return None


@dataclass(frozen=True, slots=True)
class Cluster:
    """One entry of `StorageTopology.clusters()`: the contract's Cluster struct, typed."""

    id: int
    signer: str
    weight: int
    status: ClusterStatus
    endpoint: str
    held: bool  # the admin set this status: observers may not change it


@dataclass(frozen=True)
class TopologyReading:
    """StorageTopology at one block: every cluster ever registered in id order, and R."""

    clusters: tuple[Cluster, ...]
    replication_factor: int
    block_number: int
    block_hash: bytes

    @property
    def registered(self) -> tuple[Cluster, ...]:
        """The clusters whose status is not None (None marks an id never registered)."""
        return tuple(c for c in self.clusters if c.status is not ClusterStatus.NONE)


def cluster_fields(abi: Iterable[Mapping[str, Any]]) -> tuple[str, ...]:
    """The Cluster struct's field names in the order `clusters()` returns them, read from the ABI."""
    for item in abi:
        if item.get("type") == "function" and item.get("name") == "clusters" and not item.get("inputs"):
            (output,) = item["outputs"]
            names = tuple(str(c["name"]) for c in output["components"])
            missing = [name for name in CLUSTER_FIELDS if name not in names]
            if missing:
                raise ChainError(
                    f"StorageTopology's Cluster struct has no field {', '.join(missing)} (it has {', '.join(names)}): "
                    "export the ABIs again (`ape run export_abis`) or update mediaproof.topology.Cluster"
                )
            return names
    raise ChainError("the StorageTopology ABI has no clusters() function: run `ape run export_abis` again")


def decode_cluster(fields: Sequence[str], row: Sequence[Any] | Mapping[str, Any]) -> Cluster:
    """A `Cluster` from one struct as web3 returns it (a tuple in ABI order, or a mapping by name)."""
    if isinstance(row, Mapping):
        values = dict(row)
    else:
        if len(row) != len(fields):
            raise ChainError(f"a Cluster from StorageTopology has {len(row)} fields, the ABI names {len(fields)}")
        values = dict(zip(fields, row, strict=True))
    status = ClusterStatus.known(values["status"])
    if status is None:
        raise ChainError(
            f"cluster {values['id']} has status {values['status']!r}, which mediaproof.topology.ClusterStatus does "
            "not know: update it to the contract's enum"
        )
    return Cluster(
        id=int(values["id"]),
        signer=to_checksum_address(values["signer"]),
        weight=int(values["weight"]),
        status=status,
        endpoint=str(values["endpoint"]),
        held=bool(values["held"]),
    )


class TopologyReader:
    """The one reader of StorageTopology's clusters and R, cached. Thread-safe.

    `read()` answers from the cache for `ttl` seconds; after that it asks for the head block (one cheap call) and
    reads the contract again only when the head changed. `read(max_age=0)` never answers stale; `invalidate()`
    forgets the reading (after a process changed the topology itself)."""

    def __init__(
        self, contract: Contract, ttl: float = DEFAULT_TTL, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._contract = contract
        self._fields = cluster_fields(contract.abi)
        self._ttl = ttl
        self._clock = clock
        self._lock = threading.Lock()
        self._reading: TopologyReading | None = None
        self._checked_at = 0.0
        self.reads = 0  # contract reads made (not cache hits): how tests see the cache work

    def read(self, max_age: float | None = None) -> TopologyReading:
        """StorageTopology as of at most `max_age` (default: the reader's TTL) seconds ago, or as of the head."""
        limit = self._ttl if max_age is None else max_age
        with self._lock:
            now = self._clock()
            reading = self._reading
            if reading is not None and now - self._checked_at < limit:
                return reading
            head = self._contract.w3.eth.get_block("latest")
            if reading is None or bytes(head["hash"]) != reading.block_hash:
                reading = self._fetch(int(head["number"]), bytes(head["hash"]))
                self._reading = reading
            self._checked_at = now
            return reading

    def invalidate(self) -> None:
        """Forget the cached reading: the next `read()` asks the chain."""
        with self._lock:
            self._reading = None

    def _fetch(self, number: int, block_hash: bytes) -> TopologyReading:
        functions = self._contract.functions
        rows = functions.clusters().call(block_identifier=number)
        factor = functions.replicationFactor().call(block_identifier=number)
        self.reads += 1
        return TopologyReading(
            clusters=tuple(decode_cluster(self._fields, row) for row in rows),
            replication_factor=int(factor),
            block_number=number,
            block_hash=block_hash,
        )
