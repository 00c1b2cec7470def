"""Pure checks of what an uploader claims about its bytes, and of HTTP byte ranges. No I/O."""

from __future__ import annotations

import re
from dataclasses import dataclass

from mediaproof.content import ContentDigest, parse_cid
from mediaproof.errors import InputError, RangeNotSatisfiable

_HEX64 = re.compile(r"(?:0x)?([0-9a-fA-F]{64})")
_RANGE = re.compile(r"bytes=(\d*)-(\d*)")
# Byte positions past this many digits lie beyond any file (int64 has 19): read as "past the end" rather than
# parsed, so a Range of thousands of digits neither hits Python's int() digit limit (a 500) nor costs its time.
_MAX_DIGITS = 18
_BEYOND = 10**_MAX_DIGITS


def parse_sha256(text: str) -> str:
    """64 lower-case hex digits from a sha256 given as hex (with or without 0x)."""
    match = _HEX64.fullmatch(text.strip())
    if not match:
        raise InputError(f"{text!r} is not a sha256: give 64 hex digits (optionally after 0x)")
    return match.group(1).lower()


@dataclass(frozen=True)
class Claim:
    """What the uploader says its bytes are: the receipt will vouch for exactly this, if it holds."""

    sha256: str  # 64 hex
    cid: str  # CIDv1 base32
    size: int


def parse_claim(sha256: str, cid: str, size: int, max_bytes: int) -> Claim:
    if size < 0:
        raise InputError(f"size {size} is negative; give the file's length in bytes")
    if size > max_bytes:
        raise InputError(f"size {size} is over this cluster's limit of {max_bytes} bytes")
    parsed = parse_cid(cid)
    if parsed.version != 1:
        raise InputError(f"CID {cid} is CIDv0; give the CIDv1 (base32, raw leaves) that `ipfs add` makes")
    return Claim(sha256=parse_sha256(sha256), cid=parsed.to_base32(), size=size)


def mismatches(claim: Claim, ours: ContentDigest, ipfs_cid: str | None) -> list[str]:
    """Every way the received bytes differ from the claim, as phrases; empty when everything matches."""
    problems = []
    if ours.sha256.hex() != claim.sha256:
        problems.append(f"their sha256 is {ours.sha256.hex()}, not {claim.sha256}")
    if ours.size != claim.size:
        problems.append(f"they are {ours.size} bytes, not {claim.size}")
    if ours.cid != claim.cid:
        problems.append(f"their CID is {ours.cid}, not {claim.cid}")
    if ipfs_cid is not None and ipfs_cid != claim.cid and ours.size == claim.size:
        problems.append(f"the IPFS node made CID {ipfs_cid} of them, not {claim.cid}")
    return problems


@dataclass(frozen=True)
class ByteRange:
    offset: int
    length: int  # bytes to send, >= 0

    @property
    def last(self) -> int:
        return self.offset + self.length - 1


def parse_range(header: str | None, size: int) -> ByteRange | None:
    """The single range of a `Range: bytes=a-b` header (also `a-` and `-n`); None for no or unsupported header.

    Several ranges (`bytes=0-1,5-6`) are answered with the whole file, as RFC 9110 allows.
    """
    if not header:
        return None
    match = _RANGE.fullmatch(header.strip().replace(" ", ""))
    if not match or match.group(1) == match.group(2) == "":
        return None
    first, last = match.group(1), match.group(2)
    if first == "":
        suffix = _position(last)
        if suffix == 0:
            raise RangeNotSatisfiable(f"range {header!r} asks for no bytes of a {size}-byte file")
        offset = max(size - suffix, 0)
        return ByteRange(offset, size - offset)
    offset = _position(first)
    end = size - 1 if last == "" else min(_position(last), size - 1)
    if offset >= size or end < offset:
        raise RangeNotSatisfiable(f"range {header!r} lies outside a {size}-byte file")
    return ByteRange(offset, end - offset + 1)


def _position(digits: str) -> int:
    """A byte position of a Range header; any beyond 10**18 as 10**18 (past the end of every file)."""
    digits = digits.lstrip("0") or "0"
    return _BEYOND if len(digits) > _MAX_DIGITS else int(digits)
