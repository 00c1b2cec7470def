// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {EIP712} from "@openzeppelin/contracts/utils/cryptography/EIP712.sol";
import {ECDSA} from "@openzeppelin/contracts/utils/cryptography/ECDSA.sol";
import {Administered} from "./base/Administered.sol";
import {IStorageTopology} from "./interfaces/IStorageTopology.sol";
import {Cluster, ClusterStatus, ReceiptSignature} from "./types/MediaTypes.sol";
import {MediaHashes} from "./libraries/MediaHashes.sol";

/// @title StorageTopology: storage clusters, their signing keys and status, gateways, and the receipt check
contract StorageTopology is IStorageTopology, EIP712, Administered {
    /// @notice How far a receipt's `issuedAt` may run ahead of the block's time (clusters' clocks drift).
    uint64 public constant MAX_CLOCK_SKEW = 300;

    /// @dev One slot per cluster: a receipt check reads exactly one slot per receipt.
    struct ClusterSlot {
        address signer;
        uint16 weight;
        ClusterStatus status;
        bool held;
    }

    /// @dev One slot read by every receipt check.
    struct Counts {
        uint8 replicationFactor;
        uint32 clusterCount;
        uint32 activeCount;
    }

    uint64 private immutable _receiptLifetime;
    Counts private _counts;
    mapping(uint32 clusterId => ClusterSlot) private _clusters;
    mapping(uint32 clusterId => string) private _endpoints;
    mapping(address signer => uint32 clusterId) private _clusterOfSigner;
    mapping(address account => bool) private _observers;
    mapping(address account => bool) private _gateways;

    /// @param admin_ registers clusters and gateways and sets R (which starts at 1)
    /// @param receiptLifetime_ seconds a storage receipt stays valid after it was signed
    constructor(address admin_, uint64 receiptLifetime_) EIP712("Mediaproof", "1") Administered(admin_) {
        if (receiptLifetime_ == 0) revert TopologyInvalidLifetime();
        _receiptLifetime = receiptLifetime_;
        _counts.replicationFactor = 1;
        emit ReplicationFactorChanged(1);
    }

    /// @inheritdoc IStorageTopology
    function registerCluster(address signer, uint16 weight, string calldata endpoint)
        external
        onlyOwner
        returns (uint32 clusterId)
    {
        _requireFreeSigner(signer);
        if (weight == 0) revert TopologyInvalidWeight(weight);
        Counts memory counts = _counts;
        clusterId = ++counts.clusterCount;
        ++counts.activeCount;
        _counts = counts;
        _clusters[clusterId] = ClusterSlot({signer: signer, weight: weight, status: ClusterStatus.Active, held: false});
        _endpoints[clusterId] = endpoint;
        _clusterOfSigner[signer] = clusterId;
        emit ClusterRegistered(clusterId, signer, weight, endpoint);
    }

    /// @inheritdoc IStorageTopology
    function updateCluster(uint32 clusterId, uint16 weight, string calldata endpoint) external onlyOwner {
        ClusterSlot storage c = _knownCluster(clusterId);
        if (weight == 0) revert TopologyInvalidWeight(weight);
        c.weight = weight;
        _endpoints[clusterId] = endpoint;
        emit ClusterUpdated(clusterId, weight, endpoint);
    }

    /// @inheritdoc IStorageTopology
    function rotateSigner(uint32 clusterId, address newSigner) external onlyOwner {
        ClusterSlot storage c = _knownCluster(clusterId);
        _requireFreeSigner(newSigner);
        address oldSigner = c.signer;
        delete _clusterOfSigner[oldSigner];
        _clusterOfSigner[newSigner] = clusterId;
        c.signer = newSigner;
        emit ClusterSignerRotated(clusterId, oldSigner, newSigner);
    }

    /// @inheritdoc IStorageTopology
    function setClusterStatus(uint32 clusterId, ClusterStatus status) external {
        bool byAdmin = msg.sender == owner();
        if (!byAdmin && !_observers[msg.sender]) revert TopologyNotObserver(msg.sender);
        ClusterSlot storage c = _knownCluster(clusterId);
        if (status == ClusterStatus.None) revert TopologyInvalidStatus(status);
        Counts memory counts = _counts;
        if (!byAdmin) {
            if (c.held) revert TopologyClusterHeld(clusterId);
            if (status != ClusterStatus.Active && status != ClusterStatus.Down) revert TopologyInvalidStatus(status);
        }
        bool wasActive = c.status == ClusterStatus.Active;
        bool isActive = status == ClusterStatus.Active;
        if (wasActive && !isActive) {
            --counts.activeCount;
            // The admin may go below R (a leaked key must come out at once); an observer's health check may not.
            if (!byAdmin && counts.activeCount < counts.replicationFactor) {
                revert TopologyInvalidFactor(counts.replicationFactor, counts.activeCount);
            }
        } else if (!wasActive && isActive) {
            ++counts.activeCount;
        }
        _counts = counts;
        c.status = status;
        // The admin's word holds until the admin says Active again.
        c.held = byAdmin && !isActive;
        emit ClusterStatusChanged(clusterId, status, msg.sender, c.held);
    }

    /// @inheritdoc IStorageTopology
    function setReplicationFactor(uint8 factor) external onlyOwner {
        uint32 active = _counts.activeCount;
        if (factor == 0 || factor > active) revert TopologyInvalidFactor(factor, active);
        _counts.replicationFactor = factor;
        emit ReplicationFactorChanged(factor);
    }

    /// @inheritdoc IStorageTopology
    function setObserver(address observer, bool allowed) external onlyOwner nonZeroAccount(observer) {
        _observers[observer] = allowed;
        emit ObserverSet(observer, allowed);
    }

    /// @inheritdoc IStorageTopology
    function setGateway(address gateway, bool allowed) external onlyOwner nonZeroAccount(gateway) {
        _gateways[gateway] = allowed;
        emit GatewaySet(gateway, allowed);
    }

    /// @inheritdoc IStorageTopology
    function isObserver(address account) external view returns (bool) {
        return _observers[account];
    }

    /// @inheritdoc IStorageTopology
    function isGateway(address account) external view returns (bool) {
        return _gateways[account];
    }

    /// @inheritdoc IStorageTopology
    function replicationFactor() external view returns (uint8) {
        return _counts.replicationFactor;
    }

    /// @inheritdoc IStorageTopology
    function activeClusterCount() external view returns (uint32) {
        return _counts.activeCount;
    }

    /// @inheritdoc IStorageTopology
    function receiptLifetime() external view returns (uint64) {
        return _receiptLifetime;
    }

    /// @inheritdoc IStorageTopology
    function isActiveSigner(address signer) external view returns (bool) {
        uint32 clusterId = _clusterOfSigner[signer];
        return clusterId != 0 && _clusters[clusterId].status == ClusterStatus.Active;
    }

    /// @inheritdoc IStorageTopology
    function clusterOfSigner(address signer) external view returns (uint32) {
        return _clusterOfSigner[signer];
    }

    /// @inheritdoc IStorageTopology
    function cluster(uint32 clusterId) external view returns (Cluster memory) {
        _knownCluster(clusterId);
        return _cluster(clusterId);
    }

    /// @inheritdoc IStorageTopology
    function clusters() external view returns (Cluster[] memory all) {
        uint32 count = _counts.clusterCount;
        all = new Cluster[](count);
        for (uint32 i; i < count; ++i) {
            all[i] = _cluster(i + 1);
        }
    }

    /// @inheritdoc IStorageTopology
    function clusterCount() external view returns (uint32) {
        return _counts.clusterCount;
    }

    /// @inheritdoc IStorageTopology
    function receiptDigest(uint32 clusterId, bytes32 sha256, address owner_, bytes32 mediaId, uint64 issuedAt)
        external
        view
        returns (bytes32)
    {
        return _hashTypedDataV4(MediaHashes.hashReceipt(clusterId, sha256, owner_, mediaId, issuedAt));
    }

    /// @inheritdoc IStorageTopology
    function checkReceipts(bytes32 sha256, address owner_, bytes32 mediaId, ReceiptSignature[] calldata receipts)
        external
        view
    {
        uint256 given = receipts.length;
        uint8 required = _counts.replicationFactor;
        if (given < required) revert TopologyTooFewReceipts(given, required);
        uint32[] memory seen = new uint32[](given);
        for (uint256 i; i < given; ++i) {
            uint32 clusterId = receipts[i].clusterId;
            // Receipts per registration are a handful (R), so a quadratic scan beats a storage set.
            for (uint256 j; j < i; ++j) {
                if (seen[j] == clusterId) revert TopologyDuplicateReceipt(clusterId);
            }
            seen[i] = clusterId;
            _checkReceipt(receipts[i], sha256, owner_, mediaId);
        }
    }

    function _revertCannotRenounce() internal pure override {
        revert TopologyCannotRenounce();
    }

    function _revertZeroAddress() internal pure override {
        revert TopologyZeroAddress();
    }

    function _checkReceipt(ReceiptSignature calldata receipt, bytes32 sha256, address owner_, bytes32 mediaId)
        private
        view
    {
        uint32 clusterId = receipt.clusterId;
        ClusterSlot memory c = _clusters[clusterId];
        if (c.status != ClusterStatus.Active) revert TopologyClusterNotActive(clusterId, c.status);
        uint64 issuedAt = receipt.issuedAt;
        if (issuedAt > block.timestamp + MAX_CLOCK_SKEW) revert TopologyReceiptFromFuture(clusterId, issuedAt);
        if (block.timestamp > uint256(issuedAt) + _receiptLifetime) revert TopologyReceiptExpired(clusterId, issuedAt);
        bytes32 digest = _hashTypedDataV4(MediaHashes.hashReceipt(clusterId, sha256, owner_, mediaId, issuedAt));
        (address recovered,,) = ECDSA.tryRecoverCalldata(digest, receipt.signature);
        // A cluster's signer is never zero, so an unrecoverable signature (zero) fails here too.
        if (recovered != c.signer) revert TopologyBadReceiptSignature(clusterId, recovered);
    }

    function _cluster(uint32 clusterId) private view returns (Cluster memory) {
        ClusterSlot storage c = _clusters[clusterId];
        return Cluster({
            id: clusterId,
            signer: c.signer,
            weight: c.weight,
            status: c.status,
            endpoint: _endpoints[clusterId],
            held: c.held
        });
    }

    function _knownCluster(uint32 clusterId) private view returns (ClusterSlot storage c) {
        c = _clusters[clusterId];
        if (c.status == ClusterStatus.None) revert TopologyUnknownCluster(clusterId);
    }

    function _requireFreeSigner(address signer) private view {
        if (signer == address(0)) revert TopologyZeroAddress();
        uint32 holder = _clusterOfSigner[signer];
        if (holder != 0) revert TopologySignerInUse(signer, holder);
    }
}
