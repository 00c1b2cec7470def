"""Smaller renditions of a photo: small (320 px), medium (800 px) and large (1600 px) on the long edge.

Pure: bytes in, encoded bytes out. Fast because JPEG is decoded once at reduced scale (`draft`), and each size is
made from the next larger one rather than from the full original. EXIF orientation is applied; variants carry no
EXIF at all (no GPS, no camera serials), only the colour profile.

Lean, because a 300 KB PNG may decode to 400 MB: the full-size image is the only full-size buffer ever held (it is
shrunk by a whole factor before anything else, and orientation is applied to the small result), and `variant_cost`
says from the header alone how much that will hold, so a caller can wait for room (the upload service's decode
budget) before a pixel is decoded.
"""

from __future__ import annotations

import contextlib
import io
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass

from PIL import Image, UnidentifiedImageError

from mediaproof.errors import InputError

VARIANT_SIZES: dict[str, int] = {"large": 1600, "medium": 800, "small": 320}
# A deliberate ceiling (Pillow's default only warns): 100 megapixels is past any phone or DSLR photo.
MAX_PIXELS = 100_000_000
Image.MAX_IMAGE_PIXELS = MAX_PIXELS  # Pillow then refuses outright past 2x this; check_pixels refuses past 1x
JPEG_QUALITY = 82
WEBP_QUALITY = 80
# Bytes per pixel Pillow stores for a mode (RGB is padded to 4); modes not listed take 4.
PIXEL_BYTES = {"1": 1, "L": 1, "P": 1, "I;16": 2, "I;16B": 2, "I;16L": 2}
# Peak bytes per pixel while these formats decode, measured (VmHWM growth, Pillow 13, pillow-heif 1.8): libwebp and
# libheif decode into their own buffer, which is then copied (WebP even twice); an animated GIF keeps its previous
# frame and the disposal state beside the current one, each RGB(A).
DECODE_PEAK = {"WEBP": 16, "HEIF": 8, "ANIMATED_GIF": 13}
# Modes Pillow can shrink by a whole factor (`reduce`) as they are; others (a palette) are converted first.
REDUCIBLE = {"L", "LA", "La", "I", "F", "RGB", "RGBA", "RGBa", "RGBX", "CMYK", "YCbCr"}
ALPHA = {"LA", "PA", "RGBA"}
CODEC_BYTES = 16 << 20  # the decoders' and encoders' own buffers (libjpeg rows, zlib windows, encoded output)
# Orientation tag value → the transposition that shows the image upright (EXIF 2.3, tag 0x0112)
ORIENTATION = {
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_270,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_90,
}
Admit = Callable[[int], AbstractContextManager[object]]


@dataclass(frozen=True)
class Variant:
    name: str
    data: bytes
    width: int
    height: int
    media_type: str


def check_pixels(width: int, height: int, limit: int = MAX_PIXELS) -> None:
    if width <= 0 or height <= 0:
        raise InputError(f"the image says it is {width}×{height} pixels: it is corrupt")
    if width * height > limit:
        raise InputError(
            f"the image is {width}×{height} = {width * height / 1e6:.0f} megapixels, over the limit of "
            f"{limit / 1e6:.0f}: a decompression bomb or an image too large to serve"
        )


def open_image(data: bytes) -> Image.Image:
    """Open (lazily) and check the header: an InputError for anything that is not a sane image."""
    try:
        image = Image.open(io.BytesIO(data))
    except UnidentifiedImageError as exc:
        raise InputError("the file is not an image Mediaproof can read (JPEG, PNG, WebP, GIF, HEIC)") from exc
    except Image.DecompressionBombError as exc:
        raise InputError(
            f"the image claims over {2 * MAX_PIXELS / 1e6:.0f} megapixels, over the limit of {MAX_PIXELS / 1e6:.0f}: "
            "a decompression bomb"
        ) from exc
    check_pixels(*image.size)
    return image


def target_size(width: int, height: int, long_edge: int) -> tuple[int, int]:
    """Width and height scaled so the long edge is `long_edge`, keeping the aspect ratio (at least 1 px)."""
    scale = long_edge / max(width, height)
    return max(1, round(width * scale)), max(1, round(height * scale))


def pixel_bytes(mode: str) -> int:
    return PIXEL_BYTES.get(mode, 4)


def decode_cost(image: Image.Image, all_frames: bool = False) -> int:
    """Peak bytes of loading `image` (opened, not loaded: only its header was read; a JPEG after its draft), its
    first frame or, with `all_frames`, every frame in turn (an animation checked to its end)."""
    width, height = image.size
    fmt = image.format or ""
    if fmt == "GIF" and all_frames and getattr(image, "is_animated", False):
        fmt = "ANIMATED_GIF"
    return width * height * DECODE_PEAK.get(fmt, pixel_bytes(image.mode))


def reduce_factor(long_edge: int, target_edge: int) -> int:
    """The whole factor to shrink by before resampling: leaves at least 2× for the resampling filter to smooth, as
    Pillow's thumbnail() does (reducing_gap 2), so the box average costs no visible quality."""
    return max(1, long_edge // (2 * target_edge))


def variant_cost(image: Image.Image, sizes: dict[str, int] = VARIANT_SIZES) -> int:
    """Peak bytes `make_variants` holds for `image` (opened, not loaded; a JPEG after its draft): the largest of its
    steps, each of which frees its input once its output exists (see `_shrunk_whole`), plus the codecs' own
    buffers. Checked against measured peaks in tests/unit/test_variants.py."""
    width, height = image.size
    wanted = [edge for edge in sizes.values() if edge < max(image.size)]
    if not wanted:
        return decode_cost(image) + CODEC_BYTES
    edge = max(wanted)
    full = width * height * pixel_bytes(image.mode)
    steps = [decode_cost(image)]
    if image.mode not in REDUCIBLE:
        steps.append(full + width * height * 4)  # the palette image and its full-size RGB(A) conversion
        full = width * height * 4
    # Pillow averages an image with alpha premultiplied, in a copy of its input (the first step's is full-size)
    premultiplied = full if image.mode in ALPHA or "transparency" in image.info else 0
    out = 1 if image.mode == "L" else 4  # bytes per pixel of what is made from it
    factor = reduce_factor(max(width, height), edge)
    rows = -(-height // factor)
    reduced = -(-width // factor) * rows * out
    if factor > 1:
        steps.append(full + premultiplied + reduced)
        full, premultiplied = reduced, reduced if premultiplied else 0
    # the first resampling runs horizontally first: an intermediate of target width × source height
    steps.append(full + premultiplied + min(width, edge) * rows * out)
    return max(steps) + CODEC_BYTES


def drafted(image: Image.Image, sizes: dict[str, int] = VARIANT_SIZES) -> Image.Image:
    """`image` (opened, not loaded) set to decode a JPEG at the smallest scale that still covers the largest size:
    draft() makes the decoder scale by 1/2..1/8 while decoding, keeping both sides >= the box."""
    wanted = [edge for edge in sizes.values() if edge < max(image.size)]
    if image.format == "JPEG" and wanted:
        image.draft("RGB", target_size(*image.size, max(wanted)))
    return image


def make_variants(data: bytes, sizes: dict[str, int] = VARIANT_SIZES, admit: Admit | None = None) -> list[Variant]:
    """Every variant smaller than the original; a size at or above the original's long edge is not made
    (readers fall back to the original). Raises InputError for unreadable, truncated or oversized images.

    `admit(cost)` is entered before the image is decoded, with `variant_cost`, and left once only the encoded
    variants remain (the decode budget's `hold`); it may raise (Busy, InputError) to refuse."""
    image = open_image(data)
    wanted = {name: edge for name, edge in sizes.items() if edge < max(image.size)}
    if not wanted:
        return []
    drafted(image, wanted)
    with admit(variant_cost(image, wanted)) if admit else contextlib.nullcontext():
        try:
            image.load()
        except (OSError, SyntaxError, ValueError) as exc:
            raise InputError(f"the image is truncated or corrupt ({exc})") from exc
        icc = image.info.get("icc_profile")
        upright = ORIENTATION.get(image.getexif().get(0x0112, 1))
        transparent = "transparency" in image.info or image.mode in ("LA", "PA")
        current = _shrunk_whole(image, max(wanted.values()), "RGBA" if transparent else "RGB")
        if current is not image:
            image.close()  # the full-size pixels go now, not when this function returns
        if upright is not None:
            current = current.transpose(upright)  # on the small image: the same result for a fraction of the memory
        variants = []
        for name, edge in sorted(wanted.items(), key=lambda item: -item[1]):
            # Each step starts from the previous (larger) result: far less work than resizing the original again.
            current = shrink(current, target_size(*current.size, edge))
            variants.append(_encode(name, current, icc))
        current.close()
    return variants


def _shrunk_whole(image: Image.Image, edge: int, mode: str) -> Image.Image:
    """`image` shrunk by a whole factor (a box average) into a mode variants are encoded from (RGB, RGBA or L).
    Each step closes its input as soon as its output exists, so no more than two buffers are alive at once."""
    factor = reduce_factor(max(image.size), edge)
    if image.mode not in REDUCIBLE:
        image = _replaced(image, image.convert(mode))  # a palette cannot be averaged: converted at full size
    if factor > 1:
        image = _replaced(image, image.reduce(factor))
    if image.mode not in ("RGB", "RGBA", "L"):
        image = _replaced(image, image.convert(mode))
    return image


def _replaced(old: Image.Image, new: Image.Image) -> Image.Image:
    old.close()  # frees the pixels at once, whoever else still holds the object
    return new


def shrink(image: Image.Image, size: tuple[int, int]) -> Image.Image:
    """`image` scaled down to `size`, with the cheapest filter that still antialiases at that ratio.

    An exact integer ratio (1600 → 800) is a box average (`reduce`), exact and nearly free. Pillow's resize filters
    scale their support with the ratio, so BILINEAR (a triangle) already averages properly for the mild first step
    (2000 → 1600 after a 1/2 draft decode), and BICUBIC is kept for the larger ratios, where it stays sharper.
    """
    factor_x, factor_y = image.width / size[0], image.height / size[1]
    if factor_x == factor_y and factor_x.is_integer() and image.width % size[0] == 0:
        return image.reduce(int(factor_x))
    ratio = max(factor_x, factor_y)
    return image.resize(size, Image.Resampling.BILINEAR if ratio <= 2 else Image.Resampling.BICUBIC)


def _encode(name: str, image: Image.Image, icc: bytes | None) -> Variant:
    buffer = io.BytesIO()
    extra = {"icc_profile": icc} if icc else {}
    if image.mode == "RGBA":
        image.save(buffer, "WEBP", quality=WEBP_QUALITY, **extra)
        media_type = "image/webp"
    else:
        image.save(buffer, "JPEG", quality=JPEG_QUALITY, optimize=False, **extra)
        media_type = "image/jpeg"
    return Variant(name, buffer.getvalue(), image.width, image.height, media_type)
