"""The chain as Mediaproof's tools see it: contract handles from the deployment file, transactions, proofs.

Talks JSON-RPC through web3.py only: `verify` needs nothing but an RPC endpoint and the deployment addresses.
"""

from __future__ import annotations

from eth_account import Account
from eth_account.signers.local import LocalAccount
from web3 import Web3
from web3.contract import Contract
from web3.contract.contract import ContractFunction
from web3.types import TxReceipt

from mediaproof import transactions
from mediaproof.abis import load_abi
from mediaproof.deployment import Deployment, read_deployment
from mediaproof.errors import ChainError, DeploymentError, InputError
from mediaproof.settings import ANVIL_TEST_KEYS, LOCAL_CHAIN_ID, Settings
from mediaproof.topology import TopologyReader

ZERO_ADDRESS = "0x" + "00" * 20


def connect(rpc_url: str, timeout: float = 30.0) -> Web3:
    w3 = Web3(Web3.HTTPProvider(rpc_url, request_kwargs={"timeout": timeout}))
    try:
        w3.eth.chain_id  # noqa: B018 - the cheapest call that proves a node answers
    except Exception as exc:
        raise ChainError(
            f"no Ethereum node answers at {rpc_url}: start the local system with `make up`, or pass --rpc URL"
        ) from exc
    return w3


def signing_account(key: str | None, chain_id: int, setting: str, anvil_index: int) -> LocalAccount:
    """The account for `key`; without one, anvil's public test key `anvil_index`, on a local chain only."""
    if key:
        try:
            return Account.from_key(key)
        except Exception as exc:
            raise InputError(f"{setting} is not a valid 32-byte hex private key") from exc
    if chain_id != LOCAL_CHAIN_ID:
        raise InputError(f"chain {chain_id} is not a local chain: set {setting} to the key that should sign")
    return Account.from_key(ANVIL_TEST_KEYS[anvil_index])


def gateway_account(settings: Settings, chain_id: int) -> LocalAccount:
    """The gateway's key (relayer, sequencer, signer of requests to clusters); anvil's key 2 on a local chain."""
    return signing_account(settings.gateway_key, chain_id, "MEDIAPROOF_GATEWAY_KEY", anvil_index=2)


class MediaproofChain:
    """Contract handles for one deployment on one connected node (checked to be the same chain)."""

    def __init__(self, w3: Web3, deployment: Deployment) -> None:
        self.w3 = w3
        self.deployment = deployment
        self.chain_id = int(w3.eth.chain_id)
        if self.chain_id != deployment.chain_id:
            raise DeploymentError(
                f"the deployment is for chain {deployment.chain_id}, but the node answers as chain "
                f"{self.chain_id}: pass the matching --deployment or --rpc"
            )
        if not w3.eth.get_code(deployment.media_app):
            raise DeploymentError(
                f"no MediaApp contract at {deployment.media_app} on chain {self.chain_id}: "
                "the chain was reset since the deployment file was written; run `make up` again"
            )
        self.media_app = self._contract("MediaApp", deployment.media_app)
        self.topology = self._contract("StorageTopology", deployment.storage_topology)
        # Every reader of clusters and R in this process shares one cache.
        self.topology_reader = TopologyReader(self.topology)

    @classmethod
    def from_settings(cls, settings: Settings) -> MediaproofChain:
        deployment = read_deployment(settings.resolved_deployment_file())
        return cls(connect(settings.rpc_url, settings.http_timeout), deployment)

    def _contract(self, name: str, address: str) -> Contract:
        return self.w3.eth.contract(address=Web3.to_checksum_address(address), abi=load_abi(name))

    def user_media(self, address: str) -> Contract:
        return self._contract("UserMedia", address)

    def account(self, private_key: str | None) -> LocalAccount:
        """The signing account: the given key, or anvil's first public test key on a local chain only."""
        return signing_account(private_key, self.chain_id, "MEDIAPROOF_PRIVATE_KEY", anvil_index=0)

    def transact(self, account: LocalAccount, call: ContractFunction, value: int = 0, extra_gas: int = 0) -> TxReceipt:
        """Sign and send a call from `account`; a revert becomes a ChainError naming the custom error.

        `extra_gas` is added to a 20% margin over the estimate, for work the estimate cannot see (eth_estimateGas runs
        at gas price 0, where UserMedia skips repaying a relayer)."""
        return transactions.transact(self.w3, account, call, value=value, extra_gas=extra_gas, chain_id=self.chain_id)
