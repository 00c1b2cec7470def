"""ProjectRegistry's version cannot wrap: 2^64 - 1 commits are out of reach, so a real anvil's storage is written to
put a project's version just under the top (Ape's in-process chain cannot write storage, hence its own anvil)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from eth_account import Account
from eth_utils import keccak
from web3 import Web3

from mediaproof import transactions
from mediaproof.abis import load_abi, load_bytecode
from mediaproof.anvil import AnvilNode
from mediaproof.chain import connect
from mediaproof.errors import ChainError
from mediaproof.settings import ANVIL_TEST_KEYS
from mediaproof.sync.project import project_id

pytestmark = pytest.mark.integration
UINT64_MAX = 2**64 - 1
OWNER = Account.from_key(ANVIL_TEST_KEYS[0])


@pytest.fixture(scope="module")
def w3(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Web3]:
    node = AnvilNode(0, tmp_path_factory.mktemp("anvil")).start()
    try:
        yield connect(node.url)
    finally:
        node.stop()


def test_a_project_at_the_last_version_refuses_one_more_commit(w3: Web3) -> None:
    factory = w3.eth.contract(abi=load_abi("ProjectRegistry"), bytecode=load_bytecode("ProjectRegistry"))
    deployed = transactions.send(w3, OWNER, {"data": factory.constructor().data_in_transaction})
    registry = w3.eth.contract(address=deployed["contractAddress"], abi=load_abi("ProjectRegistry"))
    transactions.transact(w3, OWNER, registry.functions.createProject("almost full", False))
    pid = project_id(OWNER.address, "almost full")
    # _projects is slot 0; the struct's first slot packs owner (bytes 0-19), isPrivate (20), version (21-28).
    slot = int.from_bytes(keccak(pid + (0).to_bytes(32, "big")), "big")
    packed = int(OWNER.address, 16) | ((UINT64_MAX - 1) << 168)
    w3.provider.make_request(
        "anvil_setStorageAt", [registry.address, hex(slot), "0x" + packed.to_bytes(32, "big").hex()]
    )
    assert registry.functions.versionOf(pid).call() == UINT64_MAX - 1
    transactions.transact(w3, OWNER, registry.functions.commit(pid, UINT64_MAX - 1, keccak(text="m1"), "bafy-m1"))
    assert registry.functions.versionOf(pid).call() == UINT64_MAX
    with pytest.raises(ChainError):  # checked arithmetic (Panic 0x11): the project is full, nothing wraps to 0
        transactions.transact(w3, OWNER, registry.functions.commit(pid, UINT64_MAX, keccak(text="m2"), "bafy-m2"))
    assert registry.functions.versionOf(pid).call() == UINT64_MAX
    assert registry.functions.head(pid).call()[4] == "bafy-m1"
