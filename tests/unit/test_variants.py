"""Variants: right sizes, orientation applied, personal EXIF gone, hostile images refused with a sentence."""

from __future__ import annotations

import io
import struct
import zlib

import pytest
from hypothesis import given
from hypothesis import strategies as st
from PIL import Image

from mediaproof.errors import InputError
from mediaproof.variants import MAX_PIXELS, make_variants, target_size


def jpeg(width: int, height: int, exif: Image.Exif | None = None) -> bytes:
    image = Image.linear_gradient("L").resize((width, height)).convert("RGB")
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=90, **({"exif": exif} if exif is not None else {}))
    return buffer.getvalue()


def test_three_sizes_on_the_long_edge_with_aspect_kept() -> None:
    variants = {v.name: v for v in make_variants(jpeg(4000, 3000))}
    assert {name: (v.width, v.height) for name, v in variants.items()} == {
        "large": (1600, 1200),
        "medium": (800, 600),
        "small": (320, 240),
    }
    for v in variants.values():
        decoded = Image.open(io.BytesIO(v.data))
        assert decoded.format == "JPEG" and decoded.size == (v.width, v.height)
        assert v.media_type == "image/jpeg"


def test_no_upscaling_sizes_at_or_above_the_original_are_skipped() -> None:
    assert [v.name for v in make_variants(jpeg(1000, 500))] == ["medium", "small"]
    assert make_variants(jpeg(300, 200)) == []


def test_exif_orientation_is_applied() -> None:
    exif = Image.Exif()
    exif[0x0112] = 6  # stored landscape, shown rotated 90° clockwise: portrait
    variants = make_variants(jpeg(2000, 1000, exif))
    assert all(v.height > v.width for v in variants)
    assert {v.name: (v.width, v.height) for v in variants}["large"] == (800, 1600)


def test_gps_and_other_personal_exif_are_removed() -> None:
    exif = Image.Exif()
    exif[0x010F] = "PhoneMaker"  # Make
    exif[0xA431] = "SERIAL-1234"  # BodySerialNumber
    exif[0x8825] = {1: "N", 2: (52.0, 22.0, 0.0), 3: "E", 4: (4.0, 53.0, 0.0)}  # GPS IFD
    original = jpeg(2000, 1500, exif)
    assert Image.open(io.BytesIO(original)).getexif().get_ifd(0x8825)  # the original does carry GPS
    for v in make_variants(original):
        assert dict(Image.open(io.BytesIO(v.data)).getexif()) == {}
        assert b"SERIAL-1234" not in v.data and b"PhoneMaker" not in v.data


def test_transparent_png_keeps_alpha_as_webp() -> None:
    buffer = io.BytesIO()
    Image.new("RGBA", (1200, 900), (255, 0, 0, 128)).save(buffer, "PNG")
    variants = make_variants(buffer.getvalue())
    assert [v.media_type for v in variants] == ["image/webp", "image/webp"]
    assert Image.open(io.BytesIO(variants[0].data)).mode == "RGBA"


def png_claiming(width: int, height: int) -> bytes:
    """A tiny PNG whose header claims `width`×`height`: a decompression bomb's calling card."""
    buffer = io.BytesIO()
    Image.new("L", (1, 1)).save(buffer, "PNG")
    data = bytearray(buffer.getvalue())
    ihdr = struct.pack(">II", width, height) + bytes(data[24:29])
    data[16:29] = ihdr
    data[29:33] = struct.pack(">I", zlib.crc32(b"IHDR" + ihdr))
    return bytes(data)


def test_pixel_bomb_is_refused_before_decoding() -> None:
    for width, height in [(60000, 60000), (12000, 10000)]:  # far past the limit, and just past it
        assert width * height > MAX_PIXELS
        with pytest.raises(InputError, match="megapixels, over the limit"):
            make_variants(png_claiming(width, height))


def test_truncated_jpeg_is_refused() -> None:
    data = jpeg(2000, 1500)
    with pytest.raises(InputError, match="truncated or corrupt"):
        make_variants(data[: len(data) // 3])


def test_text_pretending_to_be_an_image_is_refused() -> None:
    with pytest.raises(InputError, match="not an image"):
        make_variants(b"GIF89a but really just text" * 10)


@given(st.integers(1, 20000), st.integers(1, 20000), st.sampled_from([320, 800, 1600]))
def test_target_size_hits_the_long_edge_and_keeps_aspect(width: int, height: int, edge: int) -> None:
    w, h = target_size(width, height, edge)
    assert max(w, h) == edge
    assert min(w, h) >= 1
    assert abs(w / h - width / height) <= max(width / height, height / width) * (1 / min(w, h) + 1e-9) + 1 / h


@given(st.integers(2, 400), st.integers(2, 400), st.integers(1, 399))
def test_shrink_gives_exactly_the_size_asked_for_property(width: int, height: int, edge: int) -> None:
    from mediaproof.variants import shrink

    image = Image.new("RGB", (width, height), "white")
    size = target_size(width, height, min(edge, max(width, height) - 1) or 1)
    assert shrink(image, size).size == size


def test_shrink_by_an_exact_factor_averages_pixels() -> None:
    from mediaproof.variants import shrink

    checker = Image.new("L", (4, 2))
    checker.putdata([0, 255, 0, 255, 255, 0, 255, 0])
    assert list(shrink(checker, (2, 1)).getdata()) == [128, 128]  # a box average, not a sample of one pixel
