"""What a file is, decided from its first bytes (never from its name). Pure."""

from __future__ import annotations

# ISO base media "ftyp" brands → MIME type. HEIF brands first: an iPhone photo is an ISO-BMFF file too.
_FTYP_BRANDS = {
    b"heic": "image/heic",
    b"heix": "image/heic",
    b"heim": "image/heic",
    b"heis": "image/heic",
    b"hevc": "image/heic",
    b"mif1": "image/heif",
    b"msf1": "image/heif",
    b"avif": "image/avif",
    b"qt  ": "video/quicktime",
}
_MP4_BRANDS = (b"isom", b"iso2", b"iso4", b"iso5", b"iso6", b"mp41", b"mp42", b"avc1", b"dash", b"M4V ", b"MSNV")

SNIFF_BYTES = 64


def sniff(head: bytes) -> str | None:
    """The MIME type of a file starting with `head` (pass at least SNIFF_BYTES), or None when unrecognised."""
    if head.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if head[:6] in (b"GIF87a", b"GIF89a"):
        return "image/gif"
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "image/webp"
    if head.startswith(b"\x1a\x45\xdf\xa3"):
        return "video/webm"
    if head[4:8] == b"ftyp":
        brand = head[8:12]
        if brand in _FTYP_BRANDS:
            return _FTYP_BRANDS[brand]
        if brand in _MP4_BRANDS or brand.startswith(b"mp4"):
            return "video/mp4"
    return None


def sniff_or_binary(head: bytes) -> str:
    return sniff(head) or "application/octet-stream"
