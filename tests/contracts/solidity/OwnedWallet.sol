// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {ECDSA} from "@openzeppelin/contracts/utils/cryptography/ECDSA.sol";
import {IERC1271} from "@openzeppelin/contracts/interfaces/IERC1271.sol";

/// @title OwnedWallet: a smart-contract wallet for tests (ERC-1271), like a one-owner Safe. Not deployed by
/// Mediaproof: it stands for the wallets our users bring.
contract OwnedWallet is IERC1271 {
    address public immutable keyHolder;

    constructor(address keyHolder_) {
        keyHolder = keyHolder_;
    }

    function isValidSignature(bytes32 hash, bytes calldata signature) external view returns (bytes4) {
        (address recovered, ECDSA.RecoverError err,) = ECDSA.tryRecoverCalldata(hash, signature);
        return err == ECDSA.RecoverError.NoError && recovered == keyHolder ? IERC1271.isValidSignature.selector : bytes4(0);
    }

    /// @notice Sends a call as this wallet (the key holder only).
    function execute(address target, uint256 value, bytes calldata data) external payable returns (bytes memory) {
        require(msg.sender == keyHolder, "not the key holder");
        (bool ok, bytes memory result) = target.call{value: value}(data);
        if (!ok) {
            assembly ("memory-safe") {
                revert(add(result, 32), mload(result))
            }
        }
        return result;
    }

    receive() external payable {}
}
