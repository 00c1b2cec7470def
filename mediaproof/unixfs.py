"""The UnixFS file DAG an IPFS node builds on `add` (CIDv1, raw leaves, 256 KiB chunks, balanced, 174 links/node).

Pure: from the sha256 of each chunk to the root CID, by encoding the dag-pb nodes by hand (protobuf, a few varints).
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass

from mediaproof.errors import InputError

CHUNK_SIZE = 262_144  # IPFS's default chunker, `size-262144`
MAX_LINKS = 174  # IPFS's balanced layout: children per node

CODEC_RAW = 0x55
CODEC_DAG_PB = 0x70
MULTIHASH_SHA2_256 = 0x12

_UNIXFS_FILE = 2  # unixfs.proto Data.DataType.File


@dataclass(frozen=True)
class DagNode:
    """A block of the file's DAG as its parent links to it."""

    cid: bytes  # binary CIDv1
    filesize: int  # file bytes under this block (a parent's `blocksizes` entry)
    tsize: int  # bytes of every block under and including this one (a parent link's `Tsize`)


def varint(value: int) -> bytes:
    """Unsigned LEB128, as protobuf and multiformats write integers."""
    out = bytearray()
    while value >= 0x80:
        out.append((value & 0x7F) | 0x80)
        value >>= 7
    out.append(value)
    return bytes(out)


def binary_cid(codec: int, sha256_digest: bytes) -> bytes:
    """CIDv1 bytes: version, codec, then the sha2-256 multihash."""
    return varint(1) + varint(codec) + bytes((MULTIHASH_SHA2_256, 32)) + sha256_digest


def raw_leaf(sha256_digest: bytes, size: int) -> DagNode:
    """A chunk stored as a raw block: its CID is the chunk's own sha256."""
    return DagNode(binary_cid(CODEC_RAW, sha256_digest), size, size)


def _field_bytes(number: int, payload: bytes) -> bytes:
    return varint(number << 3 | 2) + varint(len(payload)) + payload


def _field_varint(number: int, value: int) -> bytes:
    return varint(number << 3) + varint(value)


def unixfs_file_data(filesize: int, blocksizes: Sequence[int]) -> bytes:
    """UnixFS `Data` of an inner file node: Type=File, filesize, blocksizes (proto2, so not packed)."""
    parts = [_field_varint(1, _UNIXFS_FILE), _field_varint(3, filesize)]
    parts.extend(_field_varint(4, size) for size in blocksizes)
    return b"".join(parts)


def pb_node(children: Sequence[DagNode], data: bytes) -> bytes:
    """A dag-pb PBNode: its Links (Hash, Name="", Tsize) come first on the wire, then Data (dag-pb spec order)."""
    parts = []
    for child in children:
        link = _field_bytes(1, child.cid) + _field_bytes(2, b"") + _field_varint(3, child.tsize)
        parts.append(_field_bytes(2, link))
    parts.append(_field_bytes(1, data))
    return b"".join(parts)


def file_node(children: Sequence[DagNode]) -> DagNode:
    """The dag-pb node that joins `children` (leaves or inner nodes) into one stretch of the file."""
    sizes = [child.filesize for child in children]
    filesize = sum(sizes)
    block = pb_node(children, unixfs_file_data(filesize, sizes))
    tsize = len(block) + sum(child.tsize for child in children)
    return DagNode(binary_cid(CODEC_DAG_PB, hashlib.sha256(block).digest()), filesize, tsize)


def file_root(leaves: Sequence[DagNode]) -> DagNode:
    """Root of the balanced DAG over `leaves` in file order; a file of one chunk is that chunk's raw block.

    Level by level, runs of up to 174 nodes get a parent, until one node is left. A last run of a single node
    still gets its own parent (as IPFS does), so only a one-chunk file is reduced to its leaf.
    """
    if not leaves:
        raise InputError("a file DAG needs at least one leaf (an empty file has one empty chunk)")
    if len(leaves) == 1:
        return leaves[0]
    level = list(leaves)
    while len(level) > 1:
        level = [file_node(level[i : i + MAX_LINKS]) for i in range(0, len(level), MAX_LINKS)]
    return level[0]
