// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {Ownable, Ownable2Step} from "@openzeppelin/contracts/access/Ownable2Step.sol";

/// @title Administered: the admin rules MediaApp and StorageTopology share
/// @notice One admin, handed over in two steps (`transferOwnership`, then `acceptOwnership` by the new admin) and
/// never renounced, since these contracts always need someone to set their roles. Roles are allow-lists the admin
/// sets account by account; the zero account is refused.
/// @dev Errors and events stay each contract's own (their names say the domain, and the ABIs keep them): a
/// contract supplies its two reverts, and each role setter writes its own list and emits its own event.
abstract contract Administered is Ownable2Step {
    /// @param admin_ the first admin
    constructor(address admin_) Ownable(admin_) {}

    /// @notice Always reverts: the contract must keep an admin (hand over with transferOwnership + acceptOwnership).
    function renounceOwnership() public view override onlyOwner {
        _revertCannotRenounce();
    }

    /// @dev For every role setter: an allow-list never holds the zero address. A modifier, so the check is inlined
    /// and the setters cost what they did before this base existed.
    modifier nonZeroAccount(address account) {
        if (account == address(0)) _revertZeroAddress();
        _;
    }

    /// @dev Reverts with the contract's own "cannot renounce" error.
    function _revertCannotRenounce() internal pure virtual;

    /// @dev Reverts with the contract's own "zero address" error.
    function _revertZeroAddress() internal pure virtual;
}
