"""mediaproof.deployment: the plain-web3 deploy that `make up` uses, the deployments/<network>.json round trip, and
the committed ABIs/bytecode matching a fresh compile."""

from __future__ import annotations

import json
import re
from dataclasses import replace

import pytest
from eth_account import Account
from mediakit import cluster_key

from mediaproof import deployment
from mediaproof.errors import DeploymentError, InputError


@pytest.fixture
def deployer(accounts):
    return Account.from_key(str(accounts[7].private_key))


def test_deploy_with_web3_registers_clusters_and_roles(chain, deployer, accounts, tmp_path):
    w3 = chain.provider.web3
    specs = [deployment.ClusterSpec(cluster_key(i).address, f"http://127.0.0.1:{9000 + i}") for i in (1, 2)]
    relayer, observer = accounts[8].address, accounts[9].address
    result = deployment.deploy(
        w3,
        deployer,
        network="test",
        clusters=specs,
        replication_factor=2,
        minimum_deposit=123,
        relayers=[relayer],
        sequencers=[relayer],
        gateways=[relayer, observer],
        observers=[observer],
        receipt_lifetime=600,
    )
    assert result.chain_id == chain.chain_id and result.deployer == deployer.address
    assert [(c.id, c.signer, c.endpoint) for c in result.clusters] == [
        (1, specs[0].signer, "http://127.0.0.1:9001"),
        (2, specs[1].signer, "http://127.0.0.1:9002"),
    ]
    app = w3.eth.contract(address=result.media_app, abi=deployment.load_abi("MediaApp"))
    topology = w3.eth.contract(address=result.storage_topology, abi=deployment.load_abi("StorageTopology"))
    assert app.functions.topology().call() == result.storage_topology
    assert app.functions.implementation().call() == result.user_media_implementation
    assert app.functions.minimumDeposit().call() == 123
    assert app.functions.isRelayer(relayer).call() and app.functions.isSequencer(relayer).call()
    assert app.functions.owner().call() == topology.functions.owner().call() == deployer.address
    assert topology.functions.isGateway(relayer).call() and topology.functions.isGateway(observer).call()
    assert topology.functions.isObserver(observer).call()
    assert topology.functions.receiptLifetime().call() == 600
    assert topology.functions.replicationFactor().call() == 2
    assert topology.functions.clusterOfSigner(specs[1].signer).call() == 2
    projects = w3.eth.contract(address=result.project_registry, abi=deployment.load_abi("ProjectRegistry"))
    assert projects.functions.MAX_CID_LENGTH().call() == 128
    assert w3.eth.get_block(result.block)["number"] == result.block

    path = tmp_path / "deployments" / "test.json"
    deployment.write_deployment(path, result)
    assert set(json.loads(path.read_text())) == {"chain_id", "block", "network", "contracts", "deployer", "clusters"}
    assert deployment.read_deployment(path, expected_chain_id=chain.chain_id) == result
    with pytest.raises(DeploymentError, match="chain"):
        deployment.read_deployment(path, expected_chain_id=chain.chain_id + 1)


def test_deploy_rejects_more_receipts_than_clusters(chain, deployer):
    with pytest.raises(InputError, match="replication factor 3"):
        deployment.deploy(
            chain.provider.web3,
            deployer,
            network="test",
            clusters=[deployment.ClusterSpec(deployer.address, "x")],
            replication_factor=3,
        )


def test_read_deployment_missing_or_malformed_file(tmp_path):
    with pytest.raises(DeploymentError, match="no deployment file"):
        deployment.read_deployment(tmp_path / "nope.json")
    bad = tmp_path / "bad.json"
    bad.write_text("{")
    with pytest.raises(DeploymentError, match="not valid JSON"):
        deployment.read_deployment(bad)
    bad.write_text(json.dumps({"chain_id": 1, "block": 0, "network": "x", "contracts": {}, "deployer": "0x0"}))
    with pytest.raises(DeploymentError, match="malformed"):
        deployment.read_deployment(bad)


def test_deployment_from_before_projects_reads_but_names_no_registry(tmp_path):
    """A deployments/<network>.json written before ProjectRegistry existed still serves everything else."""
    address = cluster_key(1).address
    data = {
        "chain_id": 1337,
        "block": 1,
        "network": "local",
        "contracts": {name: address for name in ("MediaApp", "StorageTopology", "UserMediaImplementation")},
        "deployer": address,
    }
    old = tmp_path / "local.json"
    old.write_text(json.dumps(data))
    result = deployment.read_deployment(old)
    assert result.media_app == address
    with pytest.raises(DeploymentError, match="no ProjectRegistry; deploy again"):
        _ = result.project_registry


def test_with_project_registry_adds_one_only_when_missing(chain, deployer):
    w3 = chain.provider.web3
    full = deployment.deploy(w3, deployer, network="test")
    assert deployment.with_project_registry(w3, deployer, full) is full
    older = replace(full, contracts={k: v for k, v in full.contracts.items() if k != "ProjectRegistry"})
    upgraded = deployment.with_project_registry(w3, deployer, older)
    assert upgraded.project_registry != full.project_registry and upgraded.media_app == full.media_app
    projects = w3.eth.contract(address=upgraded.project_registry, abi=deployment.load_abi("ProjectRegistry"))
    assert projects.functions.MAX_CID_LENGTH().call() == 128


def test_cluster_spec_parse():
    address = cluster_key(1).address
    assert deployment.ClusterSpec.parse(f"{address.lower()}=http://h:1@250") == deployment.ClusterSpec(
        address, "http://h:1", 250
    )
    assert deployment.ClusterSpec.parse(f"{address}=http://h:1").weight == deployment.DEFAULT_CLUSTER_WEIGHT
    for bad in ("http://h:1", "0x12=http://h", f"{address}="):
        with pytest.raises(InputError, match="SIGNER=ENDPOINT"):
            deployment.ClusterSpec.parse(bad)


def test_committed_abis_and_bytecode_equal_a_fresh_compile(project, tmp_path):
    project.load_contracts()  # compiles whatever changed since the last build
    fresh = deployment.export_artifacts(project.path / ".build" / "__local__.json", tmp_path)
    for path in fresh:
        committed = deployment.ABI_DIR / path.name
        if path.name == deployment.BYTECODE_FILE.name:
            ours, theirs = json.loads(committed.read_text()), json.loads(path.read_text())
            assert ours.keys() == theirs.keys()
            for name in ours:
                assert without_metadata(ours[name]) == without_metadata(theirs[name]), (
                    f"the committed bytecode of {name} is stale: run `ape run export_abis` and commit the result"
                )
            continue
        assert committed.read_text() == path.read_text(), (
            f"mediaproof/abi/{path.name} is stale: run `ape run export_abis` and commit the result"
        )


# solc's CBOR metadata: {"ipfs": <34-byte multihash>, "solc": <3-byte version>}, then its 2-byte length (0x0033).
_METADATA = re.compile(rb"\xa2dipfsX\x22.{34}dsolcC.{3}\x003", re.S)


def without_metadata(bytecode: str) -> str:
    """Creation code minus every solc CBOR metadata block (MediaApp carries UserMedia's creation code, with its own
    block, inside it). The metadata hashes source paths and comments, so it differs between two checkouts of the
    same code; the code itself must not."""
    raw = bytes.fromhex(bytecode.removeprefix("0x"))
    stripped, found = _METADATA.subn(b"", raw)
    assert found >= 1, "no CBOR metadata where solc puts it"
    return stripped.hex()
