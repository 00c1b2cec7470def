"""Gas table: median gas of every public state-changing contract function, measured on Ape's local chain.

Prints the table and writes bench/results/gas.md. Figures are whole-transaction gas (21000 base and calldata
included), the number a wallet shows. Run: `python bench/gas.py` (or `make bench`).
"""

from __future__ import annotations

import secrets
import statistics
import time
from collections import defaultdict
from pathlib import Path

from eth_account import Account
from eth_utils import keccak

from mediaproof import eip712

RESULTS = Path(__file__).resolve().parent / "results" / "gas.md"
SAMPLES = 5
REPLICATION_FACTOR = 2
GAS_PRICE = 10**9


def cluster_key(index: int):
    return Account.from_key(keccak(text=f"mediaproof-bench-cluster-{index}"))


def main() -> None:
    from ape import accounts, chain, networks, project
    from ape.logging import logger

    logger.set_level("ERROR")  # one INFO line per transaction otherwise

    started = time.perf_counter()
    gas: dict[tuple[str, str], list[int]] = defaultdict(list)

    def measure(contract: str, function: str, tx) -> None:
        gas[(contract, function)].append(int(tx.gas_used))

    with networks.parse_network_choice("ethereum:local:test"):
        admin, relayer, stranger = accounts.test_accounts[0], accounts.test_accounts[1], accounts.test_accounts[9]
        owners = [accounts.test_accounts[i] for i in range(2, 2 + SAMPLES)]

        topology = project.StorageTopology.deploy(admin, sender=admin)
        measure("StorageTopology", "(deploy)", chain.provider.get_receipt(topology.txn_hash))
        implementation = project.UserMedia.deploy(sender=admin)
        measure("UserMedia", "(deploy implementation)", chain.provider.get_receipt(implementation.txn_hash))
        app = project.MediaApp.deploy(topology, implementation, 10**16, admin, sender=admin)
        measure("MediaApp", "(deploy)", chain.provider.get_receipt(app.txn_hash))

        for i in range(1, 4 + SAMPLES):
            tx = topology.registerCluster(cluster_key(i).address, 100, f"http://127.0.0.1:{8600 + i}", sender=admin)
            measure("StorageTopology", "registerCluster", tx)
        for i in range(SAMPLES):
            measure("StorageTopology", "updateCluster", topology.updateCluster(4 + i, 50, "http://moved", sender=admin))
            fresh = Account.create().address
            measure("StorageTopology", "rotateSigner", topology.rotateSigner(4 + i, fresh, sender=admin))
            measure("StorageTopology", "setClusterStatus", topology.setClusterStatus(4 + i, 3, sender=admin))
            measure("StorageTopology", "setReplicationFactor", topology.setReplicationFactor(2 + i % 2, sender=admin))
            observer = Account.create().address
            measure("StorageTopology", "setObserver", topology.setObserver(observer, True, sender=admin))
            measure("MediaApp", "setRelayer", app.setRelayer(observer, True, sender=admin))
            measure("MediaApp", "setMinimumDeposit", app.setMinimumDeposit(10**16 + i, sender=admin))
        topology.setReplicationFactor(REPLICATION_FACTOR, sender=admin)
        app.setMinimumDeposit(10**16, sender=admin)
        app.setRelayer(relayer, True, sender=admin)
        for _ in range(SAMPLES):
            # Hand over and back, so every sample starts from the same admin.
            measure("StorageTopology", "transferAdmin", topology.transferAdmin(stranger, sender=admin))
            topology.transferAdmin(admin, sender=stranger)
            measure("MediaApp", "transferAdmin", app.transferAdmin(stranger, sender=admin))
            app.transferAdmin(admin, sender=stranger)

        chain_id = int(chain.chain_id)
        user_contracts = []
        for owner in owners:
            measure("MediaApp", "register (clone + initialize)", app.register(sender=owner, value=10**18))
            measure("MediaApp", "deposit", app.deposit(sender=owner, value=10**15))
            measure("MediaApp", "withdraw", app.withdraw(10**15, sender=owner))
            user_contracts.append(project.UserMedia.at(app.userContract(owner)))

        def record(variants: int) -> eip712.MediaRecord:
            sha = secrets.token_bytes(32)
            return eip712.MediaRecord(
                sha256=sha,
                cid="bafkrei" + sha.hex()[:52],
                size=2_500_000,
                media_type="image/jpeg",
                title="Harbour at dusk, seen from the old lighthouse",
                nonce=secrets.randbits(128),
                deadline=int(chain.pending_timestamp) + 3600,
                variants=tuple(
                    eip712.MediaVariant(name, secrets.token_bytes(32), "bafkrei" + secrets.token_hex(26), 50_000 * k)
                    for k, name in enumerate(("small", "medium", "large")[:variants], start=1)
                ),
            )

        def receipts(rec: eip712.MediaRecord) -> list[tuple[int, int, bytes]]:
            out = []
            for cluster_id in range(1, REPLICATION_FACTOR + 1):
                receipt = eip712.StorageReceipt(cluster_id, rec.sha256, rec.cid, rec.size, 1_700_000_000)
                typed = eip712.receipt_typed_data(receipt, chain_id, str(topology.address))
                out.append((cluster_id, 1_700_000_000, eip712.sign(typed, cluster_key(cluster_id).key)))
            return out

        def register(user_media, owner, variants: int, sender):
            rec = record(variants)
            typed = eip712.record_typed_data(rec, chain_id, str(user_media.address))
            signature = eip712.sign(typed, owner.private_key)
            tx = user_media.registerMedia(
                rec.as_tuple(), signature, receipts(rec), sender=sender, gas_price=GAS_PRICE, type=0
            )
            return rec, eip712.digest(typed), tx

        relay_overpay = []
        for owner, user_media in zip(owners, user_contracts, strict=True):
            _, media_id, tx = register(user_media, owner, 0, owner)
            measure("UserMedia", f"registerMedia (owner, R={REPLICATION_FACTOR}, no variants)", tx)
            _, _, tx = register(user_media, owner, 3, owner)
            measure("UserMedia", f"registerMedia (owner, R={REPLICATION_FACTOR}, 3 variants)", tx)
            _, _, tx = register(user_media, owner, 3, relayer)
            measure("UserMedia", f"registerMedia (relayed, R={REPLICATION_FACTOR}, 3 variants)", tx)
            (paid,) = tx.decode_logs(app.RelayFeePaid)
            relay_overpay.append(paid.amount // GAS_PRICE - int(tx.gas_used))
            measure("UserMedia", "deleteMedia", user_media.deleteMedia(media_id, sender=owner))
            _, media_id, _ = register(user_media, owner, 0, owner)
            order = eip712.DeleteMedia(media_id, secrets.randbits(128), int(chain.pending_timestamp) + 3600)
            signature = eip712.sign(
                eip712.delete_typed_data(order, chain_id, str(user_media.address)), owner.private_key
            )
            tx = user_media.deleteMediaBySig((order.media_id, order.nonce, order.deadline), signature, sender=relayer)
            measure("UserMedia", "deleteMediaBySig", tx)

    rows = [
        (contract, function, int(statistics.median(values)), len(values))
        for (contract, function), values in sorted(gas.items())
    ]
    lines = [
        "# Gas per transaction (median)",
        "",
        "Measured by `python bench/gas.py` on Ape's local chain (py-evm, Cancun), solc 0.8.28, optimizer 200 runs.",
        "Whole-transaction gas: 21000 base and calldata included.",
        "MediaApp.recordProof and payRelayer run only inside UserMedia.registerMedia (their cost is in its rows);",
        "UserMedia.initialize runs inside MediaApp.register.",
        "",
        "| contract | function | median gas | samples |",
        "|---|---|---:|---:|",
        *[f"| {c} | {f} | {g:,} | {n} |" for c, f, g, n in rows],
        "",
        "Relayed registration: the relayer is repaid the transaction's gas plus a median"
        f" {statistics.median(relay_overpay):,.0f} gas (the fixed overhead's margin over the gas it cannot measure).",
        "",
    ]
    text = "\n".join(lines)
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(text)
    print(text)
    print(f"({time.perf_counter() - started:.1f} s; written to {RESULTS.relative_to(RESULTS.parents[2])})")


if __name__ == "__main__":
    main()
