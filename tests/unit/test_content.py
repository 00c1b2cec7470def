"""sha256 + CID hashing (mediaproof.content): known vectors from a real IPFS node, and property tests."""

from __future__ import annotations

import base64
import hashlib
import itertools
import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from multiformats import CID

from mediaproof.content import (
    ContentDigest,
    ContentHasher,
    ParsedCid,
    cid_from_chunk_digests,
    cid_v1_raw,
    digest_bytes,
    digest_file,
    parse_cid,
)
from mediaproof.errors import InputError
from mediaproof.unixfs import CHUNK_SIZE, CODEC_DAG_PB, CODEC_RAW, MAX_LINKS

BATCH = 16 * CHUNK_SIZE  # content._BATCH: sizes around it take the other code paths of update()


def pattern(size: int) -> bytes:
    """Deterministic bytes whose 256 KiB chunks all differ (251 is prime, so chunks do not line up with it)."""
    return (bytes(range(251)) * (size // 251 + 1))[:size]


# CIDs a real js-ipfs 0.66.1 daemon answered for `add(pattern(size), cid_version=1, raw_leaves=True)`
# (tests/integration/test_cid_matches_ipfs.py checks the same sizes live).
IPFS_VECTORS = {
    0: "bafkreihdwdcefgh4dqkjv67uzcmw7ojee6xedzdetojuzjevtenxquvyku",
    1: "bafkreidogqfzz75tpkmjzjke425xqcrmpcib2p5tg44hnbirumdbpl5adu",
    CHUNK_SIZE - 1: "bafkreiagptg6ztonoojy4wflk3wwusl5xt4vcy6uult4wa7oemsjtxhjsu",
    CHUNK_SIZE: "bafkreibruh455iawsviqslif5c7uurdcfdemh22mtnytyzvnzn75kpejxy",
    CHUNK_SIZE + 1: "bafybeiexg2oqkfnj56l7fcmawswqbijt5shq4b5rg6a546uwpkqqzwjioi",
    MAX_LINKS * CHUNK_SIZE: "bafybeihpe5snhzneq7xs53nivmsopto5lrogo3wjynauqylqeym5a3irbm",
    MAX_LINKS * CHUNK_SIZE + 1: "bafybeib4y7ghw2rq7bracc4xwtxrbzo7cfvagdpte2tmrkgwl6dyard3cm",
}


def test_hello_world_is_its_raw_leaf():
    digest = digest_bytes(b"hello world\n")
    assert digest == ContentDigest(
        sha256=hashlib.sha256(b"hello world\n").digest(),
        cid="bafkreifjjcie6lypi6ny7amxnfftagclbuxndqonfipmb64f2km2devei4",
        size=12,
    )


@pytest.mark.parametrize("size", sorted(IPFS_VECTORS))
def test_cid_matches_ipfs_node_vector(size):
    assert digest_bytes(pattern(size)).cid == IPFS_VECTORS[size]


def test_one_chunk_file_cid_is_raw_leaf_of_its_sha256():
    data = pattern(CHUNK_SIZE)
    digest = digest_bytes(data)
    assert digest.cid.startswith("bafkrei")
    assert digest.cid == cid_v1_raw(hashlib.sha256(data).digest())


def test_two_chunk_file_cid_is_dag_pb_root():
    digest = digest_bytes(pattern(CHUNK_SIZE + 1))
    assert digest.cid.startswith("bafybei")
    assert parse_cid(digest.cid).codec == CODEC_DAG_PB
    assert digest.size == CHUNK_SIZE + 1


@settings(max_examples=200)
@given(st.binary(max_size=4096))
def test_sha256_equals_hashlib(data):
    digest = digest_bytes(data)
    assert digest.sha256 == hashlib.sha256(data).digest()
    assert digest.size == len(data)


# Sizes near the boundaries that matter: chunk edges, the batch size, and one full node of 174 leaves.
_EDGES = [0, 1, CHUNK_SIZE, BATCH, 3 * BATCH]
interesting_sizes = st.one_of(
    st.integers(0, 3 * CHUNK_SIZE),
    st.builds(lambda edge, delta: max(0, edge + delta), st.sampled_from(_EDGES), st.integers(-3, 3)),
    st.integers(0, 3 * BATCH),
)


@settings(max_examples=60, deadline=None)
@given(size=interesting_sizes, seed=st.integers(0, 2**32 - 1), cuts=st.lists(st.floats(0, 1), max_size=12))
def test_incremental_random_splits_equal_one_shot(size, seed, cuts):
    data = random.Random(seed).randbytes(size)
    offsets = sorted({int(cut * size) for cut in cuts} | {0, size})
    hasher = ContentHasher()
    for start, end in itertools.pairwise(offsets):
        hasher.update(memoryview(data)[start:end])
    assert hasher.finish() == digest_bytes(data)
    assert digest_bytes(data).sha256 == hashlib.sha256(data).digest()


def test_update_accepts_bytearray_memoryview_and_empty_feeds():
    data = pattern(BATCH + CHUNK_SIZE + 7)
    hasher = ContentHasher()
    hasher.update(b"")
    hasher.update(bytearray(data[:100]))
    hasher.update(memoryview(data)[100:])
    hasher.update(memoryview(b""))
    assert hasher.finish() == digest_bytes(data)


def test_update_is_done_with_the_buffer_when_it_returns():
    # Streaming readers reuse one buffer; a hasher that kept a reference would hash the overwritten bytes.
    data = pattern(3 * BATCH + 5)
    buffer = bytearray(CHUNK_SIZE // 2)
    hasher = ContentHasher()
    for start in range(0, len(data), len(buffer)):
        piece = data[start : start + len(buffer)]
        buffer[: len(piece)] = piece
        hasher.update(memoryview(buffer)[: len(piece)])
        buffer[:] = b"\xff" * len(buffer)
    assert hasher.finish() == digest_bytes(data)


def test_finished_hasher_refuses_more_bytes():
    hasher = ContentHasher()
    hasher.update(b"abc")
    hasher.finish()
    with pytest.raises(InputError, match="already finished"):
        hasher.update(b"more")
    with pytest.raises(InputError, match="already finished"):
        hasher.finish()


def test_digest_file_equals_digest_bytes_and_reports_progress(tmp_path):
    data = pattern(2 * BATCH + 12345)
    path = tmp_path / "clip.bin"
    path.write_bytes(data)
    seen: list[int] = []
    assert digest_file(path, progress=seen.append) == digest_bytes(data)
    assert sum(seen) == len(data)
    assert len(seen) >= 3


def test_digest_file_missing_path_is_input_error(tmp_path):
    with pytest.raises(InputError, match=r"missing\.jpg"):
        digest_file(tmp_path / "missing.jpg")
    with pytest.raises(InputError, match="cannot read"):
        digest_file(tmp_path)


@given(st.binary(min_size=32, max_size=32))
def test_cid_v1_raw_matches_multiformats(digest):
    assert cid_v1_raw(digest) == str(CID("base32", 1, "raw", ("sha2-256", digest)))


@pytest.mark.parametrize("bad", [b"\x00" * 31, b"\x00" * 33, "ab" * 32])
def test_cid_v1_raw_rejects_anything_but_a_32_byte_digest(bad):
    with pytest.raises(InputError, match="32-byte sha256"):
        cid_v1_raw(bad)


@given(st.binary(min_size=32, max_size=32), st.sampled_from([CODEC_RAW, CODEC_DAG_PB]))
def test_parse_cid_round_trips_base32_and_base58(digest, codec):
    parsed = ParsedCid(1, codec, digest)
    text = parsed.to_base32()
    assert parse_cid(text) == parsed
    assert parse_cid(text.upper()) == parsed
    codec_name = "raw" if codec == CODEC_RAW else "dag-pb"
    assert parse_cid(str(CID("base58btc", 1, codec_name, ("sha2-256", digest)))) == parsed
    assert str(CID("base32", 1, codec_name, ("sha2-256", digest))) == text


def test_parse_cid_reads_cidv0():
    parsed = parse_cid("QmT78zSuBmuS4z925WZfrqQ1qHaJ56DQaTfyMUF7F8ff5o")
    assert parsed.version == 0
    assert parsed.codec == CODEC_DAG_PB
    # CIDv0 and its CIDv1 form name the same block.
    v1 = CID.decode("QmT78zSuBmuS4z925WZfrqQ1qHaJ56DQaTfyMUF7F8ff5o").set(version=1).encode("base32")
    assert parsed.to_base32() == v1


def _base32(raw: bytes) -> str:
    return "b" + base64.b32encode(raw).decode().lower().rstrip("=")


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("", "non-empty"),
        ("xyz", "unknown multibase"),
        ("b!!!", "not valid base32"),
        ("z0OIl", "not base58btc"),
        (str(CID("base32", 1, "dag-cbor", ("sha2-256", b"\x01" * 32))), "codec 0x71"),
        (str(CID("base32", 1, "raw", ("sha2-512", b"\x01" * 64))), "sha2-256"),
        (_base32(b"\x01\x55\x12\x20" + b"\x01" * 10), "sha2-256"),
        (_base32(b"\x00\x55\x12\x20" + b"\x01" * 32), "version 0"),
        ("b", "truncated"),
    ],
)
def test_parse_cid_rejects_bad_input_with_reason(text, reason):
    with pytest.raises(InputError, match=reason):
        parse_cid(text)


def chunk_digests(data: bytes) -> list[bytes]:
    return [hashlib.sha256(data[i : i + CHUNK_SIZE]).digest() for i in range(0, len(data), CHUNK_SIZE)] or [
        hashlib.sha256(b"").digest()
    ]


@pytest.mark.parametrize("size", [0, 1, CHUNK_SIZE, CHUNK_SIZE + 1, 3 * CHUNK_SIZE - 7, (MAX_LINKS + 1) * CHUNK_SIZE])
def test_cid_from_chunk_digests_equals_the_cid_of_the_bytes(size):
    data = pattern(size)
    assert cid_from_chunk_digests(chunk_digests(data), size) == digest_bytes(data).cid


@pytest.mark.parametrize("size", [CHUNK_SIZE + 1, 2 * CHUNK_SIZE + 1, -1])
def test_cid_from_chunk_digests_refuses_a_count_or_digest_that_does_not_fit(size):
    with pytest.raises(InputError, match="chunks of"):
        cid_from_chunk_digests([*chunk_digests(pattern(2 * CHUNK_SIZE))[:1], b"short"], size)
