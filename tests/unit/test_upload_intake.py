"""Intake of the upload service: streaming with the size limit, and validation by content against a hostile corpus."""

from __future__ import annotations

import io
import os
import struct
import zipfile
import zlib
from collections.abc import AsyncIterator
from pathlib import Path

import anyio
import numpy as np
import pytest
from PIL import Image

from mediaproof.content import digest_bytes
from mediaproof.errors import InputError, MediaTooLarge
from mediaproof.pngscan import SCAN_BYTES
from mediaproof.upload.decode_budget import DecodeBudget
from mediaproof.upload.intake import SMALL_PIXELS, inspect_bounded, inspect_media, plan_check, receive


def photo_bytes(seed: int = 1, size: tuple[int, int] = (1200, 900), fmt: str = "JPEG") -> bytes:
    """A photo-like image (noise over a gradient) that does not compress to nothing."""
    rng = np.random.default_rng(seed)
    gradient = np.linspace(0, 255, size[0], dtype=np.float32)[None, :, None]
    pixels = np.clip(gradient + rng.normal(0, 30, (size[1], size[0], 3)), 0, 255).astype(np.uint8)
    out = io.BytesIO()
    Image.fromarray(pixels, "RGB").save(out, fmt, **({"quality": 90} if fmt == "JPEG" else {}))
    return out.getvalue()


def png_claiming(width: int, height: int) -> bytes:
    """A tiny PNG whose header claims width×height pixels: the shape of a decompression bomb."""
    out = io.BytesIO()
    Image.new("L", (8, 8)).save(out, "PNG")
    data = bytearray(out.getvalue())
    ihdr = bytearray(data[16:29])
    ihdr[0:8] = struct.pack(">II", width, height)
    data[16:29] = ihdr
    data[29:33] = struct.pack(">I", zlib.crc32(b"IHDR" + bytes(ihdr)))
    return bytes(data)


def hostile_corpus() -> dict[str, bytes]:
    """Broken and malicious files, each of which the upload service must refuse with a 4xx and keep nothing of."""
    jpeg, png = photo_bytes(11), photo_bytes(12, (400, 300), "PNG")
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("evil.txt", "not a photo" * 100)
    rng = np.random.default_rng(99)
    return {
        "truncated.jpg": jpeg[: len(jpeg) * 6 // 10],
        "truncated.png": png[: len(png) // 2],
        "pixel-bomb.png": png_claiming(30_000, 30_000),
        "just-over-limit-pixels.png": png_claiming(12_000, 10_000),
        "text-named.jpg": b"Dear reader, this is plain text wearing a .jpg name.\n" * 20,
        "zero-bytes.jpg": b"",
        "archive.zip": archive.getvalue(),
        "gif-js-polyglot.gif": b"GIF89a/*" + b"\x00" * 16 + b"*/=alert(document.domain);//" + b" " * 64,
        "jpeg-html-polyglot.jpg": b"\xff\xd8\xff\xe0" + b"<html><script>alert(1)</script></html>" * 30,
        "random.bin": rng.integers(0, 256, 50_000, dtype=np.uint8).tobytes(),
        "fake.mp4": b"\x00\x00\x00\x18ftypmp42" + bytes(range(256)) * 40,
        "fake.heic": b"\x00\x00\x00\x18ftypheic" + bytes(range(256)) * 40,
        "avif.avif": b"\x00\x00\x00\x1cftypavif" + b"\x00" * 200,
        "corrupt.webp": b"RIFF\x00\x10\x00\x00WEBPVP8 " + rng.integers(0, 256, 4000, dtype=np.uint8).tobytes(),
    }


HOSTILE = hostile_corpus()


async def _stream(data: bytes, chunk: int = 65536) -> AsyncIterator[bytes]:
    for i in range(0, len(data), chunk):
        yield data[i : i + chunk]


def test_receive_hashes_while_streaming_like_digest_bytes(tmp_path: Path) -> None:
    data = os.urandom(9 << 20)  # over two write batches, not a multiple of any chunk size
    received = anyio.run(receive, _stream(data, 70001), tmp_path, 1 << 30)
    assert received.digest == digest_bytes(data)
    assert received.path.read_bytes() == data
    assert received.head == data[:64]


def test_receive_refuses_past_the_limit_and_leaves_no_file(tmp_path: Path) -> None:
    with pytest.raises(MediaTooLarge, match="over the upload limit of 1 MiB"):
        anyio.run(receive, _stream(os.urandom(3 << 20)), tmp_path, 1 << 20)
    assert list(tmp_path.iterdir()) == []


def test_receive_removes_the_temp_file_when_the_client_breaks_off(tmp_path: Path) -> None:
    async def broken() -> AsyncIterator[bytes]:
        yield b"\xff\xd8\xff" + bytes(100_000)
        raise ConnectionResetError("client went away")

    with pytest.raises(ConnectionResetError):
        anyio.run(receive, broken(), tmp_path, 1 << 30)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("scan_png", [True, False], ids=["streamed", "decoded"])
@pytest.mark.parametrize("name", sorted(HOSTILE))
def test_inspect_refuses_every_hostile_file_with_a_sentence(name: str, scan_png: bool, tmp_path: Path) -> None:
    data = HOSTILE[name]
    path = tmp_path / name
    path.write_bytes(data)
    with pytest.raises(InputError) as caught:
        inspect_media(path, data[:64], len(data), scan_png=scan_png)
    message = str(caught.value)
    assert len(message) > 20 and " " in message


@pytest.mark.parametrize("fmt", ["JPEG", "PNG", "WEBP", "GIF"])
def test_inspect_accepts_whole_images(fmt: str, tmp_path: Path) -> None:
    data = photo_bytes(3, (640, 480), fmt)
    path = tmp_path / "photo"
    path.write_bytes(data)
    facts = inspect_media(path, data[:64], len(data))
    assert (facts.width, facts.height) == (640, 480)
    assert facts.media_type == f"image/{fmt.lower()}"


def test_inspect_accepts_heic(tmp_path: Path) -> None:
    import pillow_heif

    pillow_heif.register_heif_opener()
    out = io.BytesIO()
    Image.open(io.BytesIO(photo_bytes(4, (320, 240)))).save(out, "HEIF")
    path = tmp_path / "photo.heic"
    path.write_bytes(out.getvalue())
    facts = inspect_media(path, out.getvalue()[:64], len(out.getvalue()))
    assert facts.media_type in ("image/heic", "image/heif")
    assert (facts.width, facts.height) == (320, 240)


def rgb_png_claiming(width: int, height: int) -> bytes:
    """The header of an RGB PNG of width×height (what a 300 KB 100-megapixel PNG starts with), and no pixels."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"")) + chunk(b"IEND", b"")


def test_the_check_is_planned_from_the_header_alone(tmp_path: Path) -> None:
    """A 100-megapixel PNG is streamed through in 4 MiB, and its variants will hold < 512 MiB; a 24 MP JPEG is
    checked at 1/8 scale, a small and quick check. Nothing here decodes a pixel (the PNG has none to decode)."""
    path = tmp_path / "flood.png"
    path.write_bytes(rgb_png_claiming(10_000, 10_000))
    check = plan_check(path, path.read_bytes()[:64], path.stat().st_size)
    assert check.cost == SCAN_BYTES and check.pixels == 100_000_000 > SMALL_PIXELS
    assert 400_000_000 < check.needs < 512 << 20  # one full-size buffer (4 B/px) and a small reduction
    assert plan_check(path, path.read_bytes()[:64], 1, scan_png=False).cost == 400_000_000  # Pillow: 4 B/px
    photo = tmp_path / "photo.jpg"
    photo.write_bytes(photo_bytes(6, (6000, 4000)))
    check = plan_check(photo, photo.read_bytes()[:64], photo.stat().st_size)
    assert check.cost == 750 * 500 * 4 and check.pixels <= SMALL_PIXELS


def test_an_image_that_needs_more_than_the_whole_budget_is_refused_before_decoding(tmp_path: Path) -> None:
    path = tmp_path / "big.webp"
    Image.new("RGB", (3000, 3000), "navy").save(path, "WEBP")  # WebP decodes at 16 B/px: 137 MiB
    budget = DecodeBudget(64 << 20, 2, max_waiting=4, wait_timeout=5)
    data = path.read_bytes()
    with pytest.raises(InputError, match=r"needs 1\d\d MiB of memory to decode, more than the 64 MiB"):
        anyio.run(lambda: inspect_bounded(budget, path, data[:64], len(data)))
    assert budget.snapshot()["used"] == 0
    facts = anyio.run(lambda: inspect_bounded(DecodeBudget(512 << 20, 2, 4, 5), path, data[:64], len(data)))
    assert (facts.width, facts.height) == (3000, 3000)
