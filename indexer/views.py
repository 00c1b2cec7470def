"""Views from the download service's records (`<views dir>/views-<start>-<pid>.jsonl`, one JSON object a line, see
mediaproof/download/views.py) into the store, each file read on from a byte cursor kept in the same transaction as
its rows, so a crash or restart never counts a line twice or skips one.

`parse_view` is pure; `ViewIngester.ingest()` reads whole lines only (the last one may be half written).
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from indexer.store import Store

log = logging.getLogger("indexer")
READ_BYTES = 8 << 20  # per file per pass: a large backlog is taken in steps, each one transaction


@dataclass(frozen=True)
class ViewRecord:
    viewed_at: float  # unix seconds
    day: str  # UTC date, YYYY-MM-DD
    short_id: str
    size: str  # the size asked for
    served: str  # the rendition sent
    status: int
    byte_offset: int
    bytes: int
    counted: bool  # a view, not a seek within one


def parse_view(line: str) -> ViewRecord:
    """One record line; ValueError naming what is wrong for anything else. A 206 from a later offset is a video
    seeking within a view already counted; 200, 304 and a 206 from byte 0 each count as one view."""
    try:
        obj = json.loads(line)
    except json.JSONDecodeError as exc:
        raise ValueError(f"not JSON ({exc.msg})") from None
    if not isinstance(obj, dict):
        raise ValueError("not a JSON object")
    ts, short_id, size, status = obj.get("ts"), obj.get("short_id"), obj.get("size"), obj.get("status")
    if not isinstance(ts, int | float) or isinstance(ts, bool) or ts < 0:
        raise ValueError(f"ts {ts!r} is not unix seconds")
    if not isinstance(short_id, str) or not short_id:
        raise ValueError(f"short_id {short_id!r} is not an id")
    if not isinstance(size, str) or not size:
        raise ValueError(f"size {size!r} is not a size name")
    if not isinstance(status, int) or isinstance(status, bool):
        raise ValueError(f"status {status!r} is not an HTTP status")
    offset = obj.get("offset", 0)
    length = obj.get("bytes", 0)
    if not isinstance(offset, int) or not isinstance(length, int):
        raise ValueError("offset and bytes must be integers")
    served = obj.get("served") if isinstance(obj.get("served"), str) else size
    return ViewRecord(
        viewed_at=float(ts),
        day=datetime.fromtimestamp(ts, UTC).date().isoformat(),
        short_id=short_id,
        size=size,
        served=str(served),
        status=status,
        byte_offset=offset,
        bytes=length,
        counted=status in (200, 304) or (status == 206 and offset == 0),
    )


def parse_lines(chunk: bytes) -> tuple[list[ViewRecord], int, int]:
    """Records of the whole lines in `chunk`, how many bytes they span (up to the last newline), and how many
    lines were unreadable (skipped: one bad line must not stop the counting)."""
    end = chunk.rfind(b"\n") + 1
    records, bad = [], 0
    for raw in chunk[:end].splitlines():
        if not raw.strip():
            continue
        try:
            records.append(parse_view(raw.decode("utf-8")))
        except (ValueError, UnicodeDecodeError):
            bad += 1
    return records, end, bad


class ViewIngester:
    """Takes in what was appended to the view files since the last pass."""

    def __init__(self, store: Store, directory: Path):
        self.store = store
        self.directory = directory
        self.skipped = 0

    def ingest(self) -> int:
        """One pass over every file; returns how many records were added."""
        if not self.directory.is_dir():
            return 0
        cursors = self.store.view_cursors()
        added = 0
        for path in sorted(self.directory.glob("views-*.jsonl")):
            start = cursors.get(path.name, 0)
            try:
                size = path.stat().st_size
                if size < start:
                    log.warning("%s is shorter than the %d bytes already read: left alone", path, start)
                    continue
                if size == start:
                    continue
                with path.open("rb") as handle:
                    handle.seek(start)
                    chunk = handle.read(READ_BYTES)
            except OSError as exc:
                log.warning("cannot read view records %s: %s", path, exc)
                continue
            records, used, bad = parse_lines(chunk)
            if used == 0:
                if len(chunk) == READ_BYTES:
                    log.warning("%s has a line longer than %d bytes at %d: skipped", path, READ_BYTES, start)
                    self.store.add_views(path.name, start + len(chunk), [])
                continue
            if bad:
                self.skipped += bad
                log.warning("%s: %d unreadable view lines skipped", path, bad)
            self.store.add_views(path.name, start + used, records)
            added += len(records)
        return added
