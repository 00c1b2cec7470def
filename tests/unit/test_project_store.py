"""The gateway database's project tables (each backend: a SQLite file, a real PostgreSQL) and possession answers:
a nonce is spent once, only with the manifest it proves, and only for the wallet and hash it was issued for."""

from __future__ import annotations

import hashlib
import sqlite3
import time
from pathlib import Path

import pytest

from mediaproof.errors import InputError
from mediaproof.project_access import parse_pid, parse_sha
from mediaproof.project_store import ProjectStore, StoredManifest
from mediaproof.projects import possession

PID = "0x" + "aa" * 32
SHA = "bb" * 32
ALICE, BOB = "0x" + "11" * 20, "0x" + "22" * 20
NOW = time.time()  # issuing sweeps out nonces an hour past their expiry, by the real clock


def test_possession_answer_is_sha256_of_nonce_then_bytes(tmp_path: Path) -> None:
    path = tmp_path / "f"
    path.write_bytes(b"x" * 3_000_000)  # over one read chunk
    nonce = "0f" * 32
    assert possession.answer(nonce, path) == hashlib.sha256(bytes.fromhex(nonce) + path.read_bytes()).hexdigest()
    with pytest.raises(InputError, match="not hex"):
        possession.answer("zz", path)


def test_nonces_are_per_wallet_and_hash_and_expire(gateway_target: Path | str) -> None:
    store = ProjectStore(gateway_target)
    store.issue_nonce("01" * 32, ALICE, SHA, NOW + 600)
    store.issue_nonce("02" * 32, ALICE, SHA, NOW - 1)  # expired
    store.issue_nonce("03" * 32, BOB, SHA, NOW + 600)
    assert store.open_nonces(ALICE, SHA, NOW) == ["01" * 32]
    assert store.open_nonces(ALICE, "cc" * 32, NOW) == []
    assert store.open_nonces(BOB, SHA, NOW) == ["03" * 32]


def test_a_nonce_is_spent_once_and_a_refused_commit_writes_nothing(gateway_target: Path | str) -> None:
    store = ProjectStore(gateway_target)
    store.issue_nonce("01" * 32, ALICE, SHA, NOW + 600)
    manifest = StoredManifest("dd" * 32, 3, b"{ }")
    assert store.commit_manifest(PID, "bafy-one", manifest, [SHA], ["01" * 32], ALICE, now=NOW)
    assert store.in_project(PID, SHA) and store.manifest(PID, "bafy-one") == manifest
    assert store.open_nonces(ALICE, SHA, NOW) == []
    other = "0x" + "ee" * 32
    assert not store.commit_manifest(other, "bafy-two", manifest, [SHA], ["01" * 32], ALICE, now=NOW)  # replayed
    assert not store.in_project(other, SHA) and store.manifest(other, "bafy-two") is None
    assert store.in_any_project(SHA) and store.in_any_project("dd" * 32) and not store.in_any_project("cc" * 32)


def test_uploads_are_remembered_per_wallet(gateway_target: Path | str) -> None:
    store = ProjectStore(gateway_target)
    store.record_upload(SHA, "bafy-b", 10, ALICE, now=NOW)
    assert store.uploaded_by(SHA, ALICE) and not store.uploaded_by(SHA, BOB)
    assert store.uploaded_since(SHA, NOW - 1) and not store.uploaded_since(SHA, NOW + 1)
    found = store.stored_object(SHA)
    assert found is not None and (found.cid, found.size) == ("bafy-b", 10)


def test_a_read_only_store_before_any_project_table_knows_nothing(gateway_target: Path | str) -> None:
    if isinstance(gateway_target, Path):
        sqlite3.connect(gateway_target).close()  # the file exists, the tables do not
    reader = ProjectStore(gateway_target, readonly=True)
    assert not reader.in_project(PID, SHA) and reader.manifest(PID, "bafy") is None
    reader.close()


@pytest.mark.parametrize("bad", ["", "0x12", "0x" + "g" * 64, 7, None, "0x" + "a" * 65])
def test_malformed_project_ids_and_hashes_are_input_errors(bad: object) -> None:
    with pytest.raises(InputError):
        parse_pid(bad)
    with pytest.raises(InputError):
        parse_sha(bad)
    assert parse_pid("0X" + "AB" * 32) == "0x" + "ab" * 32 and parse_sha("AB" * 32) == "ab" * 32
