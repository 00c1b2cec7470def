// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {MediaRecord, ReceiptSignature, DeleteMedia} from "../types/MediaTypes.sol";

/// @title UserMedia: one owner's direct registrations and tombstones (an EIP-1167 clone per owner)
/// @notice The direct path: a MediaRecord signed by the owner (EIP-712 under MediaApp's domain; ERC-1271 for
/// contract wallets) plus at least R storage receipts bound to that owner and record, checked by StorageTopology,
/// in one transaction of its own. The owner may send it, or an approved relayer, paid from the owner's deposit at
/// most the record's signed `maxFee`. Titles, CIDs and receipts travel in events; the contract keeps only its
/// owner, spent nonces and tombstones.
interface IUserMedia {
    /// @notice A media record was registered directly. If no proof of these bytes was known, MediaApp.proofOf
    /// names this registration from this block on.
    /// @param mediaId the record's EIP-712 digest
    /// @param owner the record's owner
    /// @param sha256 the original's bytes
    /// @param cid the original's CIDv1
    /// @param size the original's length in bytes
    /// @param mediaType its MIME type
    /// @param title its title
    /// @param parent the media id of the version before it, or zero
    /// @param sender who sent the transaction (the owner or a relayer)
    /// @param receipts the storage receipts accepted, so anyone can check them again off chain: each cluster's
    /// EIP-712 signature over StorageReceipt(clusterId, sha256, owner, mediaId, issuedAt) under StorageTopology's
    /// domain
    event MediaRegistered(
        bytes32 indexed mediaId,
        address indexed owner,
        bytes32 indexed sha256,
        string cid,
        uint64 size,
        string mediaType,
        string title,
        bytes32 parent,
        address sender,
        ReceiptSignature[] receipts
    );
    /// @notice One variant of a registered record (variants get no first-owner proof).
    /// @param mediaId the record
    /// @param sha256 the variant's bytes
    /// @param name e.g. "small", "poster"
    /// @param cid the variant's CIDv1
    /// @param size its length in bytes
    event MediaVariantRegistered(
        bytes32 indexed mediaId, bytes32 indexed sha256, string name, string cid, uint64 size
    );
    /// @notice A media record was tombstoned; its proof stays.
    /// @param mediaId the record
    /// @param owner its owner
    /// @param sender who sent the transaction
    event MediaDeleted(bytes32 indexed mediaId, address indexed owner, address sender);

    /// @notice Thrown when `initialize` is called twice, or by anyone but MediaApp.
    error UserMediaAlreadyInitialized();
    /// @notice Thrown when a caller that must be the owner is not.
    /// @param caller the account that called
    error UserMediaNotOwner(address caller);
    /// @notice Thrown when a record names another owner than this contract's.
    /// @param recordOwner the owner the record names
    error UserMediaWrongOwner(address recordOwner);
    /// @notice Thrown when a signed record or order arrives after its deadline.
    /// @param deadline the deadline signed
    /// @param timestamp the block's time
    error UserMediaSignatureExpired(uint64 deadline, uint256 timestamp);
    /// @notice Thrown when a nonce was spent before (a replayed record or order).
    /// @param nonce the nonce
    error UserMediaNonceUsed(uint256 nonce);
    /// @notice Thrown when the owner's signature is not valid for the record or order.
    /// @param owner this contract's owner
    error UserMediaBadOwnerSignature(address owner);
    /// @notice Thrown when a media id is tombstoned twice.
    /// @param mediaId the record
    error UserMediaAlreadyDeleted(bytes32 mediaId);
    /// @notice Thrown when a record has no sha256 or no CID.
    error UserMediaEmptyRecord();

    /// @notice Sets the owner. Called once, by MediaApp, in the transaction that creates the clone.
    function initialize(address owner) external;

    /// @notice Registers a record signed by the owner, with at least R receipts bound to it.
    /// @return mediaId the record's EIP-712 digest
    function registerMedia(MediaRecord calldata record, bytes calldata ownerSignature, ReceiptSignature[] calldata receipts)
        external
        returns (bytes32 mediaId);

    /// @notice Tombstones a media record. Owner only.
    function deleteMedia(bytes32 mediaId) external;

    /// @notice Tombstones a media record on the owner's signed order, sent by anyone.
    function deleteMediaBySig(DeleteMedia calldata order, bytes calldata ownerSignature) external;

    function owner() external view returns (address);

    function mediaApp() external view returns (address);

    function topology() external view returns (address);

    /// @notice Whether a nonce was spent (by a direct registration or a delete order).
    function nonceUsed(uint256 nonce) external view returns (bool);

    /// @notice Whether the owner tombstoned this media id.
    function isDeleted(bytes32 mediaId) external view returns (bool);
}
