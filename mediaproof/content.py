"""Names of content: the sha256 of the whole bytes and the CID an IPFS node gives them, both from one pass.

Pure except `digest_file`, the one edge helper that reads a file in chunks. The CID is the one `ipfs add` answers with
cid_version=1, raw_leaves=True and the default chunker and layout (see mediaproof/unixfs.py).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from mediaproof.errors import InputError
from mediaproof.unixfs import (
    CHUNK_SIZE,
    CODEC_DAG_PB,
    CODEC_RAW,
    MULTIHASH_SHA2_256,
    binary_cid,
    file_root,
    raw_leaf,
)

# Bytes gathered before hashing a batch: large enough that handing the whole-file hash to a second thread costs
# little next to the work, small enough to stay in cache-friendly territory. A multiple of CHUNK_SIZE.
_BATCH = 16 * CHUNK_SIZE
# Below this, starting the worker thread costs more than the second pass it would overlap.
_PARALLEL_MIN = 4 * CHUNK_SIZE
_BASE58 = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"


@dataclass(frozen=True)
class ContentDigest:
    """The names of some bytes: sha256 of the whole, the CIDv1 (base32) IPFS gives them, and their length."""

    sha256: bytes
    cid: str
    size: int

    @property
    def sha256_hex(self) -> str:
        return self.sha256.hex()


class ContentHasher:
    """Incremental sha256 + CID for streamed bytes: feed chunks of any size to `update`, then call `finish` once.

        The whole-file sha256 and the per-chunk sha256s (the DAG's leaves) are two passes over the same bytes; hashlib
        lets go of the GIL on large buffers, so each batch runs the whole-file pass on a worker thread while this thread
        hashes the chunks. `update` is done with `data` when it returns, so callers may reuse their buffer.
    One hasher serves one stream: calls must not overlap (one thread at a time).
    """

    def __init__(self) -> None:
        self._whole = hashlib.sha256()
        self._chunk_digests: list[bytes] = []  # every full chunk hashed so far, in order
        # Bytes not hashed yet: the first `_filled` bytes of `_pending`, always fewer than _BATCH after update().
        # The buffer is kept and refilled in place, so small feeds cost one memcpy each and no fresh allocations.
        self._pending = bytearray()
        self._filled = 0
        self._size = 0
        self._pool: ThreadPoolExecutor | None = None
        self._finished = False

    def update(self, data: bytes | bytearray | memoryview) -> None:
        if self._finished:
            raise InputError("this ContentHasher has already finished; start a new one for more bytes")
        self._absorb(memoryview(data).cast("B"), direct_from=_BATCH)

    def _absorb(self, view: memoryview, direct_from: int) -> None:
        """Hash every whole batch; keep the rest pending. A run of `direct_from` bytes or more that starts on a
        chunk boundary is hashed in place, without a copy."""
        self._size += len(view)
        if self._filled:
            view = self._fill(view)
            if self._filled < _BATCH:
                return
            self._hash_full_chunks(self._pending)
            self._filled = 0
        if len(view) >= direct_from:
            # Hash straight from the caller's buffer: no copy on the fast path of large reads.
            whole_chunks = len(view) - len(view) % CHUNK_SIZE
            self._hash_full_chunks(view[:whole_chunks])
            view = view[whole_chunks:]
        self._fill(view)

    def _fill(self, view: memoryview) -> memoryview:
        """Copy what fits of `view` into the pending batch; answer the rest."""
        taken = view[: _BATCH - self._filled]
        end = self._filled + len(taken)
        self._pending[self._filled : end] = taken  # in place once the buffer has grown to its full size
        self._filled = end
        return view[len(taken) :]

    def finish(self) -> ContentDigest:
        if self._finished:
            raise InputError("this ContentHasher has already finished; its digest was returned then")
        self._finished = True
        tail = memoryview(self._pending)[: self._filled]
        whole_chunks = len(tail) - len(tail) % CHUNK_SIZE
        with tail as view:
            self._hash_full_chunks(view[:whole_chunks])
            last = view[whole_chunks:]
            self._whole.update(last)
            leaves = [raw_leaf(digest, CHUNK_SIZE) for digest in self._chunk_digests]
            # IPFS's chunker emits the short last chunk, or one empty chunk for an empty file.
            if len(last) or not leaves:
                leaves.append(raw_leaf(hashlib.sha256(last).digest(), len(last)))
        self._pending, self._filled = bytearray(), 0
        if self._pool is not None:
            self._pool.shutdown()
            self._pool = None
        root = file_root(leaves)
        return ContentDigest(sha256=self._whole.digest(), cid=_base32_cid(root.cid), size=self._size)

    def _hash_full_chunks(self, buffer: bytes | bytearray | memoryview) -> None:
        """Feed `buffer` (a whole number of chunks) to the whole-file hash and record each chunk's digest."""
        if not len(buffer):
            return
        with memoryview(buffer) as view:
            chunk_digests = (
                hashlib.sha256(view[offset : offset + CHUNK_SIZE]).digest()
                for offset in range(0, len(view), CHUNK_SIZE)
            )
            if len(view) < _PARALLEL_MIN:
                self._whole.update(view)
                self._chunk_digests.extend(chunk_digests)
                return
            if self._pool is None:
                self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="content-hash")
            whole_pass = self._pool.submit(self._whole.update, view)
            try:
                self._chunk_digests.extend(chunk_digests)
            finally:
                whole_pass.result()


def digest_bytes(data: bytes | bytearray | memoryview) -> ContentDigest:
    """sha256 and CID of bytes already in memory."""
    hasher = ContentHasher()
    # No more bytes will follow, so every whole chunk can be hashed in place: nothing is copied but the tail.
    hasher._absorb(memoryview(data).cast("B"), direct_from=CHUNK_SIZE)
    return hasher.finish()


def digest_file(path: Path, progress: Callable[[int], None] | None = None) -> ContentDigest:
    """sha256 and CID of a file, read in 4 MiB chunks. `progress`, if given, gets the bytes of each chunk read."""
    hasher = ContentHasher()
    buffer = bytearray(_BATCH)
    try:
        with open(path, "rb") as file, memoryview(buffer) as view:
            while read := file.readinto(view):
                hasher.update(view[:read])
                if progress is not None:
                    progress(read)
    except OSError as exc:
        raise InputError(f"cannot read {path}: {exc.strerror or exc}; give the path of a readable file") from exc
    return hasher.finish()


def cid_from_chunk_digests(chunk_digests: Sequence[bytes], size: int) -> str:
    """The CID of a file of `size` bytes from the sha256 of each of its CHUNK_SIZE chunks in order (the last may be
    shorter): what a browser that hashed the chunks (WebCrypto) can name without the bytes leaving it. InputError
    when the count or a digest does not fit the size."""
    count = max(1, -(-size // CHUNK_SIZE))
    if size < 0 or len(chunk_digests) != count or any(len(d) != 32 for d in chunk_digests):
        raise InputError(
            f"a file of {size} bytes has {count} chunks of {CHUNK_SIZE} bytes, each with a 32-byte sha256; "
            f"{len(chunk_digests)} digests came"
        )
    last = size - CHUNK_SIZE * (count - 1)
    leaves = [raw_leaf(bytes(d), CHUNK_SIZE) for d in chunk_digests[:-1]]
    leaves.append(raw_leaf(bytes(chunk_digests[-1]), last))
    return _base32_cid(file_root(leaves).cid)


def cid_v1_raw(sha256_digest: bytes) -> str:
    """CIDv1 (base32) of a single raw block whose sha256 is `sha256_digest`: the CID of a file of ≤ 256 KiB."""
    if not isinstance(sha256_digest, bytes | bytearray) or len(sha256_digest) != 32:
        raise InputError("cid_v1_raw needs the 32-byte sha256 digest (bytes), not its hex or another hash")
    return _base32_cid(binary_cid(CODEC_RAW, bytes(sha256_digest)))


@dataclass(frozen=True)
class ParsedCid:
    """A CID split into its parts. Only sha2-256 CIDs (all IPFS makes by default) are understood."""

    version: int  # 0 or 1
    codec: int  # CODEC_RAW (a single raw block) or CODEC_DAG_PB (a UnixFS node)
    digest: bytes  # sha256 of the block (not of the file, unless the file is one raw block)

    def to_base32(self) -> str:
        """The CIDv1 base32 text of this block (a CIDv0 becomes the equivalent CIDv1)."""
        return _base32_cid(binary_cid(self.codec, self.digest))


def parse_cid(text: str) -> ParsedCid:
    """Read a CID as IPFS prints it: CIDv0 (`Qm…`), CIDv1 in base32 (`b…`) or base58btc (`z…`)."""
    if not isinstance(text, str) or not text:
        raise InputError("a CID must be a non-empty string such as bafkrei… or Qm…")
    if len(text) == 46 and text.startswith("Qm"):
        multihash = _base58_decode(text)
        return ParsedCid(0, CODEC_DAG_PB, _sha256_of_multihash(multihash, text))
    prefix, body = text[0], text[1:]
    if prefix in "bB":
        try:
            raw = base64.b32decode(body.upper() + "=" * (-len(body) % 8))
        except (binascii.Error, ValueError) as exc:
            raise InputError(f"CID {text!r} is not valid base32") from exc
    elif prefix == "z":
        raw = _base58_decode(text[1:])
    else:
        raise InputError(f"CID {text!r} has unknown multibase prefix {prefix!r}; use a base32 (b…) or Qm… CID")
    version, offset = _read_varint(raw, 0, text)
    if version != 1:
        raise InputError(f"CID {text!r} says version {version}; only CIDv1 uses a multibase prefix")
    codec, offset = _read_varint(raw, offset, text)
    if codec not in (CODEC_RAW, CODEC_DAG_PB):
        raise InputError(f"CID {text!r} has codec 0x{codec:x}; expected raw (0x55) or dag-pb (0x70)")
    return ParsedCid(1, codec, _sha256_of_multihash(raw[offset:], text))


def _base32_cid(cid: bytes) -> str:
    # multibase "b": RFC 4648 base32, lower case, no padding.
    return "b" + base64.b32encode(cid).decode("ascii").lower().rstrip("=")


def _sha256_of_multihash(multihash: bytes, text: str) -> bytes:
    if len(multihash) != 34 or multihash[0] != MULTIHASH_SHA2_256 or multihash[1] != 32:
        raise InputError(f"CID {text!r} does not hold a sha2-256 multihash; only sha2-256 CIDs are supported")
    return multihash[2:]


def _read_varint(raw: bytes, offset: int, text: str) -> tuple[int, int]:
    value = shift = 0
    while offset < len(raw) and shift < 63:
        byte = raw[offset]
        offset += 1
        value |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return value, offset
        shift += 7
    raise InputError(f"CID {text!r} is truncated or malformed")


def _base58_decode(text: str) -> bytes:
    number = 0
    for char in text:
        index = _BASE58.find(char)
        if index < 0:
            raise InputError(f"CID {text!r} has {char!r}, which is not base58btc")
        number = number * 58 + index
    body = number.to_bytes((number.bit_length() + 7) // 8, "big")
    return b"\x00" * (len(text) - len(text.lstrip("1"))) + body


def cid_to_bytes(text: str) -> bytes:
    """The binary CIDv1 (as BatchAnchored carries a manifest's CID) of a CID given as text."""
    parsed = parse_cid(text)
    return binary_cid(parsed.codec, parsed.digest)


def cid_from_bytes(raw: bytes) -> str:
    """The base32 text of a binary CIDv1 (checked: it must parse back to the same bytes)."""
    text = _base32_cid(bytes(raw))
    if cid_to_bytes(text) != bytes(raw):
        raise InputError(f"0x{bytes(raw).hex()} is not a binary CIDv1 with a sha2-256 multihash")
    return text
