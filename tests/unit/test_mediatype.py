"""Media types come from content, never from names."""

from __future__ import annotations

import io

import pytest
from hypothesis import given
from hypothesis import strategies as st
from PIL import Image

from mediaproof.mediatype import SNIFF_BYTES, sniff


@pytest.mark.parametrize(
    ("fmt", "mime"),
    [("JPEG", "image/jpeg"), ("PNG", "image/png"), ("GIF", "image/gif"), ("WEBP", "image/webp")],
)
def test_sniff_recognises_real_images(fmt: str, mime: str) -> None:
    buffer = io.BytesIO()
    Image.new("RGB", (8, 8), "red").save(buffer, fmt)
    assert sniff(buffer.getvalue()[:SNIFF_BYTES]) == mime


@pytest.mark.parametrize(
    ("head", "mime"),
    [
        (b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00", "image/heic"),
        (b"\x00\x00\x00\x18ftypmp42\x00\x00\x00\x00", "video/mp4"),
        (b"\x00\x00\x00\x14ftypqt  \x00\x00\x00\x00", "video/quicktime"),
        (b"\x1a\x45\xdf\xa3\x9f\x42\x86\x81", "video/webm"),
    ],
)
def test_sniff_recognises_container_signatures(head: bytes, mime: str) -> None:
    assert sniff(head) == mime


def test_sniff_ignores_text_that_claims_to_be_an_image() -> None:
    assert sniff(b"this is not a JPEG, whatever its name says") is None


@given(st.binary(max_size=SNIFF_BYTES))
def test_sniff_never_raises_on_arbitrary_bytes_fuzz(head: bytes) -> None:
    assert sniff(head) in {
        None,
        "image/jpeg",
        "image/png",
        "image/gif",
        "image/webp",
        "video/webm",
        "image/heic",
        "image/heif",
        "image/avif",
        "video/quicktime",
        "video/mp4",
    }
