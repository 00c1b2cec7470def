"""A batch manifest (`mediaproof-batch-v1`), read and checked against the BatchAnchored event that names it.

Pure: bytes in, verdicts out; no network, disk or clock. The manifest comes from whoever served it, so nothing in
it is believed until checked:

- the root rebuilt from the entries (StandardMerkleTree over each entry's batch leaf values) is the anchored root;
- each entry's media id is the EIP-712 digest of its record under MediaApp's domain on this chain;
- each owner signature recovers (ECDSA) to the record's owner, or the owner is a contract (an ERC-1271 wallet,
  as the caller found out on chain): its signature is then kept but marked unchecked.

Social actions (after the entries in the tree, see mediaproof/social.py) are checked alike: the root is rebuilt
over entries then actions; each action's id is its message's EIP-712 digest under MediaApp's domain on this chain,
its signature recovers to its author (or the author has code: kept, marked unchecked), and it obeys
`social.check_rules`. What depends on the index (a replayed id, media that is not there) is the store's check.

Entries and actions that fail are left out, each with its reason; a manifest whose root does not match yields none.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from eth_utils import is_address, to_checksum_address

from mediaproof import bundle, eip712, merkle, social
from mediaproof.errors import InputError

FORMAT = bundle.MANIFEST_FORMAT
MAX_ENTRIES = 65536  # MEDIAPROOF_BATCH_MAX_FILES's upper bound; a media row's position has 16 bits for the entry
MAX_ACTIONS = 65536  # an action row's place in its batch is its index among the actions
ECDSA = "ecdsa"
ERC1271_UNCHECKED = "erc1271-unchecked"
SIGNATURE_LENGTH = 65


class ManifestRejected(Exception):
    """The manifest as a whole is unusable (not JSON, another format or deployment, a root that does not match)."""


@dataclass(frozen=True)
class BatchEntry:
    """One verified entry: what its media row and its proof bundle carry."""

    index: int  # in the manifest's entries (= tree.values)
    tree_index: int  # where its leaf sits in the tree array
    leaf: bytes
    record: eip712.MediaRecord
    record_message: dict[str, Any]  # as eip712.MediaRecord.message() writes it
    owner_signature: bytes
    media_id: bytes
    receipts: tuple[tuple[int, int, bytes], ...]  # (cluster id, issued at, signature)
    receipts_hash: bytes
    signature_check: str  # ECDSA or ERC1271_UNCHECKED


@dataclass(frozen=True)
class BatchAction:
    """One verified social action: its place in the batch and the signed message."""

    index: int  # in the manifest's actions (tree value len(entries) + index)
    tree_index: int
    leaf: bytes
    signed: social.SignedAction
    signature_check: str  # ECDSA or ERC1271_UNCHECKED


@dataclass(frozen=True)
class BatchContent:
    """What a BatchAnchored event brings once its manifest is read: the tree, the entries that passed, and why the
    others (or the whole manifest) did not."""

    manifest_cid: str
    declared: int  # entries the manifest lists
    tree: tuple[bytes, ...]  # the rebuilt tree (OpenZeppelin layout: root first), empty when refused
    entries: tuple[BatchEntry, ...]
    rejected: tuple[tuple[int, str], ...]  # (entry index, why)
    problem: str | None = None  # why no entry was indexed, when the manifest as a whole failed
    actions: tuple[BatchAction, ...] = ()
    rejected_actions: tuple[tuple[int, str], ...] = ()  # (action index, why)
    declared_actions: int = 0

    @classmethod
    def refused(cls, manifest_cid: str, problem: str, declared: int = 0, declared_actions: int = 0) -> BatchContent:
        return cls(manifest_cid, declared, (), (), (), problem, declared_actions=declared_actions)


@dataclass(frozen=True)
class _Candidate:
    """An entry as read, before the checks that need the whole batch (the root) or the chain (owner code)."""

    index: int
    values: tuple[Any, ...]  # its leaf values: (sha256, owner, media id, receipts hash)
    record: eip712.MediaRecord | None = None
    record_message: dict[str, Any] | None = None
    media_id: bytes = b""
    owner_signature: bytes = b""
    receipts: tuple[tuple[int, int, bytes], ...] = ()
    receipts_hash: bytes = b""
    ecdsa_signer: str | None = None
    problem: str | None = None  # why this entry cannot be indexed whatever the rest says


@dataclass(frozen=True)
class _ActionCandidate:
    """A social action as read: its leaf values (from the message, or the tree dump when unreadable)."""

    index: int
    values: tuple[Any, ...]
    signed: social.SignedAction | None = None
    signer: str | None = None  # who the signature recovers to (None: nobody)
    problem: str | None = None


@dataclass(frozen=True)
class ParsedManifest:
    manifest_cid: str
    candidates: tuple[_Candidate, ...]
    action_candidates: tuple[_ActionCandidate, ...] = ()

    def owners_to_look_up(self) -> set[str]:
        """Owners of readable entries whose signature is not their own ECDSA signature: an owner with code may be
        an ERC-1271 wallet, one without has a forged or broken signature. The caller asks the chain."""
        return {
            c.record.owner
            for c in self.candidates
            if c.problem is None and c.record is not None and c.ecdsa_signer != c.record.owner
        } | {
            a.signed.author
            for a in self.action_candidates
            if a.problem is None and a.signed is not None and a.signer != a.signed.author
        }


def parse(raw: bytes, manifest_cid: str, *, chain_id: int, media_app: str, topology: str) -> ParsedManifest:
    """Reads a manifest and checks each entry on its own (record digest, ECDSA signer); ManifestRejected when it is
    not a manifest of this deployment."""
    try:
        doc = json.loads(raw)
    except (UnicodeDecodeError, ValueError) as exc:
        raise ManifestRejected(f"the manifest is not JSON ({exc})") from None
    if not isinstance(doc, dict):
        raise ManifestRejected("the manifest is not a JSON object")
    if doc.get("format") != FORMAT:
        raise ManifestRejected(f"the manifest's format is {doc.get('format')!r}, not {FORMAT!r}")
    if doc.get("chain_id") != chain_id:
        raise ManifestRejected(f"the manifest is for chain {doc.get('chain_id')!r}, not chain {chain_id}")
    for key, expected in (("contract", media_app), ("topology", topology)):
        if not _same_address(doc.get(key), expected):
            raise ManifestRejected(f"the manifest names {key} {doc.get(key)!r}, not this deployment's {expected}")
    entries = doc.get("entries")
    actions = doc.get("actions", [])
    if not isinstance(entries, list) or not isinstance(actions, list) or not (entries or actions):
        raise ManifestRejected("the manifest has no entries list (nor actions)")
    if len(entries) > MAX_ENTRIES:
        raise ManifestRejected(f"the manifest lists {len(entries)} entries, more than {MAX_ENTRIES}")
    if len(actions) > MAX_ACTIONS:
        raise ManifestRejected(f"the manifest lists {len(actions)} actions, more than {MAX_ACTIONS}")
    dumped = _dumped_values(doc.get("tree"))

    def dumped_at(i: int) -> tuple[Any, ...] | None:
        return dumped[i] if dumped is not None and i < len(dumped) else None

    candidates = tuple(_read_entry(i, entry, dumped_at(i), chain_id, media_app) for i, entry in enumerate(entries))
    action_candidates = tuple(
        _read_action(j, action, dumped_at(len(entries) + j), chain_id, media_app) for j, action in enumerate(actions)
    )
    return ParsedManifest(manifest_cid, candidates, action_candidates)


def verify(parsed: ParsedManifest, root: bytes, contract_owners: Iterable[str] = ()) -> BatchContent:
    """The entries that pass, given the anchored root and which owners have code (see `owners_to_look_up`)."""
    cands, acts = parsed.candidates, parsed.action_candidates
    unreadable = [c for c in cands if not c.values]
    if unreadable:
        c = unreadable[0]
        return BatchContent.refused(
            parsed.manifest_cid,
            f"entry {c.index} cannot be read ({c.problem}) and tree.values[{c.index}] gives no leaf either, so the "
            "root cannot be rebuilt",
            len(cands),
            len(acts),
        )
    unreadable_actions = [a for a in acts if not a.values]
    if unreadable_actions:
        a = unreadable_actions[0]
        return BatchContent.refused(
            parsed.manifest_cid,
            f"action {a.index} cannot be read ({a.problem}) and tree.values[{len(cands) + a.index}] gives no leaf "
            "either, so the root cannot be rebuilt",
            len(cands),
            len(acts),
        )
    try:
        tree = merkle.StandardMerkleTree.of(
            [c.values for c in cands] + [a.values for a in acts], merkle.BATCH_LEAF_ENCODING
        )
    except Exception as exc:  # eth_abi refuses values of the wrong shape in several ways
        return BatchContent.refused(parsed.manifest_cid, f"the leaves cannot be encoded ({exc})", len(cands), len(acts))
    if tree.root != root:
        return BatchContent.refused(
            parsed.manifest_cid,
            f"the root rebuilt from the manifest's {len(cands)} entries and {len(acts)} actions is "
            f"0x{tree.root.hex()}, not the anchored root 0x{root.hex()}",
            len(cands),
            len(acts),
        )
    contracts = {to_checksum_address(o) for o in contract_owners}
    entries: list[BatchEntry] = []
    rejected: list[tuple[int, str]] = []
    seen: dict[bytes, int] = {}
    for c in cands:
        problem = c.problem
        check = ECDSA
        if problem is None and c.record is not None and c.ecdsa_signer != c.record.owner:
            if c.record.owner in contracts:
                check = ERC1271_UNCHECKED
            elif c.ecdsa_signer is None:
                problem = (
                    f"the owner signature is not a {SIGNATURE_LENGTH}-byte ECDSA signature and the owner has no code"
                )
            else:
                problem = f"the owner signature recovers to {c.ecdsa_signer}, not the owner {c.record.owner}"
        if problem is None and c.media_id in seen:
            problem = f"media id 0x{c.media_id.hex()} is entry {seen[c.media_id]}'s too"
        if problem is not None or c.record is None or c.record_message is None:
            rejected.append((c.index, problem or "the record cannot be read"))
            continue
        seen[c.media_id] = c.index
        entries.append(
            BatchEntry(
                index=c.index,
                tree_index=tree.tree_indices[c.index],
                leaf=tree.leaf(c.index),
                record=c.record,
                record_message=c.record_message,
                owner_signature=c.owner_signature,
                media_id=c.media_id,
                receipts=c.receipts,
                receipts_hash=c.receipts_hash,
                signature_check=check,
            )
        )
    actions: list[BatchAction] = []
    rejected_actions: list[tuple[int, str]] = []
    seen_actions: dict[bytes, int] = {}
    for a in acts:
        problem = a.problem
        check = ECDSA
        if problem is None and a.signed is not None and a.signer != a.signed.author:
            if a.signed.author in contracts:
                check = ERC1271_UNCHECKED
            elif a.signer is None:
                problem = f"the signature is not a {SIGNATURE_LENGTH}-byte ECDSA signature and the author has no code"
            else:
                problem = f"the signature recovers to {a.signer}, not the author {a.signed.author}"
        if problem is None and a.signed is not None and a.signed.action_id in seen_actions:
            problem = f"action id 0x{a.signed.action_id.hex()} is action {seen_actions[a.signed.action_id]}'s too"
        if problem is not None or a.signed is None:
            rejected_actions.append((a.index, problem or "the action cannot be read"))
            continue
        seen_actions[a.signed.action_id] = a.index
        value_index = len(cands) + a.index
        actions.append(BatchAction(a.index, tree.tree_indices[value_index], tree.leaf(value_index), a.signed, check))
    return BatchContent(
        parsed.manifest_cid,
        len(cands),
        tree.tree,
        tuple(entries),
        tuple(rejected),
        actions=tuple(actions),
        rejected_actions=tuple(rejected_actions),
        declared_actions=len(acts),
    )


def read_batch(
    raw: bytes,
    manifest_cid: str,
    root: bytes,
    *,
    chain_id: int,
    media_app: str,
    topology: str,
    contract_owners: Iterable[str] = (),
) -> BatchContent:
    """parse + verify in one call, a refused BatchContent for a manifest rejected as a whole."""
    try:
        parsed = parse(raw, manifest_cid, chain_id=chain_id, media_app=media_app, topology=topology)
    except ManifestRejected as exc:
        return BatchContent.refused(manifest_cid, str(exc))
    return verify(parsed, root, contract_owners)


# -- reading one entry ---------------------------------------------------------------------------------------
def _read_entry(index: int, entry: Any, dumped: tuple[Any, ...] | None, chain_id: int, media_app: str) -> _Candidate:
    try:
        parsed = bundle.parse_manifest_entry(entry)
        record, media_id, signature = parsed.record, parsed.media_id, parsed.owner_signature
        canonical = record.message()
        receipts = tuple(r.as_tuple() for r in parsed.receipts)
        receipts_hash = merkle.receipts_hash(list(receipts))
        values = merkle.batch_leaf_values(record.sha256, record.owner, media_id, receipts_hash)
        digest = eip712.media_id(record, chain_id, media_app)
    except Exception as exc:  # malformed JSON values fail in many ways (KeyError, ValueError, eth_abi's own types)
        return _Candidate(index, dumped or (), problem=f"malformed entry: {exc}")
    found = _Candidate(
        index,
        values,
        record,
        canonical,
        media_id,
        signature,
        receipts,
        receipts_hash,
        ecdsa_signer=_ecdsa_signer(media_id, signature),
    )
    if digest != media_id:
        return _problem(found, f"media id 0x{media_id.hex()} is not its record's EIP-712 digest 0x{digest.hex()}")
    return found


def _read_action(index: int, data: Any, dumped: tuple[Any, ...] | None, chain_id: int, media_app: str
                 ) -> _ActionCandidate:  # fmt: skip
    """One action on its own: readable, its id its digest, its rules kept; who its signature recovers to."""
    try:
        signed = social.parse_signed_action(data)
    except InputError as exc:
        return _ActionCandidate(index, dumped or (), problem=f"malformed action: {exc}")
    found = _ActionCandidate(index, signed.leaf_values, signed)
    digest = social.action_id(signed.action, chain_id, media_app)
    if digest != signed.action_id:
        return _ActionCandidate(
            index, found.values, signed, problem=f"action id 0x{signed.action_id.hex()} is not its message's "
            f"EIP-712 digest 0x{digest.hex()}"
        )  # fmt: skip
    try:
        social.check_rules(signed.action)
    except InputError as exc:
        return _ActionCandidate(index, found.values, signed, problem=f"the action breaks a rule: {exc}")
    return _ActionCandidate(index, found.values, signed, signer=_ecdsa_signer(digest, signed.signature))


def _problem(c: _Candidate, problem: str) -> _Candidate:
    return _Candidate(c.index, c.values, c.record, c.record_message, c.media_id, problem=problem)


def _ecdsa_signer(digest: bytes, signature: bytes) -> str | None:
    if len(signature) != SIGNATURE_LENGTH:
        return None
    try:
        return eip712.recover_digest(digest, signature)
    except Exception:  # eth_keys raises several unrelated types for a malformed (r, s, v)
        return None


def _dumped_values(tree: Any) -> list[tuple[Any, ...] | None] | None:
    """tree.values[i].value of a standard-v1 dump with our leaf encoding, as leaf values (None where unreadable):
    only used for entries that cannot be read themselves, so the other entries can still be checked."""
    if not isinstance(tree, dict) or tree.get("format") != "standard-v1":
        return None
    if tree.get("leafEncoding") != list(merkle.BATCH_LEAF_ENCODING) or not isinstance(tree.get("values"), list):
        return None
    out: list[tuple[Any, ...] | None] = []
    for item in tree["values"]:
        try:
            sha, owner, media_id, receipts_hash = item["value"]
            if not is_address(owner):
                raise ValueError(owner)
            address = to_checksum_address(owner)
            out.append((_hex(sha, 32, ""), address, _hex(media_id, 32, ""), _hex(receipts_hash, 32, "")))
        except (KeyError, TypeError, ValueError):
            out.append(None)
    return out


def _hex(value: Any, length: int | None, what: str) -> bytes:
    if not isinstance(value, str) or not value.startswith("0x"):
        raise ValueError(f"{what} is not 0x-hex")
    raw = bytes.fromhex(value[2:])
    if length is not None and len(raw) != length:
        raise ValueError(f"{what} is {len(raw)} bytes, not {length}")
    return raw


def _same_address(value: Any, expected: str) -> bool:
    return isinstance(value, str) and is_address(value) and to_checksum_address(value) == to_checksum_address(expected)
