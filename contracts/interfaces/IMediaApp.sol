// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {MediaRecord, Proof} from "../types/MediaTypes.sol";

/// @title MediaApp: the user directory, UserMedia factory, deposits, batch anchors and the global proof index
/// @notice Two ways to prove media. Batched (the default): an approved sequencer (the gateway) anchors one Merkle
/// root per batch of signed records; a file's portable proof bundle (its leaf and path) proves it against
/// `verifyInclusion`, and anyone may `revealProof` a batched file into `proofOf`. Direct: the owner's UserMedia
/// registers one record in its own transaction and `proofOf` learns it at once. `proofOf(sha256)` is the earliest
/// proof of those bytes known on chain and only ever moves to an earlier one. Records and delete orders are
/// EIP-712 messages under this contract's domain (ERC-5267 `eip712Domain()`), so their digests are media ids.
interface IMediaApp {
    /// @notice A wallet got its UserMedia.
    /// @param owner the wallet
    /// @param userContract its UserMedia (an EIP-1167 clone)
    /// @param deposit wei kept as its deposit
    event UserRegistered(address indexed owner, address indexed userContract, uint256 deposit);
    /// @notice An owner's deposit grew.
    /// @param owner the owner
    /// @param amount wei added
    /// @param balance the deposit now
    event DepositAdded(address indexed owner, uint256 amount, uint256 balance);
    /// @notice An owner asked for part of its deposit back; it can be taken from `availableAt`.
    /// @param owner the owner
    /// @param amount wei asked for (zero cancels a request)
    /// @param availableAt unix time from which `withdraw()` pays it
    event WithdrawalRequested(address indexed owner, uint256 amount, uint64 availableAt);
    /// @notice Deposit went back to its owner.
    /// @param owner the owner
    /// @param amount wei sent
    /// @param balance the deposit now
    event DepositWithdrawn(address indexed owner, uint256 amount, uint256 balance);
    /// @notice A relayer was paid from an owner's deposit for a direct registration it sent.
    /// @param owner whose deposit paid
    /// @param relayer who was paid
    /// @param amount wei paid (never above the record's signed `maxFee`)
    /// @param balance the owner's deposit now
    event RelayFeePaid(address indexed owner, address indexed relayer, uint256 amount, uint256 balance);
    /// @notice A relayer was allowed or revoked.
    /// @param relayer the account
    /// @param allowed whether it may send direct registrations for owners and be paid
    event RelayerSet(address indexed relayer, bool allowed);
    /// @notice A sequencer was allowed or revoked.
    /// @param sequencer the account
    /// @param allowed whether it may anchor batches
    event SequencerSet(address indexed sequencer, bool allowed);
    /// @notice `register()`'s minimum deposit changed.
    /// @param minimumDeposit the new minimum, in wei
    event MinimumDepositChanged(uint256 minimumDeposit);
    /// @notice A batch's Merkle root was anchored. The batch's number is this log's block number.
    /// @param root the StandardMerkleTree root of the batch's leaves
    /// @param sequencer who anchored it
    /// @param manifestCid binary CIDv1 of the batch manifest (every leaf's record, signatures and receipts),
    /// pinned on R storage clusters
    event BatchAnchored(bytes32 indexed root, address indexed sequencer, bytes manifestCid);
    /// @notice A batched file's proof was revealed and `proofOf(sha256)` names it now (it is earlier than what
    /// was there, or nothing was). Direct registrations set `proofOf` with their own MediaRegistered event.
    /// @param sha256 the bytes
    /// @param mediaId the record that proves them
    /// @param owner the record's owner
    /// @param batch the batch (block) it was anchored in
    /// @param revealer who sent the reveal
    event ProofRevealed(
        bytes32 indexed sha256, bytes32 indexed mediaId, address indexed owner, uint64 batch, address revealer
    );

    /// @notice Thrown when a wallet that has a UserMedia registers again.
    /// @param owner the wallet
    /// @param userContract its UserMedia
    error MediaAppAlreadyRegistered(address owner, address userContract);
    /// @notice Thrown when a wallet without a UserMedia adds a deposit.
    /// @param owner the wallet
    error MediaAppNotRegistered(address owner);
    /// @notice Thrown when `register()` is sent less than the minimum deposit.
    /// @param sent wei sent
    /// @param minimum wei required
    error MediaAppDepositTooLow(uint256 sent, uint256 minimum);
    /// @notice Thrown when a deposit is smaller than what is asked of it.
    /// @param available the deposit
    /// @param requested wei asked for
    error MediaAppInsufficientDeposit(uint256 available, uint256 requested);
    /// @notice Thrown when `withdraw()` comes before the requested withdrawal is available, or without a request.
    /// @param availableAt when it will be (zero: nothing requested)
    error MediaAppWithdrawalNotReady(uint64 availableAt);
    /// @notice Thrown when a caller is not the UserMedia of the owner it names.
    /// @param caller the account that called
    error MediaAppNotUserContract(address caller);
    /// @notice Thrown when a direct registration names a relayer that is not approved.
    /// @param relayer the account
    error MediaAppNotRelayer(address relayer);
    /// @notice Thrown when a caller that is not an approved sequencer anchors a batch.
    /// @param caller the account that called
    error MediaAppNotSequencer(address caller);
    /// @notice Thrown when a batch root is zero.
    error MediaAppEmptyBatch();
    /// @notice Thrown when a root was anchored before (an anchor never moves).
    /// @param root the root
    /// @param batch the batch it was anchored in
    error MediaAppBatchAlreadyAnchored(bytes32 root, uint64 batch);
    /// @notice Thrown when a revealed leaf is not in the batch it names.
    /// @param batch the batch named
    error MediaAppNotInBatch(uint256 batch);
    /// @notice Thrown when a revealed proof is not earlier than the proof `proofOf` already names.
    /// @param batch the revealed proof's batch
    /// @param existingBlock the block of the proof already recorded
    error MediaAppProofNotEarlier(uint256 batch, uint64 existingBlock);
    /// @notice Thrown when a record's owner signature is not valid (ECDSA for wallets, ERC-1271 for contracts).
    /// @param owner the record's owner
    error MediaAppBadOwnerSignature(address owner);
    /// @notice Thrown when an address given is zero.
    error MediaAppZeroAddress();
    /// @notice Thrown when an ETH transfer fails.
    /// @param to the recipient
    /// @param amount wei
    error MediaAppTransferFailed(address to, uint256 amount);
    /// @notice Thrown when the admin calls renounceOwnership: the app must always have an admin.
    error MediaAppCannotRenounce();

    /// @notice Creates the caller's UserMedia and keeps msg.value (at least `minimumDeposit()`) as their deposit.
    function register() external payable returns (address userContract);

    /// @notice Adds msg.value to the caller's deposit.
    function deposit() external payable;

    /// @notice Asks for `amount` of the caller's deposit back after `withdrawalDelay()` seconds; replaces any earlier
    /// request (zero cancels). Until then relayers may still be paid from it, so a registration a relayer accepted
    /// can never be left unpaid.
    function requestWithdrawal(uint256 amount) external;

    /// @notice Pays out the caller's requested withdrawal once available (at most the deposit left).
    function withdraw() external;

    /// @notice Allows or revokes a relayer (the upload gateway). Admin only.
    function setRelayer(address relayer, bool allowed) external;

    /// @notice Allows or revokes a sequencer (the gateway key that anchors batches). Admin only.
    function setSequencer(address sequencer, bool allowed) external;

    /// @notice Sets `register()`'s minimum deposit. Admin only.
    function setMinimumDeposit(uint256 minimumDeposit) external;

    /// @notice Anchors one batch: its StandardMerkleTree root and its manifest's CID. Sequencers only.
    /// @return batch the batch's number: this block's number
    function anchorBatch(bytes32 root, bytes calldata manifestCid) external returns (uint256 batch);

    /// @notice Whether `leaf` is in the batch anchored in block `batch`, by the StandardMerkleTree path `proof`.
    function verifyInclusion(bytes32 leaf, bytes32[] calldata proof, uint256 batch) external view returns (bool);

    /// @notice The batch leaf of a record: StandardMerkleTree leaf of (sha256, owner, mediaId, receiptsHash).
    function batchLeaf(bytes32 sha256, address owner, bytes32 mediaId, bytes32 receiptsHash)
        external
        pure
        returns (bytes32);

    /// @notice Where and when a root was anchored; zeros when never.
    /// @return batch the block it was anchored in
    /// @return timestamp that block's time
    function anchorOf(bytes32 root) external view returns (uint64 batch, uint64 timestamp);

    /// @notice Writes a batched file's proof into `proofOf` if it is earlier than what is there (or nothing is).
    /// Anyone may call it with a file's bundle: the record and its owner signature are checked here, the leaf
    /// against the batch. Reverts if the proof is not earlier, so `proofOf` only ever moves back in time.
    function revealProof(
        MediaRecord calldata record,
        bytes calldata ownerSignature,
        bytes32 receiptsHash,
        bytes32[] calldata proof,
        uint256 batch
    ) external returns (bytes32 mediaId);

    /// @notice Called by a UserMedia after it registered a record directly: records the proof if these bytes
    /// have none, and pays `relayer` (if not zero) `fee` from the owner's deposit.
    function recordDirect(bytes32 sha256, address owner, address relayer, uint256 fee) external;

    /// @notice The earliest proof of these bytes known on chain; all zero when none.
    function proofOf(bytes32 sha256)
        external
        view
        returns (address owner, address userContract, uint64 timestamp, uint64 blockNumber);

    /// @notice proofOf, and whether it came from a batch.
    function proofDetail(bytes32 sha256) external view returns (Proof memory);

    /// @notice A record's media id: its EIP-712 digest under this contract's domain.
    function recordDigest(MediaRecord calldata record) external view returns (bytes32);

    /// @notice This contract's EIP-712 domain separator (records and delete orders are signed under it).
    function domainSeparator() external view returns (bytes32);

    /// @notice The owner's UserMedia, or zero when not registered.
    function userContract(address owner) external view returns (address);

    function isUserContract(address account) external view returns (bool);

    function isRelayer(address account) external view returns (bool);

    function isSequencer(address account) external view returns (bool);

    function depositOf(address owner) external view returns (uint256);

    /// @notice The owner's pending withdrawal request.
    function pendingWithdrawal(address owner) external view returns (uint256 amount, uint64 availableAt);

    /// @notice Seconds between a withdrawal request and its payout.
    function withdrawalDelay() external view returns (uint64);

    function minimumDeposit() external view returns (uint256);

    function userCount() external view returns (uint256);

    function topology() external view returns (address);

    function implementation() external view returns (address);
}
