// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {MediaRecord, ReceiptSignature, DeleteMedia, MediaEntry} from "./IMediaTypes.sol";

/// @title UserMedia: one owner's media records
/// @notice Each registration is a MediaRecord signed by the owner (EIP-712, this contract as verifying contract)
/// plus at least R storage receipts checked by StorageTopology. The owner may send it, or an approved relayer
/// (repaid from the owner's deposit in MediaApp). The record's EIP-712 digest is the media id.
interface IUserMedia {
    /// @notice A media record went on chain. `clusterIds` vouch for the original's bytes.
    event MediaRegistered(
        bytes32 indexed mediaId,
        address indexed owner,
        bytes32 indexed sha256,
        string cid,
        uint64 size,
        string mediaType,
        string title,
        bytes32 parent,
        uint32[] clusterIds,
        address sender
    );
    /// @notice One variant of a registered media record.
    event MediaVariantRegistered(
        bytes32 indexed mediaId, bytes32 indexed sha256, string name, string cid, uint64 size
    );
    /// @notice One accepted storage receipt, with its signature so anyone can check it again off chain.
    event StorageReceiptAccepted(
        bytes32 indexed mediaId, uint32 indexed clusterId, address indexed signer, uint64 pinnedAt, bytes signature
    );
    /// @notice A media record was tombstoned; its proof in MediaApp stays.
    event MediaDeleted(bytes32 indexed mediaId, address indexed owner, bytes32 indexed sha256, address sender);

    error UserMediaAlreadyInitialized();
    error UserMediaNotOwner(address caller);
    error UserMediaNotRelayer(address caller);
    error UserMediaSignatureExpired(uint64 deadline, uint256 timestamp);
    error UserMediaNonceUsed(uint256 nonce);
    error UserMediaBadOwnerSignature(address recovered);
    error UserMediaUnknownMedia(bytes32 mediaId);
    error UserMediaAlreadyDeleted(bytes32 mediaId);
    error UserMediaUnknownParent(bytes32 parent);
    error UserMediaEmptyRecord();

    /// @notice Sets the owner and the contracts this clone answers to. Called once, by MediaApp.
    function initialize(address owner, address mediaApp, address topology) external;

    /// @notice Registers a media record signed by the owner, with at least R storage receipts.
    /// @return mediaId the record's EIP-712 digest
    function registerMedia(MediaRecord calldata record, bytes calldata ownerSignature, ReceiptSignature[] calldata receipts)
        external
        returns (bytes32 mediaId);

    /// @notice Tombstones a media record. Owner only.
    function deleteMedia(bytes32 mediaId) external;

    /// @notice Tombstones a media record on the owner's signed order, sent by an approved relayer or anyone.
    function deleteMediaBySig(DeleteMedia calldata order, bytes calldata ownerSignature) external;

    function owner() external view returns (address);

    function mediaApp() external view returns (address);

    function topology() external view returns (address);

    function media(bytes32 mediaId) external view returns (MediaEntry memory);

    function mediaCount() external view returns (uint256);

    function nonceUsed(uint256 nonce) external view returns (bool);

    function domainSeparator() external view returns (bytes32);

    /// @notice The EIP-712 digest (and so the media id) of a record under this contract's domain.
    function recordDigest(MediaRecord calldata record) external view returns (bytes32);
}
