// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

/// @title Mediaproof shared types
/// @notice Structs signed with EIP-712 (domain name "Mediaproof", version "1") and shared by every contract.
/// The type strings below are hashed on chain and built off chain by mediaproof/eip712.py: change both together.

/// @notice A rendition made from the original (e.g. "small", "medium", "large", "poster"), named by its own bytes.
/// @dev EIP-712: MediaVariant(string name,bytes32 sha256,string cid,uint64 size)
struct MediaVariant {
    string name;
    bytes32 sha256;
    string cid;
    uint64 size;
}

/// @notice What an owner signs to register media. One signature covers the original and every variant.
/// @dev EIP-712: MediaRecord(bytes32 sha256,string cid,uint64 size,string mediaType,string title,
///      MediaVariant[] variants,bytes32 parent,uint256 nonce,uint64 deadline)MediaVariant(...)
///      The verifying contract is the owner's own UserMedia, so a record cannot be replayed on another user.
///      The record's EIP-712 digest is its media id.
struct MediaRecord {
    bytes32 sha256; // of the original bytes
    string cid; // IPFS CIDv1 (raw leaves, 256 KiB chunks) of the original
    uint64 size; // bytes of the original
    string mediaType; // MIME type, detected from content
    string title;
    MediaVariant[] variants;
    bytes32 parent; // media id of the previous version, or zero
    uint256 nonce; // any number this UserMedia has not seen; unordered so uploads may run in parallel
    uint64 deadline; // unix time after which the signature is void
}

/// @notice A storage cluster's signed word that it holds and has pinned the original's bytes.
/// @dev EIP-712: StorageReceipt(uint32 clusterId,bytes32 sha256,string cid,uint64 size,uint64 pinnedAt)
///      The verifying contract is StorageTopology. sha256, cid and size come from the record being registered,
///      so a receipt can only ever vouch for the bytes of that record.
struct StorageReceipt {
    uint32 clusterId;
    bytes32 sha256;
    string cid;
    uint64 size;
    uint64 pinnedAt;
}

/// @notice The part of a receipt that travels with a registration: the rest is the record's own fields.
struct ReceiptSignature {
    uint32 clusterId;
    uint64 pinnedAt;
    bytes signature;
}

/// @notice An owner's order to tombstone a media record, for relayed deletes.
/// @dev EIP-712: DeleteMedia(bytes32 mediaId,uint256 nonce,uint64 deadline)
struct DeleteMedia {
    bytes32 mediaId;
    uint256 nonce;
    uint64 deadline;
}

/// @notice What a UserMedia keeps per media id (titles, CIDs and receipts travel in events).
struct MediaEntry {
    bytes32 sha256;
    bytes32 parent;
    uint64 timestamp;
    uint64 blockNumber;
    bool deleted;
}

/// @notice The first registration of some bytes, as MediaApp.proofDetail returns it.
struct Proof {
    address owner;
    address userContract;
    bytes32 mediaId;
    uint64 timestamp;
    uint64 blockNumber;
}

enum ClusterStatus {
    None,
    Active,
    Draining,
    Down
}

struct Cluster {
    uint32 id;
    address signer;
    uint16 weight;
    ClusterStatus status;
    string endpoint;
}
