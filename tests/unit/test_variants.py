"""Variants: right sizes, orientation applied, personal EXIF gone, hostile images refused with a sentence."""

from __future__ import annotations

import contextlib
import io
import struct
import subprocess
import sys
import zlib
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from PIL import Image

from mediaproof.errors import InputError
from mediaproof.variants import MAX_PIXELS, drafted, make_variants, target_size, variant_cost


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


# --- memory: what variant_cost promises is what make_variants holds ---

PEAK_CHILD = """
import sys
from mediaproof import variants
from mediaproof.upload.intake import register_heif
from mediaproof.upload.memory import memory_of

register_heif()
data = open(sys.argv[1], "rb").read()
with variants.open_image(data) as image:
    cost = variants.variant_cost(variants.drafted(image))
before = memory_of()["VmHWM"]
made = variants.make_variants(data)
print(cost, memory_of()["VmHWM"] - before, len(made))
"""


def gradient(mode: str, size: int) -> Image.Image:
    ramp = Image.linear_gradient("L").resize((size, size))
    rgb = Image.merge("RGB", (ramp, ramp.transpose(Image.Transpose.ROTATE_90), ramp))
    return rgb.convert(mode) if mode != "RGB" else rgb


@pytest.mark.parametrize(
    ("mode", "size", "fmt"),
    [("RGB", 7000, "PNG"), ("RGBA", 5000, "PNG"), ("P", 5000, "PNG"), ("RGB", 3000, "WEBP"), ("RGB", 6000, "JPEG")],
)
def test_variant_cost_bounds_the_measured_peak(mode: str, size: int, fmt: str, tmp_path: Path) -> None:
    """Measured in a fresh process (VmHWM): the estimate from the header is never below what decoding really
    holds, and not wildly above it either (that would refuse images the budget could take)."""
    path = tmp_path / f"image.{fmt.lower()}"
    gradient(mode, size).save(path, fmt, **({"compress_level": 1} if fmt == "PNG" else {}))
    answer = subprocess.run([sys.executable, "-c", PEAK_CHILD, str(path)], capture_output=True, text=True, timeout=120)
    assert answer.returncode == 0, answer.stderr
    estimate, measured, made = map(int, answer.stdout.split())
    assert made == 3
    assert measured <= estimate, f"{mode} {fmt}: held {measured / 2**20:.0f} MiB, estimated {estimate / 2**20:.0f}"
    assert estimate <= 1.5 * measured + (16 << 20), f"{mode} {fmt}: estimate {estimate / 2**20:.0f} MiB is far off"


def test_a_big_image_is_shrunk_by_a_whole_factor_and_turned_upright(tmp_path: Path) -> None:
    exif = Image.Exif()
    exif[0x0112] = 6  # stored landscape, shown rotated 90° clockwise
    buffer = io.BytesIO()
    gradient("RGB", 7000).resize((7000, 3500)).save(buffer, "PNG", exif=exif, compress_level=1)
    with Image.open(io.BytesIO(buffer.getvalue())) as image:
        assert variant_cost(image) < 7000 * 3500 * 4 * 1.5  # one full-size buffer, never a second one
    sizes = {v.name: (v.width, v.height) for v in make_variants(buffer.getvalue())}
    assert sizes == {"large": (800, 1600), "medium": (400, 800), "small": (160, 320)}


def test_variants_are_admitted_with_their_cost_before_decoding() -> None:
    admitted: list[int] = []

    @contextlib.contextmanager
    def admit(cost: int) -> Iterator[None]:
        admitted.append(cost)
        yield

    data = jpeg(4000, 3000)
    made = make_variants(data, admit=admit)
    with Image.open(io.BytesIO(data)) as image:
        assert admitted == [variant_cost(drafted(image))] and len(made) == 3

    def refuse(cost: int) -> Iterator[None]:
        raise InputError("no room")

    with pytest.raises(InputError, match="no room"):
        make_variants(data, admit=contextlib.contextmanager(refuse))
