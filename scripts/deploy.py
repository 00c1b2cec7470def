"""`ape run deploy --network ethereum:local:foundry --cluster 0xSIGNER=http://host:port ...`: deploys Mediaproof and
writes deployments/<network>.json. The work is mediaproof.deployment.deploy, which `make up` can call directly.

To deploy to an anvil that is already running, point ape-foundry at it: APE_FOUNDRY_HOST=http://127.0.0.1:8545.
"""

from __future__ import annotations

import click
from ape.cli import ConnectedProviderCommand, network_option
from eth_account import Account

from mediaproof.deployment import DEFAULT_MINIMUM_DEPOSIT_WEI, ClusterSpec, deploy, write_deployment
from mediaproof.errors import InputError
from mediaproof.settings import ANVIL_TEST_KEYS, LOCAL_CHAIN_ID, Settings


@click.command(cls=ConnectedProviderCommand)
@network_option()
@click.option(
    "--cluster",
    "clusters",
    multiple=True,
    metavar="SIGNER=ENDPOINT[@WEIGHT]",
    help="a storage cluster's signing address and URL (repeat per cluster)",
)
@click.option("--relayer", "relayers", multiple=True, metavar="ADDRESS", help="approve a relayer (the gateway)")
@click.option("--observer", "observers", multiple=True, metavar="ADDRESS", help="approve a health observer")
@click.option("--replication-factor", type=int, default=None, help="R; default MEDIAPROOF_REPLICATION_FACTOR")
@click.option("--minimum-deposit", type=int, default=DEFAULT_MINIMUM_DEPOSIT_WEI, help="wei to register a user")
def cli(provider, clusters, relayers, observers, replication_factor, minimum_deposit):
    settings = Settings()
    w3 = provider.web3
    chain_id = int(w3.eth.chain_id)
    key = settings.private_key or (ANVIL_TEST_KEYS[0] if chain_id == LOCAL_CHAIN_ID else None)
    if key is None:
        raise InputError(f"chain {chain_id} is not a local chain: set MEDIAPROOF_PRIVATE_KEY to the deployer's key")
    result = deploy(
        w3,
        Account.from_key(key),
        network=settings.network,
        clusters=[ClusterSpec.parse(text) for text in clusters],
        replication_factor=replication_factor or settings.replication_factor,
        minimum_deposit=minimum_deposit,
        relayers=relayers,
        observers=observers,
    )
    path = settings.resolved_deployment_file()
    write_deployment(path, result)
    click.echo(f"MediaApp {result.media_app}  StorageTopology {result.storage_topology}  -> {path}")
