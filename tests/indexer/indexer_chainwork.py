"""Drives a real anvil chain with a fresh round-2 Mediaproof deployment: users, direct registrations through
UserMedia.registerMedia with receipts bound to (cluster, sha256, owner, media id, issued at), batches anchored by an
approved sequencer with MediaApp.anchorBatch (their manifests served by a real local HTTP server standing in for the
download service), reveals and deletes; and ProjectRegistry's projects, commits, grants and revokes."""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from batchkit import Domain, Entry, ManifestServer, cluster_key, manifest, record, sign
from eth_account import Account
from web3 import Web3

from mediaproof import eip712, merkle, social
from mediaproof.abis import load_abi
from mediaproof.chain import MediaproofChain
from mediaproof.deployment import ClusterSpec, Deployment, deploy
from mediaproof.settings import ANVIL_TEST_KEYS

ADMIN_KEY = ANVIL_TEST_KEYS[0]  # deploys, and anchors batches as the approved sequencer


@dataclass(frozen=True)
class Batch:
    """An anchored batch: its number (block), transaction, entries, tree and manifest CID."""

    block: int
    tx_hash: str
    entries: list[Entry]
    tree: merkle.StandardMerkleTree
    cid: str

    @property
    def media_ids(self) -> list[str]:
        return ["0x" + e.media_id.hex() for e in self.entries]


@dataclass
class ChainWork:
    w3: Web3
    deployment: Deployment
    chain: MediaproofChain
    manifests: ManifestServer

    @classmethod
    def deploy(cls, rpc_url: str, manifests: ManifestServer) -> ChainWork:
        w3 = Web3(Web3.HTTPProvider(rpc_url))
        admin = Account.from_key(ADMIN_KEY)
        cluster = ClusterSpec(cluster_key(1).address, "http://127.0.0.1:9")
        deployment = deploy(w3, admin, network="test", clusters=[cluster], sequencers=[admin.address])
        return cls(w3, deployment, MediaproofChain(w3, deployment), manifests)

    @property
    def domain(self) -> Domain:
        return Domain(self.chain.chain_id, self.deployment.media_app, self.deployment.storage_topology)

    def now(self) -> int:
        return int(self.w3.eth.get_block("latest")["timestamp"])

    def rpc(self, method: str, *params: Any) -> Any:
        return self.w3.provider.make_request(method, list(params))["result"]  # type: ignore[arg-type]

    def register_user(self, key: str) -> str:
        account = Account.from_key(key)
        self.chain.transact(account, self.chain.media_app.functions.register(), value=10**17)
        return str(self.chain.media_app.functions.userContract(account.address).call())

    def entry(self, key: str, title: str, *, variants: int = 0, sha256: bytes | None = None,
              owner: str | None = None) -> Entry:  # fmt: skip
        """A record of `owner` (the key's address unless given) signed with `key`, with a receipt from cluster 1."""
        rec = record(owner or Account.from_key(key).address, title, sha256=sha256, variants=variants,
                     deadline=self.now() + 3600)  # fmt: skip
        return sign(self.domain, rec, key, issued_at=self.now())

    def register_media(self, key: str, user_contract: str, title: str, variants: int = 1,
                       sha256: bytes | None = None) -> str:  # fmt: skip
        """A direct registration sent by the owner; returns its media id."""
        e = self.entry(key, title, variants=variants, sha256=sha256 or hashlib.sha256(secrets.token_bytes(32)).digest())
        user = self.chain.user_media(user_contract)
        fn = user.functions.registerMedia(e.record.as_tuple(), e.signature, e.receipts)
        self.chain.transact(Account.from_key(key), fn)
        return "0x" + e.media_id.hex()

    def anchor_batch(self, entries: list[Entry], *, doc: dict[str, Any] | None = None, serve: bool = True,
                     actions: Sequence[social.SignedAction] = ()) -> Batch:  # fmt: skip
        """Anchors the batch of `entries` (then `actions`) from the sequencer; its manifest (or `doc` instead) is
        served first unless `serve` is False."""
        built, tree = manifest(self.domain, entries, Account.from_key(ADMIN_KEY).address, actions)
        binary, cid = self.manifests.put(doc or built)
        if not serve:
            self.manifests.withheld[cid] = self.manifests.manifests.pop(cid)
        fn = self.chain.media_app.functions.anchorBatch(tree.root, binary)
        receipt = self.chain.transact(Account.from_key(ADMIN_KEY), fn)
        return Batch(int(receipt["blockNumber"]), "0x" + bytes(receipt["transactionHash"]).hex(), entries, tree, cid)

    def reveal(self, bundle: dict[str, Any], key: str) -> None:
        """MediaApp.revealProof with what a batched bundle carries, sent by anyone."""
        rec = eip712.MediaRecord.from_message(bundle["record"])
        fn = self.chain.media_app.functions.revealProof(
            rec.as_tuple(),
            bytes.fromhex(bundle["owner_signature"][2:]),
            bytes.fromhex(bundle["receipts_hash"][2:]),
            [bytes.fromhex(p[2:]) for p in bundle["proof"]],
            bundle["batch"],
        )
        self.chain.transact(Account.from_key(key), fn)

    def delete_media(self, key: str, user_contract: str, media_id: str) -> None:
        user = self.chain.user_media(user_contract)
        self.chain.transact(Account.from_key(key), user.functions.deleteMedia(bytes.fromhex(media_id[2:])))

    def set_cluster_status(self, cluster_id: int, status: int) -> None:
        fn = self.chain.topology.functions.setClusterStatus(cluster_id, status)
        self.chain.transact(Account.from_key(ADMIN_KEY), fn)

    # -- ProjectRegistry --------------------------------------------------------------------------------------
    @property
    def projects(self) -> Any:
        return self.w3.eth.contract(address=self.deployment.project_registry, abi=load_abi("ProjectRegistry"))

    def create_project(self, key: str, name: str, private: bool = False) -> str:
        """ProjectRegistry.createProject sent by the key's wallet; returns the project id as 0x-hex."""
        account = Account.from_key(key)
        self.chain.transact(account, self.projects.functions.createProject(name, private))
        return "0x" + bytes(self.projects.functions.projectIdOf(account.address, name).call()).hex()

    def commit_project(self, key: str, project_id: str, expected: int, cid: str, sha256: bytes | None = None) -> str:
        """A commit on `expected`; returns its transaction hash."""
        fn = self.projects.functions.commit(
            bytes.fromhex(project_id[2:]), expected, sha256 or hashlib.sha256(cid.encode()).digest(), cid
        )
        receipt = self.chain.transact(Account.from_key(key), fn)
        return "0x" + bytes(receipt["transactionHash"]).hex()

    def grant(self, key: str, project_id: str, grantee: str, role: int) -> None:
        """role: 1 Read, 2 Write (ProjectRole)."""
        fn = self.projects.functions.grant(bytes.fromhex(project_id[2:]), grantee, role)
        self.chain.transact(Account.from_key(key), fn)

    def revoke(self, key: str, project_id: str, grantee: str) -> None:
        fn = self.projects.functions.revoke(bytes.fromhex(project_id[2:]), grantee)
        self.chain.transact(Account.from_key(key), fn)
