// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {IUserMedia} from "./interfaces/IUserMedia.sol";
import {IMediaApp} from "./interfaces/IMediaApp.sol";
import {IStorageTopology} from "./interfaces/IStorageTopology.sol";
import {MediaRecord, MediaVariant, ReceiptSignature, DeleteMedia, MediaEntry} from "./interfaces/IMediaTypes.sol";
import {MediaproofEIP712} from "./MediaproofEIP712.sol";

/// @title UserMedia: one owner's media records; deployed once as the implementation, used through EIP-1167 clones
contract UserMedia is IUserMedia {
    /// @notice Gas a relayed registration costs beyond what `gasleft()` can see: the 21000 base, the closing
    /// payRelayer call and its transfer. Calldata is added per byte on top (see `_repayRelayer`).
    uint256 public constant RELAY_GAS_OVERHEAD = 40_000;
    /// @dev Calldata gas per non-zero byte; charging every byte at it keeps the relayer whole.
    uint256 private constant CALLDATA_GAS_PER_BYTE = 16;

    address private _owner;
    address private _mediaApp;
    address private _topology;
    bool private _initialized;
    uint256 private _mediaCount;
    mapping(bytes32 mediaId => MediaEntry) private _media;
    mapping(uint256 nonce => bool) private _nonceUsed;

    /// @dev The implementation itself is never initialised, so nobody can own it; clones start uninitialised.
    constructor() {
        _initialized = true;
    }

    /// @inheritdoc IUserMedia
    function initialize(address owner_, address mediaApp_, address topology_) external {
        if (_initialized) revert UserMediaAlreadyInitialized();
        _initialized = true;
        _owner = owner_;
        _mediaApp = mediaApp_;
        _topology = topology_;
    }

    /// @inheritdoc IUserMedia
    function registerMedia(
        MediaRecord calldata record,
        bytes calldata ownerSignature,
        ReceiptSignature[] calldata receipts
    ) external returns (bytes32 mediaId) {
        uint256 gasStart = gasleft();
        bool relayed = msg.sender != _owner;
        if (relayed && !IMediaApp(_mediaApp).isRelayer(msg.sender)) revert UserMediaNotRelayer(msg.sender);
        if (record.sha256 == bytes32(0) || bytes(record.cid).length == 0) revert UserMediaEmptyRecord();
        if (record.parent != bytes32(0) && _media[record.parent].timestamp == 0) {
            revert UserMediaUnknownParent(record.parent);
        }
        mediaId = _recordDigest(record);
        _useSignedNonce(record.nonce, record.deadline, mediaId, ownerSignature);
        uint32[] memory clusterIds =
            IStorageTopology(_topology).checkReceipts(record.sha256, record.cid, record.size, receipts);

        _register(mediaId, record, clusterIds, receipts);
        _recordProofs(mediaId, record);
        if (relayed) _repayRelayer(gasStart);
    }

    /// @inheritdoc IUserMedia
    function deleteMedia(bytes32 mediaId) external {
        if (msg.sender != _owner) revert UserMediaNotOwner(msg.sender);
        _delete(mediaId);
    }

    /// @inheritdoc IUserMedia
    function deleteMediaBySig(DeleteMedia calldata order, bytes calldata ownerSignature) external {
        bytes32 digest = MediaproofEIP712.typedDigest(address(this), MediaproofEIP712.hashDelete(order));
        _useSignedNonce(order.nonce, order.deadline, digest, ownerSignature);
        _delete(order.mediaId);
    }

    /// @inheritdoc IUserMedia
    function owner() external view returns (address) {
        return _owner;
    }

    /// @inheritdoc IUserMedia
    function mediaApp() external view returns (address) {
        return _mediaApp;
    }

    /// @inheritdoc IUserMedia
    function topology() external view returns (address) {
        return _topology;
    }

    /// @inheritdoc IUserMedia
    /// @dev An unknown id gives the zero entry (timestamp 0) rather than a revert, so callers can test existence.
    function media(bytes32 mediaId) external view returns (MediaEntry memory) {
        return _media[mediaId];
    }

    /// @inheritdoc IUserMedia
    function mediaCount() external view returns (uint256) {
        return _mediaCount;
    }

    /// @inheritdoc IUserMedia
    function nonceUsed(uint256 nonce) external view returns (bool) {
        return _nonceUsed[nonce];
    }

    /// @inheritdoc IUserMedia
    function domainSeparator() external view returns (bytes32) {
        return MediaproofEIP712.domainSeparator(address(this));
    }

    /// @inheritdoc IUserMedia
    function recordDigest(MediaRecord calldata record) external view returns (bytes32) {
        return _recordDigest(record);
    }

    function _recordDigest(MediaRecord calldata record) private view returns (bytes32) {
        return MediaproofEIP712.typedDigest(address(this), MediaproofEIP712.hashRecord(record));
    }

    /// @dev Records and delete orders share one unordered nonce space: any unused number is good once.
    function _useSignedNonce(uint256 nonce, uint64 deadline, bytes32 digest, bytes calldata signature) private {
        if (block.timestamp > deadline) revert UserMediaSignatureExpired(deadline, block.timestamp);
        if (_nonceUsed[nonce]) revert UserMediaNonceUsed(nonce);
        address recovered = MediaproofEIP712.recover(digest, signature);
        if (recovered != _owner) revert UserMediaBadOwnerSignature(recovered);
        _nonceUsed[nonce] = true;
    }

    function _register(
        bytes32 mediaId,
        MediaRecord calldata record,
        uint32[] memory clusterIds,
        ReceiptSignature[] calldata receipts
    ) private {
        _media[mediaId] = MediaEntry({
            sha256: record.sha256,
            parent: record.parent,
            timestamp: uint64(block.timestamp),
            blockNumber: uint64(block.number),
            deleted: false
        });
        ++_mediaCount;
        emit MediaRegistered(
            mediaId,
            _owner,
            record.sha256,
            record.cid,
            record.size,
            record.mediaType,
            record.title,
            record.parent,
            clusterIds,
            msg.sender
        );
        uint256 variantCount = record.variants.length;
        for (uint256 i; i < variantCount; ++i) {
            MediaVariant calldata variant = record.variants[i];
            emit MediaVariantRegistered(mediaId, variant.sha256, variant.name, variant.cid, variant.size);
        }
        _emitReceipts(mediaId, clusterIds, receipts);
    }

    /// @dev checkReceipts has verified each signature against its cluster's current signer, so that is the signer.
    function _emitReceipts(bytes32 mediaId, uint32[] memory clusterIds, ReceiptSignature[] calldata receipts)
        private
    {
        IStorageTopology topology_ = IStorageTopology(_topology);
        for (uint256 i; i < receipts.length; ++i) {
            address signer = topology_.cluster(clusterIds[i]).signer;
            emit StorageReceiptAccepted(mediaId, clusterIds[i], signer, receipts[i].pinnedAt, receipts[i].signature);
        }
    }

    /// @dev The original and every variant get a proof, so any rendition a verifier holds can be checked.
    function _recordProofs(bytes32 mediaId, MediaRecord calldata record) private {
        IMediaApp app = IMediaApp(_mediaApp);
        app.recordProof(record.sha256, mediaId, _owner);
        uint256 variantCount = record.variants.length;
        for (uint256 i; i < variantCount; ++i) {
            app.recordProof(record.variants[i].sha256, mediaId, _owner);
        }
    }

    function _repayRelayer(uint256 gasStart) private {
        uint256 gasUsed = gasStart - gasleft() + RELAY_GAS_OVERHEAD + msg.data.length * CALLDATA_GAS_PER_BYTE;
        uint256 fee = gasUsed * tx.gasprice;
        if (fee != 0) IMediaApp(_mediaApp).payRelayer(_owner, msg.sender, fee);
    }

    function _delete(bytes32 mediaId) private {
        MediaEntry storage entry = _media[mediaId];
        if (entry.timestamp == 0) revert UserMediaUnknownMedia(mediaId);
        if (entry.deleted) revert UserMediaAlreadyDeleted(mediaId);
        entry.deleted = true;
        emit MediaDeleted(mediaId, _owner, entry.sha256, msg.sender);
    }
}
