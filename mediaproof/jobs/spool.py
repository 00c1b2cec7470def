"""Originals kept on local disk until their variants are made: the upload service writes, the jobs worker reads."""

from __future__ import annotations

from pathlib import Path


class Spool:
    """Originals named by sha256 under data_dir/upload/spool (one machine: a worker elsewhere fetches them back)."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        directory.mkdir(parents=True, exist_ok=True)

    def path(self, sha256: str) -> Path:
        return self.directory / sha256

    def keep(self, temp: Path, sha256: str) -> None:
        temp.replace(self.path(sha256))  # same file system: a rename, no copy

    def drop(self, sha256: str) -> None:
        self.path(sha256).unlink(missing_ok=True)


def spool_of(data_dir: Path) -> Spool:
    """The spool the upload service of this `data_dir` fills."""
    return Spool(data_dir / "upload" / "spool")
