"""Smaller renditions of a photo: small (320 px), medium (800 px) and large (1600 px) on the long edge.

Pure: bytes in, encoded bytes out. Fast because JPEG is decoded once at reduced scale (`draft`), and each size is
made from the next larger one rather than from the full original. EXIF orientation is applied; variants carry no
EXIF at all (no GPS, no camera serials), only the colour profile.
"""

from __future__ import annotations

import io
from dataclasses import dataclass

from PIL import Image, ImageOps, UnidentifiedImageError

from mediaproof.errors import InputError

VARIANT_SIZES: dict[str, int] = {"large": 1600, "medium": 800, "small": 320}
# A deliberate ceiling (Pillow's default only warns): 100 megapixels is past any phone or DSLR photo.
MAX_PIXELS = 100_000_000
Image.MAX_IMAGE_PIXELS = MAX_PIXELS  # Pillow then refuses outright past 2x this; check_pixels refuses past 1x
JPEG_QUALITY = 82
WEBP_QUALITY = 80


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


def make_variants(data: bytes, sizes: dict[str, int] = VARIANT_SIZES) -> list[Variant]:
    """Every variant smaller than the original; a size at or above the original's long edge is not made
    (readers fall back to the original). Raises InputError for unreadable, truncated or oversized images."""
    image = open_image(data)
    original_long_edge = max(image.size)
    if image.format == "JPEG":
        # draft() makes the JPEG decoder scale by 1/2..1/8 while decoding, keeping both sides >= the box.
        image.draft("RGB", target_size(*image.size, max(sizes.values())))
    try:
        image.load()
    except (OSError, SyntaxError, ValueError) as exc:
        raise InputError(f"the image is truncated or corrupt ({exc})") from exc
    image = ImageOps.exif_transpose(image) or image
    icc = image.info.get("icc_profile")
    if image.mode not in ("RGB", "RGBA", "L"):
        image = image.convert("RGBA" if "transparency" in image.info or image.mode in ("LA", "PA") else "RGB")
    variants = []
    current = image
    for name, edge in sorted(sizes.items(), key=lambda item: -item[1]):
        if edge >= original_long_edge:
            continue
        # Each step starts from the previous (larger) result: far less work than resizing the original again.
        current = shrink(current, target_size(*current.size, edge))
        variants.append(_encode(name, current, icc))
    return variants


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
