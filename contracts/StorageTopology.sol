// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {IStorageTopology} from "./interfaces/IStorageTopology.sol";
import {Cluster, ClusterStatus, ReceiptSignature} from "./interfaces/IMediaTypes.sol";
import {MediaproofEIP712} from "./MediaproofEIP712.sol";

/// @title StorageTopology: storage clusters, their signing keys and status, and the receipt check
contract StorageTopology is IStorageTopology {
    address private _admin;
    uint8 private _replicationFactor;
    uint32 private _clusterCount;
    mapping(uint32 clusterId => Cluster) private _clusters;
    mapping(address signer => uint32 clusterId) private _clusterOfSigner;
    mapping(address account => bool) private _observers;

    modifier onlyAdmin() {
        if (msg.sender != _admin) revert TopologyNotAdmin(msg.sender);
        _;
    }

    /// @param admin_ registers clusters and sets R (which starts at 1)
    constructor(address admin_) {
        _setAdmin(admin_);
        _setReplicationFactor(1);
    }

    /// @inheritdoc IStorageTopology
    function registerCluster(address signer, uint16 weight, string calldata endpoint)
        external
        onlyAdmin
        returns (uint32 clusterId)
    {
        _requireFreeSigner(signer);
        if (weight == 0) revert TopologyInvalidWeight(weight);
        clusterId = ++_clusterCount;
        _clusters[clusterId] =
            Cluster({id: clusterId, signer: signer, weight: weight, status: ClusterStatus.Active, endpoint: endpoint});
        _clusterOfSigner[signer] = clusterId;
        emit ClusterRegistered(clusterId, signer, weight, endpoint);
    }

    /// @inheritdoc IStorageTopology
    function updateCluster(uint32 clusterId, uint16 weight, string calldata endpoint) external onlyAdmin {
        Cluster storage c = _knownCluster(clusterId);
        if (weight == 0) revert TopologyInvalidWeight(weight);
        c.weight = weight;
        c.endpoint = endpoint;
        emit ClusterUpdated(clusterId, weight, endpoint);
    }

    /// @inheritdoc IStorageTopology
    function rotateSigner(uint32 clusterId, address newSigner) external onlyAdmin {
        Cluster storage c = _knownCluster(clusterId);
        _requireFreeSigner(newSigner);
        address oldSigner = c.signer;
        delete _clusterOfSigner[oldSigner];
        _clusterOfSigner[newSigner] = clusterId;
        c.signer = newSigner;
        emit ClusterSignerRotated(clusterId, oldSigner, newSigner);
    }

    /// @inheritdoc IStorageTopology
    function setClusterStatus(uint32 clusterId, ClusterStatus status) external {
        if (msg.sender != _admin && !_observers[msg.sender]) revert TopologyNotObserver(msg.sender);
        Cluster storage c = _knownCluster(clusterId);
        if (status == ClusterStatus.None) revert TopologyInvalidStatus(status);
        c.status = status;
        emit ClusterStatusChanged(clusterId, status, msg.sender);
    }

    /// @inheritdoc IStorageTopology
    function setReplicationFactor(uint8 factor) external onlyAdmin {
        _setReplicationFactor(factor);
    }

    /// @inheritdoc IStorageTopology
    function setObserver(address observer, bool allowed) external onlyAdmin {
        _observers[observer] = allowed;
        emit ObserverSet(observer, allowed);
    }

    /// @inheritdoc IStorageTopology
    function transferAdmin(address newAdmin) external onlyAdmin {
        _setAdmin(newAdmin);
    }

    /// @inheritdoc IStorageTopology
    function admin() external view returns (address) {
        return _admin;
    }

    /// @inheritdoc IStorageTopology
    function isObserver(address account) external view returns (bool) {
        return _observers[account];
    }

    /// @inheritdoc IStorageTopology
    function replicationFactor() external view returns (uint8) {
        return _replicationFactor;
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
        return _knownCluster(clusterId);
    }

    /// @inheritdoc IStorageTopology
    function clusters() external view returns (Cluster[] memory all) {
        uint32 count = _clusterCount;
        all = new Cluster[](count);
        for (uint32 i; i < count; ++i) {
            all[i] = _clusters[i + 1];
        }
    }

    /// @inheritdoc IStorageTopology
    function clusterCount() external view returns (uint32) {
        return _clusterCount;
    }

    /// @inheritdoc IStorageTopology
    function receiptDigest(uint32 clusterId, bytes32 sha256, string calldata cid, uint64 size, uint64 pinnedAt)
        external
        view
        returns (bytes32)
    {
        return _receiptDigest(clusterId, sha256, cid, size, pinnedAt);
    }

    /// @inheritdoc IStorageTopology
    function checkReceipts(bytes32 sha256, string calldata cid, uint64 size, ReceiptSignature[] calldata receipts)
        external
        view
        returns (uint32[] memory clusterIds)
    {
        uint256 given = receipts.length;
        if (given < _replicationFactor) revert TopologyTooFewReceipts(given, _replicationFactor);
        clusterIds = new uint32[](given);
        for (uint256 i; i < given; ++i) {
            ReceiptSignature calldata receipt = receipts[i];
            uint32 clusterId = receipt.clusterId;
            // Receipts per registration are a handful (R), so a quadratic scan beats a storage set.
            for (uint256 j; j < i; ++j) {
                if (clusterIds[j] == clusterId) revert TopologyDuplicateReceipt(clusterId);
            }
            Cluster storage c = _knownCluster(clusterId);
            if (c.status != ClusterStatus.Active) revert TopologyClusterNotActive(clusterId, c.status);
            bytes32 digest = _receiptDigest(clusterId, sha256, cid, size, receipt.pinnedAt);
            address recovered = MediaproofEIP712.recover(digest, receipt.signature);
            // A cluster's signer is never zero, so an unrecoverable signature (zero) fails here too.
            if (recovered != c.signer) revert TopologyBadReceiptSignature(clusterId, recovered);
            clusterIds[i] = clusterId;
        }
    }

    function _receiptDigest(uint32 clusterId, bytes32 sha256, string calldata cid, uint64 size, uint64 pinnedAt)
        private
        view
        returns (bytes32)
    {
        return MediaproofEIP712.typedDigest(
            address(this), MediaproofEIP712.hashReceipt(clusterId, sha256, cid, size, pinnedAt)
        );
    }

    function _knownCluster(uint32 clusterId) private view returns (Cluster storage c) {
        c = _clusters[clusterId];
        if (c.status == ClusterStatus.None) revert TopologyUnknownCluster(clusterId);
    }

    function _requireFreeSigner(address signer) private view {
        if (signer == address(0)) revert TopologyZeroSigner();
        uint32 holder = _clusterOfSigner[signer];
        if (holder != 0) revert TopologySignerInUse(signer, holder);
    }

    function _setReplicationFactor(uint8 factor) private {
        if (factor == 0) revert TopologyInvalidFactor(factor);
        _replicationFactor = factor;
        emit ReplicationFactorChanged(factor);
    }

    function _setAdmin(address newAdmin) private {
        address previous = _admin;
        _admin = newAdmin;
        emit AdminTransferred(previous, newAdmin);
    }
}
