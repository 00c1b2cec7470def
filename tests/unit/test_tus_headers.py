"""The tus request headers, parsed strictly (mediaproof.upload.tus): metadata, checksums, lengths and offsets."""

from __future__ import annotations

import base64
import hashlib

import pytest

from mediaproof.errors import InputError
from mediaproof.upload.tus import (
    completion_kind,
    encode_metadata,
    parse_checksum,
    parse_length,
    parse_metadata,
    parse_offset,
)


def b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


def test_metadata_round_trips_and_a_key_alone_is_empty() -> None:
    header = f"filename {b64('harbour at dawn.jpg')},filetype {b64('image/jpeg')},is_confidential"
    metadata = parse_metadata(header)
    assert metadata == {"filename": "harbour at dawn.jpg", "filetype": "image/jpeg", "is_confidential": ""}
    assert parse_metadata(encode_metadata(metadata)) == metadata
    assert parse_metadata(None) == {} and parse_metadata("  ") == {}


@pytest.mark.parametrize(
    "header",
    ["a !!", "a aGk=,a aGk=", "a b c", "k\x00 aGk=", "a /w==", ",", "a aGk", "x" * 5000, "é aGk="],
)
def test_malformed_metadata_is_an_input_error(header: str) -> None:
    with pytest.raises(InputError):
        parse_metadata(header)


def test_checksums_sha256_and_sha1_and_nothing_else() -> None:
    digest = hashlib.sha256(b"chunk").digest()
    assert parse_checksum("sha256 " + base64.b64encode(digest).decode()) == ("sha256", digest)
    sha1 = hashlib.sha1(b"chunk").digest()
    assert parse_checksum("sha1 " + base64.b64encode(sha1).decode()) == ("sha1", sha1)
    assert parse_checksum(None) is None
    for bad in ("md5 AAAA", "sha256 !!", "sha256 " + base64.b64encode(sha1).decode(), "sha256"):
        with pytest.raises(InputError):
            parse_checksum(bad)


def test_lengths_and_offsets_are_plain_digits() -> None:
    assert parse_length("1024", None) == 1024 and parse_offset("0") == 0
    for bad in ("-1", "1e3", " 12", "0x10", "9" * 20, "0"):
        with pytest.raises(InputError):
            parse_length(bad, None)
    with pytest.raises(InputError, match="Upload-Defer-Length"):
        parse_length(None, "1")
    for bad_offset in (None, "-5", "", "1.5"):
        with pytest.raises(InputError):
            parse_offset(bad_offset)


def test_a_project_file_names_a_project_id_and_its_sha256() -> None:
    assert completion_kind({}) == "media" and completion_kind({"sha256": "ab" * 32}) == "media"
    with pytest.raises(InputError, match="project id"):
        completion_kind({"project": "0x12", "sha256": "ab" * 32})
    with pytest.raises(InputError, match="sha256"):
        completion_kind({"project": "0x" + "12" * 32})
    assert completion_kind({"project": "0x" + "12" * 32, "sha256": "ab" * 32}) == "project"
