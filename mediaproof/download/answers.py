"""What the download service answers, decided without I/O: the route, the size, conditional and range requests.

Caching rule: bytes are named by their sha256 (the ETag), but `/m/<id>?size=large` names the large variant only
once it is ready; before that it falls back to the original's bytes. So an answer with the rendition that was
asked for is `immutable` for a year, while a fallback gets a short max-age: the link then shows the variant soon
after it is made, without a redirect round trip on every view.
"""

from __future__ import annotations

import mimetypes
import re
import unicodedata
from dataclasses import dataclass
from urllib.parse import parse_qsl, quote

from mediaproof import problems
from mediaproof.errors import InputError, NotFound
from mediaproof.gateway_store import LinkedMedia, Rendition
from mediaproof.safe_text import BIDI_CONTROLS
from mediaproof.storage.claims import ByteRange, RangeNotSatisfiable, parse_range

SIZES = ("small", "medium", "large", "original", "poster")
DEFAULT_SIZE = "original"
IMMUTABLE = b"public, max-age=31536000, immutable"
FALLBACK_MAX_AGE = 60
FALLBACK = b"public, max-age=%d" % FALLBACK_MAX_AGE
_SHORT_ID = re.compile(r"[0-9A-Za-z]{1,64}")

__all__ = ["ByteRange", "RangeNotSatisfiable"]


class UnknownRoute(NotFound):
    """The path is not one the download service serves (a 404)."""


@dataclass(frozen=True, slots=True)
class Wanted:
    short_id: str
    size: str
    attachment: bool = False  # ?download=1: the browser saves the file instead of showing it


def parse_target(path: str, query: str) -> Wanted:
    """`/m/<id>?size=<size>[&download=1]` or `/m/<id>/<size>` → Wanted; UnknownRoute for other paths, InputError for
    a bad size."""
    parts = path.split("/")
    # "/m/abc" → ["", "m", "abc"]; "/m/abc/small" → ["", "m", "abc", "small"]
    if len(parts) not in (3, 4) or parts[0] != "" or parts[1] != "m" or not _SHORT_ID.fullmatch(parts[2]):
        raise UnknownRoute(f"nothing is served at {path}: links look like /m/<short id>?size=small|medium|large")
    size = parts[3] if len(parts) == 4 else DEFAULT_SIZE
    attachment = False
    if query.startswith("size=") and not any(c in query for c in "&%+"):
        size = query[5:]
    elif query:
        for key, value in parse_qsl(query, keep_blank_values=True):
            if key == "size":
                size = value
            elif key == "download":
                if value not in ("", "1", "true", "0", "false"):
                    raise InputError(f"download={value!r} is not 1 or 0")
                attachment = value in ("", "1", "true")
    if size not in SIZES:
        raise InputError(f"size {size!r} is not one of {', '.join(SIZES)}; ask for ?size=small, medium or large")
    return Wanted(parts[2], size, attachment)


# Extensions people expect, where mimetypes' first guess is an odd one (.jpe, .mpga …).
_EXTENSIONS = {
    "image/jpeg": ".jpg",
    "image/png": ".png",
    "image/gif": ".gif",
    "image/webp": ".webp",
    "image/heic": ".heic",
    "video/mp4": ".mp4",
    "video/webm": ".webm",
    "video/quicktime": ".mov",
}
_NAME_UNSAFE = re.compile(r'[\x00-\x1f\x7f"\\/:*?<>|;%]+')
MAX_NAME_CHARS = 150


def file_name(title: str, media_type: str, rendition: str) -> str:
    """The name a download is saved under: the title (which defaults to the uploaded file's name), the rendition
    for a variant (`beach-small.jpg`), and the extension of its type unless the title already ends with it.
    Never a path: separators, quotes and control characters become `_`."""
    ext = _EXTENSIONS.get(media_type) or mimetypes.guess_extension(media_type) or ""
    text = "".join(c for c in unicodedata.normalize("NFC", title) if c not in BIDI_CONTROLS
                   and unicodedata.category(c) not in ("Cs", "Zl", "Zp"))  # fmt: skip
    name = _NAME_UNSAFE.sub("_", text).strip(" ._") or "media"
    stem = name[: -len(ext)] if ext and name.lower().endswith(ext) else name
    if ext == ".jpg" and stem == name and name.lower().endswith(".jpeg"):
        stem = name[:-5]
    stem = stem[:MAX_NAME_CHARS].rstrip(" .") or "media"
    if rendition != "original":
        stem = f"{stem}-{rendition}"
    return stem + ext


def content_disposition(title: str, media_type: str, rendition: str, attachment: bool) -> bytes:
    """RFC 6266: `inline` (an <img> still shows it) or `attachment`, an ASCII `filename` for old clients and the
    exact UTF-8 name in `filename*` (RFC 8187)."""
    name = file_name(title, media_type, rendition)
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    ascii_name = re.sub(r"[^A-Za-z0-9._ ()\-]", "_", ascii_name).strip() or "media"
    kind = "attachment" if attachment else "inline"
    return f"{kind}; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(name, safe='')}".encode("ascii")


def etag_of(rendition: Rendition) -> bytes:
    return b'"' + rendition.sha256.encode() + b'"'


def etag_matches(header: str | None, etag: bytes) -> bool:
    """If-None-Match: `*` or any listed tag, compared weakly (RFC 9110 13.1.2)."""
    if not header:
        return False
    tag = etag.decode()
    for item in header.split(","):
        item = item.strip()
        if item == "*" or item.removeprefix("W/") == tag:
            return True
    return False


@dataclass(frozen=True, slots=True)
class Answer:
    """Status, headers, and which bytes of the rendition the body carries (offset, length)."""

    status: int
    headers: list[tuple[bytes, bytes]]
    offset: int = 0
    length: int = 0
    body: bytes = b""  # for answers without the object's bytes (304, 416)


def choose(media: LinkedMedia, size: str) -> tuple[Rendition, bool] | None:
    """The rendition to serve and whether it is the one asked for (False: the original as a fallback)."""
    rendition = media.best(size)
    if rendition is None:
        return None
    return rendition, rendition.name == size


def answer(
    rendition: Rendition,
    exact: bool,
    if_none_match: str | None,
    range_header: str | None,
    if_range: str | None,
    disposition: bytes | None = None,
) -> Answer:
    """The answer for a GET (a HEAD gets the same headers): 200, 206, 304 or 416."""
    etag = etag_of(rendition)
    headers = [
        (b"etag", etag),
        (b"cache-control", IMMUTABLE if exact else FALLBACK),
        (b"accept-ranges", b"bytes"),
    ]
    if etag_matches(if_none_match, etag):
        return Answer(304, headers)
    headers.append((b"content-type", rendition.media_type.encode()))
    if disposition is not None:
        headers.append((b"content-disposition", disposition))
    headers.append((b"x-content-type-options", b"nosniff"))
    if not exact:
        headers.append((b"x-mediaproof-rendition", rendition.name.encode()))
    size = rendition.size
    wanted: ByteRange | None = None
    # If-Range: honour the range only if the client's copy is this one (else send it all).
    if range_header and (not if_range or if_range.strip().removeprefix("W/") == etag.decode()):
        try:
            wanted = parse_range(range_header, size)
        except RangeNotSatisfiable as exc:
            status, problem_headers, body = problems.encode(exc)
            return Answer(status, [(b"content-range", b"bytes */%d" % size), *problem_headers], body=body)
    if wanted is None:
        headers.append((b"content-length", b"%d" % size))
        return Answer(200, headers, 0, size)
    headers.append((b"content-length", b"%d" % wanted.length))
    headers.append((b"content-range", b"bytes %d-%d/%d" % (wanted.offset, wanted.last, size)))
    return Answer(206, headers, wanted.offset, wanted.length)
