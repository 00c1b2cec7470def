"""Deploys the Mediaproof contracts with plain web3; reads and writes deployments/<network>.json, where every
tool finds the addresses. ABIs and bytecode come from mediaproof/abi/ (exported from Ape's build).
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

from eth_typing import ChecksumAddress
from eth_utils import is_address, to_checksum_address

from mediaproof import transactions
from mediaproof.abis import ABI_DIR as ABI_DIR
from mediaproof.abis import BYTECODE_FILE as BYTECODE_FILE
from mediaproof.abis import load_abi as load_abi
from mediaproof.abis import load_bytecode as load_bytecode
from mediaproof.errors import ChainError, DeploymentError, InputError

# Contracts whose ABI (and creation bytecode) ship with the package; interfaces are not needed off chain.
CONTRACT_NAMES = ("MediaApp", "ProjectRegistry", "StorageTopology", "UserMedia")
# Contracts deployed on their own (UserMedia's implementation is created by MediaApp's constructor).
DEPLOYED_CONTRACTS = ("MediaApp", "ProjectRegistry", "StorageTopology")
# Weights are small integers (1 = a standard cluster): the ring gives each unit of weight its own 4000 vnodes.
DEFAULT_CLUSTER_WEIGHT = 1
DEFAULT_MINIMUM_DEPOSIT_WEI = 10**16
# A storage receipt is good for an hour: long enough for a slow registration, short enough that receipts lifted
# from old events are worthless.
DEFAULT_RECEIPT_LIFETIME = 3600
# Longer than any record's signature lifetime (an hour), so a relayer that accepted a record is always paid.
DEFAULT_WITHDRAWAL_DELAY = 2 * 86400


@dataclass(frozen=True)
class ClusterSpec:
    """A storage cluster to register: its signing address (the cluster keeps the key) and where it answers."""

    signer: str
    endpoint: str
    weight: int = DEFAULT_CLUSTER_WEIGHT

    @classmethod
    def parse(cls, text: str) -> ClusterSpec:
        """`SIGNER=ENDPOINT` or `SIGNER=ENDPOINT@WEIGHT`, as the deploy script takes them."""
        signer, sep, rest = text.partition("=")
        endpoint = rest.strip()
        if not sep or not is_address(signer.strip()) or not endpoint:
            raise InputError(f"cluster {text!r}: expected SIGNER=ENDPOINT[@WEIGHT], SIGNER a 0x address")
        weight = DEFAULT_CLUSTER_WEIGHT
        head, at, tail = endpoint.rpartition("@")
        if at and tail.isdigit():
            endpoint, weight = head, int(tail)
        return cls(to_checksum_address(signer.strip()), endpoint, weight)


@dataclass(frozen=True)
class ClusterEntry:
    id: int
    signer: str
    endpoint: str


@dataclass(frozen=True)
class Deployment:
    """What deployments/<network>.json holds."""

    chain_id: int
    block: int
    network: str
    contracts: dict[str, str]
    deployer: str
    clusters: tuple[ClusterEntry, ...] = field(default_factory=tuple)

    @property
    def media_app(self) -> ChecksumAddress:
        return to_checksum_address(self.contracts["MediaApp"])

    @property
    def storage_topology(self) -> ChecksumAddress:
        return to_checksum_address(self.contracts["StorageTopology"])

    @property
    def user_media_implementation(self) -> ChecksumAddress:
        return to_checksum_address(self.contracts["UserMediaImplementation"])

    @property
    def project_registry(self) -> ChecksumAddress:
        # Optional in the file: deployments made before projects existed lack it until deployed again.
        try:
            return to_checksum_address(self.contracts["ProjectRegistry"])
        except KeyError:
            raise DeploymentError(
                f"the {self.network} deployment has no ProjectRegistry; deploy again (`make up`)"
            ) from None

    def to_json(self) -> dict[str, Any]:
        return {
            "chain_id": self.chain_id,
            "block": self.block,
            "network": self.network,
            "contracts": dict(self.contracts),
            "deployer": self.deployer,
            "clusters": [{"id": c.id, "signer": c.signer, "endpoint": c.endpoint} for c in self.clusters],
        }

    @classmethod
    def from_json(cls, data: dict[str, Any], source: str = "deployment") -> Deployment:
        try:
            contracts = {str(k): str(to_checksum_address(v)) for k, v in data["contracts"].items()}
            for name in ("MediaApp", "StorageTopology", "UserMediaImplementation"):
                if name not in contracts:
                    raise KeyError(f"contracts.{name}")
            return cls(
                chain_id=int(data["chain_id"]),
                block=int(data["block"]),
                network=str(data["network"]),
                contracts=contracts,
                deployer=to_checksum_address(data["deployer"]),
                clusters=tuple(
                    ClusterEntry(int(c["id"]), to_checksum_address(c["signer"]), str(c["endpoint"]))
                    for c in data.get("clusters", [])
                ),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise DeploymentError(f"{source} is malformed ({exc}); deploy again (`make up`)") from exc


def deployment_name(ecosystem: str, network: str) -> str:
    """The name a deployment on Ape's `ecosystem:network` is written under (`deployments/<name>.json`, the
    `MEDIAPROOF_NETWORK` that reads it back): the network's own name on Ethereum (`local`, `sepolia`, `mainnet`),
    `<ecosystem>-<network>` elsewhere (`base-mainnet`, `base-sepolia`), so no two chains share a file."""
    if not ecosystem or not network or any(c in f"{ecosystem}{network}" for c in "/\\:"):
        raise InputError(f"cannot name a deployment after network {ecosystem}:{network}")
    return network if ecosystem == "ethereum" else f"{ecosystem}-{network}"


def read_deployment(path: Path, expected_chain_id: int | None = None) -> Deployment:
    """The deployment in `path`; DeploymentError when it is missing, malformed or for another chain."""
    try:
        data = json.loads(path.read_text())
    except FileNotFoundError as exc:
        raise DeploymentError(f"no deployment file at {path}; deploy first (`make up`)") from exc
    except json.JSONDecodeError as exc:
        raise DeploymentError(f"{path} is not valid JSON ({exc}); delete it and deploy again") from exc
    deployment = Deployment.from_json(data, source=str(path))
    if expected_chain_id is not None and deployment.chain_id != expected_chain_id:
        raise DeploymentError(
            f"{path} was deployed on chain {deployment.chain_id} but the node is chain {expected_chain_id}; "
            "point MEDIAPROOF_RPC_URL at the right node or deploy again"
        )
    return deployment


def write_deployment(path: Path, deployment: Deployment) -> None:
    """Writes atomically, so a reader never sees half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    with os.fdopen(fd, "w") as handle:
        json.dump(deployment.to_json(), handle, indent=2)
        handle.write("\n")
    os.replace(tmp, path)


def export_artifacts(manifest: Path, out_dir: Path = ABI_DIR) -> list[Path]:
    """Writes <Name>.json (the ABI) and bytecode.json from Ape's compiled manifest (.build/__local__.json)."""
    try:
        contract_types = json.loads(manifest.read_text())["contractTypes"]
    except FileNotFoundError as exc:
        raise DeploymentError(f"no compiled contracts at {manifest}; run `ape compile` first") from exc
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    bytecode = {}
    for name in CONTRACT_NAMES:
        contract_type = contract_types[name]
        path = out_dir / f"{name}.json"
        path.write_text(json.dumps(contract_type["abi"], indent=1, sort_keys=True) + "\n")
        written.append(path)
        if name in DEPLOYED_CONTRACTS:
            bytecode[name] = contract_type["deploymentBytecode"]["bytecode"]
    bytecode_path = out_dir / BYTECODE_FILE.name
    bytecode_path.write_text(json.dumps(bytecode, indent=1, sort_keys=True) + "\n")
    written.append(bytecode_path)
    return written


@runtime_checkable
class TransactionSigner(Protocol):
    """Whoever signs and sends the deployment's transactions: the one seam between `deploy()` and a key.

    `send` takes a transaction as web3 builds it (`from`, `to` unless it creates a contract, `data`, `value`, and
    web3's gas and fee estimate, which a signer may replace with its own), signs it, sends it, waits for it to be
    mined and returns web3's receipt. A revert is either raised or returned with status 0.
    """

    @property
    def address(self) -> str: ...

    def send(self, tx: dict[str, Any]) -> Any: ...


class LocalAccountSigner:
    """Signs with an eth_account LocalAccount (a raw key in memory: anvil's test keys, `make up`)."""

    def __init__(self, w3: Any, account: Any) -> None:
        self.w3 = w3
        self.account = account

    @property
    def address(self) -> str:
        return str(self.account.address)

    def send(self, tx: dict[str, Any]) -> Any:
        return transactions.send(self.w3, self.account, tx)


class ApeAccountSigner:
    """Signs with an Ape account (`ape accounts import ALIAS`, a hardware wallet plugin, `TEST::0`): Ape prices,
    signs (prompting as that account does) and sends; web3 reads the receipt back from the same node."""

    def __init__(self, w3: Any, account: Any) -> None:
        self.w3 = w3
        self.account = account

    @property
    def address(self) -> str:
        return str(self.account.address)

    def send(self, tx: dict[str, Any]) -> Any:
        from ape.exceptions import ApeException  # only where an Ape account is used; services never import ape

        fields = {"sender": self.account.address, "data": tx.get("data", b""), "value": int(tx.get("value", 0))}
        if tx.get("to"):
            fields["receiver"] = tx["to"]
        txn = self.account.provider.network.ecosystem.create_transaction(**fields)
        try:
            receipt = self.account.call(txn)
        except ApeException as exc:
            raise ChainError(f"{type(exc).__name__}: {exc}") from exc
        return self.w3.eth.get_transaction_receipt(receipt.txn_hash)


def as_signer(w3: Any, account: Any) -> TransactionSigner:
    """`account` as a TransactionSigner: one already, an Ape account, or an eth_account LocalAccount."""
    if isinstance(account, TransactionSigner):
        return account
    if hasattr(account, "prepare_transaction") and hasattr(account, "call"):  # ape.api.AccountAPI
        return ApeAccountSigner(w3, account)
    if hasattr(account, "sign_transaction") and hasattr(account, "address"):
        return LocalAccountSigner(w3, account)
    raise InputError(f"cannot send transactions with {account!r}: not an eth_account or Ape account")


class _Sender:
    """Builds each transaction with web3, has the signer send it, and fails loudly on a revert."""

    def __init__(self, w3: Any, signer: TransactionSigner) -> None:
        self.w3 = w3
        self.signer = signer

    def send(self, tx: dict[str, Any], what: str) -> Any:
        return transactions.require_success(self.signer.send(tx), what)

    def deploy(self, name: str, *args: Any) -> Any:
        factory = self.w3.eth.contract(abi=load_abi(name), bytecode=load_bytecode(name))
        tx = factory.constructor(*args).build_transaction({"from": self.signer.address})
        receipt = self.send(tx, name)
        return self.w3.eth.contract(address=receipt["contractAddress"], abi=load_abi(name)), receipt

    def call(self, fn: Any, what: str) -> Any:
        return self.send(fn.build_transaction({"from": self.signer.address}), what)


def deploy(
    w3: Any,
    deployer: Any,
    *,
    network: str,
    clusters: Sequence[ClusterSpec] = (),
    replication_factor: int = 1,
    minimum_deposit: int = DEFAULT_MINIMUM_DEPOSIT_WEI,
    relayers: Iterable[str] = (),
    sequencers: Iterable[str] = (),
    gateways: Iterable[str] = (),
    observers: Iterable[str] = (),
    receipt_lifetime: int = DEFAULT_RECEIPT_LIFETIME,
    withdrawal_delay: int = DEFAULT_WITHDRAWAL_DELAY,
) -> Deployment:
    """Deploys StorageTopology, MediaApp (which creates the UserMedia implementation) and ProjectRegistry (no admin,
    no constructor arguments) from `deployer`, registers
    `clusters`, sets R, approves relayers, sequencers, gateways and observers, and returns the Deployment (write it
    with `write_deployment`). `w3` is any connected web3.Web3 (on the node the deployer sends to).

    `deployer` is an eth_account LocalAccount, an Ape account, or any TransactionSigner (see `as_signer`); the
    deployer becomes the admin of StorageTopology and MediaApp (ProjectRegistry has none).
    """
    if not 1 <= replication_factor <= 255:
        raise InputError(f"replication factor {replication_factor} must be between 1 and 255")
    if replication_factor > max(len(clusters), 1):
        raise InputError(f"replication factor {replication_factor} exceeds the {len(clusters)} clusters")
    try:
        signer = as_signer(w3, deployer)
        admin = to_checksum_address(signer.address)
        sender = _Sender(w3, signer)
        topology, first_receipt = sender.deploy("StorageTopology", admin, receipt_lifetime)
        app, _ = sender.deploy("MediaApp", topology.address, minimum_deposit, withdrawal_delay, admin)
        projects, _ = sender.deploy("ProjectRegistry")
        entries = []
        for spec in clusters:
            fn = topology.functions.registerCluster(spec.signer, spec.weight, spec.endpoint)
            receipt = sender.call(fn, f"registerCluster({spec.signer})")
            (event,) = topology.events.ClusterRegistered().process_receipt(receipt)
            entries.append(ClusterEntry(int(event["args"]["clusterId"]), spec.signer, spec.endpoint))
        if replication_factor != 1:
            sender.call(topology.functions.setReplicationFactor(replication_factor), "setReplicationFactor")
        roles = [
            (relayers, app.functions.setRelayer, "setRelayer"),
            (sequencers, app.functions.setSequencer, "setSequencer"),
            (gateways, topology.functions.setGateway, "setGateway"),
            (observers, topology.functions.setObserver, "setObserver"),
        ]
        for accounts, setter, what in roles:
            for account in dict.fromkeys(to_checksum_address(a) for a in accounts):
                sender.call(setter(account, True), f"{what}({account})")
        implementation = app.functions.implementation().call()
    except ChainError:
        raise
    except (ConnectionError, OSError) as exc:
        raise ChainError(f"cannot deploy: the Ethereum node did not answer ({exc}); is it running?") from exc
    return Deployment(
        chain_id=int(w3.eth.chain_id),
        block=int(first_receipt["blockNumber"]),
        network=network,
        contracts={
            "MediaApp": app.address,
            "StorageTopology": topology.address,
            "UserMediaImplementation": to_checksum_address(implementation),
            "ProjectRegistry": projects.address,
        },
        deployer=admin,
        clusters=tuple(entries),
    )


def with_project_registry(w3: Any, deployer: Any, existing: Deployment) -> Deployment:
    """`existing`, with a ProjectRegistry deployed from `deployer` if it has none (a deployment made before projects
    existed); write the result with `write_deployment`. Anyone may deploy it: the registry has no admin."""
    if "ProjectRegistry" in existing.contracts:
        return existing
    try:
        projects, _ = _Sender(w3, as_signer(w3, deployer)).deploy("ProjectRegistry")
    except (ConnectionError, OSError) as exc:
        raise ChainError(f"cannot deploy: the Ethereum node did not answer ({exc}); is it running?") from exc
    return replace(existing, contracts={**existing.contracts, "ProjectRegistry": projects.address})
