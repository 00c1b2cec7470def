"""mediaproof.sync: the manifest's canonical encoding and the three-way merge. Worked cases from the requirement
notes, then hypothesis properties: deterministic, independent of which side is "ours", no changed byte lost,
idempotent, and a side equal to the base yields the other side."""

from __future__ import annotations

import hashlib
import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mediaproof.errors import InputError
from mediaproof.sync.manifest import FileEntry, ProjectManifest, check_path, directories_of
from mediaproof.sync.merge import Side, conflict_path, merge
from mediaproof.sync.project import project_id

ALICE = "0xAb12cD34000000000000000000000000000000a1"
BOB = "0x5678eF900000000000000000000000000000b0b0"


def entry(content: str, mtime_ns: int = 1) -> FileEntry:
    sha = hashlib.sha256(content.encode()).digest()
    return FileEntry(sha, f"bafk{sha.hex()[:20]}", len(content), mtime_ns)


def manifest(**files: FileEntry) -> ProjectManifest:
    return ProjectManifest({f"{name}.jpg": e for name, e in files.items()})


A, B, C, D, E = (entry(x) for x in "ABCDE")


def test_notes_case_adds_and_delete_from_both_sides_are_kept():
    """Seed 001, case 1: both start from A, B, C; device 1 adds D and deletes C, device 2 adds E."""
    base = manifest(a=A, b=B, c=C)
    device1 = Side(manifest(a=A, b=B, d=D), ALICE)
    device2 = Side(manifest(a=A, b=B, c=C, e=E), BOB)
    result = merge(base, device2, device1)
    assert result.manifest == manifest(a=A, b=B, d=D, e=E)
    assert result.conflicts == ()


def test_same_path_changed_both_sides_keeps_both_under_conflict_name():
    base = manifest(a=A)
    ours, theirs = Side(manifest(a=entry("ours", 5)), ALICE), Side(manifest(a=entry("theirs", 9)), BOB)
    result = merge(base, ours, theirs)
    (conflict,) = result.conflicts
    assert (conflict.path, conflict.kept, conflict.moved) == ("a.jpg", entry("theirs", 9), entry("ours", 5))
    sha8 = entry("ours").sha256.hex()[:8]
    assert conflict.moved_to == f"a (conflict {sha8} from 0xab12cd34).jpg"
    assert result.manifest == ProjectManifest({"a.jpg": entry("theirs", 9), conflict.moved_to: entry("ours", 5)})


def test_delete_against_change_keeps_the_change():
    base = manifest(a=A, b=B)
    changed = entry("A2", 7)
    for ours, theirs in ((manifest(b=B), manifest(a=changed, b=B)), (manifest(a=changed, b=B), manifest(b=B))):
        result = merge(base, Side(ours, ALICE), Side(theirs, BOB))
        assert result.manifest == manifest(a=changed, b=B) and result.conflicts == ()


def test_identical_changes_merge_cleanly_later_mtime_wins_metadata():
    base = manifest(a=A)
    same_early, same_late = entry("A2", 3), entry("A2", 8)
    result = merge(base, Side(manifest(a=same_early), ALICE), Side(manifest(a=same_late), BOB))
    assert result.manifest == manifest(a=same_late) and result.conflicts == ()


def test_conflict_path_names():
    e = entry("x")
    h = e.sha256.hex()[:8]
    assert conflict_path("dir/sub/photo.jpg", e, ALICE) == f"dir/sub/photo (conflict {h} from 0xab12cd34).jpg"
    assert conflict_path("archive.tar.gz", e, BOB) == f"archive.tar (conflict {h} from 0x5678ef90).gz"
    assert conflict_path(".bashrc", e, BOB) == f".bashrc (conflict {h} from 0x5678ef90)"
    assert conflict_path("README", e, BOB, attempt=2) == f"README (conflict {h} from 0x5678ef90 2)"


def test_conflict_copy_never_displaces_an_existing_path():
    base = manifest(a=A)
    ours, theirs = entry("ours", 1), entry("theirs", 2)
    squatter = entry("squatter")
    taken = conflict_path("a.jpg", ours, ALICE)
    result = merge(base, Side(manifest(a=ours), ALICE), Side(ProjectManifest({"a.jpg": theirs, taken: squatter}), BOB))
    (conflict,) = result.conflicts
    assert conflict.moved_to == conflict_path("a.jpg", ours, ALICE, attempt=2)
    assert result.manifest[taken] == squatter and result.manifest[conflict.moved_to] == ours


def test_file_against_directory_of_same_name_moves_the_file_aside():
    base = ProjectManifest({"scans": A})
    ours = Side(ProjectManifest({"scans": entry("A2", 4)}), ALICE)  # changed the file
    theirs = Side(ProjectManifest({"scans/1.jpg": B, "scans/2.jpg": C}), BOB)  # replaced it by a folder
    for one, other in ((ours, theirs), (theirs, ours)):
        result = merge(base, one, other)
        (conflict,) = result.conflicts
        assert (conflict.path, conflict.kept, conflict.moved) == ("scans", None, entry("A2", 4))
        assert conflict.moved_to == conflict_path("scans", entry("A2", 4), ALICE)
        assert result.manifest == ProjectManifest(
            {"scans/1.jpg": B, "scans/2.jpg": C, conflict.moved_to: entry("A2", 4)}
        )


def test_manifest_refuses_a_path_that_is_also_a_directory():
    with pytest.raises(InputError, match="both a file and a directory"):
        ProjectManifest({"a": A, "a/b.jpg": B})


# --- canonical encoding ---


def test_canonical_encoding_is_sorted_compact_json_and_hashes_it():
    m = ProjectManifest({"b/é.jpg": entry("B", 2), "a.jpg": entry("A", 1)})
    data = m.encode()
    expected = {
        "files": {
            "a.jpg": {"cid": A.cid, "mtime_ns": 1, "sha256": A.sha256.hex(), "size": 1},
            "b/é.jpg": {"cid": B.cid, "mtime_ns": 2, "sha256": B.sha256.hex(), "size": 1},
        },
        "format": "mediaproof-manifest/1",
    }
    assert data == json.dumps(expected, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()
    assert data.startswith(b'{"files":{"a.jpg":{"cid":') and "é".encode() in data
    assert m.sha256() == hashlib.sha256(data).digest()
    assert ProjectManifest.decode(data) == m
    assert ProjectManifest().encode() == b'{"files":{},"format":"mediaproof-manifest/1"}'


def test_decode_refuses_non_canonical_or_foreign_bytes():
    data = manifest(a=A).encode()
    for bad in (json.dumps(json.loads(data), indent=1).encode(), b"{}", b"\xff", b'{"format":"other","files":{}}'):
        with pytest.raises(InputError):
            ProjectManifest.decode(bad)


@pytest.mark.parametrize("path", ["", "/abs.jpg", "a//b.jpg", "./a.jpg", "a/../b.jpg", "a\\b.jpg", "e\u0301.jpg"])
def test_manifest_refuses_bad_paths(path):
    with pytest.raises(InputError):
        check_path(path)


def test_project_id_is_keccak_of_abi_encoded_owner_and_name():
    # Pinned: ProjectRegistry.projectIdOf must agree (tests/contracts/test_project_registry.py checks it on chain).
    assert project_id(ALICE.lower(), "x") == project_id(ALICE, "x") != project_id(BOB, "x")
    assert len(project_id(ALICE, "x")) == 32


# --- properties ---

# Few paths and contents so sides collide on the same paths and bytes often.
paths = st.sampled_from(
    ["a.jpg", "b.jpg", "d", "d/c.png", "d/e", ".hidden", "a (conflict 00000000 from 0xab12cd34).jpg"]
)
entries = st.builds(entry, st.sampled_from("uvwxyz"), st.integers(0, 3))


def without_clashes(files: dict[str, FileEntry]) -> ProjectManifest:
    """Drops files that are also another file's directory (no manifest holds both)."""
    return ProjectManifest({p: e for p, e in files.items() if p not in directories_of(files)})


manifests = st.dictionaries(paths, entries, max_size=6).map(without_clashes)
authors = st.sampled_from([ALICE, BOB])


def edit_of(base: ProjectManifest) -> st.SearchStrategy[ProjectManifest]:
    """A side derived from base by random deletes, changes and adds (so both sides share history)."""
    return st.tuples(st.sets(st.sampled_from(sorted(base)) if base else st.nothing()), manifests).map(
        lambda t: without_clashes({**{p: e for p, e in base.items() if p not in t[0]}, **t[1]})
    )


histories = manifests.flatmap(lambda base: st.tuples(st.just(base), edit_of(base), edit_of(base)))


@settings(max_examples=300, deadline=None)
@given(histories, authors, authors)
def test_fuzz_merge_is_independent_of_which_side_is_ours(history, a, b):
    base, x, y = history
    one = merge(base, Side(x, a), Side(y, b))
    assert one == merge(base, Side(x, a), Side(y, b))  # deterministic
    assert one.manifest == merge(base, Side(y, b), Side(x, a)).manifest
    assert one.manifest.sha256() == merge(base, Side(y, b), Side(x, a)).manifest.sha256()


@settings(max_examples=300, deadline=None)
@given(histories, authors, authors)
def test_fuzz_merge_loses_no_changed_bytes(history, a, b):
    """Every entry a side added or changed is in the result (at its path or a conflict copy); a path both sides
    left alone is unchanged; a path is gone only if a side deleted it and the other did not change it (or it moved
    aside for a folder of its name)."""
    base, x, y = history
    result = merge(base, Side(x, a), Side(y, b)).manifest
    shas = {e.sha256 for e in result.values()}
    for side in (x, y):
        for path, e in side.items():
            if base.get(path) != e:
                assert e.sha256 in shas, (path, e)
    for path in set(base) | set(x) | set(y):
        if x.get(path) == y.get(path) == base.get(path) and path in base:
            assert result.get(path) == base[path]
        if path not in result and path not in directories_of(result):  # a file moved aside for a folder is kept
            assert path not in x or path not in y
            assert x.get(path) in (None, base.get(path)) and y.get(path) in (None, base.get(path))


@settings(deadline=None)
@given(manifests, manifests, authors, authors)
def test_fuzz_merge_identities(base, x, a, b):
    assert merge(base, Side(x, a), Side(x, b)).manifest == x  # idempotent
    assert merge(base, Side(x, a), Side(base, b)).manifest == x  # theirs unchanged -> ours
    assert merge(base, Side(base, a), Side(x, b)).manifest == x  # ours unchanged -> theirs
    assert merge(base, Side(x, a), Side(x, b)).conflicts == ()


@settings(deadline=None)
@given(histories, authors, authors)
def test_fuzz_merge_result_merged_again_is_stable(history, a, b):
    """The committed result, merged against a device that already has it, changes nothing."""
    base, x, y = history
    result = merge(base, Side(x, a), Side(y, b)).manifest
    assert merge(x, Side(result, b), Side(x, a)).manifest == result


@settings(deadline=None)
@given(manifests)
def test_fuzz_encoding_round_trips_and_ignores_build_order(m):
    reversed_build = ProjectManifest(dict(reversed(list(m.items()))))
    assert reversed_build.encode() == m.encode() and reversed_build.sha256() == m.sha256()
    assert ProjectManifest.decode(m.encode()) == m
