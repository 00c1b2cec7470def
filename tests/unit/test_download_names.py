"""Downloads carry a file name (Content-Disposition, RFC 6266 / RFC 8187): the title with its type's extension,
never a path, never a header injection, whatever the title holds (fuzzed)."""

from __future__ import annotations

import re
from urllib.parse import unquote

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mediaproof.download.answers import content_disposition, file_name, parse_target
from mediaproof.errors import InputError


@pytest.mark.parametrize(
    ("title", "media_type", "rendition", "name"),
    [
        ("beach.jpg", "image/jpeg", "original", "beach.jpg"),
        ("beach.JPEG", "image/jpeg", "small", "beach-small.jpg"),
        ("Sunset", "image/png", "original", "Sunset.png"),
        ("clip.mp4", "image/jpeg", "poster", "clip.mp4-poster.jpg"),
        ("Été à Paris", "image/webp", "large", "Été à Paris-large.webp"),
        ("../../etc/passwd", "image/png", "original", "etc_passwd.png"),
        ('a"b;c\r\nSet-Cookie: x', "video/mp4", "original", "a_b_c_Set-Cookie_ x.mp4"),
        ("evil\u202egpj.exe", "image/png", "original", "evilgpj.exe.png"),
        ("", "image/gif", "original", "media.gif"),
    ],
)
def test_file_names(title: str, media_type: str, rendition: str, name: str) -> None:
    assert file_name(title, media_type, rendition) == name


def test_inline_by_default_attachment_when_asked() -> None:
    assert content_disposition("a.png", "image/png", "original", False).startswith(b"inline; ")
    assert content_disposition("a.png", "image/png", "original", True).startswith(b"attachment; ")
    assert parse_target("/m/abc", "download=1").attachment
    assert parse_target("/m/abc", "size=small&download=1").size == "small"
    assert not parse_target("/m/abc", "size=small").attachment
    with pytest.raises(InputError, match="download"):
        parse_target("/m/abc", "download=yes-please")


@given(st.text(max_size=300), st.sampled_from(["image/png", "image/jpeg", "video/mp4", "application/x-odd", ""]),
       st.sampled_from(["original", "small", "poster"]), st.booleans())  # fmt: skip
def test_any_title_gives_a_safe_header_that_names_the_file(title: str, media_type: str, rendition: str,
                                                           attachment: bool) -> None:  # fmt: skip
    header = content_disposition(title, media_type, rendition, attachment)
    text = header.decode("ascii")  # headers are ASCII: bytes over 0x7F never reach the wire raw
    assert "\r" not in text and "\n" not in text
    match = re.fullmatch(r"(inline|attachment); filename=\"([^\"\\\\]*)\"; filename\*=UTF-8''([A-Za-z0-9%._~-]+)", text)
    assert match, text
    name = unquote(match.group(3), errors="strict")
    assert name == file_name(title, media_type, rendition)
    assert "/" not in name and "\\" not in name and name not in ("", ".", "..")
    assert len(name) <= 200
