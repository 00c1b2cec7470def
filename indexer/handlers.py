"""Pure event handlers: one decoded contract event in, the rows it adds out. No I/O, no clock.

Every row carries its event's position (block, tx index, log index): the store rolls blocks back by number. What a
handler needs from beyond the log (a batch's manifest, a direct registration's calldata) the engine fetched and
checked before, and hands over on the event (`ChainEvent.batch`, `ChainEvent.direct`).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from indexer.batch_manifest import BatchAction, BatchContent, BatchEntry
from indexer.direct_calls import DirectRecord
from indexer.text import term_counts
from mediaproof import social
from mediaproof.topology import ClusterStatus

ZERO32 = "0x" + "00" * 32
ON_CHAIN = "on-chain"  # a direct registration's owner signature: UserMedia checked it


@dataclass(frozen=True, order=True)
class Position:
    """Where an event sits in the chain; sorts in chain order."""

    block: int
    tx_index: int
    log_index: int

    @property
    def key(self) -> int:
        """One sortable integer for a media row: block, then log index (block-wide, so it orders transactions too),
        then the entry within a batch (`entry_key`). Fits a BIGINT for blocks below 2^31 and log indexes and batch
        entries below 2^16."""
        return self.entry_key(0)

    def entry_key(self, entry: int) -> int:
        if not (0 <= self.log_index < 1 << 16 and 0 <= entry < 1 << 16):
            raise ValueError(f"log index {self.log_index} or batch entry {entry} does not fit a media position")
        return (self.block << 32) | (self.log_index << 16) | entry


@dataclass(frozen=True)
class ChainEvent:
    """A decoded log: which contract role emitted it, its name and arguments, where and when."""

    contract: str  # "MediaApp", "UserMedia", "StorageTopology" or "ProjectRegistry"
    address: str
    name: str
    args: dict[str, Any]
    position: Position
    tx_hash: str
    block_time: int  # unix seconds of the block
    batch: BatchContent | None = None  # BatchAnchored: its manifest as read and checked
    direct: DirectRecord | None = None  # MediaRegistered: the record and signature its transaction sent


@dataclass(frozen=True)
class Insert:
    table: str
    row: dict[str, Any]


@dataclass(frozen=True)
class MarkDeleted:
    """Tombstones the media rows of one owner's media id (a media id can only be deleted once, so a rollback
    simply clears it)."""

    media_id: str
    owner: str
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


def _hex(value: bytes) -> str:
    return "0x" + value.hex()


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
            "balance": a.get("balance"),  # a withdrawal request moves nothing yet
            "relayer": a.get("relayer"),
            "available_at": a.get("availableAt"),
            "time": e.block_time,
        }
        return HandlerResult([Insert("deposits", row | _where(e))])

    return handle


def _proof_revealed(e: ChainEvent) -> HandlerResult:
    a = e.args
    row = {
        "sha256": a["sha256"],
        "media_id": a["mediaId"],
        "owner": a["owner"],
        "batch": a["batch"],
        "revealer": a["revealer"],
        "time": e.block_time,
    }
    return HandlerResult([Insert("proofs", row | _where(e))])


def _media_writes(e: ChainEvent, entry: int, row: dict[str, Any]) -> list[Write]:
    """A media row at (event, entry) and its title's tokens: one row per title, its distinct tokens with their
    counts (the store unnests them when the index loads)."""
    pos = e.position.entry_key(entry)
    full = {
        "pos": pos,
        "short_id": None,
        "time": e.block_time,
        "deleted": False,
        "deleted_block": None,
        "deleted_tx_hash": None,
        **row,
    }
    counts, length = term_counts(row["title"])
    tokens_row = {
        "media_pos": pos,
        "tokens": list(counts),
        "tfs": list(counts.values()),
        "title_len": length,
        "block": e.position.block,
    }
    return [Insert("media", full | _where(e)), Insert("search_tokens", tokens_row)]


def _receipt_rows(e: ChainEvent, media_id: str, receipts: list[tuple[int, int, str]]) -> list[Write]:
    """(cluster id, issued at, signature as 0x-hex) of one registration, in order."""
    where = _where(e)
    return [
        Insert("receipts", {"media_id": media_id, "idx": i, "cluster_id": c, "issued_at": t, "signature": s} | where)
        for i, (c, t, s) in enumerate(receipts)
    ]


def _media_registered(e: ChainEvent) -> HandlerResult:
    """The direct path: one record, its receipts in the event, checked on chain."""
    a = e.args
    receipts = [(r["clusterId"], r["issuedAt"], r["signature"]) for r in a["receipts"]]
    direct = e.direct
    row = {
        "id": a["mediaId"],
        "kind": "direct",
        "batch": 0,
        "owner": a["owner"],
        "user_contract": e.address,
        "sha256": a["sha256"],
        "cid": a["cid"],
        "title": a["title"],
        "media_type": a["mediaType"],
        "size": a["size"],
        "parent": None if a["parent"] == ZERO32 else a["parent"],
        "cluster_ids": [c for c, _, _ in receipts],
        "sender": a["sender"],
        "tree_index": None,
        "leaf": a["mediaId"],
        "receipts_hash": None,  # worked out when a bundle is asked for: hashing here costs backfills 2/3 of their speed
        "record": json.dumps(direct.record_message, sort_keys=True) if direct else None,
        "owner_signature": _hex(direct.owner_signature) if direct else None,
        "signature_check": ON_CHAIN,
    }
    return HandlerResult(_media_writes(e, 0, row) + _receipt_rows(e, a["mediaId"], receipts))


def _batched_entry(e: ChainEvent, entry: BatchEntry) -> list[Write]:
    record = entry.record
    media_id = _hex(entry.media_id)
    row = {
        "id": media_id,
        "kind": "batched",
        "batch": e.position.block,
        "owner": record.owner,
        "user_contract": None,  # batched owners need no UserMedia
        "sha256": _hex(record.sha256),
        "cid": record.cid,
        "title": record.title,
        "media_type": record.media_type,
        "size": record.size,
        "parent": None if record.parent == b"\x00" * 32 else _hex(record.parent),
        "cluster_ids": [c for c, _, _ in entry.receipts],
        "sender": e.args["sequencer"],
        "tree_index": entry.tree_index,
        "leaf": _hex(entry.leaf),
        "receipts_hash": _hex(entry.receipts_hash),
        "record": json.dumps(entry.record_message, sort_keys=True),
        "owner_signature": _hex(entry.owner_signature),
        "signature_check": entry.signature_check,
    }
    variants = [
        Insert(
            "variants",
            {"media_id": media_id, "idx": i, "sha256": _hex(v.sha256), "name": v.name, "cid": v.cid, "size": v.size}
            | _where(e),
        )
        for i, v in enumerate(record.variants)
    ]
    receipts = [(c, t, _hex(s)) for c, t, s in entry.receipts]
    return _media_writes(e, entry.index, row) + variants + _receipt_rows(e, media_id, receipts)


def _batch_anchored(e: ChainEvent) -> HandlerResult:
    """A batch: its anchor row, and a media row (with variants and receipts) per verified manifest entry."""
    a = e.args
    content = e.batch or BatchContent.refused("", "the manifest was not read")
    status = "indexed" if content.problem is None else "refused"
    row = {
        "root": a["root"],
        "sequencer": a["sequencer"],
        "manifest_cid": content.manifest_cid or None,
        "manifest_cid_hex": a["manifestCid"],
        "status": status,
        "problem": content.problem,
        "declared": content.declared,
        "indexed": len(content.entries),
        "rejected": json.dumps([{"entry": i, "why": why} for i, why in content.rejected]),
        "tree": [_hex(node) for node in content.tree],
        "time": e.block_time,
        "declared_actions": content.declared_actions,
        "indexed_actions": len(content.actions),
        "rejected_actions": json.dumps([{"action": j, "why": why} for j, why in content.rejected_actions]),
    }
    writes: list[Write] = [Insert("batches", row | _where(e))]
    for entry in content.entries:
        writes += _batched_entry(e, entry)
    writes += [Insert("actions", _action_row(e, a) | _where(e)) for a in content.actions]
    return HandlerResult(writes)


def _action_row(e: ChainEvent, a: BatchAction) -> dict[str, Any]:
    """A verified action as the store judges it (`status` is the store's, once it knows what came before)."""
    act = a.signed.action
    row: dict[str, Any] = {
        "action_id": _hex(a.signed.action_id),
        "kind": act.kind.lower(),
        "author": act.author,
        "issued_at": act.issued_at,
        "signature": _hex(a.signed.signature),
        "signature_check": a.signature_check,
        "batch": e.position.block,
        "seq": a.index,
        "tree_index": a.tree_index,
        "leaf": _hex(a.leaf),
        "status": "applied",
        "time": e.block_time,
    }
    if isinstance(act, social.Follow):
        row |= {"subject": act.subject, "state": act.follow}
    elif isinstance(act, social.Like):
        row |= {"media_id": _hex(act.media_id), "state": act.like}
    else:
        replaces = None if act.is_new else _hex(act.replaces)
        row |= {"media_id": _hex(act.media_id), "comment_id": replaces or row["action_id"], "replaces": replaces,
                "state": act.deleted, "text": act.text}  # fmt: skip
    return row


def _variant(e: ChainEvent) -> HandlerResult:
    a = e.args
    row = {
        "media_id": a["mediaId"],
        "idx": 0,  # direct variants come one event each: the log index orders them
        "sha256": a["sha256"],
        "name": a["name"],
        "cid": a["cid"],
        "size": a["size"],
    }
    return HandlerResult([Insert("variants", row | _where(e))])


def _media_deleted(e: ChainEvent) -> HandlerResult:
    return HandlerResult([MarkDeleted(e.args["mediaId"], e.args["owner"], e.position.block, e.tx_hash)])


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
            "status": _status_name(ClusterStatus.ACTIVE if kind == "registered" else status),
            "held": a.get("held"),
            "changed_by": a.get("changedBy"),
            "time": e.block_time,
        }
        return HandlerResult([Insert("cluster_events", row | _where(e))])

    return handle


def _status_name(value: object) -> str | None:
    """The status as the cluster_events table spells it ("active", "down", ...); None if the contract has no such."""
    status = ClusterStatus.known(value)
    return status.name.lower() if status is not None else None


# ProjectRegistry's ProjectRole, by its enum value; a revoke is stored as the role "none".
PROJECT_ROLES = {1: "read", 2: "write"}
NO_ROLE = "none"


def _project_created(e: ChainEvent) -> HandlerResult:
    a = e.args
    row = {
        "project_id": a["projectId"],
        "owner": a["owner"],
        "name": a["name"],
        "private": a["isPrivate"],
        "time": e.block_time,
    }
    return HandlerResult([Insert("projects", row | _where(e))])


def _project_committed(e: ChainEvent) -> HandlerResult:
    a = e.args
    row = {
        "project_id": a["projectId"],
        "version": a["version"],
        "manifest_sha256": a["manifestSha256"],
        "manifest_cid": a["manifestCid"],
        "committer": a["committer"],
        "time": e.block_time,
    }
    return HandlerResult([Insert("project_versions", row | _where(e))])


def _project_access(e: ChainEvent) -> HandlerResult:
    """A grant or a revoke, as one row of the grantee's role history: the current role is the newest row, so a
    rollback that drops the newest rows brings the role before them back by itself."""
    a = e.args
    role = PROJECT_ROLES.get(a["role"], f"unknown-{a['role']}") if "role" in a else NO_ROLE
    row = {"project_id": a["projectId"], "grantee": a["grantee"], "role": role, "time": e.block_time}
    return HandlerResult([Insert("project_grant_events", row | _where(e))])


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
    ("MediaApp", "WithdrawalRequested"): _deposit("withdrawal_requested"),
    ("MediaApp", "RelayFeePaid"): _deposit("relay_fee"),
    ("MediaApp", "BatchAnchored"): _batch_anchored,
    ("MediaApp", "ProofRevealed"): _proof_revealed,
    ("UserMedia", "MediaRegistered"): _media_registered,
    ("UserMedia", "MediaVariantRegistered"): _variant,
    ("UserMedia", "MediaDeleted"): _media_deleted,
    ("StorageTopology", "ClusterRegistered"): _cluster("registered"),
    ("StorageTopology", "ClusterUpdated"): _cluster("updated"),
    ("StorageTopology", "ClusterSignerRotated"): _cluster("signer_rotated"),
    ("StorageTopology", "ClusterStatusChanged"): _cluster("status"),
    ("ProjectRegistry", "ProjectCreated"): _project_created,
    ("ProjectRegistry", "ProjectCommitted"): _project_committed,
    ("ProjectRegistry", "ProjectAccessGranted"): _project_access,
    ("ProjectRegistry", "ProjectAccessRevoked"): _project_access,
}


def handle(event: ChainEvent) -> HandlerResult:
    """Rows for one event; events the indexer has no table for (roles, ownership, R, gateways, observers) land in
    setting_events so nothing is lost."""
    return HANDLERS.get((event.contract, event.name), _setting)(event)
