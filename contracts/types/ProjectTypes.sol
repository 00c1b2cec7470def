// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

/// @title Mediaproof project types, shared by ProjectRegistry and its interface

/// @notice What a wallet other than the owner may do on a project. Write includes Read.
enum ProjectRole {
    None,
    Read,
    Write
}

/// @notice A project as `ProjectRegistry.head` returns it.
struct ProjectHead {
    address owner;
    bool isPrivate;
    uint64 version; // 0 before the first commit, then +1 per commit
    bytes32 manifestSha256; // zero before the first commit
    string manifestCid; // empty before the first commit
}
