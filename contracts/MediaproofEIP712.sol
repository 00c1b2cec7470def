// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {MediaRecord, MediaVariant, DeleteMedia} from "./interfaces/IMediaTypes.sol";

/// @title MediaproofEIP712: the EIP-712 struct hashes, domain and signature recovery every contract shares
/// @dev The type strings must equal mediaproof/eip712.py's field lists; tests compare digests with eth_account's.
library MediaproofEIP712 {
    bytes32 internal constant DOMAIN_TYPEHASH =
        keccak256("EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)");
    bytes32 internal constant NAME_HASH = keccak256("Mediaproof");
    bytes32 internal constant VERSION_HASH = keccak256("1");

    bytes32 internal constant MEDIA_VARIANT_TYPEHASH =
        keccak256("MediaVariant(string name,bytes32 sha256,string cid,uint64 size)");
    bytes32 internal constant MEDIA_RECORD_TYPEHASH = keccak256(
        "MediaRecord(bytes32 sha256,string cid,uint64 size,string mediaType,string title,MediaVariant[] variants,"
        "bytes32 parent,uint256 nonce,uint64 deadline)MediaVariant(string name,bytes32 sha256,string cid,uint64 size)"
    );
    bytes32 internal constant STORAGE_RECEIPT_TYPEHASH =
        keccak256("StorageReceipt(uint32 clusterId,bytes32 sha256,string cid,uint64 size,uint64 pinnedAt)");
    bytes32 internal constant DELETE_MEDIA_TYPEHASH =
        keccak256("DeleteMedia(bytes32 mediaId,uint256 nonce,uint64 deadline)");

    /// @dev Upper bound of s for a canonical (low-s) signature, secp256k1n / 2 (EIP-2).
    uint256 internal constant MAX_LOW_S = 0x7fffffffffffffffffffffffffffffff5d576e7357a4501ddfe92f46681b20a0;

    /// @dev Computed per call, not cached: a clone's address and a forked chain's id must both be current.
    function domainSeparator(address verifyingContract) internal view returns (bytes32) {
        return keccak256(abi.encode(DOMAIN_TYPEHASH, NAME_HASH, VERSION_HASH, block.chainid, verifyingContract));
    }

    function typedDigest(address verifyingContract, bytes32 structHash) internal view returns (bytes32) {
        return keccak256(abi.encodePacked("\x19\x01", domainSeparator(verifyingContract), structHash));
    }

    function hashVariant(MediaVariant calldata variant) internal pure returns (bytes32) {
        return keccak256(
            abi.encode(
                MEDIA_VARIANT_TYPEHASH,
                keccak256(bytes(variant.name)),
                variant.sha256,
                keccak256(bytes(variant.cid)),
                variant.size
            )
        );
    }

    /// @dev An array member is hashed as keccak256 of the concatenated hashStructs of its elements.
    function hashRecord(MediaRecord calldata record) internal pure returns (bytes32) {
        uint256 count = record.variants.length;
        bytes32[] memory variantHashes = new bytes32[](count);
        for (uint256 i; i < count; ++i) {
            variantHashes[i] = hashVariant(record.variants[i]);
        }
        // Two halves keep abi.encode within the stack limit without via-IR.
        bytes memory head = abi.encode(
            MEDIA_RECORD_TYPEHASH,
            record.sha256,
            keccak256(bytes(record.cid)),
            record.size,
            keccak256(bytes(record.mediaType)),
            keccak256(bytes(record.title))
        );
        bytes memory tail = abi.encode(
            keccak256(abi.encodePacked(variantHashes)), record.parent, record.nonce, record.deadline
        );
        return keccak256(bytes.concat(head, tail));
    }

    function hashReceipt(uint32 clusterId, bytes32 sha256, string calldata cid, uint64 size, uint64 pinnedAt)
        internal
        pure
        returns (bytes32)
    {
        return keccak256(abi.encode(STORAGE_RECEIPT_TYPEHASH, clusterId, sha256, keccak256(bytes(cid)), size, pinnedAt));
    }

    function hashDelete(DeleteMedia calldata order) internal pure returns (bytes32) {
        return keccak256(abi.encode(DELETE_MEDIA_TYPEHASH, order.mediaId, order.nonce, order.deadline));
    }

    /// @notice The signer of `digest`, or zero for a malformed, high-s or otherwise unrecoverable signature.
    /// @dev Accepts only 65-byte (r, s, v) signatures with v in {27, 28} and s in the lower half order, so a
    /// signature has exactly one valid encoding.
    function recover(bytes32 digest, bytes calldata signature) internal pure returns (address) {
        if (signature.length != 65) return address(0);
        bytes32 r;
        bytes32 s;
        uint8 v;
        assembly ("memory-safe") {
            r := calldataload(signature.offset)
            s := calldataload(add(signature.offset, 32))
            v := byte(0, calldataload(add(signature.offset, 64)))
        }
        if (uint256(s) > MAX_LOW_S || (v != 27 && v != 28)) return address(0);
        return ecrecover(digest, v, r, s);
    }
}
