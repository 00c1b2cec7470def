// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {ProjectHead, ProjectRole} from "../types/ProjectTypes.sol";

/// @title ProjectRegistry: synced projects' heads, versions and sharing grants
/// @notice A project is a manifest (path -> sha256, CID, size, modified time) stored content-addressed on the
/// storage clusters; this registry keeps only its head (the manifest's sha256 and CID) and a version number.
/// A commit is compare-and-swap on the version: it names the version it was built on and reverts with
/// `ProjectStaleVersion(current)` when another commit got there first, so two devices can never overwrite each
/// other's work; the loser pulls, merges and commits again. Every commit emits `ProjectCommitted`, so every version
/// can be restored from events alone. A project's id is derived from its owner and name (`projectIdOf`), so a
/// device knows it before the project exists on chain and a retried create cannot make a second project.
/// The owner grants other wallets `Read` or `Write` and revokes them; `Write` may commit, `Read` may not. There is
/// no admin: nobody but a project's owner changes its grants, nobody without write access changes its head.
interface IProjectRegistry {
    /// @notice A project was created, at version 0 with an empty head.
    /// @param projectId its id, `projectIdOf(owner, name)`
    /// @param owner the wallet that created it and alone manages its grants
    /// @param name its name (travels in this event only, never in storage)
    /// @param isPrivate whether its bytes and manifests are served only to the owner and grantees
    event ProjectCreated(bytes32 indexed projectId, address indexed owner, string name, bool isPrivate);
    /// @notice A commit moved a project's head: version `version` is this manifest, restorable from this event.
    /// @param projectId the project
    /// @param version the new version (the previous one plus one)
    /// @param manifestSha256 sha256 of the manifest's canonical encoding
    /// @param manifestCid the manifest's IPFS CID on the storage clusters
    /// @param committer the owner or write grantee who sent the commit
    event ProjectCommitted(
        bytes32 indexed projectId,
        uint64 indexed version,
        bytes32 manifestSha256,
        string manifestCid,
        address indexed committer
    );
    /// @notice The owner gave a wallet a role on a project (replacing any role it had).
    /// @param projectId the project
    /// @param grantee the wallet
    /// @param role Read or Write
    event ProjectAccessGranted(bytes32 indexed projectId, address indexed grantee, ProjectRole role);
    /// @notice The owner took a wallet's role on a project away; it takes effect from this block.
    /// @param projectId the project
    /// @param grantee the wallet
    event ProjectAccessRevoked(bytes32 indexed projectId, address indexed grantee);

    /// @notice Thrown when a project id names no project.
    /// @param projectId the id given
    error ProjectUnknown(bytes32 projectId);
    /// @notice Thrown when an owner creates a second project under a name it already used.
    /// @param projectId the existing project's id
    error ProjectAlreadyExists(bytes32 projectId);
    /// @notice Thrown when a project is created with an empty name.
    error ProjectEmptyName();
    /// @notice Thrown when a caller that must be the project's owner is not.
    /// @param projectId the project
    /// @param caller the account that called
    error ProjectNotOwner(bytes32 projectId, address caller);
    /// @notice Thrown when a commit comes from neither the owner nor a write grantee.
    /// @param projectId the project
    /// @param caller the account that called
    error ProjectNotWriter(bytes32 projectId, address caller);
    /// @notice Thrown when a commit was built on a version that is no longer the head: pull, merge, commit again.
    /// @param current the project's version now
    error ProjectStaleVersion(uint64 current);
    /// @notice Thrown when a commit has a zero manifest sha256, or a CID empty or longer than `MAX_CID_LENGTH`.
    error ProjectInvalidManifest();
    /// @notice Thrown when a grant names the zero address or the project's owner (who always has every right).
    /// @param grantee the wallet given
    error ProjectInvalidGrantee(address grantee);
    /// @notice Thrown when a grant's role is None (revoke instead).
    error ProjectInvalidRole();
    /// @notice Thrown when a revoke names a wallet with no role on the project.
    /// @param projectId the project
    /// @param grantee the wallet given
    error ProjectNotGranted(bytes32 projectId, address grantee);

    /// @notice Creates a project owned by the caller, at version 0 with an empty head.
    /// @param name its name; unique per owner, since it and the owner make the id
    /// @param isPrivate whether its bytes and manifests are served only to the owner and grantees
    /// @return projectId `projectIdOf(msg.sender, name)`
    function createProject(string calldata name, bool isPrivate) external returns (bytes32 projectId);

    /// @notice Moves the head to a new manifest if the project is still at `expectedVersion`; the version becomes
    /// `expectedVersion + 1`. Owner or write grantee only. Reverts with `ProjectStaleVersion(current)` otherwise.
    /// @param projectId the project
    /// @param expectedVersion the version this manifest was built on (the last one the device synced)
    /// @param manifestSha256 sha256 of the manifest's canonical encoding
    /// @param manifestCid the manifest's IPFS CID
    /// @return version the new version
    function commit(bytes32 projectId, uint64 expectedVersion, bytes32 manifestSha256, string calldata manifestCid)
        external
        returns (uint64 version);

    /// @notice Gives `grantee` a role on a project, replacing any it had. Owner only.
    /// @param projectId the project
    /// @param grantee the wallet; neither zero nor the owner
    /// @param role Read (may read a private project) or Write (may also commit)
    function grant(bytes32 projectId, address grantee, ProjectRole role) external;

    /// @notice Takes `grantee`'s role on a project away. Owner only.
    /// @param projectId the project
    /// @param grantee a wallet that has a role
    function revoke(bytes32 projectId, address grantee) external;

    /// @notice The id a project of `owner` named `name` has (or will have): keccak256(abi.encode(owner, name)).
    /// @param owner the project's owner
    /// @param name its name
    /// @return the project id
    function projectIdOf(address owner, string calldata name) external pure returns (bytes32);

    /// @notice A project's owner, privacy, version and head. Reverts `ProjectUnknown` for no project.
    /// @param projectId the project
    /// @return the project's head
    function head(bytes32 projectId) external view returns (ProjectHead memory);

    /// @notice A project's version (0 before its first commit). Reverts `ProjectUnknown` for no project.
    /// @param projectId the project
    /// @return the current version
    function versionOf(bytes32 projectId) external view returns (uint64);

    /// @notice The role `account` was granted on a project (None for the owner, who needs none, and strangers).
    /// @param projectId the project
    /// @param account the wallet
    /// @return its role
    function roleOf(bytes32 projectId, address account) external view returns (ProjectRole);

    /// @notice Whether `account` may read a project's manifests and bytes: anyone for a public project; the owner
    /// and Read or Write grantees for a private one. False for no project.
    /// @param projectId the project
    /// @param account the wallet
    /// @return whether it may read
    function canRead(bytes32 projectId, address account) external view returns (bool);

    /// @notice Whether `account` may commit to a project: the owner and Write grantees. False for no project.
    /// @param projectId the project
    /// @param account the wallet
    /// @return whether it may commit
    function canWrite(bytes32 projectId, address account) external view returns (bool);
}
