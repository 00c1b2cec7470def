"""A project's manifest (path -> sha256, CID, size, modified time) and its canonical encoding, whose sha256 is what
ProjectRegistry.commit records as the head.

Canonical encoding (UTF-8 JSON, no whitespace, keys sorted by code point, non-ASCII kept as UTF-8, not escaped):

    {"files":{"<path>":{"cid":"<CIDv1>","mtime_ns":<int>,"sha256":"<64 lowercase hex>","size":<int>},...},
     "format":"mediaproof-manifest/1"}

Paths are relative POSIX paths in Unicode NFC (a Mac's NFD names are normalised by whoever reads the disk), with
no empty, "." or ".." segment, no leading "/" and no backslash, and no path is also another's directory, so
every device maps them to the same files. Two manifests with the same files encode to the same bytes, hence the
same sha256, whatever order they were built in.
"""

from __future__ import annotations

import hashlib
import json
import unicodedata
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

from mediaproof.errors import InputError

FORMAT = "mediaproof-manifest/1"


@dataclass(frozen=True, order=True)
class FileEntry:
    """One file of a project: its bytes (sha256, CID, size) and when it was last modified (ns since the epoch)."""

    sha256: bytes
    cid: str
    size: int
    mtime_ns: int

    def __post_init__(self) -> None:
        if len(self.sha256) != 32:
            raise InputError(f"a file's sha256 is 32 bytes, not {len(self.sha256)}")
        if not self.cid:
            raise InputError("a file's CID is empty")
        if self.size < 0 or self.mtime_ns < 0:
            raise InputError(f"size {self.size} and mtime_ns {self.mtime_ns} must not be negative")

    def to_json(self) -> dict[str, Any]:
        return {"cid": self.cid, "mtime_ns": self.mtime_ns, "sha256": self.sha256.hex(), "size": self.size}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> FileEntry:
        return cls(bytes.fromhex(data["sha256"]), str(data["cid"]), int(data["size"]), int(data["mtime_ns"]))


def check_path(path: str) -> str:
    """`path` if it is a valid manifest path (see the module docstring); InputError saying why not otherwise."""
    if not path or path.startswith("/") or "\\" in path or "\x00" in path:
        raise InputError(f"manifest path {path!r}: must be relative, without backslashes or NUL")
    if unicodedata.normalize("NFC", path) != path:
        raise InputError(f"manifest path {path!r} is not in Unicode NFC: normalise it first")
    if any(segment in ("", ".", "..") for segment in path.split("/")):
        raise InputError(f"manifest path {path!r} has an empty, '.' or '..' segment")
    return path


def directories_of(paths: Iterable[str]) -> set[str]:
    """Every directory the paths lie in ("a/b/c.jpg" -> "a", "a/b")."""
    found: set[str] = set()
    for path in paths:
        parts = path.split("/")
        found.update("/".join(parts[:i]) for i in range(1, len(parts)))
    return found


class ProjectManifest(Mapping[str, FileEntry]):
    """An immutable mapping path -> FileEntry; equal manifests have equal `encode()` and `sha256()`."""

    __slots__ = ("_files",)

    def __init__(self, files: Mapping[str, FileEntry] | None = None) -> None:
        checked = {check_path(path): entry for path, entry in (files or {}).items()}
        clashes = sorted(set(checked) & directories_of(checked))
        if clashes:
            raise InputError(f"manifest path {clashes[0]!r} is both a file and a directory of other files")
        self._files = MappingProxyType(dict(sorted(checked.items())))

    def __getitem__(self, path: str) -> FileEntry:
        return self._files[path]

    def __iter__(self) -> Iterator[str]:
        return iter(self._files)

    def __len__(self) -> int:
        return len(self._files)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, ProjectManifest):
            return dict(self._files) == dict(other._files)
        return NotImplemented

    def __hash__(self) -> int:
        return hash(self.sha256())

    def __repr__(self) -> str:
        return f"ProjectManifest({dict(self._files)!r})"

    def encode(self) -> bytes:
        """The canonical encoding (module docstring): what is stored on the clusters and hashed for the head."""
        document = {"files": {path: entry.to_json() for path, entry in self._files.items()}, "format": FORMAT}
        return json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()

    def sha256(self) -> bytes:
        """sha256 of `encode()`: the `manifestSha256` a commit records."""
        return hashlib.sha256(self.encode()).digest()

    @classmethod
    def decode(cls, data: bytes) -> ProjectManifest:
        """Reads a manifest; InputError when the bytes are not a canonical manifest (so a tampered or hand-edited
        one is refused rather than given another hash than the one committed)."""
        try:
            document = json.loads(data.decode())
            if document.get("format") != FORMAT:
                raise InputError(f"not a {FORMAT} manifest (format {document.get('format')!r})")
            manifest = cls({path: FileEntry.from_json(entry) for path, entry in document["files"].items()})
        except (UnicodeDecodeError, json.JSONDecodeError, KeyError, TypeError, ValueError, AttributeError) as exc:
            raise InputError(f"not a project manifest ({exc})") from exc
        if manifest.encode() != data:
            raise InputError("manifest is not in canonical encoding (sorted keys, no whitespace, NFC paths)")
        return manifest
