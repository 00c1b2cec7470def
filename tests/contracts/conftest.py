"""Contract fixtures: a deployed Mediaproof (topology with three clusters, R=2, a gateway; MediaApp with a relayer
and a sequencer; one registered owner) and a MediaKit (mediakit.py) that builds records, receipts and batches and
signs them with mediaproof.eip712 exactly as the services will.

Runs on Ape's local chain by default; test_on_anvil.py runs this same directory again on real anvil.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from mediakit import (
    ANVIL_NETWORK,
    CLUSTER_COUNT,
    MIN_DEPOSIT,
    OWNER_DEPOSIT,
    RECEIPT_LIFETIME,
    REPLICATION_FACTOR,
    WITHDRAWAL_DELAY,
    MediaKit,
    cluster_key,
    private_key,
)

from mediaproof.anvil import AnvilNode

# Modules that start their own anvil and use no Ape network: the rerun on anvil would only repeat them (and
# test_on_anvil would recurse).
RUN_ONCE_MODULES = ("test_on_anvil", "test_deploy_script", "test_cast")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if config.getoption("--network", default=None) == ANVIL_NETWORK:
        deselected = [item for item in items if item.path.stem in RUN_ONCE_MODULES]
        if deselected:
            config.hook.pytest_deselected(items=deselected)
            items[:] = [item for item in items if item.path.stem not in RUN_ONCE_MODULES]


@pytest.fixture(scope="session")
def own_anvil(tmp_path_factory) -> Iterator[AnvilNode]:
    """A real anvil (npm) on a free port, started by the tests themselves, for tests that talk to a node over
    JSON-RPC (the deploy script, cast) whatever Ape network the suite runs on."""
    node = AnvilNode(0, tmp_path_factory.mktemp("own-anvil"))
    node.start()
    yield node
    node.stop()


@pytest.fixture(scope="session")
def admin(accounts):
    return accounts[0]


@pytest.fixture(scope="session")
def relayer(accounts):
    return accounts[1]


@pytest.fixture(scope="session")
def owner(accounts):
    return accounts[2]


@pytest.fixture
def other_owner(accounts):
    return accounts[3]


@pytest.fixture(scope="session")
def sequencer(accounts):
    return accounts[4]


@pytest.fixture
def stranger(accounts):
    return accounts[5]


@pytest.fixture(scope="module")
def topology(project, admin):
    contract = project.StorageTopology.deploy(admin, RECEIPT_LIFETIME, sender=admin)
    for i in range(1, CLUSTER_COUNT + 1):
        contract.registerCluster(cluster_key(i).address, 1, f"http://127.0.0.1:{8600 + i}", sender=admin)
    contract.setReplicationFactor(REPLICATION_FACTOR, sender=admin)
    return contract


@pytest.fixture(scope="module")
def app(project, admin, relayer, sequencer, topology):
    contract = project.MediaApp.deploy(topology, MIN_DEPOSIT, WITHDRAWAL_DELAY, admin, sender=admin)
    contract.setRelayer(relayer, True, sender=admin)
    contract.setSequencer(sequencer, True, sender=admin)
    return contract


@pytest.fixture(scope="module")
def implementation(project, app):
    return project.UserMedia.at(app.implementation())


@pytest.fixture(scope="module")
def user_media(project, app, owner):
    app.register(sender=owner, value=OWNER_DEPOSIT)
    return project.UserMedia.at(app.userContract(owner))


@pytest.fixture(scope="session")
def compile_test_contract(project):
    """Compiles a test-only contract from tests/contracts/solidity (not part of what Mediaproof deploys)."""
    from ape import compilers

    compiled = {}

    def compile_named(name: str):
        if name not in compiled:
            source = (Path(__file__).parent / "solidity" / f"{name}.sol").read_text()
            compiled[name] = compilers.compile_source("solidity", source, project=project, contractName=name)
        return compiled[name]

    return compile_named


@pytest.fixture(scope="module")
def kit(chain, topology, app):
    return MediaKit(chain, topology, app)


@pytest.fixture(scope="module")
def owner_key(owner):
    return private_key(owner)


@pytest.fixture(scope="module", autouse=True)
def _deployed(user_media, kit):
    """Deploys everything before any test's snapshot, so Ape's per-test isolation never has to rebase."""


class _NoTrace:
    """Stands in for the call trace ape-foundry fetches and prints on every revert (seconds each on anvil);
    the suite expects many reverts and checks each one's custom error, which needs no trace."""

    revert_message = ""

    def show(self) -> None:
        pass


@pytest.fixture(scope="session", autouse=True)
def _skip_revert_traces_on_anvil(networks):
    provider = networks.provider
    if provider.name != "foundry":
        yield
        return
    provider_class = type(provider)
    original = provider_class.get_virtual_machine_error

    def without_trace(self, exception, **kwargs):
        kwargs.setdefault("trace", _NoTrace())
        return original(self, exception, **kwargs)

    provider_class.get_virtual_machine_error = without_trace
    yield
    provider_class.get_virtual_machine_error = original
