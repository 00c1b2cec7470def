"""Pure event handlers: one decoded contract event in, the rows it adds out. No I/O, no clock.

Every row carries its event's position (block, tx index, log index): the store rolls blocks back by number.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from indexer.text import term_counts

ZERO32 = "0x" + "00" * 32
CLUSTER_STATUS = {0: "none", 1: "active", 2: "draining", 3: "down"}


@dataclass(frozen=True, order=True)
class Position:
    """Where an event sits in the chain; sorts in chain order."""

    block: int
    tx_index: int
    log_index: int

    @property
    def key(self) -> int:
        """One sortable integer (fits a BIGINT for blocks below 2^31)."""
        return (self.block << 32) | (self.tx_index << 16) | self.log_index


@dataclass(frozen=True)
class ChainEvent:
    """A decoded log: which contract role emitted it, its name and arguments, where and when."""

    contract: str  # "MediaApp", "UserMedia" or "StorageTopology"
    address: str
    name: str
    args: dict[str, Any]
    position: Position
    tx_hash: str
    block_time: int  # unix seconds of the block


@dataclass(frozen=True)
class Insert:
    table: str
    row: dict[str, Any]


@dataclass(frozen=True)
class MarkDeleted:
    """Tombstones one media row (a media id can only be deleted once, so a rollback simply clears it)."""

    media_id: str
    block: int
    tx_hash: str


Write = Insert | MarkDeleted


@dataclass
class HandlerResult:
    writes: list[Write] = field(default_factory=list)
    new_user_contract: str | None = None  # a UserMedia clone the engine must follow from now on


def _where(event: ChainEvent) -> dict[str, Any]:
    p = event.position
    return {"block": p.block, "tx_index": p.tx_index, "log_index": p.log_index, "tx_hash": event.tx_hash}


def _user_registered(e: ChainEvent) -> HandlerResult:
    a = e.args
    row = {
        "owner": a["owner"],
        "user_contract": a["userContract"],
        "deposit": a["deposit"],
        "time": e.block_time,
    }
    return HandlerResult([Insert("users", row | _where(e))], new_user_contract=a["userContract"])


def _deposit(kind: str) -> Callable[[ChainEvent], HandlerResult]:
    def handle(e: ChainEvent) -> HandlerResult:
        a = e.args
        row = {
            "owner": a["owner"],
            "kind": kind,
            "amount": a["amount"],
            "balance": a["balance"],
            "relayer": a.get("relayer"),
            "time": e.block_time,
        }
        return HandlerResult([Insert("deposits", row | _where(e))])

    return handle


def _proof_recorded(e: ChainEvent) -> HandlerResult:
    a = e.args
    row = {
        "sha256": a["sha256"],
        "media_id": a["mediaId"],
        "owner": a["owner"],
        "user_contract": a["userContract"],
        "time": e.block_time,
    }
    return HandlerResult([Insert("proofs", row | _where(e))])


def _media_registered(e: ChainEvent) -> HandlerResult:
    a = e.args
    pos = e.position.key
    row = {
        "pos": pos,
        "id": a["mediaId"],
        "short_id": None,
        "owner": a["owner"],
        "user_contract": e.address,
        "sha256": a["sha256"],
        "cid": a["cid"],
        "title": a["title"],
        "media_type": a["mediaType"],
        "size": a["size"],
        "parent": None if a["parent"] == ZERO32 else a["parent"],
        "cluster_ids": list(a["clusterIds"]),
        "sender": a["sender"],
        "time": e.block_time,
        "deleted": False,
        "deleted_block": None,
        "deleted_tx_hash": None,
    }
    counts, length = term_counts(a["title"])
    # One row per title: its distinct tokens with their counts (the store unnests them when the index loads).
    tokens_row = {
        "media_pos": pos,
        "tokens": list(counts),
        "tfs": list(counts.values()),
        "title_len": length,
        "block": e.position.block,
    }
    return HandlerResult([Insert("media", row | _where(e)), Insert("search_tokens", tokens_row)])


def _variant(e: ChainEvent) -> HandlerResult:
    a = e.args
    row = {
        "media_id": a["mediaId"],
        "sha256": a["sha256"],
        "name": a["name"],
        "cid": a["cid"],
        "size": a["size"],
    }
    return HandlerResult([Insert("variants", row | _where(e))])


def _receipt(e: ChainEvent) -> HandlerResult:
    a = e.args
    row = {
        "media_id": a["mediaId"],
        "cluster_id": a["clusterId"],
        "signer": a["signer"],
        "pinned_at": a["pinnedAt"],
        "signature": a["signature"],
    }
    return HandlerResult([Insert("receipts", row | _where(e))])


def _media_deleted(e: ChainEvent) -> HandlerResult:
    return HandlerResult([MarkDeleted(e.args["mediaId"], e.position.block, e.tx_hash)])


def _cluster(kind: str) -> Callable[[ChainEvent], HandlerResult]:
    def handle(e: ChainEvent) -> HandlerResult:
        a = e.args
        status = a.get("status")
        row = {
            "cluster_id": a["clusterId"],
            "kind": kind,
            "signer": a.get("signer") or a.get("newSigner"),
            "weight": a.get("weight"),
            "endpoint": a.get("endpoint"),
            "status": "active" if kind == "registered" else CLUSTER_STATUS.get(status) if status is not None else None,
            "changed_by": a.get("changedBy"),
            "time": e.block_time,
        }
        return HandlerResult([Insert("cluster_events", row | _where(e))])

    return handle


def _setting(e: ChainEvent) -> HandlerResult:
    row = {
        "contract": e.contract,
        "address": e.address,
        "name": e.name,
        "args": json.dumps(e.args, sort_keys=True),
    }
    return HandlerResult([Insert("setting_events", row | _where(e))])


HANDLERS: dict[tuple[str, str], Callable[[ChainEvent], HandlerResult]] = {
    ("MediaApp", "UserRegistered"): _user_registered,
    ("MediaApp", "DepositAdded"): _deposit("added"),
    ("MediaApp", "DepositWithdrawn"): _deposit("withdrawn"),
    ("MediaApp", "RelayFeePaid"): _deposit("relay_fee"),
    ("MediaApp", "ProofRecorded"): _proof_recorded,
    ("UserMedia", "MediaRegistered"): _media_registered,
    ("UserMedia", "MediaVariantRegistered"): _variant,
    ("UserMedia", "StorageReceiptAccepted"): _receipt,
    ("UserMedia", "MediaDeleted"): _media_deleted,
    ("StorageTopology", "ClusterRegistered"): _cluster("registered"),
    ("StorageTopology", "ClusterUpdated"): _cluster("updated"),
    ("StorageTopology", "ClusterSignerRotated"): _cluster("signer_rotated"),
    ("StorageTopology", "ClusterStatusChanged"): _cluster("status"),
}


def handle(event: ChainEvent) -> HandlerResult:
    """Rows for one event; events the indexer has no table for land in setting_events so nothing is lost."""
    return HANDLERS.get((event.contract, event.name), _setting)(event)
