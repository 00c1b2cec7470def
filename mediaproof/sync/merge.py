"""Three-way merge of two project manifests against the last version both sides had (the base).

Per path, with B, O, T the base's, ours' and theirs' entries (None where the path is absent):

- O == T: that (both made the same change, or neither changed it).
- only one side differs from B: that side's entry (its add, change or delete).
- one side deleted, the other changed: the change (a delete never destroys bytes someone else edited).
- both changed to the same bytes (equal sha256; only the modified time differs): the later modified time.
- both changed to different bytes: a conflict; both are kept. The entry modified later (ties: the larger sha256)
  keeps the path; the other moves to `conflict_path`, e.g. `dir/photo (conflict 3f2a9c1e from 0xab12cd34).jpg`
  (its sha256's first 8 hex digits, its author's address's first 8).
- a file on one side where the other side made a directory of that name: the directory keeps the name, the file
  moves aside under a conflict name.

Nothing depends on which side is "ours": merge(B, O, T) with authors (a, b) equals merge(B, T, O) with (b, a), so
two devices merging the same histories commit the same manifest (the same sha256).
"""

from __future__ import annotations

from dataclasses import dataclass

from eth_utils import to_checksum_address

from mediaproof.sync.manifest import FileEntry, ProjectManifest, directories_of


@dataclass(frozen=True)
class Side:
    """One side of a merge: its manifest and the wallet whose edits it holds (named in conflict copies)."""

    manifest: ProjectManifest
    author: str


@dataclass(frozen=True)
class Conflict:
    """A path both sides changed to different bytes: `kept` stayed at `path`, `moved` went to `moved_to`. `kept` is
    None when the path is a file on one side and a directory on the other: the directory stays, the file moves."""

    path: str
    kept: FileEntry | None
    moved_to: str
    moved: FileEntry
    moved_author: str


@dataclass(frozen=True)
class MergeResult:
    manifest: ProjectManifest
    conflicts: tuple[Conflict, ...]


def conflict_path(path: str, entry: FileEntry, author: str, attempt: int = 1) -> str:
    """Where the losing copy of a conflict goes: beside `path`, its name marked with the copy's bytes and author;
    `attempt` > 1 (" 2", " 3", ...) only when that name is already taken by other bytes."""
    directory, slash, name = path.rpartition("/")
    dot = name.rfind(".")
    stem, ext = (name[:dot], name[dot:]) if dot > 0 else (name, "")  # ".bashrc" has no extension
    short_author = to_checksum_address(author)[:10].lower()
    tag = f" (conflict {entry.sha256.hex()[:8]} from {short_author}{f' {attempt}' if attempt > 1 else ''})"
    return f"{directory}{slash}{stem}{tag}{ext}"


def merge(base: ProjectManifest, ours: Side, theirs: Side) -> MergeResult:
    """The merged manifest and its conflicts (rules in the module docstring)."""
    merged: dict[str, FileEntry] = {}
    contested: list[tuple[str, tuple[FileEntry, str], tuple[FileEntry, str]]] = []
    for path in sorted(set(base) | set(ours.manifest) | set(theirs.manifest)):
        b, o, t = base.get(path), ours.manifest.get(path), theirs.manifest.get(path)
        if o == t or t == b:
            chosen = o
        elif o == b:
            chosen = t
        elif o is None or t is None:
            chosen = o if t is None else t  # a delete against a change keeps the change
        elif o.sha256 == t.sha256:
            chosen = max(o, t, key=lambda e: (e.mtime_ns, e.cid, e.size))
        else:
            contested.append((path, (o, ours.author), (t, theirs.author)))
            continue
        if chosen is not None:
            merged[path] = chosen
    # Every contested path keeps its winner before any copy is placed, so a copy never displaces a clean path or
    # another conflict's winner; copies go in path order, so a name taken by an earlier copy is decided the same
    # way on every device.
    ranked = []
    for path, one, other in contested:
        (kept, _), (moved, moved_author) = sorted(
            (one, other), key=lambda side: (side[0].mtime_ns, side[0].sha256), reverse=True
        )
        merged[path] = kept
        ranked.append((path, kept, moved, moved_author))
    conflicts = []
    for path, kept, moved, moved_author in ranked:
        attempt = 1
        target = conflict_path(path, moved, moved_author)
        while target in merged and merged[target] != moved:
            attempt += 1
            target = conflict_path(path, moved, moved_author, attempt)
        merged[target] = moved
        conflicts.append(Conflict(path, kept, target, moved, to_checksum_address(moved_author)))
    # A file on one side where the other side made a directory of that name (a manifest never holds both): the
    # directory keeps the name and the file moves aside like a conflict copy. Only the side without the directory
    # can hold the file, so its author is known whichever side is ours.
    for path in sorted(set(merged) & directories_of(merged)):
        moved = merged.pop(path)
        moved_author = ours.author if path in ours.manifest else theirs.author
        attempt = 1
        target = conflict_path(path, moved, moved_author)
        while target in merged:
            attempt += 1
            target = conflict_path(path, moved, moved_author, attempt)
        merged[target] = moved
        conflicts.append(Conflict(path, None, target, moved, to_checksum_address(moved_author)))
    return MergeResult(ProjectManifest(merged), tuple(conflicts))
