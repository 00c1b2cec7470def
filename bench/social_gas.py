"""Gas per social action (issue 11: "well under 1,000 gas amortised"): follows, likes and comments signed by 16
wallets ride in a batch tree with media, so a batch of N leaves costs one `anchorBatch`. Measured on Ape's local chain
(py-evm), whole-transaction gas as a wallet shows it, beside the baseline measured in the same run: one
transaction per action, in its cheapest possible form (a plain transaction carrying only the action's 32-byte id,
no contract, no storage). Checks with `verifyInclusion` that every measured tree really proves its actions.

Run: `.venv/bin/python bench/social_gas.py`; writes bench/results/social_gas.txt. Never fails a build.
"""

from __future__ import annotations

import secrets
import statistics
import time
from pathlib import Path

from eth_account import Account
from eth_utils import keccak

from mediaproof import social
from mediaproof.bundle import BatchManifest

RESULTS = Path(__file__).resolve().parent / "results" / "social_gas.txt"
SIZES = (64, 256, 1024)
SAMPLES = 3
WALLETS = 16
MANIFEST_CID_PREFIX = b"\x01\x71\x12\x20"  # CIDv1 dag-json sha2-256: the 36 bytes anchorBatch logs


def signed_actions(count: int, chain_id: int, app: str, wallets: list[Account]) -> list[social.SignedAction]:
    out = []
    for i in range(count):
        who = wallets[i % len(wallets)]
        at, nonce = int(time.time()), secrets.token_bytes(32)
        kind = i % 3
        if kind == 0:
            action: social.Action = social.Follow(who.address, wallets[(i + 1) % len(wallets)].address, True, at, nonce)
        elif kind == 1:
            action = social.Like(who.address, secrets.token_bytes(32), True, at, nonce)
        else:
            action = social.Comment(who.address, secrets.token_bytes(32), f"comment {i}", at, nonce)
        out.append(social.SignedAction(action, social.sign(action, chain_id, app, who.key),
                                       social.action_id(action, chain_id, app)))  # fmt: skip
    return out


def main() -> None:
    from ape import accounts, chain, networks, project
    from ape.logging import logger

    logger.set_level("ERROR")
    started = time.perf_counter()
    lines: list[str] = []
    with networks.parse_network_choice("ethereum:local:test"):
        test = accounts.test_accounts
        admin, sequencer = test[0], test[2]
        topology = project.StorageTopology.deploy(admin, 3600, sender=admin)
        app = project.MediaApp.deploy(topology, 10**16, 2 * 86400, admin, sender=admin)
        app.setSequencer(sequencer, True, sender=admin)
        chain_id = int(chain.chain_id)
        wallets = [Account.create() for _ in range(WALLETS)]

        baseline = []
        for _ in range(SAMPLES):  # one transaction per action: its id as calldata, sent anywhere
            tx = sequencer.transfer(admin, 0, data=secrets.token_bytes(32))
            baseline.append(int(tx.gas_used))
        per_tx = statistics.median(baseline)
        lines.append(f"baseline, one transaction per action (32-byte id as calldata, no storage): {per_tx:,.0f} gas")

        for size in SIZES:
            anchors = []
            for _ in range(SAMPLES):
                actions = signed_actions(size, chain_id, app.address, wallets)
                manifest = BatchManifest(chain_id, app.address, topology.address, sequencer.address, (), tuple(actions))
                tree = manifest.tree()
                tx = app.anchorBatch(tree.root, MANIFEST_CID_PREFIX + keccak(tree.root), sender=sequencer)
                anchors.append(int(tx.gas_used))
                j = secrets.randbelow(size)
                bundle = manifest.action_bundle(j, tree, int(tx.block_number), "0x" + "00" * 32, "")
                assert app.verifyInclusion(bundle.leaf, list(bundle.proof), bundle.batch), "an action did not prove"
            anchor = statistics.median(anchors)
            lines.append(f"batch of {size:>4} actions: anchorBatch {anchor:,.0f} gas = {anchor / size:,.1f} gas per "
                         f"action ({per_tx / (anchor / size):,.0f}x less than one transaction each)")  # fmt: skip
    lines.append(f"({SAMPLES} samples each, median; {WALLETS} signing wallets; Ape local chain; "
                 f"{time.perf_counter() - started:.0f} s)")  # fmt: skip
    text = "\n".join(lines) + "\n"
    print(text, end="")
    RESULTS.write_text(text)


if __name__ == "__main__":
    main()
