"""The upload service's side of the chain: wallets (onboarding), relayed registrations and deletes, and every
transaction the gateway key sends (anchors and reveals too).

The gateway key is an account MediaApp's admin approved as relayer and sequencer; UserMedia repays a relayed
registration from the owner's deposit, at most the record's signed `maxFee`. Transactions from the gateway key go
one at a time, so its nonces never collide: one at a time in this process (a thread lock) and across every upload
process on the same gateway database (a session lock, held from the nonce's read until the receipt).
"""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass
from typing import Any

from eth_account.signers.local import LocalAccount
from eth_utils import is_address, to_checksum_address
from web3.contract.contract import ContractFunction
from web3.logs import DISCARD
from web3.types import TxReceipt

from mediaproof import eip712
from mediaproof.chain import ZERO_ADDRESS, MediaproofChain
from mediaproof.errors import InputError, NotRegistered
from mediaproof.gateway_db import SessionLock

# MediaApp.recordDirect's bookkeeping and transfer, which eth_estimateGas (at gas price 0, where no fee is paid)
# leaves out.
RELAY_REPAY_GAS = 80_000
# What a direct registration costs at most (R=2, four variants, a long title): the fee cap the gateway asks an
# owner to sign is this many gas at twice the current gas price.
DIRECT_GAS_BUDGET = 220_000


def checked_address(value: object, what: str = "owner") -> str:
    if not isinstance(value, str) or not is_address(value):
        raise InputError(f"{what} {value!r} is not an Ethereum address (0x + 40 hex digits)")
    return str(to_checksum_address(value))


_DIGITS = re.compile(r"[0-9]{1,78}")  # 2**256 has 78 digits: anything longer is refused before int() reads it


def parse_uint(value: object, what: str, unit: str = "", bits: int = 256) -> int:
    """A whole number a transaction can carry (0 ≤ n < 2**bits, as its uint field) from JSON: an integer, or a
    string of decimal digits (what clients send for wei: JSON numbers lose precision past 2**53). Floats (1e18, 1.5),
    booleans and numbers past the field are refused with a sentence, never truncated or sent on to the chain."""
    number: int | None = None
    if isinstance(value, int) and not isinstance(value, bool):
        number = value
    elif isinstance(value, str) and _DIGITS.fullmatch(value.strip()):
        number = int(value.strip())
    shown = _shown(value)
    of_unit = f" of {unit}" if unit else ""
    if number is None:
        raise InputError(f"{what} {shown} is not a whole number{of_unit}: send an integer or a string of digits")
    if not 0 <= number < 2**bits:
        raise InputError(f"{what} {shown} is outside what a transaction can carry (0 to 2**{bits} − 1{of_unit})")
    return number


def _shown(value: object) -> str:
    if isinstance(value, int) and value.bit_length() > 300:
        return f"(a {value.bit_length()}-bit number)"  # repr of a huge int is slow, and past 4300 digits refused
    text = repr(value)
    return text if len(text) <= 40 else text[:20] + "…"


def parse_signature(value: object) -> bytes:
    """65 bytes (r, s, v) from 0x-hex, as eth_signTypedData_v4 returns them."""
    if not isinstance(value, str):
        raise InputError("signature must be a 0x-hex string of 65 bytes, as eth_signTypedData_v4 returns it")
    try:
        raw = bytes.fromhex(value.removeprefix("0x"))
    except ValueError:
        raise InputError("signature is not hex: send the 0x… string eth_signTypedData_v4 returned") from None
    if len(raw) != 65:
        raise InputError(f"signature must be 65 bytes (r, s, v), got {len(raw)}")
    return raw


@dataclass(frozen=True)
class Wallet:
    owner: str
    user_contract: str | None
    deposit_wei: int

    def as_json(self) -> dict[str, Any]:
        return {
            "owner": self.owner,
            "registered": self.user_contract is not None,
            "user_contract": self.user_contract,
            "deposit_wei": str(self.deposit_wei),
        }


class Relay:
    def __init__(self, chain: MediaproofChain, gateway: LocalAccount, key_lock: SessionLock | None = None) -> None:
        self.chain = chain
        self.gateway = gateway
        self._send_lock = threading.Lock()
        # Other processes send from the same key and read the same pending nonce: without it two would collide.
        self._key_lock = key_lock

    def approved(self) -> bool:
        app = self.chain.media_app.functions
        return bool(app.isRelayer(self.gateway.address).call() and app.isSequencer(self.gateway.address).call())

    def spendable(self, owner: str) -> int:
        """The owner's deposit less what it asked to withdraw: what a relayed registration may still be paid from."""
        app = self.chain.media_app.functions
        deposit = int(app.depositOf(owner).call())
        pending, _available_at = app.pendingWithdrawal(owner).call()
        return max(deposit - int(pending), 0)

    def fee_cap(self) -> int:
        """The `maxFee` to put in a direct record the gateway will relay: its gas budget at twice today's price."""
        return DIRECT_GAS_BUDGET * 2 * int(self.chain.w3.eth.gas_price)

    def wallet(self, owner: str) -> Wallet:
        contract = str(self.chain.media_app.functions.userContract(owner).call())
        deposit = int(self.chain.media_app.functions.depositOf(owner).call())
        return Wallet(owner, None if contract == ZERO_ADDRESS else contract, deposit)

    def user_contract(self, owner: str) -> str:
        wallet = self.wallet(owner)
        if wallet.user_contract is None:
            raise NotRegistered(
                f"wallet {owner} has no Mediaproof account yet: register it first (POST /users gives the transaction)"
            )
        return wallet.user_contract

    def onboarding(self, owner: str, deposit_wei: int | None) -> dict[str, Any]:
        """The transaction the wallet sends to register itself: MediaApp.register() with its deposit."""
        minimum = int(self.chain.media_app.functions.minimumDeposit().call())
        value = minimum if deposit_wei is None else deposit_wei
        if value < minimum:
            raise InputError(f"a deposit of {value} wei is below MediaApp's minimum of {minimum} wei")
        existing = self.wallet(owner)
        return {
            "owner": owner,
            "registered": existing.user_contract is not None,
            "user_contract": existing.user_contract,
            "transaction": {
                "from": owner,
                "to": self.chain.media_app.address,
                "data": self.chain.media_app.encode_abi("register", []),
                "value": hex(value),
                "chainId": hex(self.chain.chain_id),
            },
            "minimum_deposit_wei": str(minimum),
        }

    def send(self, call: ContractFunction) -> TxReceipt:
        """Send `call` from the gateway key, one at a time so its nonces never collide."""
        with self._send_lock:
            if self._key_lock is None:
                return self.chain.transact(self.gateway, call, extra_gas=RELAY_REPAY_GAS)
            self._key_lock.acquire()
            try:
                return self.chain.transact(self.gateway, call, extra_gas=RELAY_REPAY_GAS)
            finally:
                self._key_lock.release()

    def close(self) -> None:
        if self._key_lock is not None:
            self._key_lock.close()

    def calldata(self, call: ContractFunction, to: str) -> dict[str, Any]:
        return {"to": to, "data": call._encode_transaction_data(), "chainId": hex(self.chain.chain_id)}

    def delete_call(self, user_contract: str, order: eip712.DeleteMedia, signature: bytes) -> ContractFunction:
        user = self.chain.user_media(user_contract)
        return user.functions.deleteMediaBySig(order.as_tuple(), signature)

    def registered_in(self, user_contract: str, tx_hash: str, media_id: str) -> TxReceipt:
        """The receipt of `tx_hash` if it registered `media_id` in `user_contract`; NotRegistered otherwise."""
        receipt = self.chain.w3.eth.get_transaction_receipt(tx_hash)  # type: ignore[arg-type]
        events = self.chain.user_media(user_contract).events.MediaRegistered().process_receipt(receipt, errors=DISCARD)
        if receipt["status"] == 1 and any("0x" + bytes(e["args"]["mediaId"]).hex() == media_id for e in events):
            return receipt
        raise NotRegistered(f"transaction {tx_hash} did not register media {media_id} in {user_contract}")
