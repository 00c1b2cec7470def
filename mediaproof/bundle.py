"""Portable proof bundles (`mediaproof-proof-v1`) and batch manifests (`mediaproof-batch-v1`): build and parse.

Pure. A bundle is one JSON document per file that proves it with nothing but the file and an RPC endpoint
(docs/proofs.md; JSON Schema in docs/proof-bundle.schema.json). Parsing checks shape only: every value in a bundle
is untrusted until mediaproof.verify has checked it against the chain.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from eth_utils import is_address, to_checksum_address

from mediaproof import eip712, merkle, social
from mediaproof.errors import ProofError

BUNDLE_FORMAT = "mediaproof-proof-v1"
ACTION_BUNDLE_FORMAT = "mediaproof-action-proof-v1"
MANIFEST_FORMAT = "mediaproof-batch-v1"


@dataclass(frozen=True)
class BundleReceipt:
    cluster_id: int
    issued_at: int
    signature: bytes

    def as_tuple(self) -> tuple[int, int, bytes]:
        return (self.cluster_id, self.issued_at, self.signature)

    def to_json(self) -> dict[str, Any]:
        return {"cluster_id": self.cluster_id, "issued_at": self.issued_at, "signature": "0x" + self.signature.hex()}


@dataclass(frozen=True)
class ProofBundle:
    """Everything a verifier needs besides the file and an RPC endpoint."""

    kind: str  # "batched" | "direct"
    record: eip712.MediaRecord
    owner_signature: bytes
    receipts: tuple[BundleReceipt, ...]
    media_id: bytes
    chain_id: int
    contract: str  # MediaApp: holds the roots, and the record's EIP-712 domain
    topology: str
    tx: str
    block: int
    batch: int = 0
    proof: tuple[bytes, ...] = ()
    manifest_cid: str = ""
    user_contract: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def sha256(self) -> bytes:
        return self.record.sha256

    @property
    def owner(self) -> str:
        return self.record.owner

    @property
    def receipts_hash(self) -> bytes:
        return merkle.receipts_hash([r.as_tuple() for r in self.receipts])

    @property
    def leaf(self) -> bytes:
        if self.kind == "direct":
            return self.media_id
        return merkle.batch_leaf(self.sha256, self.owner, self.media_id, self.receipts_hash)

    def to_json(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "format": BUNDLE_FORMAT,
            "kind": self.kind,
            "sha256": "0x" + self.sha256.hex(),
            "owner": self.owner,
            "media_id": "0x" + self.media_id.hex(),
            "leaf": "0x" + self.leaf.hex(),
            "proof": ["0x" + p.hex() for p in self.proof],
            "batch": self.batch,
            "chain_id": self.chain_id,
            "contract": self.contract,
            "tx": self.tx,
            "block": self.block,
            "topology": self.topology,
            "record": self.record.message(),
            "owner_signature": "0x" + self.owner_signature.hex(),
            "receipts": [r.to_json() for r in self.receipts],
            "receipts_hash": "0x" + self.receipts_hash.hex(),
        }
        if self.kind == "batched":
            body["manifest_cid"] = self.manifest_cid
        if self.user_contract:
            body["user_contract"] = self.user_contract
        return body


def parse_bundle(data: Any) -> ProofBundle:
    """A ProofBundle from its JSON; ProofError saying what is missing or malformed."""
    if not isinstance(data, dict):
        raise ProofError("a proof bundle is a JSON object")
    if data.get("format") != BUNDLE_FORMAT:
        raise ProofError(f"not a Mediaproof proof bundle: format is {data.get('format')!r}, not {BUNDLE_FORMAT!r}")
    try:
        kind = str(data["kind"])
        if kind not in ("batched", "direct"):
            raise ValueError(f"kind {kind!r} is neither 'batched' nor 'direct'")
        record = eip712.MediaRecord.from_message(data["record"])
        bundle = ProofBundle(
            kind=kind,
            record=record,
            owner_signature=_hex(data["owner_signature"]),
            receipts=tuple(parse_receipt(r) for r in data["receipts"]),
            media_id=_hex(data["media_id"], 32),
            chain_id=int(data["chain_id"]),
            contract=_address(data["contract"]),
            topology=_address(data["topology"]),
            tx=_tx(data["tx"]),
            block=int(data["block"]),
            batch=int(data.get("batch", 0)),
            proof=tuple(_hex(p, 32) for p in data.get("proof", [])),
            manifest_cid=str(data.get("manifest_cid", "")),
            user_contract=_address(data["user_contract"]) if data.get("user_contract") else "",
        )
    except ProofError:
        raise
    except (KeyError, TypeError, ValueError) as exc:
        raise ProofError(f"the proof bundle is malformed: {_describe(exc)}") from exc
    for key, derived in (("sha256", "0x" + bundle.sha256.hex()), ("owner", bundle.owner)):
        if str(data.get(key, "")).lower() != derived.lower():
            raise ProofError(f"the bundle's {key} {data.get(key)!r} is not its record's ({derived})")
    return bundle


def parse_receipt(data: Any) -> BundleReceipt:
    """One receipt as docs/proof-bundle.schema.json has it: JSON integers (never booleans or text) in the ranges of
    the contract's uint32 cluster id (from 1) and uint64 time, and a 0x-hex signature."""
    if not isinstance(data, dict):
        raise ValueError("a receipt is not an object")
    return BundleReceipt(
        _int_in(data["cluster_id"], 1, 2**32, "receipt cluster_id"),
        _int_in(data["issued_at"], 0, 2**64, "receipt issued_at"),
        _hex(data["signature"]),
    )


@dataclass(frozen=True)
class ManifestEntry:
    """One leaf of a batch: the signed record and its receipts."""

    record: eip712.MediaRecord
    owner_signature: bytes
    media_id: bytes
    receipts: tuple[BundleReceipt, ...]

    @property
    def leaf_values(self) -> tuple[Any, ...]:
        receipts_hash = merkle.receipts_hash([r.as_tuple() for r in self.receipts])
        return merkle.batch_leaf_values(self.record.sha256, self.record.owner, self.media_id, receipts_hash)

    def to_json(self) -> dict[str, Any]:
        return {
            "record": self.record.message(),
            "owner_signature": "0x" + self.owner_signature.hex(),
            "media_id": "0x" + self.media_id.hex(),
            "receipts": [r.to_json() for r in self.receipts],
        }


@dataclass(frozen=True)
class BatchManifest:
    """What a batch's root commits to, pinned on R clusters and named by CID in BatchAnchored."""

    chain_id: int
    contract: str
    topology: str
    sequencer: str
    entries: tuple[ManifestEntry, ...]
    # Social actions ride in the same tree, after the entries: value i >= len(entries) is actions[i - len(entries)].
    actions: tuple[social.SignedAction, ...] = ()

    def tree(self) -> merkle.StandardMerkleTree:
        values = [e.leaf_values for e in self.entries] + [a.leaf_values for a in self.actions]
        return merkle.StandardMerkleTree.of(values, merkle.BATCH_LEAF_ENCODING)

    def to_json(self, tree: merkle.StandardMerkleTree | None = None) -> dict[str, Any]:
        return {
            "format": MANIFEST_FORMAT,
            "chain_id": self.chain_id,
            "contract": self.contract,
            "topology": self.topology,
            "sequencer": self.sequencer,
            "tree": (tree or self.tree()).dump(),
            "entries": [e.to_json() for e in self.entries],
            # Absent when empty, so a manifest of files only is the same bytes it was before actions existed.
            **({"actions": [a.to_json() for a in self.actions]} if self.actions else {}),
        }

    def action_bundle(
        self, index: int, tree: merkle.StandardMerkleTree, batch: int, tx: str, manifest_cid: str
    ) -> ActionBundle:
        """The portable proof of actions[index]."""
        return ActionBundle(
            action=self.actions[index],
            chain_id=self.chain_id,
            contract=self.contract,
            tx=tx,
            batch=batch,
            proof=tuple(tree.proof(len(self.entries) + index)),
            manifest_cid=manifest_cid,
        )

    def bundle(
        self, index: int, tree: merkle.StandardMerkleTree, batch: int, tx: str, manifest_cid: str
    ) -> ProofBundle:
        entry = self.entries[index]
        return ProofBundle(
            kind="batched",
            record=entry.record,
            owner_signature=entry.owner_signature,
            receipts=entry.receipts,
            media_id=entry.media_id,
            chain_id=self.chain_id,
            contract=self.contract,
            topology=self.topology,
            tx=tx,
            block=batch,
            batch=batch,
            proof=tuple(tree.proof(index)),
            manifest_cid=manifest_cid,
        )


def parse_manifest(data: Any) -> BatchManifest:
    """A manifest from its JSON (untrusted: rebuild its tree and compare the root with the anchored one)."""
    if not isinstance(data, dict) or data.get("format") != MANIFEST_FORMAT:
        raise ProofError(f"not a Mediaproof batch manifest (format {MANIFEST_FORMAT!r} expected)")
    try:
        return BatchManifest(
            chain_id=int(data["chain_id"]),
            contract=_address(data["contract"]),
            topology=_address(data["topology"]),
            sequencer=_address(data["sequencer"]),
            entries=tuple(parse_manifest_entry(e) for e in data["entries"]),
            actions=tuple(social.parse_signed_action(a) for a in _list(data.get("actions", []), "actions")),
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise ProofError(f"the batch manifest is malformed: {_describe(exc)}") from exc


@dataclass(frozen=True)
class ActionBundle:
    """The portable proof of one social action: the signed message and its place in an anchored batch. With an
    RPC endpoint anyone checks that its author signed it (ecrecover, or EIP-1271 for a contract wallet) and that
    MediaApp anchored it in block `batch` (`verifyInclusion`)."""

    action: social.SignedAction
    chain_id: int
    contract: str  # MediaApp: the actions' EIP-712 domain, and holds the roots
    tx: str
    batch: int
    proof: tuple[bytes, ...]
    manifest_cid: str

    @property
    def leaf(self) -> bytes:
        return social.leaf(self.action.author, self.action.action_id)

    def to_json(self) -> dict[str, Any]:
        return {
            "format": ACTION_BUNDLE_FORMAT,
            **self.action.to_json(),
            "chain_id": self.chain_id,
            "contract": self.contract,
            "tx": self.tx,
            "batch": self.batch,
            "proof": ["0x" + p.hex() for p in self.proof],
            "manifest_cid": self.manifest_cid,
        }


def parse_action_bundle(data: Any) -> ActionBundle:
    """An action's proof from its JSON (untrusted: mediaproof.verify checks it against the chain)."""
    if not isinstance(data, dict) or data.get("format") != ACTION_BUNDLE_FORMAT:
        raise ProofError(f"not a Mediaproof action proof (format {ACTION_BUNDLE_FORMAT!r} expected)")
    try:
        return ActionBundle(
            action=social.parse_signed_action(data),
            chain_id=_int_in(data["chain_id"], 1, 1 << 64, "chain_id"),
            contract=_address(data["contract"]),
            tx=_tx(data["tx"]),
            batch=_int_in(data["batch"], 1, 1 << 48, "batch"),
            proof=tuple(_hex(p, 32) for p in _list(data["proof"], "proof")),
            manifest_cid=str(data.get("manifest_cid", "")),
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise ProofError(f"the action proof is malformed: {_describe(exc)}") from exc


def _list(value: Any, what: str) -> list[Any]:
    if not isinstance(value, list):
        raise ValueError(f"{what} is not a list")
    return value


def parse_manifest_entry(data: Any) -> ManifestEntry:
    """One entry of a batch manifest, the one reading of it (the sequencer's and the indexer's): shape only;
    whether its media id is its record's digest, and who signed it, are the reader's checks."""
    if not isinstance(data, dict):
        raise ValueError("the entry is not an object")
    if not isinstance(data.get("record"), dict):
        raise ValueError("record is not an object")
    if not isinstance(data.get("receipts"), list):
        raise ValueError("receipts is not a list")
    return ManifestEntry(
        record=eip712.MediaRecord.from_message(data["record"]),
        owner_signature=_hex(data["owner_signature"]),
        media_id=_hex(data["media_id"], 32),
        receipts=tuple(parse_receipt(r) for r in data["receipts"]),
    )


def receipts_of(items: Sequence[Any]) -> tuple[BundleReceipt, ...]:
    """BundleReceipts from (clusterId, issuedAt, signature) tuples, decoded events' structs, or anything with
    cluster_id, issued_at and signature (SignedReceipt)."""
    out = []
    for item in items:
        if isinstance(item, tuple | list):
            out.append(BundleReceipt(int(item[0]), int(item[1]), bytes(item[2])))
        elif isinstance(item, Mapping):
            out.append(BundleReceipt(int(item["clusterId"]), int(item["issuedAt"]), bytes(item["signature"])))
        else:
            out.append(BundleReceipt(int(item.cluster_id), int(item.issued_at), bytes(item.signature)))
    return tuple(out)


def _hex(value: Any, length: int | None = None) -> bytes:
    if not isinstance(value, str) or not value.startswith("0x"):
        raise ValueError(f"{value!r} is not 0x-hex")
    raw = bytes.fromhex(value[2:])
    if length is not None and len(raw) != length:
        raise ValueError(f"{value!r} is not {length} bytes")
    return raw


def _int_in(value: Any, low: int, high: int, what: str) -> int:
    """A JSON integer (not a boolean) with low <= value < high."""
    if not isinstance(value, int) or isinstance(value, bool) or not low <= value < high:
        raise ValueError(f"{what} {value!r} is not an integer from {low} to {high - 1}")
    return value


def _address(value: Any) -> str:
    if not isinstance(value, str) or not is_address(value):
        raise ValueError(f"{value!r} is not an address")
    return str(to_checksum_address(value))


def _tx(value: Any) -> str:
    raw = _hex(value, 32)
    return "0x" + raw.hex()


def _describe(exc: Exception) -> str:
    return f"missing {exc.args[0]!r}" if isinstance(exc, KeyError) else str(exc)
