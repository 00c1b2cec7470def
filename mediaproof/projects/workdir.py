"""A project's directory on a device: what it last agreed with the project (the base), what is on disk now (a scan,
cached so an unchanged file is never hashed twice), and the journal that makes a sync all-or-nothing on disk.

Everything lives in `DIR/.mediaproof/`:

- `state.json`: project id, owner, name, chain id, registry address, and the base's version and manifest CID;
- `base.manifest`: the base manifest in its canonical encoding (the version the directory last equalled);
- `index.json`: the scan cache, path -> [size, mtime_ns, inode, sha256, cid];
- `history.json`: the versions seen on chain (who committed, when, tx), so `log` works offline;
- `staging/`: verified bytes waiting to be placed, named by sha256;
- `pending.json`: the journal of a sync between its commit and the end of its changes to the directory.

A sync writes every byte it will place into `staging/` (each checked against its sha256) before it commits, then
writes the journal, commits, and only then touches the files, by renames; an interruption before the journal
leaves directory and project as they were, one after it is finished by the next command (`Workdir.recover`), so
the directory never stays half-synced. Symbolic links and anything not a regular file are left alone.
"""

from __future__ import annotations

import json
import os
import shutil
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mediaproof.content import digest_file
from mediaproof.errors import InputError, MediaTooLarge
from mediaproof.projects.registry import Version
from mediaproof.sync.manifest import FileEntry, ProjectManifest

STATE_DIR = ".mediaproof"
STATE_FORMAT = 1


@dataclass(frozen=True)
class LinkedProject:
    project_id: bytes
    owner: str
    name: str
    chain_id: int
    registry: str

    @property
    def pid_hex(self) -> str:
        return "0x" + self.project_id.hex()


@dataclass(frozen=True)
class Changes:
    """The directory against its base: paths added, modified (other bytes) and deleted."""

    added: tuple[str, ...]
    modified: tuple[str, ...]
    deleted: tuple[str, ...]

    def __bool__(self) -> bool:
        return bool(self.added or self.modified or self.deleted)


def changes(base: ProjectManifest, local: ProjectManifest) -> Changes:
    return Changes(
        added=tuple(p for p in local if p not in base),
        modified=tuple(p for p in local if p in base and local[p].sha256 != base[p].sha256),
        deleted=tuple(p for p in base if p not in local),
    )


def _write_atomically(path: Path, data: bytes) -> None:
    temp = path.with_name(path.name + ".tmp")
    with open(temp, "wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(temp, path)


class Workdir:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.meta = root / STATE_DIR
        self.staging = self.meta / "staging"

    # ---- linking and state -------------------------------------------------------------------------------------

    @classmethod
    def create(cls, root: Path, project: LinkedProject) -> Workdir:
        """Links a new or empty directory to a project, at version 0 with an empty base."""
        if root.exists() and (not root.is_dir() or any(root.iterdir())):
            raise InputError(f"{root} exists and is not an empty directory: clone into a new one")
        workdir = cls(root)
        workdir.staging.mkdir(parents=True, exist_ok=True)
        state = {
            "format": STATE_FORMAT,
            "project": project.pid_hex,
            "owner": project.owner,
            "name": project.name,
            "chain_id": project.chain_id,
            "registry": project.registry,
            "version": 0,
            "manifest_cid": "",
        }
        workdir._write_state(state)
        workdir.set_base(0, "", ProjectManifest())
        return workdir

    @classmethod
    def open(cls, root: Path) -> Workdir:
        workdir = cls(root)
        if not (workdir.meta / "state.json").is_file():
            raise InputError(f"{root} is not a project directory (no {STATE_DIR}/): `mediaproof clone` one first")
        return workdir

    def _state(self) -> dict[str, Any]:
        state = json.loads((self.meta / "state.json").read_text())
        if state.get("format") != STATE_FORMAT:
            raise InputError(f"{self.meta / 'state.json'} has format {state.get('format')!r}, not {STATE_FORMAT}")
        return dict(state)

    def _write_state(self, state: dict[str, Any]) -> None:
        _write_atomically(self.meta / "state.json", json.dumps(state, indent=1).encode())

    @property
    def project(self) -> LinkedProject:
        state = self._state()
        return LinkedProject(
            bytes.fromhex(state["project"][2:]), state["owner"], state["name"], state["chain_id"], state["registry"]
        )

    @property
    def version(self) -> int:
        return int(self._state()["version"])

    def base(self) -> ProjectManifest:
        return ProjectManifest.decode((self.meta / "base.manifest").read_bytes())

    def set_base(self, version: int, cid: str, manifest: ProjectManifest) -> None:
        # The manifest first: a state naming a version always has that version's manifest beside it.
        _write_atomically(self.meta / "base.manifest", manifest.encode())
        state = self._state()
        state.update(version=version, manifest_cid=cid)
        self._write_state(state)

    # ---- history ------------------------------------------------------------------------------------------------

    def history(self) -> list[Version]:
        path = self.meta / "history.json"
        if not path.is_file():
            return []
        return [Version.from_json(item) for item in json.loads(path.read_text())]

    def remember(self, versions: list[Version]) -> list[Version]:
        known = {v.version: v for v in self.history()}
        known.update({v.version: v for v in versions})
        merged = [known[n] for n in sorted(known)]
        _write_atomically(self.meta / "history.json", json.dumps([v.to_json() for v in merged], indent=1).encode())
        return merged

    # ---- scanning -----------------------------------------------------------------------------------------------

    def files(self) -> Iterator[tuple[str, os.stat_result]]:
        """Every regular file under the root but `.mediaproof/`, as (NFC manifest path, stat)."""
        top = str(self.root)
        stack = [(top, "")]
        while stack:
            directory, prefix = stack.pop()
            with os.scandir(directory) as entries:
                for entry in entries:
                    if entry.is_dir(follow_symlinks=False):
                        if not (directory == top and entry.name == STATE_DIR):
                            stack.append((entry.path, prefix + entry.name + "/"))
                    elif entry.is_file(follow_symlinks=False):
                        yield unicodedata.normalize("NFC", prefix + entry.name), entry.stat(follow_symlinks=False)

    def scan(self, max_size: int | None = None, base: ProjectManifest | None = None) -> ProjectManifest:
        """The directory as a manifest. A file whose size, mtime and inode match the cache keeps its cached hashes;
        a file with the base's bytes keeps the base's mtime (touching a file is not a change). A file over
        `max_size` bytes is refused before anything is hashed (the service would refuse it after)."""
        index_path = self.meta / "index.json"
        cache: dict[str, list[Any]] = json.loads(index_path.read_text()) if index_path.is_file() else {}
        base = self.base() if base is None else base
        fresh: dict[str, list[Any]] = {}
        entries: dict[str, FileEntry] = {}
        found = list(self.files())
        too_big = [(path, stat.st_size) for path, stat in found if max_size is not None and stat.st_size > max_size]
        if too_big:
            path, size = too_big[0]
            raise MediaTooLarge(
                f"{path} is {size} bytes, over the {max_size}-byte limit of a file"
                + (f" ({len(too_big)} files are)" if len(too_big) > 1 else "")
                + ": move it out of the project directory and sync again"
            )
        for path, stat in found:
            cached = cache.get(path)
            if cached and cached[:3] == [stat.st_size, stat.st_mtime_ns, stat.st_ino]:
                sha_hex, cid = cached[3], cached[4]
            else:
                digest = digest_file(self.root / path)
                sha_hex, cid = digest.sha256_hex, digest.cid
            fresh[path] = [stat.st_size, stat.st_mtime_ns, stat.st_ino, sha_hex, cid]
            sha = bytes.fromhex(sha_hex)
            known = base.get(path)
            mtime = known.mtime_ns if known is not None and known.sha256 == sha else stat.st_mtime_ns
            entries[path] = FileEntry(sha, cid, stat.st_size, mtime)
        if fresh != cache:
            _write_atomically(index_path, json.dumps(fresh).encode())
        return ProjectManifest(entries)

    def local_paths_by_sha(self, manifest: ProjectManifest) -> dict[bytes, str]:
        """One local path holding each sha256 of `manifest` (a scan of this directory)."""
        return {entry.sha256: path for path, entry in manifest.items()}

    # ---- resumable uploads in progress -------------------------------------------------------------------------

    def upload_locations(self) -> dict[str, str]:
        """sha256 -> the tus URL of an upload of those bytes a sync started (so the next one resumes it)."""
        path = self.meta / "uploads.json"
        return dict(json.loads(path.read_text())) if path.is_file() else {}

    def set_upload_location(self, sha256_hex: str, location: str | None) -> None:
        locations = self.upload_locations()
        if location is None:
            locations.pop(sha256_hex, None)
        else:
            locations[sha256_hex] = location
        _write_atomically(self.meta / "uploads.json", json.dumps(locations).encode())

    # ---- staging and the journal --------------------------------------------------------------------------------

    def staged(self, sha256: bytes) -> Path:
        return self.staging / sha256.hex()

    def stage_local_copy(self, sha256: bytes, source: str) -> None:
        """Copies a local file's bytes into staging (for a file the merge moves or duplicates)."""
        target = self.staged(sha256)
        if not target.exists():
            temp = target.with_name(target.name + ".part")
            shutil.copyfile(self.root / source, temp)
            os.replace(temp, target)

    def write_journal(self, journal: dict[str, Any]) -> None:
        _write_atomically(self.meta / "pending.json", json.dumps(journal).encode())

    def journal(self) -> dict[str, Any] | None:
        path = self.meta / "pending.json"
        return dict(json.loads(path.read_text())) if path.is_file() else None

    def clear_journal(self) -> None:
        (self.meta / "pending.json").unlink(missing_ok=True)

    def clear_staging(self) -> None:
        for leftover in self.staging.iterdir():
            leftover.unlink()

    # ---- applying a manifest ------------------------------------------------------------------------------------

    def apply(self, target: ProjectManifest, local: ProjectManifest) -> None:
        """Makes the directory equal `target`, given `local` (its scan): deletes what `target` lacks, then places
        each file whose bytes differ from its staged copy (or a local file with those bytes), by renames. Files that
        already hold their bytes are not touched. Safe to run again after an interruption (what is already in place
        is left alone)."""
        changed = {
            path: entry for path, entry in target.items() if path not in local or local[path].sha256 != entry.sha256
        }
        removed = [path for path in local if path not in target]
        for path in changed:
            self._inside(path)
        for path in removed:
            (self.root / path).unlink(missing_ok=True)
        if removed:
            self._prune_empty_directories()
        remaining_uses: dict[bytes, int] = {}
        for entry in changed.values():
            remaining_uses[entry.sha256] = remaining_uses.get(entry.sha256, 0) + 1
        for path, entry in changed.items():
            destination = self.root / path
            source = self.staged(entry.sha256)
            if not source.exists():
                raise InputError(f"the bytes of {path} ({entry.sha256.hex()}) are not staged: run sync again")
            if destination.is_dir():
                shutil.rmtree(destination)
            destination.parent.mkdir(parents=True, exist_ok=True)
            remaining_uses[entry.sha256] -= 1
            if remaining_uses[entry.sha256]:
                temp = destination.with_name(destination.name + ".mediaproof-part")
                shutil.copyfile(source, temp)
                os.replace(temp, destination)
            else:
                os.replace(source, destination)
            # A placed file carries its entry's modified time (a kept one keeps the base's, see scan).
            os.utime(destination, ns=(entry.mtime_ns, entry.mtime_ns))
        if changed or removed:
            self._index(changed, removed)

    def _inside(self, path: str) -> None:
        """Refuses a path whose directories lead out of the project through a symbolic link made here (a manifest
        from another device naming `photos/x.jpg` must never write where a local `photos -> /etc` link points)."""
        root = os.path.realpath(self.root)
        parent = os.path.realpath((self.root / path).parent)
        if os.path.commonpath([root, parent]) != root or parent != os.path.join(root, *Path(path).parts[:-1]):
            raise InputError(f"{path}: a directory on its way is a symbolic link here; move the link away and sync")

    def _index(self, placed: dict[str, FileEntry], removed: list[str]) -> None:
        """The scan cache after `apply`: placed files by the hashes they were checked against as they arrived (so
        the next scan hashes nothing), removed ones gone."""
        path = self.meta / "index.json"
        index: dict[str, list[Any]] = json.loads(path.read_text()) if path.is_file() else {}
        for name in removed:
            index.pop(name, None)
        for name, entry in placed.items():
            stat = (self.root / name).stat()
            index[name] = [stat.st_size, stat.st_mtime_ns, stat.st_ino, entry.sha256.hex(), entry.cid]
        _write_atomically(path, json.dumps(index).encode())

    def _prune_empty_directories(self) -> None:
        for directory, subdirs, filenames in os.walk(self.root, topdown=False):
            path = Path(directory)
            if path == self.root or self.meta in (path, *path.parents):
                continue
            if (not subdirs and not filenames) or not any(path.iterdir()):
                path.rmdir()


def find_root(start: Path) -> Path | None:
    """The project directory `start` is in (itself or its nearest parent with a `.mediaproof/state.json`), if any."""
    for directory in (start, *start.resolve().parents):
        if (directory / STATE_DIR / "state.json").is_file():
            return directory
    return None
