"""Sending a transaction from a key held in memory: the one implementation every sender uses.

`send` fills in what the transaction lacks (nonce from the pending count, chain id, gas from an estimate, EIP-1559
fees as web3 prices them), adds `extra_gas`, signs, sends and waits for the receipt; a call the node refuses while
estimating becomes a ContractRefused naming the custom error. `transact` builds a contract call and also raises a
ChainError when the mined transaction reverted.
"""

from __future__ import annotations

from functools import cache
from typing import Any, cast

from eth_account.signers.local import LocalAccount
from eth_utils import function_signature_to_4byte_selector
from web3 import Web3
from web3.contract.contract import ContractFunction
from web3.exceptions import ContractCustomError, ContractLogicError, Web3RPCError
from web3.types import TxParams, TxReceipt, Wei

from mediaproof.abis import load_abi
from mediaproof.errors import ChainError, ContractRefused

RECEIPT_TIMEOUT_SECONDS = 120
# The contracts whose custom errors a revert is decoded against.
ERROR_CONTRACTS = ("MediaApp", "UserMedia", "StorageTopology", "ProjectRegistry")


@cache
def _error_selectors() -> dict[bytes, dict[str, Any]]:
    selectors = {}
    for name in ERROR_CONTRACTS:
        for item in load_abi(name):
            if item.get("type") == "error":
                signature = f"{item['name']}({','.join(_abi_type(i) for i in item['inputs'])})"
                selectors[function_signature_to_4byte_selector(signature)] = item
    return selectors


def _abi_type(item: dict[str, Any]) -> str:
    if item["type"].startswith("tuple"):
        return "(" + ",".join(_abi_type(c) for c in item["components"]) + ")" + item["type"][5:]
    return str(item["type"])


def describe_revert(data: str | bytes) -> str:
    """`UserMediaNonceUsed(nonce=7)` from the raw revert data of a Mediaproof custom error."""
    raw = bytes.fromhex(data[2:]) if isinstance(data, str) else bytes(data)
    item = _error_selectors().get(raw[:4])
    if item is None:
        return f"reverted with data 0x{raw.hex()}"
    from eth_abi import decode

    values = decode([_abi_type(i) for i in item["inputs"]], raw[4:])
    args = ", ".join(f"{i['name']}={_show(v)}" for i, v in zip(item["inputs"], values, strict=True))
    return f"{item['name']}({args})"


def _show(value: Any) -> str:
    return "0x" + value.hex() if isinstance(value, bytes) else str(value)


class _Refusals:
    """Turns a refusal while building or estimating into ContractRefused (a custom error) or ChainError."""

    def __enter__(self) -> None:
        return None

    def __exit__(self, kind: Any, exc: BaseException | None, tb: Any) -> None:
        if isinstance(exc, ContractCustomError):
            raise ContractRefused(describe_revert(str(exc.data))) from exc
        if isinstance(exc, (ContractLogicError, Web3RPCError)):
            raise ChainError(f"the contract refused: {exc}") from exc


def fees(w3: Web3) -> dict[str, int]:
    """EIP-1559 fees as web3 prices a transaction it builds: the node's tip, and room for the base fee to double."""
    base = int(w3.eth.get_block("latest")["baseFeePerGas"])
    tip = int(w3.eth.max_priority_fee)
    return {"maxFeePerGas": 2 * base + tip, "maxPriorityFeePerGas": tip}


def send(
    w3: Web3,
    account: LocalAccount,
    tx: dict[str, Any],
    *,
    extra_gas: int = 0,
    timeout: float = RECEIPT_TIMEOUT_SECONDS,
) -> TxReceipt:
    """Sign `tx` with `account`, send it and return its receipt (whatever its status); fills in nonce, chain id,
    gas and fees where `tx` has none. `extra_gas` is added to a 20% margin over the gas, for work the estimate
    cannot see (eth_estimateGas runs at gas price 0, where UserMedia skips repaying a relayer)."""
    tx = {**tx, "from": account.address}
    if "nonce" not in tx:
        tx["nonce"] = w3.eth.get_transaction_count(account.address, "pending")
    if "chainId" not in tx:
        tx["chainId"] = w3.eth.chain_id
    if "gas" not in tx:
        with _Refusals():
            tx["gas"] = w3.eth.estimate_gas(cast(TxParams, tx))
    if "gasPrice" not in tx and "maxFeePerGas" not in tx:
        tx.update(fees(w3))
    if extra_gas:
        tx["gas"] = int(tx["gas"] * 6 // 5) + extra_gas
    signed = account.sign_transaction(tx)
    tx_hash = w3.eth.send_raw_transaction(signed.raw_transaction)
    return w3.eth.wait_for_transaction_receipt(tx_hash, timeout=timeout)


def require_success(receipt: TxReceipt, what: str | None = None) -> TxReceipt:
    """`receipt`, or a ChainError when its transaction reverted (`what`: the step, for the message)."""
    if receipt["status"] != 1:
        tx_hash = bytes(receipt["transactionHash"]).hex()
        if what is None:
            raise ChainError(f"transaction 0x{tx_hash} reverted in block {receipt['blockNumber']}")
        raise ChainError(f"{what} reverted in transaction {tx_hash}")
    return receipt


def transact(
    w3: Web3,
    account: LocalAccount,
    call: ContractFunction,
    value: int = 0,
    extra_gas: int = 0,
    chain_id: int | None = None,
) -> TxReceipt:
    """Sign and send a contract call from `account`; a refusal or a revert becomes a ChainError (ContractRefused
    naming the custom error when the node reports one)."""
    params: TxParams = {
        "from": account.address,
        "value": Wei(value),
        "nonce": w3.eth.get_transaction_count(account.address, "pending"),
        "chainId": w3.eth.chain_id if chain_id is None else chain_id,
    }
    with _Refusals():
        tx = call.build_transaction(params)
    return require_success(send(w3, account, cast(dict[str, Any], tx), extra_gas=extra_gas))
