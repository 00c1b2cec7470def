// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {Cluster, ClusterStatus, ReceiptSignature} from "./IMediaTypes.sol";

/// @title StorageTopology: the registry of storage clusters and their signing keys
/// @notice Clusters sign EIP-712 StorageReceipts; this contract says which signers are active and checks receipts.
/// Cluster ids start at 1. The admin registers clusters; the admin or an observer changes their status.
interface IStorageTopology {
    event ClusterRegistered(uint32 indexed clusterId, address indexed signer, uint16 weight, string endpoint);
    event ClusterUpdated(uint32 indexed clusterId, uint16 weight, string endpoint);
    event ClusterSignerRotated(uint32 indexed clusterId, address indexed oldSigner, address indexed newSigner);
    event ClusterStatusChanged(uint32 indexed clusterId, ClusterStatus status, address indexed changedBy);
    event ReplicationFactorChanged(uint8 factor);
    event ObserverSet(address indexed observer, bool allowed);
    event AdminTransferred(address indexed previousAdmin, address indexed newAdmin);

    error TopologyNotAdmin(address caller);
    error TopologyNotObserver(address caller);
    error TopologyUnknownCluster(uint32 clusterId);
    error TopologyZeroSigner();
    error TopologySignerInUse(address signer, uint32 clusterId);
    error TopologyInvalidWeight(uint16 weight);
    error TopologyInvalidStatus(ClusterStatus status);
    error TopologyInvalidFactor(uint8 factor);
    error TopologyTooFewReceipts(uint256 given, uint8 required);
    error TopologyBadReceiptSignature(uint32 clusterId, address recovered);
    error TopologyClusterNotActive(uint32 clusterId, ClusterStatus status);
    error TopologyDuplicateReceipt(uint32 clusterId);

    /// @notice Registers a cluster as Active. Admin only. `weight` is a small integer share of new placements
    /// (1 = a standard cluster, 2 = twice the capacity); 0 is refused.
    /// @return clusterId the new cluster's id (1, 2, ...)
    function registerCluster(address signer, uint16 weight, string calldata endpoint) external returns (uint32 clusterId);

    /// @notice Changes a cluster's weight and endpoint. Admin only.
    function updateCluster(uint32 clusterId, uint16 weight, string calldata endpoint) external;

    /// @notice Replaces a cluster's signing key; receipts by the old key stop counting. Admin only.
    function rotateSigner(uint32 clusterId, address newSigner) external;

    /// @notice Marks a cluster Active, Draining or Down. Admin or observer.
    function setClusterStatus(uint32 clusterId, ClusterStatus status) external;

    /// @notice Sets R, the number of receipts from distinct active clusters a registration needs. Admin only.
    function setReplicationFactor(uint8 factor) external;

    /// @notice Allows or revokes an observer (the health checker). Admin only.
    function setObserver(address observer, bool allowed) external;

    function transferAdmin(address newAdmin) external;

    function admin() external view returns (address);

    function isObserver(address account) external view returns (bool);

    /// @notice R: receipts from distinct active clusters required per registration.
    function replicationFactor() external view returns (uint8);

    /// @notice True when `signer` is the current key of an Active cluster.
    function isActiveSigner(address signer) external view returns (bool);

    /// @notice The cluster whose current key is `signer`, or 0.
    function clusterOfSigner(address signer) external view returns (uint32);

    function cluster(uint32 clusterId) external view returns (Cluster memory);

    /// @notice Every cluster ever registered, in id order (what a consistent-hash ring is built from).
    function clusters() external view returns (Cluster[] memory);

    function clusterCount() external view returns (uint32);

    /// @notice EIP-712 digest of a StorageReceipt under this contract's domain.
    function receiptDigest(uint32 clusterId, bytes32 sha256, string calldata cid, uint64 size, uint64 pinnedAt)
        external
        view
        returns (bytes32);

    /// @notice Checks that `receipts` hold at least R valid signatures, from distinct Active clusters, over these bytes.
    /// Reverts with the first problem found.
    /// @return clusterIds the vouching clusters, in the order given
    function checkReceipts(bytes32 sha256, string calldata cid, uint64 size, ReceiptSignature[] calldata receipts)
        external
        view
        returns (uint32[] memory clusterIds);
}
