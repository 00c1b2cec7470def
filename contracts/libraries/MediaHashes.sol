// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {MediaRecord, MediaVariant, DeleteMedia, ReceiptSignature} from "../types/MediaTypes.sol";

/// @title MediaHashes: EIP-712 struct hashes and batch leaves, shared by every contract
/// @dev The type strings must equal mediaproof/eip712.py's field lists; tests compare digests with eth_account's
/// and ethers'. Leaves are OpenZeppelin StandardMerkleTree leaves (double keccak of the ABI-encoded values), so
/// the npm package merkle-tree of OpenZeppelin builds the same roots and proofs.
library MediaHashes {
    bytes32 internal constant MEDIA_VARIANT_TYPEHASH =
        keccak256("MediaVariant(string name,bytes32 sha256,string cid,uint64 size)");
    bytes32 internal constant MEDIA_RECORD_TYPEHASH = keccak256(
        "MediaRecord(address owner,bytes32 sha256,string cid,uint64 size,string mediaType,string title,"
        "MediaVariant[] variants,bytes32 parent,uint256 nonce,uint64 deadline,uint256 maxFee)"
        "MediaVariant(string name,bytes32 sha256,string cid,uint64 size)"
    );
    bytes32 internal constant STORAGE_RECEIPT_TYPEHASH =
        keccak256("StorageReceipt(uint32 clusterId,bytes32 sha256,address owner,bytes32 mediaId,uint64 issuedAt)");
    bytes32 internal constant DELETE_MEDIA_TYPEHASH =
        keccak256("DeleteMedia(bytes32 mediaId,uint256 nonce,uint64 deadline)");

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
            record.owner,
            record.sha256,
            keccak256(bytes(record.cid)),
            record.size,
            keccak256(bytes(record.mediaType)),
            keccak256(bytes(record.title))
        );
        bytes memory tail = abi.encode(
            keccak256(abi.encodePacked(variantHashes)), record.parent, record.nonce, record.deadline, record.maxFee
        );
        return keccak256(bytes.concat(head, tail));
    }

    function hashReceipt(uint32 clusterId, bytes32 sha256, address owner, bytes32 mediaId, uint64 issuedAt)
        internal
        pure
        returns (bytes32)
    {
        return keccak256(abi.encode(STORAGE_RECEIPT_TYPEHASH, clusterId, sha256, owner, mediaId, issuedAt));
    }

    function hashDelete(DeleteMedia calldata order) internal pure returns (bytes32) {
        return keccak256(abi.encode(DELETE_MEDIA_TYPEHASH, order.mediaId, order.nonce, order.deadline));
    }

    /// @notice What a batch leaf commits to about the receipts: the (clusterId, issuedAt, signature) list, in order.
    function hashReceipts(ReceiptSignature[] calldata receipts) internal pure returns (bytes32) {
        return keccak256(abi.encode(receipts));
    }

    /// @notice A batch leaf: StandardMerkleTree leaf of (bytes32 sha256, address owner, bytes32 mediaId,
    /// bytes32 receiptsHash). The media id commits to the whole signed record, the receipts hash to the clusters'
    /// signatures as they stood when the batch was anchored.
    function batchLeaf(bytes32 sha256, address owner, bytes32 mediaId, bytes32 receiptsHash)
        internal
        pure
        returns (bytes32)
    {
        return keccak256(bytes.concat(keccak256(abi.encode(sha256, owner, mediaId, receiptsHash))));
    }
}
