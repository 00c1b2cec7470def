"""Drives a real anvil chain with a fresh Mediaproof deployment: users, media with signed receipts, deletes."""

from __future__ import annotations

import hashlib
import secrets
import time
from dataclasses import dataclass
from typing import Any

from eth_account import Account
from web3 import Web3

from mediaproof import eip712
from mediaproof.chain import MediaproofChain
from mediaproof.deployment import ClusterSpec, Deployment, deploy
from mediaproof.settings import ANVIL_TEST_KEYS

CLUSTER_KEY = ANVIL_TEST_KEYS[3]  # signs receipts; needs no ether


@dataclass
class ChainWork:
    w3: Web3
    deployment: Deployment
    chain: MediaproofChain

    @classmethod
    def deploy(cls, rpc_url: str) -> ChainWork:
        w3 = Web3(Web3.HTTPProvider(rpc_url))
        deployer = Account.from_key(ANVIL_TEST_KEYS[0])
        cluster = ClusterSpec(Account.from_key(CLUSTER_KEY).address, "http://127.0.0.1:9")
        deployment = deploy(w3, deployer, network="test", clusters=[cluster])
        return cls(w3, deployment, MediaproofChain(w3, deployment))

    def rpc(self, method: str, *params: Any) -> Any:
        return self.w3.provider.make_request(method, list(params))["result"]  # type: ignore[arg-type]

    def register_user(self, key: str) -> str:
        account = Account.from_key(key)
        self.chain.transact(account, self.chain.media_app.functions.register(), value=10**17)
        return str(self.chain.media_app.functions.userContract(account.address).call())

    def register_media(self, key: str, user_contract: str, title: str, variants: int = 1) -> str:
        account = Account.from_key(key)
        body = secrets.token_bytes(32)
        sha = hashlib.sha256(body).digest()
        cid = "bafk" + sha.hex()[:20]
        pinned_at = int(time.time())
        receipt = eip712.StorageReceipt(1, sha, cid, len(body), pinned_at)
        typed = eip712.receipt_typed_data(receipt, self.chain.chain_id, self.deployment.storage_topology)
        receipts = [(1, pinned_at, eip712.sign(typed, CLUSTER_KEY))]
        record = eip712.MediaRecord(
            sha256=sha,
            cid=cid,
            size=len(body),
            media_type="image/jpeg",
            title=title,
            nonce=secrets.randbits(256),
            deadline=int(time.time()) + 3600,
            variants=tuple(
                eip712.MediaVariant(f"v{i}", hashlib.sha256(body + bytes([i])).digest(), f"bafkv{i}", 10 + i)
                for i in range(variants)
            ),
        )
        typed_record = eip712.record_typed_data(record, self.chain.chain_id, user_contract)
        signature = eip712.sign(typed_record, key)
        user = self.chain.user_media(user_contract)
        self.chain.transact(account, user.functions.registerMedia(record.as_tuple(), signature, receipts))
        return "0x" + eip712.digest(typed_record).hex()

    def delete_media(self, key: str, user_contract: str, media_id: str) -> None:
        user = self.chain.user_media(user_contract)
        self.chain.transact(Account.from_key(key), user.functions.deleteMedia(bytes.fromhex(media_id[2:])))

    def set_cluster_status(self, cluster_id: int, status: int) -> None:
        fn = self.chain.topology.functions.setClusterStatus(cluster_id, status)
        self.chain.transact(Account.from_key(ANVIL_TEST_KEYS[0]), fn)
