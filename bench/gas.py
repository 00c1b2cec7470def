"""Gas table of the round-2 contracts: median gas of every public state-changing function, measured on Ape's
local chain (py-evm), the headline figures of both proof paths and of a project commit, and what 500,000 files a
day would cost on Ethereum mainnet and on Base, beside round 1's figures.

Prints everything and writes bench/results/gas.md. Figures are whole-transaction gas (21000 base and calldata
included), the number a wallet shows. Run: `.venv/bin/python bench/gas.py` (or `make bench`). A benchmark reports;
it never fails a build.
"""

from __future__ import annotations

import math
import secrets
import statistics
import time
import zlib
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import Any

from eth_account import Account
from eth_utils import keccak

from mediaproof import eip712, merkle

RESULTS = Path(__file__).resolve().parent / "results" / "gas.md"
SAMPLES = 5
REPLICATION_FACTOR = 2
RECEIPT_LIFETIME = 3600
WITHDRAWAL_DELAY = 2 * 86400
MIN_DEPOSIT = 10**16
BATCH_FILES = 1024
RELAY_GAS_PRICE = 10**9  # any non-zero price: the relayer is then paid from the deposit, as in production
# Binary CIDv1 of a manifest (version, codec, sha2-256, 32-byte digest): the 36 bytes anchorBatch logs per batch.
MANIFEST_CID_PREFIX = b"\x01\x71\x12\x20"

# --- Assumptions for the cost per day (not measured: change them to today's prices) ---
FILES_PER_DAY = 500_000
ETH_USD = 3_000.0
MAINNET_GAS_PRICE_GWEI = 5.0  # base + priority fee on Ethereum mainnet
BASE_L2_GAS_PRICE_GWEI = 0.01  # Base's L2 execution gas price
# Base also charges each transaction an L1 data fee (OP Stack, Fjord): size × (16 × baseFeeScalar × L1 base fee +
# blobBaseFeeScalar × blob base fee) / 1e6, size = max(100, −42.5856 + 0.8365 × FastLZ size of the signed tx). The
# zlib size of the signed transaction stands in for its FastLZ size (FastLZ compresses a little worse).
BASE_L1_BASE_FEE_GWEI = MAINNET_GAS_PRICE_GWEI
BASE_BLOB_BASE_FEE_GWEI = 1.0
BASE_FEE_SCALAR = 2_269
BASE_BLOB_FEE_SCALAR = 1_055_778

# Round 1 (one registerMedia per file, receipts not bound to the owner): its contracts are gone, so its figures are
# quoted from the last round-1 bench/results/gas.md (same compiler, optimizer and chain), not measured again.
ROUND1 = {
    "owner sends, R=2, no variants": 248_548,
    "owner sends, R=2, 3 variants": 405_486,
    "relayed, R=2, 3 variants": 426_983,
}


def cluster_key(index: int) -> Any:
    return Account.from_key(keccak(text=f"mediaproof-bench-cluster-{index}"))


def base_l1_data_fee_wei(signed_tx: bytes) -> float:
    """Base's L1 data fee of one transaction under the assumptions above (Fjord formula)."""
    fastlz_size = len(zlib.compress(signed_tx, 9))
    size = max(100.0, -42.5856 + 0.8365 * fastlz_size)
    scaled = 16 * BASE_FEE_SCALAR * BASE_L1_BASE_FEE_GWEI * 1e9 + BASE_BLOB_FEE_SCALAR * BASE_BLOB_BASE_FEE_GWEI * 1e9
    return size * scaled / 1e6


def usd(wei: float) -> str:
    dollars = wei / 1e18 * ETH_USD
    return f"${dollars:,.0f}" if dollars >= 100 else f"${dollars:,.2f}"


def main() -> None:
    from ape import accounts, chain, networks, project
    from ape.logging import logger

    logger.set_level("ERROR")  # one INFO line per transaction otherwise

    started = time.perf_counter()
    gas: dict[tuple[str, str], list[int]] = defaultdict(list)
    raw: dict[str, bytes] = {}  # one signed transaction per headline path, for Base's L1 data fee

    def measure(contract: str, function: str, tx: Any) -> Any:
        gas[(contract, function)].append(int(tx.gas_used))
        return tx

    def receipt_of(contract: Any) -> Any:
        return chain.provider.get_receipt(contract.txn_hash)

    with networks.parse_network_choice("ethereum:local:test"):
        test = accounts.test_accounts
        admin, relayer, sequencer, observer, stranger = test[0], test[1], test[2], test[3], test[9]
        owners = [test[i] for i in range(4, 4 + SAMPLES)]

        # --- deployment and administration ---
        topology = project.StorageTopology.deploy(admin, RECEIPT_LIFETIME, sender=admin)
        measure("StorageTopology", "(deploy)", receipt_of(topology))
        app = project.MediaApp.deploy(topology, MIN_DEPOSIT, WITHDRAWAL_DELAY, admin, sender=admin)
        measure("MediaApp", "(deploy, creates the UserMedia implementation)", receipt_of(app))
        chain_id = int(chain.chain_id)

        spare = range(4, 4 + SAMPLES)  # clusters 1..3 serve receipts; 4.. are for the admin functions
        for i in range(1, 4 + SAMPLES):
            tx = topology.registerCluster(cluster_key(i).address, 1, f"https://cluster-{i}.example:8601", sender=admin)
            measure("StorageTopology", "registerCluster", tx)
        topology.setObserver(observer, True, sender=admin)
        for k, i in enumerate(spare):
            measure(
                "StorageTopology", "updateCluster", topology.updateCluster(i, 2, "https://moved.example", sender=admin)
            )
            measure("StorageTopology", "rotateSigner", topology.rotateSigner(i, Account.create().address, sender=admin))
            tx = topology.setClusterStatus(i, 3, sender=observer)  # Down, by a health observer
            measure("StorageTopology", "setClusterStatus (observer: Down)", tx)
            tx = topology.setClusterStatus(i, 1, sender=observer)
            measure("StorageTopology", "setClusterStatus (observer: Active)", tx)
            measure(
                "StorageTopology", "setClusterStatus (admin: Draining)", topology.setClusterStatus(i, 2, sender=admin)
            )
            factor = 2 + k % 2
            measure("StorageTopology", "setReplicationFactor", topology.setReplicationFactor(factor, sender=admin))
            fresh = Account.create().address
            measure("StorageTopology", "setObserver", topology.setObserver(fresh, True, sender=admin))
            measure("StorageTopology", "setGateway", topology.setGateway(fresh, True, sender=admin))
            measure("MediaApp", "setRelayer", app.setRelayer(fresh, True, sender=admin))
            measure("MediaApp", "setSequencer", app.setSequencer(fresh, True, sender=admin))
            measure("MediaApp", "setMinimumDeposit", app.setMinimumDeposit(MIN_DEPOSIT + k, sender=admin))
            for name, contract in (("StorageTopology", topology), ("MediaApp", app)):
                # Hand over and back, so every sample starts from the same admin.
                measure(name, "transferOwnership", contract.transferOwnership(stranger, sender=admin))
                measure(name, "acceptOwnership", contract.acceptOwnership(sender=stranger))
                contract.transferOwnership(admin, sender=stranger)
                contract.acceptOwnership(sender=admin)
        topology.setReplicationFactor(REPLICATION_FACTOR, sender=admin)
        app.setMinimumDeposit(MIN_DEPOSIT, sender=admin)
        app.setRelayer(relayer, True, sender=admin)
        app.setSequencer(sequencer, True, sender=admin)

        # --- users and deposits ---
        user_contracts = []
        for owner in owners:
            measure("MediaApp", "register (clone + initialize)", app.register(sender=owner, value=10**18))
            measure("MediaApp", "deposit", app.deposit(sender=owner, value=10**15))
            measure("MediaApp", "requestWithdrawal", app.requestWithdrawal(10**15, sender=owner))
            user_contracts.append(project.UserMedia.at(app.userContract(owner)))
        chain.mine(timestamp=int(chain.pending_timestamp) + WITHDRAWAL_DELAY + 1)
        for owner in owners:
            measure("MediaApp", "withdraw", app.withdraw(sender=owner))

        # --- records, receipts, bundles ---
        nonces: dict[str, int] = defaultdict(int)

        def record(owner: Any, variants: int = 0, *, nonce: int | None = None) -> eip712.MediaRecord:
            sha = secrets.token_bytes(32)
            if nonce is None:
                nonce, nonces[owner.address] = nonces[owner.address], nonces[owner.address] + 1
            return eip712.MediaRecord(
                owner=owner.address,
                sha256=sha,
                cid="bafkrei" + secrets.token_hex(26),  # 59 characters, a CIDv1 in base32
                size=2_500_000,
                media_type="image/jpeg",
                title="Harbour at dusk, seen from the old lighthouse",
                nonce=nonce,
                deadline=int(chain.pending_timestamp) + 3600,
                variants=tuple(
                    eip712.MediaVariant(name, secrets.token_bytes(32), "bafkrei" + secrets.token_hex(26), 50_000 * k)
                    for k, name in enumerate(("small", "medium", "large")[:variants], start=1)
                ),
                max_fee=10**16,
            )

        def receipts(rec: eip712.MediaRecord, media_id: bytes) -> list[tuple[int, int, bytes]]:
            issued = int(chain.pending_timestamp)
            out = []
            for cluster_id in range(1, REPLICATION_FACTOR + 1):
                receipt = eip712.StorageReceipt(cluster_id, rec.sha256, rec.owner, media_id, issued)
                typed = eip712.receipt_typed_data(receipt, chain_id, str(topology.address))
                out.append((cluster_id, issued, eip712.sign(typed, cluster_key(cluster_id).key)))
            return out

        def signed(rec: eip712.MediaRecord, owner: Any) -> tuple[bytes, bytes, list[tuple[int, int, bytes]]]:
            typed = eip712.record_typed_data(rec, chain_id, str(app.address))
            media_id = eip712.digest(typed)
            return media_id, eip712.sign(typed, owner.private_key), receipts(rec, media_id)

        def register(user_media: Any, owner: Any, rec: eip712.MediaRecord, sender: Any) -> tuple[bytes, Any]:
            media_id, signature, recs = signed(rec, owner)
            extra = {"gas_price": RELAY_GAS_PRICE, "type": 0} if sender != owner else {}
            return media_id, user_media.registerMedia(rec.as_tuple(), signature, recs, sender=sender, **extra)

        # --- the direct path ---
        for owner, user_media in zip(owners, user_contracts, strict=True):
            # A fresh nonce word: the first registration of every 256 an owner's consecutive nonces cover.
            _, tx = register(user_media, owner, record(owner, nonce=secrets.randbits(128)), owner)
            measure("UserMedia", "registerMedia (owner, R=2, no variants, first nonce of a 256-nonce word)", tx)
            register(user_media, owner, record(owner), owner)  # nonce 0: the word the rest share
            _, tx = register(user_media, owner, record(owner), owner)
            raw["direct (owner)"] = tx.transaction.serialize_transaction()
            measure("UserMedia", "registerMedia (owner, R=2, no variants)", tx)
            _, tx = register(user_media, owner, record(owner), relayer)
            raw["direct (relayed)"] = tx.transaction.serialize_transaction()
            measure("UserMedia", "registerMedia (relayed, R=2, no variants)", tx)
            _, tx = register(user_media, owner, record(owner, 3), owner)
            measure("UserMedia", "registerMedia (owner, R=2, 3 variants)", tx)
            _, tx = register(user_media, owner, record(owner, 3), relayer)
            measure("UserMedia", "registerMedia (relayed, R=2, 3 variants)", tx)
            media_id, _ = register(user_media, owner, record(owner), owner)
            measure("UserMedia", "deleteMedia", user_media.deleteMedia(media_id, sender=owner))
            media_id, _ = register(user_media, owner, record(owner), owner)
            order = eip712.DeleteMedia(media_id, nonces[owner.address], int(chain.pending_timestamp) + 3600)
            nonces[owner.address] += 1
            signature = eip712.sign(eip712.delete_typed_data(order, chain_id, str(app.address)), owner.private_key)
            tx = user_media.deleteMediaBySig(order.as_tuple(), signature, sender=relayer)
            measure("UserMedia", "deleteMediaBySig", tx)

        # --- the batched path: real 1024-leaf trees of signed records with their receipts ---
        pool = []
        for i in range(BATCH_FILES + SAMPLES - 1):
            owner = owners[i % len(owners)]
            rec = record(owner, nonce=secrets.randbits(64))
            media_id, signature, recs = signed(rec, owner)
            pool.append((rec, signature, merkle.receipts_hash(recs), media_id))
        trees = []
        for k in range(SAMPLES):
            entries = pool[k : k + BATCH_FILES]
            values = [merkle.batch_leaf_values(r.sha256, r.owner, m, h) for r, _, h, m in entries]
            tree = merkle.StandardMerkleTree.of(values, merkle.BATCH_LEAF_ENCODING)
            tx = app.anchorBatch(tree.root, MANIFEST_CID_PREFIX + keccak(tree.root), sender=sequencer)
            measure("MediaApp", f"anchorBatch ({BATCH_FILES}-leaf root, 36-byte manifest CID)", tx)
            if k == 0:
                raw["batched (anchor)"] = tx.transaction.serialize_transaction()
            trees.append((entries, tree, int(tx.block_number)))
        entries, tree, batch = trees[0]
        for i in range(SAMPLES):
            rec, signature, receipts_hash, _ = entries[i]
            tx = app.revealProof(rec.as_tuple(), signature, receipts_hash, tree.proof(i), batch, sender=stranger)
            measure("MediaApp", f"revealProof ({BATCH_FILES}-leaf batch, proof of {len(tree.proof(i))})", tx)

        # --- projects: create, compare-and-swap commits (59-character CIDv1 of the manifest), grants ---
        projects = project.ProjectRegistry.deploy(sender=admin)
        measure("ProjectRegistry", "(deploy)", receipt_of(projects))
        for k, owner in enumerate(owners):
            tx = projects.createProject(f"robot-{k} survey", True, sender=owner)
            measure("ProjectRegistry", "createProject", tx)
            pid = tx.decode_logs(projects.ProjectCreated)[0].projectId
            for version in range(3):
                cid = "bafybei" + secrets.token_hex(26)
                tx = projects.commit(pid, version, secrets.token_bytes(32), cid, sender=owner)
                measure("ProjectRegistry", "commit (first)" if version == 0 else "commit (later)", tx)
            grantee = owners[(k + 1) % len(owners)]
            measure("ProjectRegistry", "grant (Read)", projects.grant(pid, grantee, 1, sender=owner))
            measure("ProjectRegistry", "grant (Read -> Write)", projects.grant(pid, grantee, 2, sender=owner))
            tx = projects.commit(pid, 3, secrets.token_bytes(32), "bafybei" + secrets.token_hex(26), sender=grantee)
            measure("ProjectRegistry", "commit (later, by a write grantee)", tx)
            measure("ProjectRegistry", "revoke", projects.revoke(pid, grantee, sender=owner))

    rows = [
        (contract, function, int(statistics.median(values)), len(values))
        for (contract, function), values in sorted(gas.items())
    ]

    def median_of(contract: str, prefix: str) -> int:
        return next(g for c, f, g, _ in rows if c == contract and f.startswith(prefix))

    anchor_gas = gas[("MediaApp", f"anchorBatch ({BATCH_FILES}-leaf root, 36-byte manifest CID)")][0]
    owner_gas = median_of("UserMedia", "registerMedia (owner, R=2, no variants)")
    relayed_gas = median_of("UserMedia", "registerMedia (relayed, R=2, no variants)")
    reveal_gas = median_of("MediaApp", "revealProof")
    per_file = anchor_gas / BATCH_FILES
    batches_per_day = math.ceil(FILES_PER_DAY / BATCH_FILES)

    def mainnet(gas_used: float, txs: int) -> str:
        return usd(gas_used * txs * MAINNET_GAS_PRICE_GWEI * 1e9)

    def base(gas_used: float, txs: int, signed_tx: bytes) -> str:
        return usd(txs * (gas_used * BASE_L2_GAS_PRICE_GWEI * 1e9 + base_l1_data_fee_wei(signed_tx)))

    headline = [
        f"batched anchoring, {BATCH_FILES} files: {per_file:.1f} gas per file",
        f"direct path (owner sends, R=2, no variants): {owner_gas} gas",
        f"direct path (relayed, R=2, no variants): {relayed_gas} gas",
        f"reveal a batched proof: {reveal_gas} gas",
        f"project commit: {median_of('ProjectRegistry', 'commit (first)')} gas the first,"
        f" {median_of('ProjectRegistry', 'commit (later)')} gas each later one",
    ]
    paths: list[tuple[str, Callable[[], str], Callable[[], str]]] = [
        (
            f"batched ({batches_per_day} anchors of {BATCH_FILES} files)",
            lambda: mainnet(anchor_gas, batches_per_day),
            lambda: base(anchor_gas, batches_per_day, raw["batched (anchor)"]),
        ),
        (
            "direct, owner sends",
            lambda: mainnet(owner_gas, FILES_PER_DAY),
            lambda: base(owner_gas, FILES_PER_DAY, raw["direct (owner)"]),
        ),
        (
            "direct, relayed",
            lambda: mainnet(relayed_gas, FILES_PER_DAY),
            lambda: base(relayed_gas, FILES_PER_DAY, raw["direct (relayed)"]),
        ),
        (
            "round 1 (registerMedia, owner, R=2, no variants; baseline)",
            lambda: mainnet(ROUND1["owner sends, R=2, no variants"], FILES_PER_DAY),
            lambda: base(ROUND1["owner sends, R=2, no variants"], FILES_PER_DAY, raw["direct (owner)"]),
        ),
    ]
    cost_lines = [
        f"cost per day, {FILES_PER_DAY:,} files, mainnet: "
        + "; ".join(f"{label} {on_mainnet()}" for label, on_mainnet, _ in paths),
        f"cost per day, {FILES_PER_DAY:,} files, Base: "
        + "; ".join(f"{label} {on_base()}" for label, _, on_base in paths),
    ]
    assumptions = (
        f"Assumptions, not measurements: ETH = ${ETH_USD:,.0f}; mainnet gas price {MAINNET_GAS_PRICE_GWEI:g} gwei; "
        f"Base L2 gas price {BASE_L2_GAS_PRICE_GWEI:g} gwei plus Base's L1 data fee (Fjord formula, L1 base fee "
        f"{BASE_L1_BASE_FEE_GWEI:g} gwei, blob base fee {BASE_BLOB_BASE_FEE_GWEI:g} gwei, baseFeeScalar "
        f"{BASE_FEE_SCALAR}, blobBaseFeeScalar {BASE_BLOB_FEE_SCALAR}, zlib size of the signed transaction for its "
        "FastLZ size). Reveals are extra and on demand (anyone holding a bundle may send one)."
    )
    lines = [
        "# Gas per transaction (median), round 2",
        "",
        "Measured by `python bench/gas.py` on Ape's local chain (py-evm, Cancun), solc 0.8.28, optimizer 200 runs.",
        "Whole-transaction gas: 21000 base and calldata included. Direct registrations spend consecutive",
        "nonces (UserMedia keeps them as a bitmap, so 255 of 256 registrations reuse a warm word); every file's",
        "sha256 is new, so each direct registration and each reveal writes `proofOf`'s fresh slot.",
        "MediaApp.recordDirect runs only inside UserMedia.registerMedia (its cost is in those rows);",
        "UserMedia.initialize runs inside MediaApp.register; renounceOwnership always reverts.",
        "",
        "```",
        *headline,
        *cost_lines,
        "```",
        "",
        assumptions,
        "",
        "| contract | function | median gas | samples |",
        "|---|---|---:|---:|",
        *[f"| {c} | {f} | {g:,} | {n} |" for c, f, g, n in rows],
        "",
        "## Round 1 baseline (stated, not re-measured: round 1's contracts are gone)",
        "",
        "| round 1: UserMedia.registerMedia | gas | round 2, same case |",
        "|---|---:|---:|",
        f"| owner sends, R=2, no variants | {ROUND1['owner sends, R=2, no variants']:,} | {owner_gas:,} direct;"
        f" {per_file:.1f} per file batched |",
        f"| owner sends, R=2, 3 variants | {ROUND1['owner sends, R=2, 3 variants']:,} |"
        f" {median_of('UserMedia', 'registerMedia (owner, R=2, 3 variants)'):,} |",
        f"| relayed, R=2, 3 variants | {ROUND1['relayed, R=2, 3 variants']:,} |"
        f" {median_of('UserMedia', 'registerMedia (relayed, R=2, 3 variants)'):,} |",
        "",
    ]
    text = "\n".join(lines)
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(text)
    print(text)
    print(f"({time.perf_counter() - started:.1f} s; written to {RESULTS.relative_to(RESULTS.parents[2])})")


if __name__ == "__main__":
    main()
