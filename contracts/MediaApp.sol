// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {IMediaApp} from "./interfaces/IMediaApp.sol";
import {IUserMedia} from "./interfaces/IUserMedia.sol";
import {Proof} from "./interfaces/IMediaTypes.sol";

/// @title MediaApp: user directory, UserMedia factory (EIP-1167 clones), deposits and the global proof index
contract MediaApp is IMediaApp {
    /// @dev A proof in two storage slots (a registration writes one per original and per variant, so this is the
    /// hot path): the owner is looked up from the user contract, and 40/56-bit time and block outlast any chain.
    struct StoredProof {
        address userContract;
        uint40 timestamp;
        uint56 blockNumber;
        bytes32 mediaId;
    }

    address private immutable _topology;
    address private immutable _implementation;
    address private _admin;
    uint256 private _minimumDeposit;
    uint256 private _userCount;
    mapping(address owner => address userContract) private _userContracts;
    mapping(address userContract => address owner) private _ownerOfUserContract;
    mapping(address owner => uint256) private _deposits;
    mapping(address account => bool) private _relayers;
    mapping(bytes32 sha256 => StoredProof) private _proofs;

    modifier onlyAdmin() {
        if (msg.sender != _admin) revert MediaAppNotAdmin(msg.sender);
        _;
    }

    /// @param topology_ the StorageTopology every UserMedia checks receipts with
    /// @param implementation_ the UserMedia every clone delegates to
    /// @param minimumDeposit_ wei `register()` requires
    /// @param admin_ sets relayers and the minimum deposit
    constructor(address topology_, address implementation_, uint256 minimumDeposit_, address admin_) {
        _topology = topology_;
        _implementation = implementation_;
        _setMinimumDeposit(minimumDeposit_);
        _setAdmin(admin_);
    }

    /// @inheritdoc IMediaApp
    function register() external payable returns (address userContract_) {
        address existing = _userContracts[msg.sender];
        if (existing != address(0)) revert MediaAppAlreadyRegistered(msg.sender, existing);
        if (msg.value < _minimumDeposit) revert MediaAppDepositTooLow(msg.value, _minimumDeposit);
        userContract_ = _cloneImplementation(msg.sender);
        _userContracts[msg.sender] = userContract_;
        _ownerOfUserContract[userContract_] = msg.sender;
        _deposits[msg.sender] = msg.value;
        ++_userCount;
        IUserMedia(userContract_).initialize(msg.sender, address(this), _topology);
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
    function withdraw(uint256 amount) external {
        uint256 balance = _debit(msg.sender, amount);
        emit DepositWithdrawn(msg.sender, amount, balance);
        _send(msg.sender, amount);
    }

    /// @inheritdoc IMediaApp
    function setRelayer(address relayer, bool allowed) external onlyAdmin {
        _relayers[relayer] = allowed;
        emit RelayerSet(relayer, allowed);
    }

    /// @inheritdoc IMediaApp
    function setMinimumDeposit(uint256 minimumDeposit_) external onlyAdmin {
        _setMinimumDeposit(minimumDeposit_);
    }

    /// @inheritdoc IMediaApp
    function transferAdmin(address newAdmin) external onlyAdmin {
        _setAdmin(newAdmin);
    }

    /// @inheritdoc IMediaApp
    /// @dev Only a UserMedia this app created, for its own owner: the proof's owner is then never spoofed.
    function recordProof(bytes32 sha256, bytes32 mediaId, address owner) external returns (bool first) {
        if (owner == address(0) || _ownerOfUserContract[msg.sender] != owner) {
            revert MediaAppNotUserContract(msg.sender);
        }
        if (_proofs[sha256].userContract != address(0)) return false;
        _proofs[sha256] = StoredProof({
            userContract: msg.sender,
            timestamp: uint40(block.timestamp),
            blockNumber: uint56(block.number),
            mediaId: mediaId
        });
        emit ProofRecorded(sha256, mediaId, owner, msg.sender);
        return true;
    }

    /// @inheritdoc IMediaApp
    /// @dev Only the owner's own UserMedia may spend the owner's deposit, and only towards an approved relayer.
    function payRelayer(address owner, address relayer, uint256 amount) external {
        if (_userContracts[owner] != msg.sender) revert MediaAppNotUserContract(msg.sender);
        if (!_relayers[relayer]) revert MediaAppNotRelayer(relayer);
        uint256 balance = _debit(owner, amount);
        emit RelayFeePaid(owner, relayer, amount, balance);
        _send(relayer, amount);
    }

    /// @inheritdoc IMediaApp
    function proofOf(bytes32 sha256)
        external
        view
        returns (address owner, address userContract_, uint64 timestamp, uint64 blockNumber)
    {
        StoredProof storage p = _proofs[sha256];
        return (_ownerOfUserContract[p.userContract], p.userContract, p.timestamp, p.blockNumber);
    }

    /// @inheritdoc IMediaApp
    function proofDetail(bytes32 sha256) external view returns (Proof memory) {
        StoredProof storage p = _proofs[sha256];
        return Proof({
            owner: _ownerOfUserContract[p.userContract],
            userContract: p.userContract,
            mediaId: p.mediaId,
            timestamp: p.timestamp,
            blockNumber: p.blockNumber
        });
    }

    /// @inheritdoc IMediaApp
    function userContract(address owner) external view returns (address) {
        return _userContracts[owner];
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
    function depositOf(address owner) external view returns (uint256) {
        return _deposits[owner];
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

    /// @inheritdoc IMediaApp
    function admin() external view returns (address) {
        return _admin;
    }

    /// @dev EIP-1167 minimal proxy, created with CREATE2 salted by the owner so its address is known in advance.
    function _cloneImplementation(address owner) private returns (address instance) {
        bytes memory code = abi.encodePacked(
            hex"3d602d80600a3d3981f3363d3d373d3d3d363d73", _implementation, hex"5af43d82803e903d91602b57fd5bf3"
        );
        bytes32 salt = bytes32(uint256(uint160(owner)));
        assembly ("memory-safe") {
            instance := create2(0, add(code, 0x20), mload(code), salt)
        }
        // CREATE2 fails only on an address collision, which the one-clone-per-owner check rules out.
        if (instance == address(0)) revert MediaAppAlreadyRegistered(owner, instance);
    }

    function _debit(address owner, uint256 amount) private returns (uint256 balance) {
        uint256 available = _deposits[owner];
        if (amount > available) revert MediaAppInsufficientDeposit(available, amount);
        balance = available - amount;
        _deposits[owner] = balance;
    }

    function _send(address to, uint256 amount) private {
        (bool ok,) = to.call{value: amount}("");
        if (!ok) revert MediaAppTransferFailed(to, amount);
    }

    function _setMinimumDeposit(uint256 minimumDeposit_) private {
        _minimumDeposit = minimumDeposit_;
        emit MinimumDepositChanged(minimumDeposit_);
    }

    function _setAdmin(address newAdmin) private {
        address previous = _admin;
        _admin = newAdmin;
        emit AdminTransferred(previous, newAdmin);
    }
}
