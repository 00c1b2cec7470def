"""A PNG proven whole by streaming through it, without decoding it into memory.

Pillow's load() holds width × height × 4 bytes (400 MB for a 100-megapixel RGB PNG that is 300 KB on the wire) only
to learn that the file is whole. Walking the chunks (order, lengths, CRCs) and inflating the image data in bounded
pieces proves the same — every chunk intact, the pixel stream complete, each row's filter byte valid — in a few MiB.
The pixels themselves are never kept: the variant worker decodes them later, under the decode budget.
"""

from __future__ import annotations

import struct
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

SIGNATURE = b"\x89PNG\r\n\x1a\n"
# colour type → (samples per pixel, allowed bit depths), from the PNG specification (section 11.2.2)
COLOUR_TYPES = {0: (1, (1, 2, 4, 8, 16)), 2: (3, (8, 16)), 3: (1, (1, 2, 4, 8)), 4: (2, (8, 16)), 6: (4, (8, 16))}
# Adam7 passes: (first column, first row, column step, row step)
ADAM7 = ((0, 0, 8, 8), (4, 0, 8, 8), (0, 4, 4, 8), (2, 0, 4, 4), (0, 2, 2, 4), (1, 0, 2, 2), (0, 1, 1, 2))
PIECE = 1 << 20  # inflated bytes looked at per step: the scan's whole working set is a few of these
SCAN_BYTES = 4 * PIECE  # what a scan holds at once (inflate window, one piece, one chunk read), for the decode budget
MAX_CHUNK = 1 << 31  # the specification's limit on a chunk's length


class PngError(ValueError):
    """The file is not a whole, valid PNG; the message says what is wrong."""


@dataclass(frozen=True)
class PngHeader:
    width: int
    height: int
    bit_depth: int
    colour_type: int
    interlaced: bool

    def row_lengths(self) -> Iterator[int]:
        """Bytes of each scanline in the inflated stream (its filter byte included), in stream order."""
        samples = COLOUR_TYPES[self.colour_type][0]
        if not self.interlaced:
            passes: tuple[tuple[int, int, int, int], ...] = ((0, 0, 1, 1),)
        else:
            passes = ADAM7
        for x0, y0, dx, dy in passes:
            columns = (self.width - x0 + dx - 1) // dx
            rows = (self.height - y0 + dy - 1) // dy
            if columns <= 0 or rows <= 0:
                continue  # an empty pass has no scanlines at all, not even filter bytes
            length = 1 + (columns * samples * self.bit_depth + 7) // 8
            for _ in range(rows):
                yield length


def read_header(stream: BinaryIO) -> PngHeader:
    """The IHDR chunk, checked: PngError for anything else where a PNG must start."""
    if stream.read(8) != SIGNATURE:
        raise PngError("it does not start with the PNG signature")
    chunk = _Chunk(stream)
    data = chunk.read(13) if chunk.kind == b"IHDR" and chunk.length == 13 else b""
    if len(data) != 13:
        raise PngError("its first chunk is not a 13-byte IHDR header")
    chunk.finish()
    width, height, depth, colour, compression, filtering, interlace = struct.unpack(">IIBBBBB", data)
    if colour not in COLOUR_TYPES or depth not in COLOUR_TYPES[colour][1]:
        raise PngError(f"its header has an impossible colour type {colour} with bit depth {depth}")
    if compression != 0 or filtering != 0 or interlace not in (0, 1):
        raise PngError("its header names an unknown compression, filter or interlace method")
    return PngHeader(width, height, depth, colour, interlace == 1)


def scan(path: Path, header_check: Callable[[PngHeader], None] | None = None) -> PngHeader:
    """Check the whole file at `path`; its header. `header_check(header)` runs before any image data is inflated
    (the pixel limit: a bomb is refused from its 13-byte header). PngError says what is wrong."""
    with open(path, "rb") as stream:
        header = read_header(stream)
        if header_check is not None:
            header_check(header)
        _ImageData(header).scan(stream)
    return header


class _Chunk:
    """One chunk, read in pieces (an IDAT may be as large as the file), its CRC checked at the end."""

    def __init__(self, stream: BinaryIO) -> None:
        head = stream.read(8)
        if len(head) < 8:
            raise PngError("it ends in the middle of a chunk: the file is truncated")
        self.length, self.kind = struct.unpack(">I4s", head)
        if self.length >= MAX_CHUNK:
            raise PngError(f"a chunk claims {self.length} bytes, past the PNG limit")
        self._stream = stream
        self._left = self.length
        self._crc = zlib.crc32(self.kind)

    def read(self, size: int = PIECE) -> bytes:
        data = self._stream.read(min(size, self._left))
        if self._left and not data:
            raise PngError("it ends in the middle of a chunk: the file is truncated")
        self._left -= len(data)
        self._crc = zlib.crc32(data, self._crc)
        return data

    def finish(self) -> None:
        while self._left:
            self.read()
        crc = self._stream.read(4)
        if len(crc) < 4:
            raise PngError("it ends in the middle of a chunk: the file is truncated")
        if self._crc != struct.unpack(">I", crc)[0]:
            raise PngError(f"its {self.kind.decode('latin-1')!r} chunk fails its checksum: the file is corrupt")


class _ImageData:
    """The inflated IDAT stream, followed row by row without being kept."""

    def __init__(self, header: PngHeader) -> None:
        self.rows = header.row_lengths()
        self.expected = sum(header.row_lengths())  # a sum over at most 7 × height small ints
        self.next_row = 0  # stream offset of the next row's filter byte
        self.seen = 0  # inflated bytes so far
        self.inflater = zlib.decompressobj()

    def scan(self, stream: BinaryIO) -> None:
        in_data = False
        while self.seen < self.expected:
            chunk = _Chunk(stream)
            if chunk.kind == b"IDAT":
                in_data = True
                while self.seen < self.expected and (data := chunk.read()):
                    self._feed(data)
            elif in_data:
                raise PngError(self._short("stops"))
            elif chunk.kind == b"IEND":
                raise PngError("it ends before any image data")
            chunk.finish()  # every chunk up to the end of the pixels is checked, ancillary ones too

    def _feed(self, data: bytes) -> None:
        while data and self.seen < self.expected:
            try:
                piece = self.inflater.decompress(data, min(PIECE, self.expected - self.seen))
            except zlib.error as exc:
                raise PngError(f"its image data is corrupt ({exc})") from None
            data = self.inflater.unconsumed_tail
            while self.next_row < self.seen + len(piece):
                kind = piece[self.next_row - self.seen]
                if kind > 4:
                    raise PngError(f"a scanline has filter type {kind}, which does not exist: the file is corrupt")
                self.next_row += next(self.rows, self.expected)
            self.seen += len(piece)
            if self.inflater.eof and self.seen < self.expected:
                raise PngError(self._short("ends"))
            if not piece:
                break

    def _short(self, verb: str) -> str:
        return f"its image data {verb} after {self.seen} of {self.expected} bytes: the file is truncated"
