// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {IProjectRegistry} from "./interfaces/IProjectRegistry.sol";
import {ProjectHead, ProjectRole} from "./types/ProjectTypes.sol";

/// @title ProjectRegistry: synced projects' heads, compare-and-swap commits and read/write grants
contract ProjectRegistry is IProjectRegistry {
    /// @notice The longest manifest CID accepted, in bytes (a base32 CIDv1 of a sha2-256 manifest is 59).
    uint256 public constant MAX_CID_LENGTH = 128;

    /// @dev Owner, privacy and version share one slot: a commit reads it once and writes it once.
    struct Project {
        address owner;
        bool isPrivate;
        uint64 version;
        bytes32 manifestSha256;
        string manifestCid;
    }

    mapping(bytes32 projectId => Project) private _projects;
    mapping(bytes32 projectId => mapping(address account => ProjectRole)) private _roles;

    /// @inheritdoc IProjectRegistry
    function createProject(string calldata name, bool isPrivate) external returns (bytes32 projectId) {
        if (bytes(name).length == 0) revert ProjectEmptyName();
        projectId = _projectIdOf(msg.sender, name);
        Project storage p = _projects[projectId];
        if (p.owner != address(0)) revert ProjectAlreadyExists(projectId);
        p.owner = msg.sender;
        p.isPrivate = isPrivate;
        emit ProjectCreated(projectId, msg.sender, name, isPrivate);
    }

    /// @inheritdoc IProjectRegistry
    function commit(bytes32 projectId, uint64 expectedVersion, bytes32 manifestSha256, string calldata manifestCid)
        external
        returns (uint64 version)
    {
        Project storage p = _known(projectId);
        if (msg.sender != p.owner && _roles[projectId][msg.sender] != ProjectRole.Write) {
            revert ProjectNotWriter(projectId, msg.sender);
        }
        uint64 current = p.version;
        if (expectedVersion != current) revert ProjectStaleVersion(current);
        uint256 cidLength = bytes(manifestCid).length;
        if (manifestSha256 == bytes32(0) || cidLength == 0 || cidLength > MAX_CID_LENGTH) {
            revert ProjectInvalidManifest();
        }
        // Checked arithmetic: at 2^64 - 1 commits the project is full and every further commit reverts.
        version = current + 1;
        p.version = version;
        p.manifestSha256 = manifestSha256;
        p.manifestCid = manifestCid;
        emit ProjectCommitted(projectId, version, manifestSha256, manifestCid, msg.sender);
    }

    /// @inheritdoc IProjectRegistry
    function grant(bytes32 projectId, address grantee, ProjectRole role) external {
        Project storage p = _ownedByCaller(projectId);
        if (grantee == address(0) || grantee == p.owner) revert ProjectInvalidGrantee(grantee);
        if (role == ProjectRole.None) revert ProjectInvalidRole();
        _roles[projectId][grantee] = role;
        emit ProjectAccessGranted(projectId, grantee, role);
    }

    /// @inheritdoc IProjectRegistry
    function revoke(bytes32 projectId, address grantee) external {
        _ownedByCaller(projectId);
        if (_roles[projectId][grantee] == ProjectRole.None) revert ProjectNotGranted(projectId, grantee);
        delete _roles[projectId][grantee];
        emit ProjectAccessRevoked(projectId, grantee);
    }

    /// @inheritdoc IProjectRegistry
    function projectIdOf(address owner, string calldata name) external pure returns (bytes32) {
        return _projectIdOf(owner, name);
    }

    /// @inheritdoc IProjectRegistry
    function head(bytes32 projectId) external view returns (ProjectHead memory) {
        Project storage p = _known(projectId);
        return ProjectHead({
            owner: p.owner,
            isPrivate: p.isPrivate,
            version: p.version,
            manifestSha256: p.manifestSha256,
            manifestCid: p.manifestCid
        });
    }

    /// @inheritdoc IProjectRegistry
    function versionOf(bytes32 projectId) external view returns (uint64) {
        return _known(projectId).version;
    }

    /// @inheritdoc IProjectRegistry
    function roleOf(bytes32 projectId, address account) external view returns (ProjectRole) {
        return _roles[projectId][account];
    }

    /// @inheritdoc IProjectRegistry
    function canRead(bytes32 projectId, address account) external view returns (bool) {
        Project storage p = _projects[projectId];
        if (p.owner == address(0)) return false;
        return !p.isPrivate || account == p.owner || _roles[projectId][account] != ProjectRole.None;
    }

    /// @inheritdoc IProjectRegistry
    function canWrite(bytes32 projectId, address account) external view returns (bool) {
        Project storage p = _projects[projectId];
        if (p.owner == address(0)) return false;
        return account == p.owner || _roles[projectId][account] == ProjectRole.Write;
    }

    function _projectIdOf(address owner, string calldata name) private pure returns (bytes32) {
        return keccak256(abi.encode(owner, name));
    }

    function _known(bytes32 projectId) private view returns (Project storage p) {
        p = _projects[projectId];
        if (p.owner == address(0)) revert ProjectUnknown(projectId);
    }

    function _ownedByCaller(bytes32 projectId) private view returns (Project storage p) {
        p = _known(projectId);
        if (msg.sender != p.owner) revert ProjectNotOwner(projectId, msg.sender);
    }
}
