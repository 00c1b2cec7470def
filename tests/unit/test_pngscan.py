"""The streaming PNG check: it accepts what Pillow decodes, refuses what Pillow refuses (and corrupt data Pillow
would only notice later), refuses a bomb from its header, and holds a few MiB however many pixels the file claims."""

from __future__ import annotations

import io
import struct
import tempfile
import tracemalloc
import zlib
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image

from mediaproof.errors import InputError
from mediaproof.pngscan import SIGNATURE, PngError, PngHeader, scan
from mediaproof.variants import check_pixels


def pillow_png(mode: str, size: tuple[int, int], seed: int = 0) -> bytes:
    rng = np.random.default_rng(seed)
    pixels = rng.integers(0, 256, (size[1], size[0], 4), dtype=np.uint8)
    image = Image.fromarray(pixels, "RGBA").convert("L" if mode == "I;16" else mode)
    if mode == "I;16":
        image = image.convert("I;16")
    out = io.BytesIO()
    image.save(out, "PNG")
    return out.getvalue()


def chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def crafted_png(width: int, height: int, colour: int, depth: int, interlaced: bool, rows: bytes | None = None) -> bytes:
    """A PNG written by hand (Pillow writes no interlaced PNGs): zero pixels, filter 0 on every row."""
    header = PngHeader(width, height, depth, colour, interlaced)
    raw = rows if rows is not None else b"".join(b"\x00" + bytes(n - 1) for n in header.row_lengths())
    ihdr = struct.pack(">IIBBBBB", width, height, depth, colour, 0, 0, int(interlaced))
    palette = chunk(b"PLTE", bytes(3 * 2)) if colour == 3 else b""
    return SIGNATURE + chunk(b"IHDR", ihdr) + palette + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b"")


def pillow_accepts(data: bytes) -> bool:
    try:
        with Image.open(io.BytesIO(data)) as image:
            image.load()
    except Exception:
        return False
    return True


def scan_bytes(tmp_path: Path, data: bytes) -> PngHeader:
    path = tmp_path / "image.png"
    path.write_bytes(data)
    return scan(path)


@pytest.mark.parametrize("mode", ["1", "L", "LA", "P", "RGB", "RGBA", "I;16"])
@pytest.mark.parametrize("size", [(1, 1), (7, 3), (33, 17), (300, 200)])
def test_accepts_every_png_pillow_writes(mode: str, size: tuple[int, int], tmp_path: Path) -> None:
    header = scan_bytes(tmp_path, pillow_png(mode, size))
    assert (header.width, header.height) == size


@pytest.mark.parametrize("size", [(1, 1), (2, 2), (5, 5), (9, 9), (33, 17), (100, 7)])
@pytest.mark.parametrize("colour_depth", [(0, 1), (0, 4), (0, 8), (2, 8), (3, 2), (6, 16)])
def test_accepts_interlaced_pngs_pillow_decodes(size: tuple[int, int], colour_depth: tuple[int, int],
                                                tmp_path: Path) -> None:  # fmt: skip
    data = crafted_png(*size, *colour_depth, interlaced=True)
    assert pillow_accepts(data)
    header = scan_bytes(tmp_path, data)
    assert header.interlaced and (header.width, header.height) == size


@settings(max_examples=60, deadline=None)
@given(
    st.sampled_from(["L", "P", "RGB", "RGBA"]),
    st.integers(1, 80),
    st.integers(1, 80),
    st.floats(0.0, 1.0, exclude_max=True),
)
def test_refuses_every_truncation_pillow_refuses_property(mode: str, width: int, height: int, where: float) -> None:
    data = pillow_png(mode, (width, height), seed=width * height)
    cut = data[: 8 + int(where * (len(data) - 8))]
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "cut.png"
        path.write_bytes(cut)
        try:
            scan(path)
            accepted = True
        except PngError:
            accepted = False
    assert not accepted or pillow_accepts(cut), f"accepted a truncated file Pillow refuses (cut at {len(cut)})"


def test_refuses_corruption_with_a_sentence(tmp_path: Path) -> None:
    good = pillow_png("RGB", (64, 48))
    flipped = bytearray(good)
    flipped[len(good) // 2] ^= 0xFF  # inside the IDAT: its CRC no longer matches
    bad_filter = crafted_png(4, 2, 0, 8, False, rows=b"\x00" + bytes(4) + b"\x07" + bytes(4))
    short_stream = crafted_png(4, 2, 0, 8, False, rows=b"\x00" + bytes(4))  # one row of two, stream ended
    cases = {
        "a flipped byte": (bytes(flipped), "corrupt"),
        "a filter type that does not exist": (bad_filter, "filter type 7"),
        "image data that ends early": (short_stream, "truncated"),
        "no signature": (b"GIF89a" + good[6:], "signature"),
        "no image data at all": (good[:33] + chunk(b"IEND", b""), "before any image data"),
    }
    for data, expected in cases.values():
        with pytest.raises(PngError, match=expected):
            scan_bytes(tmp_path, data)
    # Pillow refuses all but one: image data that stops short, which it shows with blank rows. Not a whole photo.
    assert [pillow_accepts(data) for data, _ in cases.values()] == [False, False, True, False, False]


def test_a_bomb_is_refused_from_its_header_before_any_inflating(tmp_path: Path) -> None:
    path = tmp_path / "bomb.png"
    ihdr = struct.pack(">IIBBBBB", 30_000, 30_000, 8, 2, 0, 0, 0)
    path.write_bytes(SIGNATURE + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(bytes(1 << 20))))
    with pytest.raises(InputError, match="over the limit"):
        scan(path, lambda h: check_pixels(h.width, h.height))


def test_scanning_25_megapixels_holds_a_few_mib(tmp_path: Path) -> None:
    path = tmp_path / "big.png"
    Image.new("RGB", (5000, 5000), (10, 20, 30)).save(path, "PNG")  # 75 MB of pixels, ~75 KB on disk
    tracemalloc.start()
    try:
        header = scan(path)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert (header.width, header.height) == (5000, 5000)
    assert peak < 8 << 20, f"the scan held {peak / 2**20:.1f} MiB"


def test_a_checksum_mismatch_outside_the_pixels_is_refused(tmp_path: Path) -> None:
    good = pillow_png("RGB", (16, 16))
    text = chunk(b"tEXt", b"Comment\x00hello")
    broken = text[:-1] + bytes([text[-1] ^ 1])
    with pytest.raises(PngError, match="'tEXt' chunk fails its checksum"):
        scan_bytes(tmp_path, good[:33] + broken + good[33:])
