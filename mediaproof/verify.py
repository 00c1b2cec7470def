"""Check a file's proof of existence with nothing but the file, its proof bundle and an Ethereum RPC endpoint.

Every step of docs/proofs.md "Verifying": the record's media id and owner signature, the batch leaf's inclusion
(MediaApp.verifyInclusion) or the direct registration's event, every storage receipt against the key and status
its cluster had in StorageTopology *at the proof's block* (replayed from the topology's events, so later rotations
neither void nor rescue it), and whether MediaApp.proofOf knows an earlier proof of the same bytes.

A social action's proof (an ActionBundle) is checked the same way: its id is its EIP-712 digest under the bundle's
(chain, MediaApp) domain, its signature is its author's (ECDSA, or EIP-1271 at the latest block for a contract
wallet), and its leaf is in the anchored batch (`verify_action_bundle`).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any

from eth_abi import encode
from eth_utils import function_signature_to_4byte_selector, to_checksum_address
from web3 import Web3
from web3.logs import DISCARD

from mediaproof import eip712, merkle, social
from mediaproof.abis import load_abi
from mediaproof.bundle import ActionBundle, ProofBundle, receipts_of
from mediaproof.chain import ZERO_ADDRESS
from mediaproof.content import ContentDigest
from mediaproof.errors import ChainError, NotRegistered, ProofError
from mediaproof.topology import ClusterStatus

ERC1271_MAGIC = bytes.fromhex("1626ba7e")
MAX_CLOCK_SKEW = 300  # StorageTopology.MAX_CLOCK_SKEW


@dataclass
class ReceiptCheck:
    cluster_id: int
    signer: str  # the key the signature recovers to
    issued_at: int
    signature_valid: bool  # recovers to the key this cluster had when the proof was made
    active_when_signed: bool  # the cluster was Active in StorageTopology at the proof's block
    in_lifetime: bool  # signed within the receipt lifetime of the proof's block time
    status_then: str


@dataclass
class ProofReport:
    proven: bool
    kind: str
    sha256: str
    cid: str
    owner: str
    first: bool
    media_id: str
    block: int
    timestamp: int
    time: str
    batch: int
    tx: str
    title: str
    media_type: str
    chain_id: int
    contract: str
    deleted: bool = False
    first_proof: dict[str, Any] | None = None
    receipts: list[ReceiptCheck] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


class ChainReader:
    """The few reads a verifier makes, over plain JSON-RPC (no Mediaproof service, no deployment file)."""

    def __init__(self, w3: Web3, media_app: str, topology: str | None = None) -> None:
        self.w3 = w3
        self.chain_id = int(w3.eth.chain_id)
        if not w3.eth.get_code(to_checksum_address(media_app)):
            raise ProofError(f"no contract at {media_app} on chain {self.chain_id}: is this the right RPC endpoint?")
        self.app = w3.eth.contract(address=to_checksum_address(media_app), abi=load_abi("MediaApp"))
        self.topology = w3.eth.contract(
            address=to_checksum_address(topology or self.app.functions.topology().call()),
            abi=load_abi("StorageTopology"),
        )

    def user_media(self, address: str) -> Any:
        return self.w3.eth.contract(address=to_checksum_address(address), abi=load_abi("UserMedia"))

    def owner_signed(self, owner: str, digest: bytes, signature: bytes) -> bool:
        """ECDSA for a wallet, ERC-1271 `isValidSignature` for a contract (as the contracts check it)."""
        try:
            if eip712.recover_digest(digest, signature) == to_checksum_address(owner):
                return True
        except Exception:  # malformed signature: maybe a contract wallet's own format
            pass
        if not self.w3.eth.get_code(to_checksum_address(owner)):
            return False
        selector = function_signature_to_4byte_selector("isValidSignature(bytes32,bytes)")
        try:
            answer = self.w3.eth.call(
                {"to": to_checksum_address(owner), "data": selector + encode(["bytes32", "bytes"], [digest, signature])}
            )
        except Exception:
            return False
        return bytes(answer[:4]) == ERC1271_MAGIC

    def topology_at(self, block: int) -> TopologyState:
        """StorageTopology as it stood before `block`, replayed from its events."""
        state = TopologyState(lifetime=int(self.topology.functions.receiptLifetime().call()))
        events = self.topology.events
        kinds = (
            events.ClusterRegistered,
            events.ClusterSignerRotated,
            events.ClusterStatusChanged,
            events.ReplicationFactorChanged,
        )
        logs = []
        for kind in kinds:
            logs += kind.get_logs(from_block=0, to_block=max(block - 1, 0))
        for log in sorted(logs, key=lambda e: (e["blockNumber"], e["logIndex"])):
            state.apply(log["event"], log["args"])
        return state


@dataclass
class TopologyState:
    lifetime: int
    signers: dict[int, str] = field(default_factory=dict)
    statuses: dict[int, int] = field(default_factory=dict)
    replication_factor: int = 1

    def apply(self, name: str, args: Any) -> None:
        if name == "ClusterRegistered":
            self.signers[int(args["clusterId"])] = str(args["signer"])
            self.statuses[int(args["clusterId"])] = ClusterStatus.ACTIVE
        elif name == "ClusterSignerRotated":
            self.signers[int(args["clusterId"])] = str(args["newSigner"])
        elif name == "ClusterStatusChanged":
            self.statuses[int(args["clusterId"])] = int(args["status"])
        elif name == "ReplicationFactorChanged":
            self.replication_factor = int(args["factor"])


def verify_bundle(reader: ChainReader, bundle: ProofBundle, digest: ContentDigest | None) -> ProofReport:
    """The report for `bundle` (and, when given, the file's digest). Never raises for a proof that fails a
    check: `proven` is False and `problems` says why."""
    problems: list[str] = []
    record = bundle.record
    if reader.chain_id != bundle.chain_id:
        raise ProofError(
            f"the bundle is for chain {bundle.chain_id}, but the RPC endpoint is chain {reader.chain_id}: "
            "pass the endpoint of the chain the proof is on"
        )
    if digest is not None:
        if digest.sha256 != record.sha256:
            problems.append(f"the file's sha256 is {digest.sha256.hex()}, the proof is for {record.sha256.hex()}")
        elif digest.cid != record.cid:
            problems.append(f"the file's CID is {digest.cid}, the record says {record.cid}")
    media_id = eip712.media_id(record, bundle.chain_id, bundle.contract)
    if media_id != bundle.media_id:
        problems.append("the record does not hash to the bundle's media id (the record was altered)")
    if not reader.owner_signed(record.owner, media_id, bundle.owner_signature):
        problems.append(f"the owner signature is not {record.owner}'s signature of this record")
    if bundle.kind == "batched":
        block, timestamp = _check_batched(reader, bundle, media_id, problems)
    else:
        block, timestamp = _check_direct(reader, bundle, media_id, problems)
    receipts = _check_receipts(reader, bundle, media_id, block, timestamp, problems) if block else []
    report = ProofReport(
        proven=not problems,
        kind=bundle.kind,
        sha256=record.sha256.hex(),
        cid=record.cid,
        owner=record.owner,
        first=False,
        media_id="0x" + media_id.hex(),
        block=block,
        timestamp=timestamp,
        time=datetime.fromtimestamp(timestamp, UTC).isoformat() if timestamp else "",
        batch=bundle.batch,
        tx=bundle.tx,
        title=record.title,
        media_type=record.media_type,
        chain_id=bundle.chain_id,
        contract=bundle.contract,
        receipts=receipts,
        problems=problems,
    )
    if report.proven:
        _settle_first(reader, report)
        report.deleted = _deleted(reader, record.owner, media_id)
    return report


def _check_batched(reader: ChainReader, bundle: ProofBundle, media_id: bytes, problems: list[str]) -> tuple[int, int]:
    leaf = merkle.batch_leaf(bundle.sha256, bundle.owner, media_id, bundle.receipts_hash)
    if not reader.app.functions.verifyInclusion(leaf, list(bundle.proof), bundle.batch).call():
        problems.append(f"the leaf is not in batch {bundle.batch} (MediaApp.verifyInclusion says no)")
        return 0, 0
    batch, timestamp = reader.app.functions.anchorOf(merkle.process_proof(leaf, bundle.proof)).call()
    return int(batch), int(timestamp)


def _check_direct(reader: ChainReader, bundle: ProofBundle, media_id: bytes, problems: list[str]) -> tuple[int, int]:
    user_contract = reader.app.functions.userContract(bundle.owner).call()
    if user_contract == ZERO_ADDRESS:
        problems.append(f"{bundle.owner} has no UserMedia, so it registered nothing directly")
        return 0, 0
    try:
        receipt = reader.w3.eth.get_transaction_receipt(bundle.tx)  # type: ignore[arg-type]
    except Exception:
        problems.append(f"no mined transaction {bundle.tx} on chain {reader.chain_id}")
        return 0, 0
    events = reader.user_media(user_contract).events.MediaRegistered().process_receipt(receipt, errors=DISCARD)
    ours = [e for e in events if bytes(e["args"]["mediaId"]) == media_id and e["address"] == user_contract]
    if receipt["status"] != 1 or not ours:
        problems.append(f"transaction {bundle.tx} did not register media 0x{media_id.hex()} in {user_contract}")
        return 0, 0
    if receipts_of(ours[0]["args"]["receipts"]) != bundle.receipts:
        problems.append("the bundle's receipts differ from the ones the registration carried")
    block = int(receipt["blockNumber"])
    return block, int(reader.w3.eth.get_block(block)["timestamp"])


def _check_receipts(
    reader: ChainReader, bundle: ProofBundle, media_id: bytes, block: int, timestamp: int, problems: list[str]
) -> list[ReceiptCheck]:
    topology = reader.topology_at(block)
    checks, good = [], set()
    for r in bundle.receipts:
        message = eip712.StorageReceipt(r.cluster_id, bundle.sha256, bundle.owner, media_id, r.issued_at)
        try:
            signer = eip712.recover(eip712.receipt_typed_data(message, bundle.chain_id, bundle.topology), r.signature)
        except Exception:
            signer = ZERO_ADDRESS
        status = topology.statuses.get(r.cluster_id, ClusterStatus.NONE)
        known = ClusterStatus.known(status)
        check = ReceiptCheck(
            cluster_id=r.cluster_id,
            signer=signer,
            issued_at=r.issued_at,
            signature_valid=signer == topology.signers.get(r.cluster_id),
            active_when_signed=status == ClusterStatus.ACTIVE,
            in_lifetime=r.issued_at <= timestamp + MAX_CLOCK_SKEW and timestamp <= r.issued_at + topology.lifetime,
            status_then=known.label if known is not None else "Unknown",
        )
        checks.append(check)
        if check.signature_valid and check.active_when_signed and check.in_lifetime:
            good.add(r.cluster_id)
    if to_checksum_address(bundle.topology) != reader.topology.address:
        problems.append(f"the bundle names StorageTopology {bundle.topology}, MediaApp uses {reader.topology.address}")
    if len(good) < topology.replication_factor:
        problems.append(
            f"only {len(good)} receipt(s) from distinct clusters check out at block {block}; "
            f"R was {topology.replication_factor}"
        )
    return checks


def _settle_first(reader: ChainReader, report: ProofReport) -> None:
    """`first` is True unless proofOf names an earlier proof of these bytes (or one in the same block by another)."""
    proof = reader.app.functions.proofDetail(bytes.fromhex(report.sha256)).call()
    owner, _user_contract, _timestamp, block, batched = proof
    if owner == ZERO_ADDRESS or int(block) > report.block or (int(block) == report.block and owner == report.owner):
        report.first = True
        return
    report.first = False
    report.first_proof = {"owner": owner, "block": int(block), "batched": bool(batched)}


def _deleted(reader: ChainReader, owner: str, media_id: bytes) -> bool:
    user_contract = reader.app.functions.userContract(owner).call()
    return user_contract != ZERO_ADDRESS and bool(reader.user_media(user_contract).functions.isDeleted(media_id).call())


def verify_from_chain(reader: ChainReader, digest: ContentDigest) -> ProofReport:
    """Without a bundle: the proof MediaApp.proofOf names, checked from the chain's own events (the contracts
    checked the owner's signature, and for the direct path the receipts, when they accepted it)."""
    owner, user_contract, timestamp, block, batched = reader.app.functions.proofDetail(digest.sha256).call()
    if owner == ZERO_ADDRESS:
        raise NotRegistered(
            f"no proof of those bytes (sha256 {digest.sha256.hex()}) is known on chain {reader.chain_id}, and no "
            "proof bundle was given: pass --proof FILE, or ask the indexer that has one"
        )
    if batched:
        logs = reader.app.events.ProofRevealed.get_logs(
            argument_filters={"sha256": digest.sha256, "owner": owner}, from_block=int(block)
        )
        if not logs:
            raise ChainError(f"the reveal of the batched proof of {digest.sha256.hex()} is missing from the logs")
        event = logs[-1]
        media_id, tx = bytes(event["args"]["mediaId"]), event["transactionHash"]
        title, media_type, cid, receipts = "", "", "", []
    else:
        logs = reader.user_media(user_contract).events.MediaRegistered.get_logs(
            argument_filters={"sha256": digest.sha256}, from_block=int(block), to_block=int(block)
        )
        if not logs:
            raise ChainError(f"the registration event is missing from block {block}: is this an archive node?")
        args = logs[0]["args"]
        media_id, tx = bytes(args["mediaId"]), logs[0]["transactionHash"]
        title, media_type, cid, receipts = args["title"], args["mediaType"], args["cid"], args["receipts"]
    report = ProofReport(
        proven=True,
        kind="batched" if batched else "direct",
        sha256=digest.sha256.hex(),
        cid=cid or digest.cid,
        owner=owner,
        first=True,
        media_id="0x" + media_id.hex(),
        block=int(block),
        timestamp=int(timestamp),
        time=datetime.fromtimestamp(int(timestamp), UTC).isoformat(),
        batch=int(block) if batched else 0,
        tx="0x" + bytes(tx).hex(),
        title=title,
        media_type=media_type,
        chain_id=reader.chain_id,
        contract=reader.app.address,
        deleted=_deleted(reader, owner, media_id),
    )
    if not batched:
        pseudo = ProofBundle(
            kind="direct",
            record=eip712.MediaRecord(owner, digest.sha256, cid, digest.size, media_type, title, 0, 0),
            owner_signature=b"",
            receipts=receipts_of(receipts),
            media_id=media_id,
            chain_id=reader.chain_id,
            contract=reader.app.address,
            topology=reader.topology.address,
            tx=report.tx,
            block=int(block),
        )
        report.receipts = _check_receipts(reader, pseudo, media_id, int(block), int(timestamp), report.problems)
        report.proven = not report.problems
    return report


@dataclass
class ActionReport:
    proven: bool
    kind: str
    action_id: str
    author: str
    message: dict[str, Any]
    batch: int
    timestamp: int
    time: str
    tx: str
    chain_id: int
    contract: str
    problems: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def verify_action_bundle(reader: ChainReader, bundle: ActionBundle) -> ActionReport:
    """The report for a social action's proof. Never raises for a proof that fails a check (`problems` says why);
    ProofError when the RPC endpoint is on another chain than the bundle."""
    if reader.chain_id != bundle.chain_id:
        raise ProofError(
            f"the action proof is for chain {bundle.chain_id}, but the RPC endpoint is chain {reader.chain_id}: "
            "pass the endpoint of the chain the proof is on"
        )
    problems: list[str] = []
    signed = bundle.action
    id_ = social.action_id(signed.action, bundle.chain_id, bundle.contract)
    if id_ != signed.action_id:
        problems.append("the action does not hash to the bundle's action id (the message was altered)")
    if not reader.owner_signed(signed.author, id_, signed.signature):
        problems.append(f"the signature is not {signed.author}'s signature of this {signed.kind}")
    leaf = social.leaf(signed.author, id_)
    timestamp = 0
    if reader.app.functions.verifyInclusion(leaf, list(bundle.proof), bundle.batch).call():
        _, timestamp = reader.app.functions.anchorOf(merkle.process_proof(leaf, bundle.proof)).call()
    else:
        problems.append(f"the action's leaf is not in batch {bundle.batch} (MediaApp.verifyInclusion says no)")
    return ActionReport(
        proven=not problems,
        kind=signed.kind,
        action_id=eip712.hex32(id_),
        author=signed.author,
        message=signed.action.message(),
        batch=bundle.batch,
        timestamp=int(timestamp),
        time=datetime.fromtimestamp(int(timestamp), UTC).isoformat() if timestamp else "",
        tx=bundle.tx,
        chain_id=bundle.chain_id,
        contract=bundle.contract,
        problems=problems,
    )
