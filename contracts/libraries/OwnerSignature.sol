// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {ECDSA} from "@openzeppelin/contracts/utils/cryptography/ECDSA.sol";
import {SignatureChecker} from "@openzeppelin/contracts/utils/cryptography/SignatureChecker.sol";

/// @title OwnerSignature: is this a valid signature of `owner` over `digest`? Wallets (ECDSA) and smart-contract
/// wallets such as Safe (ERC-1271) alike.
library OwnerSignature {
    /// @dev ECDSA first: a wallet's signature is settled without touching the owner's code (a cold EXTCODESIZE on
    /// every relayed registration); only when it does not recover to the owner is the owner asked, as ERC-1271.
    function isValid(address owner, bytes32 digest, bytes calldata signature) internal view returns (bool) {
        (address recovered, ECDSA.RecoverError err,) = ECDSA.tryRecoverCalldata(digest, signature);
        if (err == ECDSA.RecoverError.NoError && recovered == owner) return true;
        return SignatureChecker.isValidERC1271SignatureNowCalldata(owner, digest, signature);
    }
}
