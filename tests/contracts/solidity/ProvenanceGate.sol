// SPDX-License-Identifier: MIT
pragma solidity ^0.8.20;

// Mediaproof's published interface (contracts/interfaces/IMediaApp.sol); the gate uses only verifyInclusion.
import {IMediaApp} from "contracts/interfaces/IMediaApp.sol";

/// @title ProvenanceGate: a marketplace's listing gate built on Mediaproof proofs. Not ours to deploy: it stands for
/// the contracts third parties write against a deployed MediaApp, with nothing of Mediaproof but its address.
/// @notice A listing of some bytes is accepted only from the owner a Mediaproof batch proves them for: the caller
/// hands in its proof bundle's fields (sha256, media id, receipts hash, Merkle path, batch) and the gate rebuilds
/// the batch leaf with msg.sender as the owner, so a bundle copied by anyone else proves nothing for them.
contract ProvenanceGate {
    IMediaApp public immutable mediaApp;

    /// @notice Who listed the bytes with this sha256 (zero: nobody yet).
    mapping(bytes32 sha256 => address owner) public listedBy;

    event ListingClaimed(bytes32 indexed sha256, address indexed owner, bytes32 mediaId, uint256 batch);

    /// @notice The bundle does not prove these bytes for the caller in that batch.
    error ProvenanceNotProven(bytes32 sha256, address caller, uint256 batch);

    constructor(address mediaApp_) {
        mediaApp = IMediaApp(mediaApp_);
    }

    /// @notice Lists the bytes `sha256` for the caller, who must be the owner of an anchored Mediaproof record.
    function claimListing(
        bytes32 sha256,
        bytes32 mediaId,
        bytes32 receiptsHash,
        bytes32[] calldata proof,
        uint256 batch
    ) external {
        bytes32 leaf = batchLeaf(sha256, msg.sender, mediaId, receiptsHash);
        if (!mediaApp.verifyInclusion(leaf, proof, batch)) revert ProvenanceNotProven(sha256, msg.sender, batch);
        listedBy[sha256] = msg.sender;
        emit ListingClaimed(sha256, msg.sender, mediaId, batch);
    }

    /// @notice A Mediaproof batch leaf (docs/proofs.md): the OpenZeppelin StandardMerkleTree leaf of
    /// (bytes32 sha256, address owner, bytes32 mediaId, bytes32 receiptsHash).
    function batchLeaf(bytes32 sha256, address owner, bytes32 mediaId, bytes32 receiptsHash)
        public
        pure
        returns (bytes32)
    {
        return keccak256(bytes.concat(keccak256(abi.encode(sha256, owner, mediaId, receiptsHash))));
    }
}
