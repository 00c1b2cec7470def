"""Chain set-up for the browser tests, run in the main environment (.venv, which has the contracts' tooling).

    python tests/e2e/chain_setup.py deploy RPC_URL DEPLOYMENT_FILE
    python tests/e2e/chain_setup.py register RPC_URL DEPLOYMENT_FILE FILE TITLE

`deploy` deploys the contracts with one storage cluster whose signing key this script holds; `register` puts a
file's proof on chain as anvil account 0, with that cluster's receipt, and prints the proof as JSON. The bytes are
not stored anywhere: the browser tests check proofs, not storage.
"""

from __future__ import annotations

import json
import secrets
import sys
import time
from pathlib import Path

from eth_account import Account
from eth_utils import keccak

from mediaproof import eip712
from mediaproof.chain import MediaproofChain, connect
from mediaproof.content import digest_file
from mediaproof.deployment import ClusterSpec, deploy, read_deployment, write_deployment
from mediaproof.register import ensure_user
from mediaproof.settings import ANVIL_TEST_KEYS

# Clusters only sign receipts, so their key needs no funds; deterministic so `register` can find it again.
CLUSTER_KEY = Account.from_key(keccak(text="mediaproof-e2e-cluster"))
OWNER = Account.from_key(ANVIL_TEST_KEYS[0])
DEPOSIT_WEI = 10**17


def deploy_contracts(rpc_url: str, deployment_file: Path) -> None:
    w3 = connect(rpc_url)
    cluster = ClusterSpec(CLUSTER_KEY.address, "http://127.0.0.1:9/unused")
    deployment = deploy(w3, OWNER, network="e2e", clusters=[cluster], replication_factor=1)
    write_deployment(deployment_file, deployment)
    print(json.dumps(deployment.to_json()))


def register(rpc_url: str, deployment_file: Path, path: Path, title: str) -> None:
    chain = MediaproofChain(connect(rpc_url), read_deployment(deployment_file))
    digest = digest_file(path)
    user_contract = ensure_user(chain, OWNER, DEPOSIT_WEI)
    record = eip712.MediaRecord(
        sha256=digest.sha256,
        cid=digest.cid,
        size=digest.size,
        media_type="application/octet-stream",
        title=title,
        nonce=secrets.randbits(256),
        deadline=int(time.time()) + 3600,
    )
    (cluster,) = chain.deployment.clusters
    pinned_at = int(time.time())
    receipt = eip712.StorageReceipt(cluster.id, digest.sha256, digest.cid, digest.size, pinned_at)
    receipt_signature = eip712.sign(
        eip712.receipt_typed_data(receipt, chain.chain_id, chain.deployment.storage_topology), CLUSTER_KEY.key
    )
    owner_signature = eip712.sign(eip712.record_typed_data(record, chain.chain_id, user_contract), OWNER.key)
    user = chain.user_media(user_contract)
    tx = chain.transact(
        OWNER,
        user.functions.registerMedia(record.as_tuple(), owner_signature, [(cluster.id, pinned_at, receipt_signature)]),
    )
    owner, registered_by, timestamp, block = chain.media_app.functions.proofOf(digest.sha256).call()
    print(
        json.dumps(
            {
                "sha256": digest.sha256_hex,
                "owner": owner,
                "user_contract": registered_by,
                "timestamp": timestamp,
                "block": block,
                "tx_block": int(tx["blockNumber"]),
            }
        )
    )


def main(argv: list[str]) -> None:
    command, rpc_url, deployment_file, *rest = argv
    if command == "deploy":
        deploy_contracts(rpc_url, Path(deployment_file))
    elif command == "register":
        register(rpc_url, Path(deployment_file), Path(rest[0]), rest[1])
    else:
        raise SystemExit(f"unknown command {command!r}: deploy or register")


if __name__ == "__main__":
    main(sys.argv[1:])
