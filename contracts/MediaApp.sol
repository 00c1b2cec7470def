// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {EIP712} from "@openzeppelin/contracts/utils/cryptography/EIP712.sol";
import {MerkleProof} from "@openzeppelin/contracts/utils/cryptography/MerkleProof.sol";
import {Clones} from "@openzeppelin/contracts/proxy/Clones.sol";
import {Administered} from "./base/Administered.sol";
import {IMediaApp} from "./interfaces/IMediaApp.sol";
import {IUserMedia} from "./interfaces/IUserMedia.sol";
import {MediaRecord, Proof} from "./types/MediaTypes.sol";
import {MediaHashes} from "./libraries/MediaHashes.sol";
import {OwnerSignature} from "./libraries/OwnerSignature.sol";
import {UserMedia} from "./UserMedia.sol";

/// @title MediaApp: user directory, UserMedia factory, deposits, batch anchors and the global proof index
contract MediaApp is IMediaApp, EIP712, Administered {
    /// @dev The earliest proof of some bytes in one slot (a direct registration writes one per file).
    struct StoredProof {
        address owner;
        uint40 timestamp;
        uint48 blockNumber;
        bool batched;
    }

    /// @dev Where a root was anchored, keyed by the root: one fresh slot per batch is what an anchor costs.
    struct Anchor {
        uint48 blockNumber;
        uint40 timestamp;
    }

    struct Withdrawal {
        uint192 amount;
        uint64 availableAt;
    }

    address private immutable _topology;
    address private immutable _implementation;
    uint64 private immutable _withdrawalDelay;
    uint256 private _minimumDeposit;
    uint256 private _userCount;
    mapping(address owner => address userContract) private _userContracts;
    mapping(address userContract => address owner) private _ownerOfUserContract;
    mapping(address owner => uint256) private _deposits;
    mapping(address owner => Withdrawal) private _withdrawals;
    mapping(address account => bool) private _relayers;
    mapping(address account => bool) private _sequencers;
    mapping(bytes32 sha256 => StoredProof) private _proofs;
    mapping(bytes32 root => Anchor) private _anchors;

    /// @param topology_ the StorageTopology every UserMedia checks receipts with
    /// @param minimumDeposit_ wei `register()` requires
    /// @param withdrawalDelay_ seconds from a withdrawal request to its payout; longer than any record's signature
    /// lifetime, so a relayer that accepted a record can always be paid
    /// @param admin_ sets relayers, sequencers and the minimum deposit (two-step handover)
    constructor(address topology_, uint256 minimumDeposit_, uint64 withdrawalDelay_, address admin_)
        EIP712("Mediaproof", "1")
        Administered(admin_)
    {
        if (topology_ == address(0)) revert MediaAppZeroAddress();
        _topology = topology_;
        _withdrawalDelay = withdrawalDelay_;
        // The implementation learns this app, the topology and this domain as immutables: clones read them from
        // its code, not from storage.
        _implementation = address(new UserMedia(address(this), topology_, _domainSeparatorV4()));
        _setMinimumDeposit(minimumDeposit_);
    }

    /// @inheritdoc IMediaApp
    function register() external payable returns (address userContract_) {
        address existing = _userContracts[msg.sender];
        if (existing != address(0)) revert MediaAppAlreadyRegistered(msg.sender, existing);
        if (msg.value < _minimumDeposit) revert MediaAppDepositTooLow(msg.value, _minimumDeposit);
        // Salted by the owner, so a wallet's UserMedia address is known before it exists.
        userContract_ = Clones.cloneDeterministic(_implementation, bytes32(uint256(uint160(msg.sender))));
        _userContracts[msg.sender] = userContract_;
        _ownerOfUserContract[userContract_] = msg.sender;
        _deposits[msg.sender] = msg.value;
        ++_userCount;
        IUserMedia(userContract_).initialize(msg.sender);
        emit UserRegistered(msg.sender, userContract_, msg.value);
    }

    /// @inheritdoc IMediaApp
    function deposit() external payable {
        if (_userContracts[msg.sender] == address(0)) revert MediaAppNotRegistered(msg.sender);
        uint256 balance = _deposits[msg.sender] + msg.value;
        _deposits[msg.sender] = balance;
        emit DepositAdded(msg.sender, msg.value, balance);
    }

    /// @inheritdoc IMediaApp
    function requestWithdrawal(uint256 amount) external {
        uint256 available = _deposits[msg.sender];
        if (amount > available) revert MediaAppInsufficientDeposit(available, amount);
        uint64 availableAt = amount == 0 ? 0 : uint64(block.timestamp) + _withdrawalDelay;
        _withdrawals[msg.sender] = Withdrawal({amount: uint192(amount), availableAt: availableAt});
        emit WithdrawalRequested(msg.sender, amount, availableAt);
    }

    /// @inheritdoc IMediaApp
    function withdraw() external {
        Withdrawal memory request = _withdrawals[msg.sender];
        if (request.availableAt == 0 || block.timestamp < request.availableAt) {
            revert MediaAppWithdrawalNotReady(request.availableAt);
        }
        delete _withdrawals[msg.sender];
        uint256 available = _deposits[msg.sender];
        // Relayers may have been paid meanwhile: pay what is left of the request.
        uint256 amount = request.amount < available ? request.amount : available;
        uint256 balance = available - amount;
        _deposits[msg.sender] = balance;
        emit DepositWithdrawn(msg.sender, amount, balance);
        _send(msg.sender, amount);
    }

    /// @inheritdoc IMediaApp
    function setRelayer(address relayer, bool allowed) external onlyOwner nonZeroAccount(relayer) {
        _relayers[relayer] = allowed;
        emit RelayerSet(relayer, allowed);
    }

    /// @inheritdoc IMediaApp
    function setSequencer(address sequencer, bool allowed) external onlyOwner nonZeroAccount(sequencer) {
        _sequencers[sequencer] = allowed;
        emit SequencerSet(sequencer, allowed);
    }

    /// @inheritdoc IMediaApp
    function setMinimumDeposit(uint256 minimumDeposit_) external onlyOwner {
        _setMinimumDeposit(minimumDeposit_);
    }

    /// @inheritdoc IMediaApp
    /// @dev The hot path of the whole system: one sequencer check, one fresh slot, one event.
    function anchorBatch(bytes32 root, bytes calldata manifestCid) external returns (uint256 batch) {
        if (!_sequencers[msg.sender]) revert MediaAppNotSequencer(msg.sender);
        if (root == bytes32(0)) revert MediaAppEmptyBatch();
        Anchor storage anchor = _anchors[root];
        uint48 anchoredIn = anchor.blockNumber;
        if (anchoredIn != 0) revert MediaAppBatchAlreadyAnchored(root, anchoredIn);
        anchor.blockNumber = uint48(block.number);
        anchor.timestamp = uint40(block.timestamp);
        emit BatchAnchored(root, msg.sender, manifestCid);
        return block.number;
    }

    /// @inheritdoc IMediaApp
    function verifyInclusion(bytes32 leaf, bytes32[] calldata proof, uint256 batch) external view returns (bool) {
        uint48 anchoredIn = _anchors[MerkleProof.processProofCalldata(proof, leaf)].blockNumber;
        return anchoredIn != 0 && anchoredIn == batch;
    }

    /// @inheritdoc IMediaApp
    function batchLeaf(bytes32 sha256, address owner_, bytes32 mediaId, bytes32 receiptsHash)
        external
        pure
        returns (bytes32)
    {
        return MediaHashes.batchLeaf(sha256, owner_, mediaId, receiptsHash);
    }

    /// @inheritdoc IMediaApp
    function anchorOf(bytes32 root) external view returns (uint64 batch, uint64 timestamp) {
        Anchor storage anchor = _anchors[root];
        return (anchor.blockNumber, anchor.timestamp);
    }

    /// @inheritdoc IMediaApp
    function revealProof(
        MediaRecord calldata record,
        bytes calldata ownerSignature,
        bytes32 receiptsHash,
        bytes32[] calldata proof,
        uint256 batch
    ) external returns (bytes32 mediaId) {
        mediaId = _hashTypedDataV4(MediaHashes.hashRecord(record));
        if (!OwnerSignature.isValid(record.owner, mediaId, ownerSignature)) {
            revert MediaAppBadOwnerSignature(record.owner);
        }
        bytes32 leaf = MediaHashes.batchLeaf(record.sha256, record.owner, mediaId, receiptsHash);
        Anchor memory anchor = _anchors[MerkleProof.processProofCalldata(proof, leaf)];
        if (anchor.blockNumber == 0 || anchor.blockNumber != batch) revert MediaAppNotInBatch(batch);
        StoredProof storage existing = _proofs[record.sha256];
        // Monotone: only a strictly earlier block replaces a proof (the sequencer puts no two owners of the same
        // bytes in one batch, so one block never holds two competing batched proofs).
        if (existing.owner != address(0) && existing.blockNumber <= anchor.blockNumber) {
            revert MediaAppProofNotEarlier(batch, existing.blockNumber);
        }
        _proofs[record.sha256] = StoredProof({
            owner: record.owner,
            timestamp: anchor.timestamp,
            blockNumber: anchor.blockNumber,
            batched: true
        });
        emit ProofRevealed(record.sha256, mediaId, record.owner, anchor.blockNumber, msg.sender);
    }

    /// @inheritdoc IMediaApp
    /// @dev Only the owner's own UserMedia may call, so a proof's owner is never spoofed and only that owner's
    /// deposit is spent; the fee was capped by the owner's signed `maxFee` there.
    function recordDirect(bytes32 sha256, address owner_, address relayer, uint256 fee) external {
        if (owner_ == address(0) || _userContracts[owner_] != msg.sender) revert MediaAppNotUserContract(msg.sender);
        // The registration's own MediaRegistered event says so; no second event for the proof.
        if (_proofs[sha256].owner == address(0)) {
            _proofs[sha256] = StoredProof({
                owner: owner_,
                timestamp: uint40(block.timestamp),
                blockNumber: uint48(block.number),
                batched: false
            });
        }
        if (relayer != address(0)) {
            if (!_relayers[relayer]) revert MediaAppNotRelayer(relayer);
            if (fee != 0) {
                uint256 available = _deposits[owner_];
                if (fee > available) revert MediaAppInsufficientDeposit(available, fee);
                uint256 balance = available - fee;
                _deposits[owner_] = balance;
                emit RelayFeePaid(owner_, relayer, fee, balance);
                _send(relayer, fee);
            }
        }
    }

    /// @inheritdoc IMediaApp
    function proofOf(bytes32 sha256)
        external
        view
        returns (address owner_, address userContract_, uint64 timestamp, uint64 blockNumber)
    {
        StoredProof storage p = _proofs[sha256];
        return (p.owner, _userContracts[p.owner], p.timestamp, p.blockNumber);
    }

    /// @inheritdoc IMediaApp
    function proofDetail(bytes32 sha256) external view returns (Proof memory) {
        StoredProof storage p = _proofs[sha256];
        return Proof({
            owner: p.owner,
            userContract: _userContracts[p.owner],
            timestamp: p.timestamp,
            blockNumber: p.blockNumber,
            batched: p.batched
        });
    }

    /// @inheritdoc IMediaApp
    function recordDigest(MediaRecord calldata record) external view returns (bytes32) {
        return _hashTypedDataV4(MediaHashes.hashRecord(record));
    }

    /// @inheritdoc IMediaApp
    function domainSeparator() external view returns (bytes32) {
        return _domainSeparatorV4();
    }

    /// @inheritdoc IMediaApp
    function userContract(address owner_) external view returns (address) {
        return _userContracts[owner_];
    }

    /// @inheritdoc IMediaApp
    function isUserContract(address account) external view returns (bool) {
        return _ownerOfUserContract[account] != address(0);
    }

    /// @inheritdoc IMediaApp
    function isRelayer(address account) external view returns (bool) {
        return _relayers[account];
    }

    /// @inheritdoc IMediaApp
    function isSequencer(address account) external view returns (bool) {
        return _sequencers[account];
    }

    /// @inheritdoc IMediaApp
    function depositOf(address owner_) external view returns (uint256) {
        return _deposits[owner_];
    }

    /// @inheritdoc IMediaApp
    function pendingWithdrawal(address owner_) external view returns (uint256 amount, uint64 availableAt) {
        Withdrawal storage request = _withdrawals[owner_];
        return (request.amount, request.availableAt);
    }

    /// @inheritdoc IMediaApp
    function withdrawalDelay() external view returns (uint64) {
        return _withdrawalDelay;
    }

    /// @inheritdoc IMediaApp
    function minimumDeposit() external view returns (uint256) {
        return _minimumDeposit;
    }

    /// @inheritdoc IMediaApp
    function userCount() external view returns (uint256) {
        return _userCount;
    }

    /// @inheritdoc IMediaApp
    function topology() external view returns (address) {
        return _topology;
    }

    /// @inheritdoc IMediaApp
    function implementation() external view returns (address) {
        return _implementation;
    }

    function _revertCannotRenounce() internal pure override {
        revert MediaAppCannotRenounce();
    }

    function _revertZeroAddress() internal pure override {
        revert MediaAppZeroAddress();
    }

    function _send(address to, uint256 amount) private {
        (bool ok,) = to.call{value: amount}("");
        if (!ok) revert MediaAppTransferFailed(to, amount);
    }

    function _setMinimumDeposit(uint256 minimumDeposit_) private {
        _minimumDeposit = minimumDeposit_;
        emit MinimumDepositChanged(minimumDeposit_);
    }
}
