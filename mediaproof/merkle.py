"""Merkle trees of batch leaves, in OpenZeppelin's StandardMerkleTree layout (npm @openzeppelin/merkle-tree).

Pure. Leaves are keccak256(keccak256(abi.encode(values))); inner nodes hash their two children sorted, so
OpenZeppelin's MerkleProof (and MediaApp.verifyInclusion) checks our proofs, and the npm package builds the same
root and the same proofs from the same values (a test checks both). A tree is kept as OpenZeppelin keeps it: one
array, root first, leaves last in ascending hash order, so `dump()` loads in `StandardMerkleTree.load`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from eth_abi import encode
from eth_utils import keccak

# What a Mediaproof batch leaf holds: the file's sha256, its owner, the record's media id, the receipts' hash.
BATCH_LEAF_ENCODING = ("bytes32", "address", "bytes32", "bytes32")


def leaf_hash(encoding: Sequence[str], values: Sequence[Any]) -> bytes:
    return bytes(keccak(keccak(encode(list(encoding), list(values)))))


def node_hash(a: bytes, b: bytes) -> bytes:
    return bytes(keccak(b"".join(sorted((a, b)))))


def process_proof(leaf: bytes, proof: Sequence[bytes]) -> bytes:
    """The root that `proof` leads to from `leaf` (OpenZeppelin MerkleProof.processProof)."""
    computed = leaf
    for sibling in proof:
        computed = node_hash(computed, sibling)
    return computed


def verify(root: bytes, leaf: bytes, proof: Sequence[bytes]) -> bool:
    return process_proof(leaf, proof) == root


@dataclass(frozen=True)
class StandardMerkleTree:
    """A tree over `values`, each encoded with `encoding`; value i sits at tree index `tree_indices[i]`."""

    tree: tuple[bytes, ...]
    values: tuple[tuple[Any, ...], ...]
    tree_indices: tuple[int, ...]
    encoding: tuple[str, ...]

    @classmethod
    def of(cls, values: Sequence[Sequence[Any]], encoding: Sequence[str]) -> StandardMerkleTree:
        if not values:
            raise ValueError("a Merkle tree needs at least one leaf")
        hashed = sorted(
            ((leaf_hash(encoding, value), index) for index, value in enumerate(values)), key=lambda item: item[0]
        )
        leaves = [h for h, _ in hashed]
        size = 2 * len(leaves) - 1
        tree: list[bytes] = [b""] * size
        for i, leaf in enumerate(leaves):
            tree[size - 1 - i] = leaf
        for i in range(size - 1 - len(leaves), -1, -1):
            tree[i] = node_hash(tree[2 * i + 1], tree[2 * i + 2])
        indices = [0] * len(values)
        for position, (_, value_index) in enumerate(hashed):
            indices[value_index] = size - 1 - position
        return cls(tuple(tree), tuple(tuple(v) for v in values), tuple(indices), tuple(encoding))

    @property
    def root(self) -> bytes:
        return self.tree[0]

    def leaf(self, value_index: int) -> bytes:
        return self.tree[self.tree_indices[value_index]]

    def proof(self, value_index: int) -> list[bytes]:
        """Sibling hashes from the leaf of value `value_index` up to (not including) the root."""
        index = self.tree_indices[value_index]
        path = []
        while index > 0:
            sibling = index + 1 if index % 2 == 1 else index - 1
            path.append(self.tree[sibling])
            index = (index - 1) // 2
        return path

    def dump(self) -> dict[str, Any]:
        """The `standard-v1` JSON that @openzeppelin/merkle-tree's StandardMerkleTree.load reads."""
        return {
            "format": "standard-v1",
            "leafEncoding": list(self.encoding),
            "tree": ["0x" + node.hex() for node in self.tree],
            "values": [
                {"value": [_json_value(v) for v in value], "treeIndex": index}
                for value, index in zip(self.values, self.tree_indices, strict=True)
            ],
        }


def batch_leaf_values(sha256: bytes, owner: str, media_id: bytes, receipts_hash: bytes) -> tuple[Any, ...]:
    return (sha256, owner, media_id, receipts_hash)


def batch_leaf(sha256: bytes, owner: str, media_id: bytes, receipts_hash: bytes) -> bytes:
    """MediaHashes.batchLeaf: the leaf of one record in a batch."""
    return leaf_hash(BATCH_LEAF_ENCODING, batch_leaf_values(sha256, owner, media_id, receipts_hash))


def receipts_hash(receipts: Sequence[tuple[int, int, bytes]]) -> bytes:
    """MediaHashes.hashReceipts: keccak256(abi.encode(ReceiptSignature[])) of (clusterId, issuedAt, signature)."""
    return bytes(keccak(encode(["(uint32,uint64,bytes)[]"], [list(receipts)])))


def _json_value(value: Any) -> Any:
    if isinstance(value, bytes | bytearray):
        return "0x" + bytes(value).hex()
    return value
