"""A project directory on disk: the scan (and its cache), the changes status shows, and apply, which must make the
directory equal any target from any starting state, and be safe to run again after an interruption."""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mediaproof.content import digest_bytes
from mediaproof.errors import InputError, MediaTooLarge
from mediaproof.projects import workdir as workdir_module
from mediaproof.projects.workdir import LinkedProject, Workdir, changes
from mediaproof.sync.manifest import FileEntry, ProjectManifest

PROJECT = LinkedProject(b"\x01" * 32, "0x" + "ab" * 20, "robots", 31337, "0x" + "cd" * 20)


def entry_for(data: bytes, mtime_ns: int = 1_700_000_000_000_000_000) -> FileEntry:
    digest = digest_bytes(data)
    return FileEntry(digest.sha256, digest.cid, len(data), mtime_ns)


def disk(root: Path) -> dict[str, bytes]:
    return {path: (root / path).read_bytes() for path, _ in Workdir(root).files()}


def test_a_directory_with_files_cannot_be_linked_and_an_unlinked_one_cannot_be_opened(tmp_path: Path) -> None:
    (tmp_path / "a.jpg").write_bytes(b"x")
    with pytest.raises(InputError, match="not an empty directory"):
        Workdir.create(tmp_path, PROJECT)
    with pytest.raises(InputError, match="not a project directory"):
        Workdir.open(tmp_path)


def test_scan_names_every_regular_file_by_its_bytes_and_hashes_each_only_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    work = Workdir.create(tmp_path / "p", PROJECT)
    (work.root / "day1").mkdir()
    (work.root / "day1" / "a.jpg").write_bytes(b"alpha")
    (work.root / "b.txt").write_bytes(b"beta")
    os.symlink(work.root / "b.txt", work.root / "link")  # not a regular file: left alone
    hashed: list[Path] = []
    real = workdir_module.digest_file
    monkeypatch.setattr(workdir_module, "digest_file", lambda path: hashed.append(path) or real(path))
    manifest = work.scan()
    assert sorted(manifest) == ["b.txt", "day1/a.jpg"]
    assert manifest["b.txt"].sha256 == hashlib.sha256(b"beta").digest()
    assert manifest["b.txt"].cid == digest_bytes(b"beta").cid
    assert len(hashed) == 2
    assert work.scan() == manifest
    assert len(hashed) == 2  # unchanged files come from the cache
    (work.root / "b.txt").write_bytes(b"beta, edited")
    assert work.scan()["b.txt"].sha256 == hashlib.sha256(b"beta, edited").digest()
    assert len(hashed) == 3


def test_a_file_over_the_limit_is_refused_before_any_file_is_hashed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    work = Workdir.create(tmp_path / "p", PROJECT)
    (work.root / "small.jpg").write_bytes(b"s")
    with open(work.root / "huge.mov", "wb") as sparse:  # 2 GB on paper, nothing on disk
        sparse.truncate(2_000_000_000)
    hashed: list[Path] = []
    monkeypatch.setattr(workdir_module, "digest_file", hashed.append)
    with pytest.raises(MediaTooLarge, match=r"huge.mov is 2000000000 bytes, over the 1073741824-byte limit"):
        work.scan(max_size=1 << 30)
    assert hashed == []


def test_touching_a_file_is_not_a_change_but_new_bytes_are(tmp_path: Path) -> None:
    work = Workdir.create(tmp_path / "p", PROJECT)
    (work.root / "a.jpg").write_bytes(b"alpha")
    work.set_base(1, "cid-1", work.scan())
    os.utime(work.root / "a.jpg", ns=(5, 5))
    assert not changes(work.base(), work.scan())
    (work.root / "a.jpg").write_bytes(b"other")
    (work.root / "new.jpg").write_bytes(b"new")
    found = changes(work.base(), work.scan())
    assert (found.added, found.modified, found.deleted) == (("new.jpg",), ("a.jpg",), ())
    (work.root / "a.jpg").unlink()
    assert changes(work.base(), work.scan()).deleted == ("a.jpg",)


def stage(work: Workdir, data: bytes) -> None:
    (work.staged(hashlib.sha256(data).digest())).write_bytes(data)


def test_apply_replaces_deletes_moves_and_turns_a_file_into_a_directory(tmp_path: Path) -> None:
    work = Workdir.create(tmp_path / "p", PROJECT)
    (work.root / "keep.jpg").write_bytes(b"keep")
    (work.root / "gone.jpg").write_bytes(b"gone")
    (work.root / "old").mkdir()
    (work.root / "old" / "x.jpg").write_bytes(b"x")
    (work.root / "clash").write_bytes(b"file that becomes a directory")
    local = work.scan()
    target = ProjectManifest(
        {
            "keep.jpg": local["keep.jpg"],
            "copy of keep.jpg": local["keep.jpg"],
            "clash/inside.jpg": entry_for(b"inside"),
            "new/deep/n.jpg": entry_for(b"n"),
        }
    )
    stage(work, b"inside")
    stage(work, b"n")
    work.stage_local_copy(local["keep.jpg"].sha256, "keep.jpg")
    work.apply(target, local)
    work.set_base(1, "cid", target)
    assert disk(work.root) == {
        "keep.jpg": b"keep",
        "copy of keep.jpg": b"keep",
        "clash/inside.jpg": b"inside",
        "new/deep/n.jpg": b"n",
    }
    assert not (work.root / "old").exists()  # emptied directories go too
    assert work.scan() == target  # placed files carry their entries' modified times


def test_apply_refuses_bytes_that_were_never_staged_and_changes_nothing_placed_so_far(tmp_path: Path) -> None:
    work = Workdir.create(tmp_path / "p", PROJECT)
    target = ProjectManifest({"a.jpg": entry_for(b"never staged")})
    with pytest.raises(InputError, match="not staged"):
        work.apply(target, work.scan())
    assert disk(work.root) == {}


def test_apply_never_writes_through_a_local_symbolic_link(tmp_path: Path) -> None:
    work = Workdir.create(tmp_path / "p", PROJECT)
    outside = tmp_path / "outside"
    outside.mkdir()
    os.symlink(outside, work.root / "photos")
    target = ProjectManifest({"photos/x.jpg": entry_for(b"planted")})
    stage(work, b"planted")
    with pytest.raises(InputError, match="symbolic link"):
        work.apply(target, work.scan())
    assert list(outside.iterdir()) == []


contents = st.binary(min_size=0, max_size=8)
paths = st.sampled_from(["a", "b", "d/a", "d/b", "d/e/f", "g"])
trees = st.dictionaries(paths, contents, max_size=5).filter(
    lambda t: not any(other.startswith(p + "/") for p in t for other in t)
)


@settings(max_examples=60)
@given(start=trees, goal=trees, interrupt=st.booleans())
def test_apply_reaches_any_target_from_any_directory_even_when_run_twice(
    start: dict[str, bytes], goal: dict[str, bytes], interrupt: bool
) -> None:
    with tempfile.TemporaryDirectory() as temp:
        work = Workdir.create(Path(temp) / "p", PROJECT)
        for path, data in start.items():
            (work.root / path).parent.mkdir(parents=True, exist_ok=True)
            (work.root / path).write_bytes(data)
        local = work.scan()
        target = ProjectManifest({path: entry_for(data) for path, data in goal.items()})
        for data in goal.values():
            stage(work, data)
        if interrupt:
            # A run cut short after its deletes: the next run starts from whatever is on disk now.
            for path in local:
                if path not in target:
                    (work.root / path).unlink()
            (work.meta / "index.json").unlink(missing_ok=True)
            local = work.scan()
            for data in goal.values():
                stage(work, data)
        work.apply(target, local)
        work.set_base(1, "cid", target)  # as a sync does next
        assert disk(work.root) == goal
        assert work.scan() == target
        shutil.rmtree(work.root)
