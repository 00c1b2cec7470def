// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {Proof} from "./IMediaTypes.sol";

/// @title MediaApp: the user directory, UserMedia factory, deposits and the global proof index
/// @notice `register()` deploys the caller's UserMedia (an EIP-1167 clone) and keeps their deposit, from which
/// approved relayers are repaid the gas of relayed registrations. `proofOf(sha256)` answers who first registered
/// some bytes and when, so a verifier needs nothing but the file and an RPC endpoint.
interface IMediaApp {
    event UserRegistered(address indexed owner, address indexed userContract, uint256 deposit);
    event DepositAdded(address indexed owner, uint256 amount, uint256 balance);
    event DepositWithdrawn(address indexed owner, uint256 amount, uint256 balance);
    event RelayFeePaid(address indexed owner, address indexed relayer, uint256 amount, uint256 balance);
    event RelayerSet(address indexed relayer, bool allowed);
    event MinimumDepositChanged(uint256 minimumDeposit);
    event ProofRecorded(bytes32 indexed sha256, bytes32 indexed mediaId, address indexed owner, address userContract);
    event AdminTransferred(address indexed previousAdmin, address indexed newAdmin);

    error MediaAppNotAdmin(address caller);
    error MediaAppAlreadyRegistered(address owner, address userContract);
    error MediaAppNotRegistered(address owner);
    error MediaAppDepositTooLow(uint256 sent, uint256 minimum);
    error MediaAppInsufficientDeposit(uint256 available, uint256 requested);
    error MediaAppNotUserContract(address caller);
    error MediaAppNotRelayer(address caller);
    error MediaAppTransferFailed(address to, uint256 amount);

    /// @notice Creates the caller's UserMedia and keeps msg.value (at least `minimumDeposit()`) as their deposit.
    function register() external payable returns (address userContract);

    /// @notice Adds msg.value to the caller's deposit.
    function deposit() external payable;

    /// @notice Sends `amount` of the caller's deposit back to them.
    function withdraw(uint256 amount) external;

    /// @notice Allows or revokes a relayer (the upload gateway). Admin only.
    function setRelayer(address relayer, bool allowed) external;

    function setMinimumDeposit(uint256 minimumDeposit) external;

    function transferAdmin(address newAdmin) external;

    /// @notice Called by a UserMedia when it registers bytes; the first call for a hash becomes its proof.
    /// @return first true when this was the first registration of `sha256`
    function recordProof(bytes32 sha256, bytes32 mediaId, address owner) external returns (bool first);

    /// @notice Called by a UserMedia to repay a relayer from its owner's deposit.
    function payRelayer(address owner, address relayer, uint256 amount) external;

    /// @notice The first registration of these bytes; all zero when unknown.
    function proofOf(bytes32 sha256)
        external
        view
        returns (address owner, address userContract, uint64 timestamp, uint64 blockNumber);

    /// @notice proofOf with the media id of that first registration.
    function proofDetail(bytes32 sha256) external view returns (Proof memory);

    /// @notice The owner's UserMedia, or zero when not registered.
    function userContract(address owner) external view returns (address);

    function isUserContract(address account) external view returns (bool);

    function isRelayer(address account) external view returns (bool);

    function depositOf(address owner) external view returns (uint256);

    function minimumDeposit() external view returns (uint256);

    function userCount() external view returns (uint256);

    function topology() external view returns (address);

    function implementation() external view returns (address);

    function admin() external view returns (address);
}
