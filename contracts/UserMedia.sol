// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {MessageHashUtils} from "@openzeppelin/contracts/utils/cryptography/MessageHashUtils.sol";
import {IUserMedia} from "./interfaces/IUserMedia.sol";
import {IMediaApp} from "./interfaces/IMediaApp.sol";
import {IStorageTopology} from "./interfaces/IStorageTopology.sol";
import {MediaRecord, MediaVariant, ReceiptSignature, DeleteMedia} from "./types/MediaTypes.sol";
import {MediaHashes} from "./libraries/MediaHashes.sol";
import {OwnerSignature} from "./libraries/OwnerSignature.sol";

/// @title UserMedia: one owner's direct registrations; deployed once by MediaApp, used through EIP-1167 clones
contract UserMedia is IUserMedia {
    /// @notice Gas a relayed registration costs that `gasleft()` cannot see: the 21000 base and MediaApp's closing
    /// call (the first proof of the bytes, the fee's bookkeeping and transfer). Calldata is charged on top at 16 gas
    /// a byte of the arguments' canonical ABI encoding, never of what was sent, so padding raises nothing; the
    /// owner's signed `maxFee` caps the fee whatever the gas price.
    uint256 public constant RELAY_GAS_OVERHEAD = 62_000;
    uint256 private constant CALLDATA_GAS_PER_BYTE = 16;

    // Immutables live in the implementation's code, which every clone runs: no storage reads for them.
    address private immutable _mediaApp;
    address private immutable _topology;
    bytes32 private immutable _recordDomainSeparator;
    uint256 private immutable _chainId;

    address private _owner;
    mapping(uint256 word => uint256 bits) private _spentNonces;
    mapping(bytes32 mediaId => bool) private _deleted;

    /// @param mediaApp_ the MediaApp creating this implementation (records are signed under its domain)
    /// @param topology_ the StorageTopology that checks receipts
    /// @param recordDomainSeparator_ MediaApp's EIP-712 domain separator on this chain
    constructor(address mediaApp_, address topology_, bytes32 recordDomainSeparator_) {
        _mediaApp = mediaApp_;
        _topology = topology_;
        _recordDomainSeparator = recordDomainSeparator_;
        _chainId = block.chainid;
        // The implementation itself gets an owner nobody holds, so it can never be initialised or used.
        _owner = address(this);
    }

    /// @inheritdoc IUserMedia
    function initialize(address owner_) external {
        if (msg.sender != _mediaApp || _owner != address(0)) revert UserMediaAlreadyInitialized();
        _owner = owner_;
    }

    /// @inheritdoc IUserMedia
    function registerMedia(
        MediaRecord calldata record,
        bytes calldata ownerSignature,
        ReceiptSignature[] calldata receipts
    ) external returns (bytes32 mediaId) {
        uint256 gasStart = gasleft();
        address owner_ = _owner;
        if (record.owner != owner_) revert UserMediaWrongOwner(record.owner);
        if (record.sha256 == bytes32(0) || bytes(record.cid).length == 0) revert UserMediaEmptyRecord();
        mediaId = _digest(MediaHashes.hashRecord(record));
        _useSignedNonce(owner_, record.nonce, record.deadline, mediaId, ownerSignature);
        IStorageTopology(_topology).checkReceipts(record.sha256, owner_, mediaId, receipts);
        _emitRegistration(mediaId, owner_, record, receipts);
        bool relayed = msg.sender != owner_;
        uint256 fee;
        if (relayed) {
            uint256 calldataBytes = _canonicalCalldataSize(record, ownerSignature.length, receipts);
            fee = (gasStart - gasleft() + RELAY_GAS_OVERHEAD + calldataBytes * CALLDATA_GAS_PER_BYTE) * tx.gasprice;
            if (fee > record.maxFee) fee = record.maxFee;
        }
        IMediaApp(_mediaApp).recordDirect(record.sha256, owner_, relayed ? msg.sender : address(0), fee);
    }

    /// @inheritdoc IUserMedia
    function deleteMedia(bytes32 mediaId) external {
        if (msg.sender != _owner) revert UserMediaNotOwner(msg.sender);
        _delete(mediaId);
    }

    /// @inheritdoc IUserMedia
    function deleteMediaBySig(DeleteMedia calldata order, bytes calldata ownerSignature) external {
        bytes32 digest = _digest(MediaHashes.hashDelete(order));
        _useSignedNonce(_owner, order.nonce, order.deadline, digest, ownerSignature);
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
    function nonceUsed(uint256 nonce) external view returns (bool) {
        return _spentNonces[nonce >> 8] & (1 << (nonce & 0xff)) != 0;
    }

    /// @inheritdoc IUserMedia
    function isDeleted(bytes32 mediaId) external view returns (bool) {
        return _deleted[mediaId];
    }

    /// @dev Under MediaApp's domain; rebuilt through MediaApp only after a chain split changed the chain id.
    function _digest(bytes32 structHash) private view returns (bytes32) {
        bytes32 separator =
            block.chainid == _chainId ? _recordDomainSeparator : IMediaApp(_mediaApp).domainSeparator();
        return MessageHashUtils.toTypedDataHash(separator, structHash);
    }

    /// @dev Nonces are a bitmap: 256 consecutive nonces share one storage word, so a gateway handing an owner
    /// consecutive nonces pays a fresh slot once per 256 registrations.
    function _useSignedNonce(address owner_, uint256 nonce, uint64 deadline, bytes32 digest, bytes calldata signature)
        private
    {
        if (block.timestamp > deadline) revert UserMediaSignatureExpired(deadline, block.timestamp);
        uint256 bit = 1 << (nonce & 0xff);
        uint256 word = _spentNonces[nonce >> 8];
        if (word & bit != 0) revert UserMediaNonceUsed(nonce);
        if (!OwnerSignature.isValid(owner_, digest, signature)) revert UserMediaBadOwnerSignature(owner_);
        _spentNonces[nonce >> 8] = word | bit;
    }

    function _emitRegistration(
        bytes32 mediaId,
        address owner_,
        MediaRecord calldata record,
        ReceiptSignature[] calldata receipts
    ) private {
        emit MediaRegistered(
            mediaId,
            owner_,
            record.sha256,
            record.cid,
            record.size,
            record.mediaType,
            record.title,
            record.parent,
            msg.sender,
            receipts
        );
        uint256 variantCount = record.variants.length;
        for (uint256 i; i < variantCount; ++i) {
            MediaVariant calldata variant = record.variants[i];
            emit MediaVariantRegistered(mediaId, variant.sha256, variant.name, variant.cid, variant.size);
        }
    }

    /// @dev Bytes of registerMedia's calldata in canonical ABI encoding, worked out from the decoded arguments'
    /// lengths (cheaper than encoding them again): what an honest relayer sends, whatever it actually sent.
    function _canonicalCalldataSize(
        MediaRecord calldata record,
        uint256 signatureLength,
        ReceiptSignature[] calldata receipts
    ) private pure returns (uint256 size) {
        // selector + three head offsets + the record's 11 head words + variants' length word
        size = 4 + 3 * 32 + 11 * 32 + 32;
        size += _dynamicBytes(bytes(record.cid).length) + _dynamicBytes(bytes(record.mediaType).length)
            + _dynamicBytes(bytes(record.title).length);
        uint256 variantCount = record.variants.length;
        for (uint256 i; i < variantCount; ++i) {
            MediaVariant calldata variant = record.variants[i];
            // offset word + 4 head words + two strings
            size += 5 * 32 + _dynamicBytes(bytes(variant.name).length) + _dynamicBytes(bytes(variant.cid).length);
        }
        size += _dynamicBytes(signatureLength) + 32;
        uint256 receiptCount = receipts.length;
        for (uint256 i; i < receiptCount; ++i) {
            // offset word + 3 head words + the signature
            size += 4 * 32 + _dynamicBytes(receipts[i].signature.length);
        }
    }

    /// @dev A dynamic `bytes`/`string` in ABI encoding: a length word and the data padded to whole words.
    function _dynamicBytes(uint256 length) private pure returns (uint256) {
        return 32 + ((length + 31) / 32) * 32;
    }

    function _delete(bytes32 mediaId) private {
        if (_deleted[mediaId]) revert UserMediaAlreadyDeleted(mediaId);
        _deleted[mediaId] = true;
        emit MediaDeleted(mediaId, _owner, msg.sender);
    }
}
