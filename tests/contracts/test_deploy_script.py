"""`ape run deploy` as an operator runs it: a subprocess, Ape's --network choice, an Ape account imported for the
test (its passphrase in Ape's own environment variable, so nothing prompts), against a real anvil the test started.
The deployment file and the contracts read back over JSON-RPC must say what the command line asked for."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from eth_account import Account
from mediakit import cluster_key
from web3 import Web3

from mediaproof import deployment
from mediaproof.anvil import AnvilNode
from mediaproof.chain import MediaproofChain
from mediaproof.settings import ANVIL_TEST_KEYS, PROJECT_ROOT, Settings
from mediaproof.topology import ClusterStatus

APE = str(Path(sys.executable).parent / "ape")
ALIAS = "mediaproof-test-deployer"
PASSPHRASE = "correct horse battery staple"
# anvil's public test key 1: funded on every anvil, and not the key the script falls back to.
DEPLOYER = Account.from_key(ANVIL_TEST_KEYS[1])
RUN_TIMEOUT = 240


@pytest.fixture(scope="module")
def ape_data(tmp_path_factory) -> Path:
    """An Ape data folder of the test's own, holding one account imported from a private key with Ape's own
    import (what `ape accounts import` writes), never the developer's ~/.ape."""
    folder = tmp_path_factory.mktemp("ape-data")
    code = (
        "import sys\nfrom ape_accounts import import_account_from_private_key\n"
        "print(import_account_from_private_key(sys.argv[1], sys.argv[2], sys.argv[3]).address)"
    )
    done = subprocess.run(
        [sys.executable, "-c", code, ALIAS, PASSPHRASE, DEPLOYER.key.hex()],
        env={**os.environ, "APE_DATA_FOLDER": str(folder)},
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=RUN_TIMEOUT,
        check=True,
    )
    assert done.stdout.strip().splitlines()[-1] == DEPLOYER.address
    assert (folder / "accounts" / f"{ALIAS}.json").exists()
    return folder


def run_deploy(ape_data: Path, args: list[str], **env: str) -> subprocess.CompletedProcess[str]:
    environment = {**os.environ, "APE_DATA_FOLDER": str(ape_data), **env}
    return subprocess.run(
        [APE, "run", "deploy", *args],
        cwd=PROJECT_ROOT,
        env=environment,
        stdin=subprocess.DEVNULL,  # a prompt would fail the run, not hang it
        capture_output=True,
        text=True,
        timeout=RUN_TIMEOUT,
    )


def contracts(w3: Web3, result: deployment.Deployment):
    app = w3.eth.contract(address=result.media_app, abi=deployment.load_abi("MediaApp"))
    topology = w3.eth.contract(address=result.storage_topology, abi=deployment.load_abi("StorageTopology"))
    return app.functions, topology.functions


def test_deploy_with_an_ape_account_writes_the_network_file_and_sets_every_role(own_anvil, ape_data, tmp_path):
    gateway, relayer, observer = (Account.create().address for _ in range(3))
    specs = [(cluster_key(i).address, f"http://127.0.0.1:{9100 + i}") for i in (1, 2, 3)]
    out = tmp_path / "deployments"
    done = run_deploy(
        ape_data,
        ["--network", "ethereum:local:foundry", "--account", ALIAS, "--deployments-dir", str(out),
         *[a for signer, url in specs for a in ("--cluster", f"{signer}={url}")],
         "--relayer", relayer, "--sequencer", gateway, "--gateway", gateway, "--gateway", relayer,
         "--observer", observer, "--replication-factor", "3", "--receipt-lifetime", "900",
         "--withdrawal-delay", "7200", "--minimum-deposit", "12345"],
        **{f"APE_ACCOUNTS_{ALIAS}_PASSPHRASE": PASSPHRASE, "APE_FOUNDRY_HOST": own_anvil.url},
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    assert sorted(p.name for p in out.iterdir()) == ["local.json"]  # named after the --network choice

    w3 = Web3(Web3.HTTPProvider(own_anvil.url))
    written = json.loads((out / "local.json").read_text())
    result = deployment.read_deployment(out / "local.json", expected_chain_id=w3.eth.chain_id)
    assert written["network"] == "local" and result.deployer == DEPLOYER.address
    assert [(c.id, c.signer, c.endpoint) for c in result.clusters] == [
        (i, signer, url) for i, (signer, url) in enumerate(specs, start=1)
    ]
    app, topology = contracts(w3, result)
    # The imported Ape account signed everything and administers both contracts.
    assert app.owner().call() == topology.owner().call() == DEPLOYER.address
    assert w3.eth.get_transaction_count(DEPLOYER.address) >= 2 + len(specs) + 6
    assert app.topology().call() == result.storage_topology
    assert app.implementation().call() == result.user_media_implementation
    assert app.isSequencer(gateway).call() and not app.isSequencer(relayer).call()
    assert app.isRelayer(relayer).call() and not app.isRelayer(gateway).call()
    assert topology.isGateway(gateway).call() and topology.isGateway(relayer).call()
    assert not topology.isGateway(observer).call() and topology.isObserver(observer).call()
    clusters = MediaproofChain(w3, result).topology_reader.read().clusters
    assert [(c.id, c.signer, c.weight, c.status, c.endpoint, c.held) for c in clusters] == [
        (i, signer, 1, ClusterStatus.ACTIVE, url, False) for i, (signer, url) in enumerate(specs, start=1)
    ]
    assert topology.replicationFactor().call() == 3
    assert topology.receiptLifetime().call() == 900
    assert app.withdrawalDelay().call() == 7200
    assert app.minimumDeposit().call() == 12345


def test_without_account_a_local_chain_uses_anvils_key_and_settings_defaults(own_anvil, ape_data, tmp_path):
    settings = Settings()
    count = max(settings.replication_factor, 1)
    out = tmp_path / "deployments"
    done = run_deploy(
        ape_data,
        ["--network", "ethereum:local:foundry", "--deployments-dir", str(out),
         *[a for i in range(1, count + 1) for a in ("--cluster", f"{cluster_key(10 + i).address}=http://c{i}")]],
        APE_FOUNDRY_HOST=own_anvil.url,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    w3 = Web3(Web3.HTTPProvider(own_anvil.url))
    result = deployment.read_deployment(out / "local.json", expected_chain_id=w3.eth.chain_id)
    anvil_key_0 = Account.from_key(ANVIL_TEST_KEYS[0]).address
    assert result.deployer == anvil_key_0
    app, topology = contracts(w3, result)
    assert app.owner().call() == topology.owner().call() == anvil_key_0
    assert topology.replicationFactor().call() == settings.replication_factor
    assert topology.receiptLifetime().call() == settings.receipt_lifetime
    assert app.withdrawalDelay().call() == settings.withdrawal_delay


def test_a_live_network_needs_an_account(ape_data, tmp_path):
    """On a chain that is not local the anvil key is never used: without --account nothing is sent."""
    # Answers as Sepolia, so Ape's ethereum:sepolia accepts it.
    sepolia = AnvilNode(0, tmp_path / "sepolia-anvil", chain_id=11155111)
    sepolia.start()
    try:
        out = tmp_path / "deployments"
        done = run_deploy(
            ape_data,
            ["--network", "ethereum:sepolia:node", "--deployments-dir", str(out), "--replication-factor", "1"],
            SEPOLIA_RPC_URL=sepolia.url,
        )
        assert done.returncode != 0
        assert "is not a local chain: pass --account" in done.stderr + done.stdout
        assert not out.exists()
        assert Web3(Web3.HTTPProvider(sepolia.url)).eth.block_number == 0
    finally:
        sepolia.stop()


@pytest.mark.parametrize(
    ("ecosystem", "network", "name"),
    [("ethereum", "local", "local"), ("ethereum", "sepolia", "sepolia"), ("ethereum", "mainnet", "mainnet"),
     ("base", "mainnet", "base-mainnet"), ("base", "sepolia", "base-sepolia")],
)  # fmt: skip
def test_deployment_file_is_named_after_the_network(ecosystem, network, name):
    assert deployment.deployment_name(ecosystem, network) == name


def test_ape_config_names_sepolia_mainnet_and_base_with_rpc_urls_from_the_environment():
    """Ape reads each live network's RPC URL from its variable (expanded when the config loads, so in a fresh
    process); no network is contacted."""
    urls = {"SEPOLIA_RPC_URL": "https://sepolia.invalid/k", "MAINNET_RPC_URL": "https://mainnet.invalid/k",
            "BASE_RPC_URL": "https://base.invalid/k"}  # fmt: skip
    code = (
        "from ape import networks\n"
        "for choice in ('ethereum:sepolia:node', 'ethereum:mainnet:node', 'base:mainnet:node'):\n"
        "    provider = networks.get_provider_from_choice(choice)\n"
        "    print(choice, provider.network.chain_id, provider.uri)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=PROJECT_ROOT, env={**os.environ, **urls},
        capture_output=True, text=True, timeout=RUN_TIMEOUT,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert done.stdout.split("\n")[-4:-1] == [
        f"ethereum:sepolia:node 11155111 {urls['SEPOLIA_RPC_URL']}",
        f"ethereum:mainnet:node 1 {urls['MAINNET_RPC_URL']}",
        f"base:mainnet:node 8453 {urls['BASE_RPC_URL']}",
    ]
