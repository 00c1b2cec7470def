"""MediaApp: registration through EIP-1167 clones, deposits and withdrawals, roles, and who may record proofs."""

from __future__ import annotations

import ape
import pytest
from mediakit import MIN_DEPOSIT, OWNER_DEPOSIT, random_sha

# A test double with no way to receive ether (withdrawing to it must fail loudly, not lose funds) that can also
# stand in as a UserMedia implementation, to reach MediaApp's own checks on user contracts.
PROBE_SOURCE = """
// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;
// One contract only: ape's compile_source keeps the first contract of the output.
contract Probe {
    function initialize(address, address, address) external {}
    function join(address app) external payable { _call(app, msg.value, abi.encodeWithSignature("register()")); }
    function leave(address app, uint256 amount) external {
        _call(app, 0, abi.encodeWithSignature("withdraw(uint256)", amount));
    }
    function pay(address app, address owner, address relayer, uint256 amount) external {
        _call(app, 0, abi.encodeWithSignature("payRelayer(address,address,uint256)", owner, relayer, amount));
    }
    function prove(address app, address owner) external {
        _call(app, 0, abi.encodeWithSignature("recordProof(bytes32,bytes32,address)", bytes32(uint256(1)), 0, owner));
    }
    function _call(address target, uint256 value, bytes memory data) private {
        (bool ok, bytes memory reason) = target.call{value: value}(data);
        if (!ok) assembly { revert(add(reason, 32), mload(reason)) }
    }
}
"""


def test_register_deploys_an_initialised_clone(project, app, implementation, topology, stranger, chain):
    tx = app.register(sender=stranger, value=MIN_DEPOSIT)
    clone = app.userContract(stranger)
    (event,) = tx.decode_logs(app.UserRegistered)
    assert (event.owner, event.userContract, event.deposit) == (stranger.address, clone, MIN_DEPOSIT)
    code = bytes(chain.provider.get_code(clone))
    # EIP-1167 runtime: 45 bytes that delegate every call to the implementation.
    assert len(code) == 45 and bytes.fromhex(implementation.address[2:]) in code
    user_media = project.UserMedia.at(clone)
    assert (user_media.owner(), user_media.mediaApp(), user_media.topology()) == (
        stranger.address,
        app.address,
        topology.address,
    )
    assert app.isUserContract(clone) and not app.isUserContract(stranger)
    assert app.depositOf(stranger) == MIN_DEPOSIT
    assert app.userCount() == 2  # the suite's owner, then stranger


def test_register_twice_or_underfunded_reverts(app, user_media, owner, stranger):
    with ape.reverts(app.MediaAppAlreadyRegistered, owner=owner.address, userContract=user_media.address):
        app.register(sender=owner, value=MIN_DEPOSIT)
    with ape.reverts(app.MediaAppDepositTooLow, sent=MIN_DEPOSIT - 1, minimum=MIN_DEPOSIT):
        app.register(sender=stranger, value=MIN_DEPOSIT - 1)


def test_views_report_constructor_arguments(app, topology, implementation, admin, relayer, stranger):
    assert app.topology() == topology.address
    assert app.implementation() == implementation.address
    assert app.minimumDeposit() == MIN_DEPOSIT
    assert app.admin() == admin.address
    assert app.isRelayer(relayer) and not app.isRelayer(stranger)
    assert app.userContract(stranger) == ape.utils.ZERO_ADDRESS
    assert app.proofOf(random_sha()) == (ape.utils.ZERO_ADDRESS, ape.utils.ZERO_ADDRESS, 0, 0)


def test_deposit_adds_to_balance(app, user_media, owner, stranger):
    tx = app.deposit(sender=owner, value=5)
    (event,) = tx.decode_logs(app.DepositAdded)
    assert (event.owner, event.amount, event.balance) == (owner.address, 5, OWNER_DEPOSIT + 5)
    assert app.depositOf(owner) == OWNER_DEPOSIT + 5
    with ape.reverts(app.MediaAppNotRegistered, owner=stranger.address):
        app.deposit(sender=stranger, value=5)


def test_withdraw_returns_ether(app, user_media, owner):
    before = owner.balance
    tx = app.withdraw(10**17, sender=owner)
    (event,) = tx.decode_logs(app.DepositWithdrawn)
    assert (event.amount, event.balance) == (10**17, OWNER_DEPOSIT - 10**17)
    assert owner.balance == before + 10**17 - tx.total_fees_paid
    assert app.depositOf(owner) == OWNER_DEPOSIT - 10**17


def test_withdraw_more_than_deposit_reverts(app, user_media, owner, stranger):
    with ape.reverts(app.MediaAppInsufficientDeposit, available=OWNER_DEPOSIT, requested=OWNER_DEPOSIT + 1):
        app.withdraw(OWNER_DEPOSIT + 1, sender=owner)
    with ape.reverts(app.MediaAppInsufficientDeposit, available=0, requested=1):
        app.withdraw(1, sender=stranger)


@pytest.fixture(scope="module")
def probe_type(compilers):
    return compilers.compile_source("solidity", PROBE_SOURCE, contractName="Probe")


def test_withdraw_to_account_refusing_ether_reverts(app, stranger, probe_type):
    wallet = stranger.deploy(probe_type)
    wallet.join(app, sender=stranger, value=MIN_DEPOSIT)
    with ape.reverts(app.MediaAppTransferFailed, to=wallet.address, amount=MIN_DEPOSIT):
        wallet.leave(app, MIN_DEPOSIT, sender=stranger)
    assert app.depositOf(wallet) == MIN_DEPOSIT


def test_user_contract_may_pay_only_approved_relayers_for_its_own_owner(
    project, topology, admin, relayer, owner, stranger, probe_type
):
    # A MediaApp whose clones run the probe: the only way to reach payRelayer/recordProof with chosen arguments.
    implementation = admin.deploy(probe_type)
    app = project.MediaApp.deploy(topology, implementation, 0, admin, sender=admin)
    app.setRelayer(relayer, True, sender=admin)
    app.register(sender=owner, value=10**15)
    clone = probe_type.at(app.userContract(owner))
    with ape.reverts(app.MediaAppNotRelayer, caller=stranger.address):
        clone.pay(app, owner, stranger, 1, sender=owner)
    with ape.reverts(app.MediaAppNotUserContract, caller=clone.address):
        clone.pay(app, stranger, relayer, 1, sender=owner)  # someone else's deposit
    with ape.reverts(app.MediaAppNotUserContract, caller=clone.address):
        clone.prove(app, stranger, sender=owner)  # a proof in someone else's name
    with ape.reverts(app.MediaAppInsufficientDeposit, available=10**15, requested=10**15 + 1):
        clone.pay(app, owner, relayer, 10**15 + 1, sender=owner)
    before = relayer.balance
    tx = clone.pay(app, owner, relayer, 10**14, sender=owner)
    (event,) = tx.decode_logs(app.RelayFeePaid)
    assert (event.owner, event.relayer, event.amount, event.balance) == (
        owner.address,
        relayer.address,
        10**14,
        9 * 10**14,
    )
    assert relayer.balance == before + 10**14
    tx = clone.prove(app, owner, sender=owner)
    assert app.proofOf((1).to_bytes(32, "big")).owner == owner.address


def test_admin_settings_and_handover(app, admin, stranger, relayer):
    tx = app.setRelayer(stranger, True, sender=admin)
    assert tx.decode_logs(app.RelayerSet)[0].allowed
    assert app.isRelayer(stranger)
    app.setRelayer(relayer, False, sender=admin)
    assert not app.isRelayer(relayer)
    tx = app.setMinimumDeposit(42, sender=admin)
    assert tx.decode_logs(app.MinimumDepositChanged)[0].minimumDeposit == 42
    assert app.minimumDeposit() == 42
    tx = app.transferAdmin(stranger, sender=admin)
    assert tx.decode_logs(app.AdminTransferred)[0].newAdmin == stranger.address
    for call in (
        lambda: app.setRelayer(admin, True, sender=admin),
        lambda: app.setMinimumDeposit(1, sender=admin),
        lambda: app.transferAdmin(admin, sender=admin),
    ):
        with ape.reverts(app.MediaAppNotAdmin, caller=admin.address):
            call()


def test_only_an_owners_own_user_contract_records_proofs_or_pays_relayers(app, user_media, owner, relayer):
    with ape.reverts(app.MediaAppNotUserContract, caller=owner.address):
        app.recordProof(random_sha(), random_sha(), owner, sender=owner)
    with ape.reverts(app.MediaAppNotUserContract, caller=owner.address):
        app.payRelayer(owner, relayer, 1, sender=owner)
