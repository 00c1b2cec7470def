"""Foundry's cast (npm @foundry-rs/cast, the same 1.7.1 build as our anvil) checks a proof bundle against a real
anvil with nothing of ours: it rebuilds the receipts hash and the batch leaf from the bundle's fields, asks
MediaApp.verifyInclusion, and reads proofOf — the commands docs/verify-with-cast.md gives."""

from __future__ import annotations

import os
import re
import secrets
import subprocess
import textwrap
from pathlib import Path

import pytest
from eth_account import Account
from mediakit import cluster_key
from web3 import Web3

from mediaproof import deployment, eip712, merkle
from mediaproof.settings import ANVIL_TEST_KEYS, PROJECT_ROOT

_NATIVE = PROJECT_ROOT / "node_modules" / "@foundry-rs" / "cast-linux-amd64" / "bin" / "cast"
CAST = _NATIVE if _NATIVE.exists() else PROJECT_ROOT / "node_modules" / ".bin" / "cast"
ADMIN = Account.from_key(ANVIL_TEST_KEYS[0])
OWNER = Account.from_key(ANVIL_TEST_KEYS[3])
# Set up before Ape snapshots the first test (its chain isolation would otherwise rebase).
pytestmark = pytest.mark.usefixtures("anchored")


def cast(*args: str) -> str:
    assert Path(CAST).exists(), f"no cast at {CAST}: `make install` brings npm @foundry-rs/cast"
    done = subprocess.run([str(CAST), *args], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


def hexes(items) -> str:
    return "[" + ",".join(f"0x{bytes(item).hex()}" for item in items) + "]"


class Bundle:
    """What a portable proof bundle carries for one batched file (docs/proofs.md)."""

    def __init__(self, record, signature, receipts, media_id):
        self.record, self.signature, self.receipts, self.media_id = record, signature, receipts, media_id
        self.receipts_hash = merkle.receipts_hash(receipts)
        self.leaf = merkle.batch_leaf(record.sha256, record.owner, media_id, self.receipts_hash)
        self.proof: list[bytes] = []
        self.batch = 0


@pytest.fixture(scope="module")
def anchored(own_anvil):
    """Mediaproof deployed on the test's own anvil with plain web3, and one batch of five signed records anchored;
    the third file revealed, so proofOf names it."""
    w3 = Web3(Web3.HTTPProvider(own_anvil.url))
    deployed = deployment.deploy(
        w3,
        ADMIN,
        network="cast-test",
        clusters=[deployment.ClusterSpec(cluster_key(i).address, f"http://127.0.0.1:{9200 + i}") for i in (1, 2)],
        replication_factor=2,
        sequencers=[ADMIN.address],
    )
    app = w3.eth.contract(address=deployed.media_app, abi=deployment.load_abi("MediaApp"))
    signer = deployment.LocalAccountSigner(w3, ADMIN)
    chain_id, now = int(w3.eth.chain_id), int(w3.eth.get_block("latest")["timestamp"])
    bundles = []
    for _ in range(5):
        sha = secrets.token_bytes(32)
        record = eip712.MediaRecord(
            owner=OWNER.address, sha256=sha, cid="bafkrei" + sha.hex()[:52], size=4096, media_type="image/png",
            title="cast check", nonce=secrets.randbits(256), deadline=now + 3600,
        )  # fmt: skip
        typed = eip712.record_typed_data(record, chain_id, deployed.media_app)
        media_id = eip712.digest(typed)
        receipts = []
        for cluster_id in (1, 2):
            receipt = eip712.StorageReceipt(cluster_id, sha, OWNER.address, media_id, now)
            signature = eip712.sign(
                eip712.receipt_typed_data(receipt, chain_id, deployed.storage_topology), cluster_key(cluster_id).key
            )
            receipts.append((cluster_id, now, signature))
        bundles.append(Bundle(record, eip712.sign(typed, OWNER.key), receipts, media_id))
    tree = merkle.StandardMerkleTree.of(
        [merkle.batch_leaf_values(b.record.sha256, OWNER.address, b.media_id, b.receipts_hash) for b in bundles],
        merkle.BATCH_LEAF_ENCODING,
    )
    manifest_cid = b"\x01\x71\x12\x20" + secrets.token_bytes(32)
    tx = app.functions.anchorBatch(tree.root, manifest_cid).build_transaction({"from": ADMIN.address})
    batch = int(signer.send(tx)["blockNumber"])
    for i, bundle in enumerate(bundles):
        bundle.proof, bundle.batch = tree.proof(i), batch
    revealed = bundles[2]
    fn = app.functions.revealProof(
        revealed.record.as_tuple(), revealed.signature, revealed.receipts_hash, revealed.proof, batch
    )
    assert signer.send(fn.build_transaction({"from": ADMIN.address}))["status"] == 1
    return own_anvil.url, app, bundles


def test_cast_is_the_pinned_foundry_build():
    assert cast("--version").splitlines()[0] == "cast Version: 1.7.1"


def test_cast_rebuilds_the_leaf_from_the_bundle_and_verify_inclusion_says_true(anchored):
    rpc, app, bundles = anchored
    for bundle in bundles:
        receipts = "[" + ",".join(f"({c},{t},0x{s.hex()})" for c, t, s in bundle.receipts) + "]"
        encoded = cast("abi-encode", "f((uint32,uint64,bytes)[])", receipts)
        assert cast("keccak", encoded) == f"0x{bundle.receipts_hash.hex()}"
        values = cast(
            "abi-encode", "f(bytes32,address,bytes32,bytes32)", f"0x{bundle.record.sha256.hex()}",
            bundle.record.owner, f"0x{bundle.media_id.hex()}", f"0x{bundle.receipts_hash.hex()}",
        )  # fmt: skip
        leaf = cast("keccak", cast("keccak", values))
        assert leaf == f"0x{bundle.leaf.hex()}"
        answer = cast(
            "call", app.address, "verifyInclusion(bytes32,bytes32[],uint256)(bool)",
            leaf, hexes(bundle.proof), str(bundle.batch), "--rpc-url", rpc,
        )  # fmt: skip
        assert answer == "true"
        assert app.functions.verifyInclusion(bundle.leaf, bundle.proof, bundle.batch).call() is True


def test_cast_verify_inclusion_says_false_for_a_changed_leaf_path_or_batch(anchored):
    rpc, app, bundles = anchored
    bundle = bundles[0]
    signature = "verifyInclusion(bytes32,bytes32[],uint256)(bool)"
    changed = bytearray(bundle.leaf)
    changed[-1] ^= 1
    other_owner = merkle.batch_leaf(bundle.record.sha256, ADMIN.address, bundle.media_id, bundle.receipts_hash)
    cases = [
        (bytes(changed), bundle.proof, bundle.batch),
        (other_owner, bundle.proof, bundle.batch),  # same file claimed for another owner
        (bundle.leaf, bundles[1].proof, bundle.batch),
        (bundle.leaf, bundle.proof, bundle.batch - 1),
    ]
    for leaf, proof, batch in cases:
        answer = cast("call", app.address, signature, f"0x{leaf.hex()}", hexes(proof), str(batch), "--rpc-url", rpc)
        assert answer == "false"
        assert app.functions.verifyInclusion(leaf, proof, batch).call() is False


def test_cast_proof_of_matches_web3(anchored):
    rpc, app, bundles = anchored
    signature = "proofOf(bytes32)(address,address,uint64,uint64)"
    for bundle in (bundles[2], bundles[0]):  # revealed, and anchored but never revealed (all zeros)
        lines = cast("call", app.address, signature, f"0x{bundle.record.sha256.hex()}", "--rpc-url", rpc).splitlines()
        owner, user_contract, timestamp, block = lines
        # cast annotates big numbers: "1733000000 [1.733e9]".
        from_cast = (owner, user_contract, int(timestamp.split()[0]), int(block.split()[0]))
        assert from_cast == tuple(app.functions.proofOf(bundle.record.sha256).call())
    assert app.functions.proofOf(bundles[2].record.sha256).call()[0] == OWNER.address
    assert app.functions.proofOf(bundles[2].record.sha256).call()[3] == bundles[2].batch
    assert app.functions.proofOf(bundles[0].record.sha256).call()[0] == "0x" + "00" * 20


def test_the_commands_in_docs_verify_with_cast_work_as_written(anchored):
    """docs/verify-with-cast.md's cast commands, run by bash exactly as written, with the bundle's fields in the
    variables its first block fills from the bundle."""
    rpc, app, bundles = anchored
    bundle = bundles[2]
    blocks = re.findall(r"```sh\n(.*?)```", (PROJECT_ROOT / "docs" / "verify-with-cast.md").read_text(), re.S)
    commands = [textwrap.dedent(block) for block in blocks if "jq" not in block]
    assert len(commands) == 4 and all("cast " in c for c in commands)
    env = {
        **os.environ,
        "PATH": f"{Path(CAST).parent}{os.pathsep}{os.environ['PATH']}",
        "RPC": rpc,
        "APP": app.address,
        "SHA": f"0x{bundle.record.sha256.hex()}",
        "OWNER": bundle.record.owner,
        "MID": f"0x{bundle.media_id.hex()}",
        "BATCH": str(bundle.batch),
        "PROOF": hexes(bundle.proof),
        "RECEIPTS": "[" + ",".join(f"({c},{t},0x{s.hex()})" for c, t, s in bundle.receipts) + "]",
    }
    script = "set -euo pipefail\n" + "\n".join(commands) + '\necho "RH=$RH"\necho "LEAF=$LEAF"\n'
    done = subprocess.run(["bash", "-c", script], env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.strip().splitlines()
    assert lines[0] == "true"
    assert lines[1] == bundle.record.owner and int(lines[4].split()[0]) == bundle.batch
    assert lines[-2:] == [f"RH=0x{bundle.receipts_hash.hex()}", f"LEAF=0x{bundle.leaf.hex()}"]
