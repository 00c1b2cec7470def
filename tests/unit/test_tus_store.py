"""Resumable uploads' rows on each backend (SQLite file, real PostgreSQL): one PATCH at a time holds an upload, the
offset moves only under its claim, and the sweep takes expired uploads that nobody is writing."""

from __future__ import annotations

from pathlib import Path

import pytest

from mediaproof.upload.tus_store import TusStore


@pytest.fixture
def partials(gateway_target: Path | str, tmp_path: Path) -> TusStore:
    return TusStore(gateway_target, tmp_path / "tus")


def test_one_patch_at_a_time_claims_an_upload_at_its_offset(partials: TusStore) -> None:
    upload = partials.create("0xA", 100, "media", {"filename": "a.png"}, ttl=3600)
    assert upload.offset == 0 and not upload.complete and partials.path(upload.tus_id).exists()
    assert not partials.claim(upload.tus_id, 10, "patch-1")  # the offset is another
    assert partials.claim(upload.tus_id, 0, "patch-1")
    assert not partials.claim(upload.tus_id, 0, "patch-2")  # held by patch-1
    partials.advance(upload.tus_id, "patch-2", 50, ttl=3600)  # not its claim: nothing moves
    assert partials.get(upload.tus_id).offset == 0  # type: ignore[union-attr]
    partials.advance(upload.tus_id, "patch-1", 100, ttl=3600)
    partials.release(upload.tus_id, "patch-1")
    done = partials.get(upload.tus_id)
    assert done is not None and done.complete and done.metadata == {"filename": "a.png"}
    partials.finish(upload.tus_id, "upload-1")
    assert partials.get(upload.tus_id).upload_id == "upload-1"  # type: ignore[union-attr]
    assert not partials.path(upload.tus_id).exists()


def test_terminate_and_the_sweep_leave_an_upload_being_written(partials: TusStore) -> None:
    busy = partials.create("0xA", 10, "media", {}, ttl=-1)
    idle = partials.create("0xA", 10, "media", {}, ttl=-1)
    assert partials.claim(busy.tus_id, 0, "patch")
    assert not partials.terminate(busy.tus_id)
    assert partials.remove_expired() == 1
    assert partials.get(idle.tus_id) is None and partials.get(busy.tus_id) is not None
    assert partials.get("nope") is None
