"""Signed records, receipts and batch manifests for the indexer's tests, made with mediaproof.eip712 and
mediaproof.merkle as the gateway makes them (tests/contracts/mediakit.py builds the same through Ape), and a real
local HTTP server that serves manifests the way the download service does."""

from __future__ import annotations

import hashlib
import json
import secrets
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from eth_account import Account
from eth_utils import keccak

from mediaproof import eip712, merkle, social
from mediaproof.content import ContentHasher, parse_cid
from mediaproof.unixfs import binary_cid

CHAIN_ID = 31337


@dataclass(frozen=True)
class Domain:
    """Where records and receipts are signed: the chain, MediaApp (records) and StorageTopology (receipts)."""

    chain_id: int
    media_app: str
    topology: str


def cluster_key(cluster_id: int) -> Any:
    """Deterministic cluster signing keys (clusters only sign, so they need no funds)."""
    return Account.from_key(keccak(text=f"mediaproof-indexer-test-cluster-{cluster_id}"))


def record(owner: str, title: str, *, sha256: bytes | None = None, variants: int = 0, deadline: int = 2**40,
           nonce: int | None = None, max_fee: int = 0) -> eip712.MediaRecord:  # fmt: skip
    sha = sha256 or secrets.token_bytes(32)
    return eip712.MediaRecord(
        owner=owner,
        sha256=sha,
        cid="bafkrei" + sha.hex()[:52],
        size=1000 + sha[0],
        media_type="image/jpeg",
        title=title,
        nonce=secrets.randbits(64) if nonce is None else nonce,
        deadline=deadline,
        variants=tuple(
            eip712.MediaVariant(name, hashlib.sha256(sha + name.encode()).digest(), f"bafkreivariant{name}", 100 * i)
            for i, name in enumerate(["small", "medium", "large", "poster"][:variants])
        ),
        max_fee=max_fee,
    )


@dataclass(frozen=True)
class Entry:
    """One signed record with its receipts: a batch entry, or the arguments of a direct registration."""

    record: eip712.MediaRecord
    signature: bytes
    receipts: list[tuple[int, int, bytes]]
    media_id: bytes

    @property
    def receipts_hash(self) -> bytes:
        return merkle.receipts_hash(self.receipts)

    @property
    def leaf_values(self) -> tuple[Any, ...]:
        return merkle.batch_leaf_values(self.record.sha256, self.record.owner, self.media_id, self.receipts_hash)

    def to_json(self) -> dict[str, Any]:
        return {
            "record": self.record.message(),
            "owner_signature": "0x" + self.signature.hex(),
            "media_id": "0x" + self.media_id.hex(),
            "receipts": [{"cluster_id": c, "issued_at": t, "signature": "0x" + s.hex()} for c, t, s in self.receipts],
        }


def sign(domain: Domain, rec: eip712.MediaRecord, owner_key: str, *, issued_at: int,
         clusters: tuple[int, ...] = (1,), media_id: bytes | None = None) -> Entry:  # fmt: skip
    """The owner's signature and receipts bound to (cluster, sha256, owner, media id, issued at); `media_id` forges
    the id the entry claims (and its receipts are bound to)."""
    mid = media_id or eip712.media_id(rec, domain.chain_id, domain.media_app)
    signature = eip712.sign(eip712.record_typed_data(rec, domain.chain_id, domain.media_app), owner_key)
    receipts = []
    for cluster_id in clusters:
        receipt = eip712.StorageReceipt(cluster_id, rec.sha256, rec.owner, mid, issued_at)
        typed = eip712.receipt_typed_data(receipt, domain.chain_id, domain.topology)
        receipts.append((cluster_id, issued_at, eip712.sign(typed, cluster_key(cluster_id).key)))
    return Entry(rec, signature, receipts, mid)


def signed_action(domain: Domain, action: social.Action, key: str, *, action_id: bytes | None = None
                  ) -> social.SignedAction:  # fmt: skip
    """`action` signed with `key` (the author's, or someone else's for a forgery); `action_id` forges the id."""
    signature = social.sign(action, domain.chain_id, domain.media_app, key)
    return social.SignedAction(action, signature, action_id or social.action_id(action, domain.chain_id,
                                                                                domain.media_app))  # fmt: skip


def follow(author: str, subject: str, on: bool = True, issued_at: int = 1) -> social.Follow:
    return social.Follow(author, subject, on, issued_at, secrets.token_bytes(32))


def like(author: str, media_id: str, on: bool = True, issued_at: int = 1) -> social.Like:
    return social.Like(author, bytes.fromhex(media_id[2:]), on, issued_at, secrets.token_bytes(32))


def comment(author: str, media_id: str, text: str, *, replaces: str | None = None, deleted: bool = False,
            issued_at: int = 1) -> social.Comment:  # fmt: skip
    """A new comment, or (`replaces` = the first comment's action id) an edit or a delete of one."""
    before = bytes.fromhex(replaces[2:]) if replaces else eip712.ZERO32
    return social.Comment(author, bytes.fromhex(media_id[2:]), text, issued_at, secrets.token_bytes(32), before,
                          deleted)  # fmt: skip


def tree_of(entries: list[Entry], actions: Sequence[social.SignedAction] = ()) -> merkle.StandardMerkleTree:
    values = [e.leaf_values for e in entries] + [a.leaf_values for a in actions]
    return merkle.StandardMerkleTree.of(values, merkle.BATCH_LEAF_ENCODING)


def manifest(domain: Domain, entries: list[Entry], sequencer: str, actions: Sequence[social.SignedAction] = ()
             ) -> tuple[dict[str, Any], merkle.StandardMerkleTree]:  # fmt: skip
    """The manifest document (format mediaproof-batch-v1) of a batch of `entries` then `actions`, and its tree."""
    tree = tree_of(entries, actions)
    doc = {
        "format": "mediaproof-batch-v1",
        "chain_id": domain.chain_id,
        "contract": domain.media_app,
        "topology": domain.topology,
        "sequencer": sequencer,
        "tree": tree.dump(),
        "entries": [e.to_json() for e in entries],
        **({"actions": [a.to_json() for a in actions]} if actions else {}),
    }
    return doc, tree


def manifest_cid(raw: bytes) -> tuple[bytes, str]:
    """The manifest's IPFS CIDv1 (raw leaves, 256 KiB chunks) as the event carries it (binary) and as text."""
    hasher = ContentHasher()
    hasher.update(raw)
    text = hasher.finish().cid
    parsed = parse_cid(text)
    return binary_cid(parsed.codec, parsed.digest), text


@dataclass
class ManifestServer:
    """A real HTTP server on 127.0.0.1 answering `GET /manifests/<cid>` from `manifests`, standing in for the
    download service the indexer asks in production; `failing` makes it answer 503 (a service that is down)."""

    manifests: dict[str, bytes] = field(default_factory=dict)
    withheld: dict[str, bytes] = field(default_factory=dict)  # manifests it does not have (yet)
    failing: bool = False
    requests: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                server.requests.append(self.path)
                cid = self.path.removeprefix("/manifests/")
                body = server.manifests.get(cid) if self.path.startswith("/manifests/") else None
                status = 503 if server.failing else 200 if body is not None else 404
                payload = body if status == 200 and body is not None else b'{"detail": "no"}'
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, *args: Any) -> None:
                pass

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._httpd.server_address[1]}"
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)
        self._thread.start()

    def put(self, doc: dict[str, Any]) -> tuple[bytes, str]:
        """Serves `doc`; returns its CID (binary, text)."""
        raw = json.dumps(doc, sort_keys=True).encode()
        binary, text = manifest_cid(raw)
        self.manifests[text] = raw
        return binary, text

    def close(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()
