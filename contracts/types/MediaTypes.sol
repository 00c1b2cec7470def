// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

/// @title Mediaproof shared types
/// @notice Structs signed with EIP-712 (domain name "Mediaproof", version "1") and shared by every contract.
/// The type strings are hashed in libraries/MediaHashes.sol and built off chain by mediaproof/eip712.py: change
/// all three together.

/// @notice A rendition made from the original (e.g. "small", "medium", "large", "poster"), named by its own bytes.
/// Variants travel in events only: they never get a first-owner proof, since no cluster vouched for them.
/// @dev EIP-712: MediaVariant(string name,bytes32 sha256,string cid,uint64 size)
struct MediaVariant {
    string name;
    bytes32 sha256;
    string cid;
    uint64 size;
}

/// @notice What an owner signs to register media, by either path (a batch leaf or a direct registration).
/// One signature covers the original and every variant. The record's EIP-712 digest under MediaApp's domain is
/// its media id.
/// @dev EIP-712: MediaRecord(address owner,bytes32 sha256,string cid,uint64 size,string mediaType,string title,
///      MediaVariant[] variants,bytes32 parent,uint256 nonce,uint64 deadline,uint256 maxFee)MediaVariant(...)
struct MediaRecord {
    address owner; // who claims these bytes; receipts are bound to this address
    bytes32 sha256; // of the original bytes
    string cid; // IPFS CIDv1 (raw leaves, 256 KiB chunks) of the original
    uint64 size; // bytes of the original
    string mediaType; // MIME type, detected from content
    string title;
    MediaVariant[] variants;
    bytes32 parent; // media id of the previous version, or zero
    uint256 nonce; // spent once by a direct registration (a bitmap word holds 256 consecutive nonces)
    uint64 deadline; // unix time after which a direct registration of this record is refused
    uint256 maxFee; // the most wei a relayer may take from the owner's deposit for sending it directly
}

/// @notice A storage cluster's signed word that it holds and has pinned, right now, the bytes of one record.
/// @dev EIP-712: StorageReceipt(uint32 clusterId,bytes32 sha256,address owner,bytes32 mediaId,uint64 issuedAt)
///      under StorageTopology's domain. Bound to the owner and to the record (its media id), and valid for
///      StorageTopology.receiptLifetime() seconds after `issuedAt`, so it can never vouch for anyone else's
///      record, nor be lifted from an old registration.
struct StorageReceipt {
    uint32 clusterId;
    bytes32 sha256;
    address owner;
    bytes32 mediaId;
    uint64 issuedAt;
}

/// @notice The part of a receipt that travels with a registration: the rest comes from the record.
struct ReceiptSignature {
    uint32 clusterId;
    uint64 issuedAt;
    bytes signature;
}

/// @notice An owner's order to tombstone a media record, for relayed deletes.
/// @dev EIP-712: DeleteMedia(bytes32 mediaId,uint256 nonce,uint64 deadline) under MediaApp's domain.
struct DeleteMedia {
    bytes32 mediaId;
    uint256 nonce;
    uint64 deadline;
}

/// @notice The earliest proof of some bytes known on chain, as MediaApp.proofDetail returns it.
struct Proof {
    address owner;
    address userContract; // the owner's UserMedia, or zero for an owner without one (batched proofs need none)
    uint64 timestamp; // of the block that registered (direct) or anchored (batched) it
    uint64 blockNumber; // that block; for a batched proof also its batch number
    bool batched;
}

/// @notice Where a storage cluster stands. None: never registered. Active: its receipts count and it takes new
/// placements. Draining: it serves what it holds but takes nothing new and its receipts do not count. Down: out
/// of service (set by the admin, or by an observer's health check).
enum ClusterStatus {
    None,
    Active,
    Draining,
    Down
}

/// @notice A storage cluster as StorageTopology.cluster and clusters() return it.
struct Cluster {
    uint32 id; // 1, 2, ... in registration order
    address signer; // the key its receipts recover to now
    uint16 weight; // its share of new placements (1 = a standard cluster)
    ClusterStatus status;
    string endpoint; // where its HTTP API answers
    bool held; // the admin set this status: observers may not change it
}
