// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {Cluster, ClusterStatus, ReceiptSignature} from "../types/MediaTypes.sol";

/// @title StorageTopology: the registry of storage clusters, their signing keys, and the gateways they serve
/// @notice Clusters sign EIP-712 StorageReceipts bound to an owner and a record, valid for `receiptLifetime()`
/// seconds; this contract says which signers are active and checks receipts. Cluster ids start at 1. The admin
/// (two-step ownership) registers clusters and gateways; an observer may mark clusters Down or Active again,
/// except those the admin set itself, and never below R active clusters.
interface IStorageTopology {
    /// @notice A cluster joined, Active.
    /// @param clusterId its id (1, 2, ...)
    /// @param signer the address its receipts recover to
    /// @param weight its share of new placements
    /// @param endpoint where its HTTP API answers
    event ClusterRegistered(uint32 indexed clusterId, address indexed signer, uint16 weight, string endpoint);
    /// @notice A cluster's weight or endpoint changed.
    /// @param clusterId the cluster
    /// @param weight its new weight
    /// @param endpoint its new endpoint
    event ClusterUpdated(uint32 indexed clusterId, uint16 weight, string endpoint);
    /// @notice A cluster's signing key was replaced; receipts by the old key stop counting from this block.
    /// @param clusterId the cluster
    /// @param oldSigner the key retired
    /// @param newSigner the key that signs from now on
    event ClusterSignerRotated(uint32 indexed clusterId, address indexed oldSigner, address indexed newSigner);
    /// @notice A cluster's status changed.
    /// @param clusterId the cluster
    /// @param status the new status
    /// @param changedBy the admin or the observer that changed it
    /// @param held true when the admin set it, so observers may not change it back
    event ClusterStatusChanged(uint32 indexed clusterId, ClusterStatus status, address indexed changedBy, bool held);
    /// @notice R changed.
    /// @param factor receipts from distinct active clusters each registration needs
    event ReplicationFactorChanged(uint8 factor);
    /// @notice An observer was allowed or revoked.
    /// @param observer the account
    /// @param allowed whether it may now change cluster status
    event ObserverSet(address indexed observer, bool allowed);
    /// @notice A gateway key was allowed or revoked: clusters accept writes, deletes, listings and receipt
    /// requests only from allowed gateways.
    /// @param gateway the key's address
    /// @param allowed whether clusters now serve it
    event GatewaySet(address indexed gateway, bool allowed);

    /// @notice Thrown when the caller is neither the admin nor an observer.
    /// @param caller the account that called
    error TopologyNotObserver(address caller);
    /// @notice Thrown when an observer tries to change a status the admin set.
    /// @param clusterId the cluster
    error TopologyClusterHeld(uint32 clusterId);
    /// @notice Thrown when a cluster id was never registered.
    /// @param clusterId the id asked for
    error TopologyUnknownCluster(uint32 clusterId);
    /// @notice Thrown when an address given is zero.
    error TopologyZeroAddress();
    /// @notice Thrown when a signer is already some cluster's key.
    /// @param signer the key
    /// @param clusterId the cluster holding it
    error TopologySignerInUse(address signer, uint32 clusterId);
    /// @notice Thrown when a weight is zero.
    /// @param weight the weight given
    error TopologyInvalidWeight(uint16 weight);
    /// @notice Thrown when a status is None, or (for an observer) anything but Active or Down.
    /// @param status the status given
    error TopologyInvalidStatus(ClusterStatus status);
    /// @notice Thrown when R would be zero or exceed the active clusters.
    /// @param factor the R asked for (or in force)
    /// @param active the clusters Active
    error TopologyInvalidFactor(uint8 factor, uint32 active);
    /// @notice Thrown when a receipt lifetime of zero is given.
    error TopologyInvalidLifetime();
    /// @notice Thrown when fewer than R receipts are given.
    /// @param given receipts given
    /// @param required R
    error TopologyTooFewReceipts(uint256 given, uint8 required);
    /// @notice Thrown when a receipt's signature does not recover to its cluster's current signer.
    /// @param clusterId the receipt's cluster
    /// @param recovered what the signature recovered to (zero if nothing)
    error TopologyBadReceiptSignature(uint32 clusterId, address recovered);
    /// @notice Thrown when a receipt's cluster is not Active.
    /// @param clusterId the cluster
    /// @param status its status
    error TopologyClusterNotActive(uint32 clusterId, ClusterStatus status);
    /// @notice Thrown when two receipts come from one cluster.
    /// @param clusterId the cluster
    error TopologyDuplicateReceipt(uint32 clusterId);
    /// @notice Thrown when a receipt is older than the receipt lifetime.
    /// @param clusterId the receipt's cluster
    /// @param issuedAt when it says it was signed
    error TopologyReceiptExpired(uint32 clusterId, uint64 issuedAt);
    /// @notice Thrown when a receipt says it was signed later than the block's time plus the allowed clock skew.
    /// @param clusterId the receipt's cluster
    /// @param issuedAt when it says it was signed
    error TopologyReceiptFromFuture(uint32 clusterId, uint64 issuedAt);
    /// @notice Thrown when the admin calls renounceOwnership: the topology must always have an admin.
    error TopologyCannotRenounce();

    /// @notice Registers a cluster as Active. Admin only. `weight` is a small integer share of new placements
    /// (1 = a standard cluster, 2 = twice the capacity); 0 is refused.
    /// @return clusterId the new cluster's id (1, 2, ...)
    function registerCluster(address signer, uint16 weight, string calldata endpoint) external returns (uint32 clusterId);

    /// @notice Changes a cluster's weight and endpoint. Admin only.
    function updateCluster(uint32 clusterId, uint16 weight, string calldata endpoint) external;

    /// @notice Replaces a cluster's signing key; receipts by the old key stop counting. Admin only.
    function rotateSigner(uint32 clusterId, address newSigner) external;

    /// @notice Sets a cluster's status. The admin may set any status, which then holds against observers until the
    /// admin sets Active again; an observer may set Active or Down on clusters the admin does not hold, and may
    /// not leave fewer than R clusters Active.
    function setClusterStatus(uint32 clusterId, ClusterStatus status) external;

    /// @notice Sets R, the number of receipts from distinct active clusters a registration needs: at least 1 and
    /// at most the clusters Active now. Admin only.
    function setReplicationFactor(uint8 factor) external;

    /// @notice Allows or revokes an observer (the health checker). Admin only.
    function setObserver(address observer, bool allowed) external;

    /// @notice Allows or revokes a gateway key. Admin only.
    function setGateway(address gateway, bool allowed) external;

    function isObserver(address account) external view returns (bool);

    /// @notice True when storage clusters should serve requests signed by `account`.
    function isGateway(address account) external view returns (bool);

    /// @notice R: receipts from distinct active clusters required per registration.
    function replicationFactor() external view returns (uint8);

    /// @notice Clusters Active now.
    function activeClusterCount() external view returns (uint32);

    /// @notice Seconds a receipt stays valid after its `issuedAt`.
    function receiptLifetime() external view returns (uint64);

    /// @notice True when `signer` is the current key of an Active cluster.
    function isActiveSigner(address signer) external view returns (bool);

    /// @notice The cluster whose current key is `signer`, or 0.
    function clusterOfSigner(address signer) external view returns (uint32);

    function cluster(uint32 clusterId) external view returns (Cluster memory);

    /// @notice Every cluster ever registered, in id order (what a consistent-hash ring is built from).
    function clusters() external view returns (Cluster[] memory);

    function clusterCount() external view returns (uint32);

    /// @notice EIP-712 digest of a StorageReceipt under this contract's domain.
    function receiptDigest(uint32 clusterId, bytes32 sha256, address owner, bytes32 mediaId, uint64 issuedAt)
        external
        view
        returns (bytes32);

    /// @notice Checks that `receipts` hold at least R valid, unexpired signatures from distinct Active clusters,
    /// each over these bytes, this owner and this record. Reverts with the first problem found.
    function checkReceipts(bytes32 sha256, address owner, bytes32 mediaId, ReceiptSignature[] calldata receipts)
        external
        view;
}
