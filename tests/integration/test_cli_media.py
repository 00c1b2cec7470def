"""The media commands as people run them, on a real stack (anvil, js-ipfs, a storage cluster, the services and the
indexer): `upload DIR` with several files, `get` under the file's own name, `clusters`, `status`, `delete`; the
bytes and the exit codes, and a stranger who tries to delete someone else's media."""

from __future__ import annotations

import hashlib
import json
import re
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from mediaproof.devstack import LocalStack
from mediaproof.settings import ANVIL_TEST_KEYS, Settings
from tests.integration.stack import cli_env, stack_settings, wait_until
from tests.unit.test_upload_intake import photo_bytes

pytestmark = pytest.mark.integration

OWNER_KEY = ANVIL_TEST_KEYS[0]
STRANGER_KEY = ANVIL_TEST_KEYS[1]


def run(settings: Settings, *args: str, key: str = OWNER_KEY, cwd: Path | None = None,
        env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:  # fmt: skip
    return subprocess.run(
        [sys.executable, "-m", "mediaproof.cli", *args],
        capture_output=True,
        text=True,
        timeout=600,
        cwd=cwd,
        env={**cli_env(settings, key), **(env or {})},
    )


def ok(settings: Settings, *args: str, **kwargs: Any) -> dict[str, Any]:
    result = run(settings, *args, "--json", **kwargs)
    assert result.returncode == 0, result.stderr
    return dict(json.loads(result.stdout))


def indexed(settings: Settings, key: str) -> Callable[[], dict[str, Any] | None]:
    def look() -> dict[str, Any] | None:
        reply = httpx.get(settings.resolved_indexer_url() + f"/media/{key}", timeout=30)
        return reply.json() if reply.status_code == 200 else None

    return look


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalStack]:
    running = LocalStack(stack_settings(tmp_path_factory.mktemp("stack"))).start()
    yield running
    running.stop()


def test_upload_a_directory_get_clusters_status_and_delete(stack: LocalStack, tmp_path: Path) -> None:
    s = stack.settings
    album = tmp_path / "album"
    (album / "sub").mkdir(parents=True)
    photos = {"harbour.jpg": photo_bytes(71, (640, 480)), "dawn.jpg": photo_bytes(72, (600, 400)),
              "sub/boats.png": photo_bytes(73, (300, 200), fmt="PNG")}  # fmt: skip
    for name, data in photos.items():
        (album / name).write_bytes(data)
    (album / ".DS_Store").write_bytes(b"not a photo")  # hidden: never sent

    sent = ok(s, "upload", str(album))
    assert sent["failed"] == []
    by_title = {r["title"]: r for r in sent["uploaded"]}
    assert set(by_title) == {"harbour.jpg", "dawn.jpg", "boats.png"}
    for name, data in photos.items():
        result = by_title[Path(name).name]
        assert result["sha256"] == hashlib.sha256(data).hexdigest()
        assert result["page"] == f"{s.resolved_webapp_url()}/m/{result['short_id']}"
    harbour = by_title["harbour.jpg"]
    record = wait_until(indexed(s, harbour["short_id"]), "the indexer has the upload")
    assert record["title"] == "harbour.jpg"

    # get: under its own name into a directory, and a variant into a named file; both checked against their hash
    downloads = tmp_path / "downloads"
    downloads.mkdir()
    got = ok(s, "get", harbour["short_id"], "-o", str(downloads))
    assert Path(got["path"]) == downloads / "harbour.jpg"
    assert (downloads / "harbour.jpg").read_bytes() == photos["harbour.jpg"]
    small = ok(s, "get", harbour["page"], "--size", "small", "-o", str(tmp_path / "thumb.jpg"))
    thumb = (tmp_path / "thumb.jpg").read_bytes()
    assert thumb[:2] == b"\xff\xd8" and hashlib.sha256(thumb).hexdigest() == small["sha256"]
    assert len(thumb) < len(photos["harbour.jpg"])
    missing = run(s, "get", "zzzzzzzz", "-o", str(downloads))
    assert missing.returncode == 1 and "zzzzzzzz" in missing.stderr

    clusters = ok(s, "clusters")["clusters"]
    assert [c["status"] for c in clusters] == ["active"]
    assert clusters[0]["objects"] >= 1

    healthy = ok(s, "status", cwd=tmp_path)
    assert healthy["ok"] and all(healthy[part]["ok"] for part in ("chain", "upload", "download", "indexer"))
    broken = run(s, "status", cwd=tmp_path, env={"MEDIAPROOF_INDEXER_URL": "http://127.0.0.1:9"})
    assert broken.returncode == 2 and re.search(r"^indexer +DOWN", broken.stdout, re.MULTILINE), broken.stdout

    # delete: a stranger is refused and nothing changes; the owner's delete tombstones it and get says so
    stranger = run(s, "delete", harbour["short_id"], key=STRANGER_KEY)
    assert stranger.returncode == 2 and "only its owner" in stranger.stderr
    assert not indexed(s, harbour["short_id"])()["deleted"]
    deleted = ok(s, "delete", harbour["short_id"])
    assert deleted["media_id"] == record["id"]
    wait_until(lambda: indexed(s, harbour["short_id"])()["deleted"], "the indexer has the tombstone")
    gone = run(s, "get", harbour["short_id"], "-o", str(tmp_path / "again.jpg"))
    assert gone.returncode == 1 and "deleted" in gone.stderr
    assert not (tmp_path / "again.jpg").exists()
    # the other files of the directory are untouched
    ok(s, "get", by_title["dawn.jpg"]["short_id"], "-o", str(downloads))
    assert (downloads / "dawn.jpg").read_bytes() == photos["dawn.jpg"]
