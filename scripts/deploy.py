"""Deploys Mediaproof with Ape and writes deployments/<network>.json (docs/deploying.md).

    ape run deploy --network ethereum:sepolia:node --account deployer \\
        --cluster 0xSIGNER=https://cluster1.example --relayer 0xGATEWAY --sequencer 0xGATEWAY --gateway 0xGATEWAY

`--network` is Ape's `ecosystem:network:provider` (ape-config.yaml names Sepolia, mainnet and Base, their RPC URLs
from SEPOLIA_RPC_URL, MAINNET_RPC_URL and BASE_RPC_URL); `--account` an Ape account alias (`ape accounts import
ALIAS`), which becomes the admin of both contracts. On a local chain without `--account`, anvil's first public test
key deploys. To deploy to an anvil that is already running: APE_FOUNDRY_HOST=http://127.0.0.1:8545 and
`--network ethereum:local:foundry`. The work is mediaproof.deployment.deploy, which `make up` calls directly.
"""

from __future__ import annotations

import os
from pathlib import Path

import click
from ape.cli import ConnectedProviderCommand, account_option, network_option
from eth_account import Account

from mediaproof.deployment import (
    DEFAULT_MINIMUM_DEPOSIT_WEI,
    ClusterSpec,
    deploy,
    deployment_name,
    write_deployment,
)
from mediaproof.errors import InputError, MediaproofError
from mediaproof.settings import ANVIL_TEST_KEYS, LOCAL_CHAIN_ID, PROJECT_ROOT, Settings

SETTINGS = Settings()


def _addresses(help_text: str):
    return {"multiple": True, "metavar": "ADDRESS", "help": help_text}


@click.command(cls=ConnectedProviderCommand)
@network_option()
@account_option(prompt=False)
@click.option(
    "--cluster",
    "clusters",
    multiple=True,
    metavar="SIGNER=ENDPOINT[@WEIGHT]",
    help="a storage cluster's signing address and URL (repeat per cluster)",
)
@click.option("--relayer", "relayers", **_addresses("approve a relayer: sends direct registrations (the gateway)"))
@click.option("--sequencer", "sequencers", **_addresses("approve a sequencer: anchors batches (the gateway)"))
@click.option("--gateway", "gateways", **_addresses("approve a gateway key: storage clusters serve its requests"))
@click.option("--observer", "observers", **_addresses("approve a health observer: may mark clusters Down/Active"))
@click.option(
    "--replication-factor",
    type=click.IntRange(1, 255),
    default=SETTINGS.replication_factor,
    show_default=True,
    help="R, receipts per file (MEDIAPROOF_REPLICATION_FACTOR)",
)
@click.option(
    "--receipt-lifetime",
    type=click.IntRange(1),
    default=SETTINGS.receipt_lifetime,
    show_default=True,
    help="seconds a storage receipt stays valid (MEDIAPROOF_RECEIPT_LIFETIME)",
)
@click.option(
    "--withdrawal-delay",
    type=click.IntRange(0),
    default=SETTINGS.withdrawal_delay,
    show_default=True,
    help="seconds from a withdrawal request to its payout (MEDIAPROOF_WITHDRAWAL_DELAY)",
)
@click.option(
    "--minimum-deposit", type=click.IntRange(0), default=DEFAULT_MINIMUM_DEPOSIT_WEI, show_default=True,
    help="wei a wallet deposits to register",
)  # fmt: skip
@click.option(
    "--deployments-dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=PROJECT_ROOT / "deployments",
    show_default="deployments/",
    help="where deployments/<network>.json is written",
)
def cli(
    ecosystem,
    network,
    provider,
    account,
    clusters,
    relayers,
    sequencers,
    gateways,
    observers,
    replication_factor,
    receipt_lifetime,
    withdrawal_delay,
    minimum_deposit,
    deployments_dir,
):
    try:
        _deploy(
            ecosystem=ecosystem,
            network=network,
            provider=provider,
            account=account,
            clusters=clusters,
            relayers=relayers,
            sequencers=sequencers,
            gateways=gateways,
            observers=observers,
            replication_factor=replication_factor,
            receipt_lifetime=receipt_lifetime,
            withdrawal_delay=withdrawal_delay,
            minimum_deposit=minimum_deposit,
            deployments_dir=deployments_dir,
        )
    except MediaproofError as exc:
        raise click.ClickException(str(exc)) from exc


def _deploy(
    *,
    ecosystem,
    network,
    provider,
    account,
    clusters,
    relayers,
    sequencers,
    gateways,
    observers,
    replication_factor,
    receipt_lifetime,
    withdrawal_delay,
    minimum_deposit,
    deployments_dir,
) -> None:
    w3 = provider.web3
    chain_id = int(w3.eth.chain_id)
    if account is None:
        if not (network.is_local or chain_id == LOCAL_CHAIN_ID):
            raise InputError(
                f"{ecosystem.name}:{network.name} is not a local chain: pass --account ALIAS "
                "(an Ape account: `ape accounts import ALIAS`, or `ape accounts list`)"
            )
        deployer = Account.from_key(ANVIL_TEST_KEYS[0])
    else:
        deployer = account
        # Non-interactive runs (CI, a deploy job) give the passphrase in Ape's own variable: then sign every
        # transaction of this deployment without asking. Otherwise Ape asks for the passphrase and each signature.
        if hasattr(account, "set_autosign") and os.environ.get(f"APE_ACCOUNTS_{account.alias}_PASSPHRASE"):
            account.set_autosign(True)
    name = deployment_name(ecosystem.name, network.name)
    click.echo(f"Deploying Mediaproof to {ecosystem.name}:{network.name} (chain {chain_id}) from {deployer.address}")
    result = deploy(
        w3,
        deployer,
        network=name,
        clusters=[ClusterSpec.parse(text) for text in clusters],
        replication_factor=replication_factor,
        minimum_deposit=minimum_deposit,
        relayers=relayers,
        sequencers=sequencers,
        gateways=gateways,
        observers=observers,
        receipt_lifetime=receipt_lifetime,
        withdrawal_delay=withdrawal_delay,
    )
    path = deployments_dir / f"{name}.json"
    write_deployment(path, result)
    click.echo(
        f"MediaApp {result.media_app}  StorageTopology {result.storage_topology}  "
        f"ProjectRegistry {result.project_registry}  -> {path}"
    )
