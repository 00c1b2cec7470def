"""The indexer's one DuckDB connection and the per-thread cursors its reads go through.

Threads: the connection itself (`_con`) is the writer's, used under `_write_lock`. Every read goes through the
calling thread's own cursor (`cursor()`), made on its first read: a DuckDB connection runs one statement at a
time, so API threads reading on the writer's connection got the writer's rows back (`TypeError BlockRef`,
`ValueError unpack` under 16 readers during commits, issue 9). Cursors read the last committed state, never a
block half-written, and do not wait for the writer (bench/abuse.py measures them beside one lock for all).
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import duckdb


class Database:
    """One DuckDB file, opened once; the base of the store's parts (writes, reads, side tables)."""

    def __init__(self, path: Path | str):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._con = duckdb.connect(str(self.path))
        self._write_lock = threading.Lock()
        self._local = threading.local()

    def close(self) -> None:
        self._con.close()

    def cursor(self) -> duckdb.DuckDBPyConnection:
        """The calling thread's own connection to the database, for reads (made on its first read, then reused)."""
        cur: duckdb.DuckDBPyConnection | None = getattr(self._local, "cursor", None)
        if cur is None:
            cur = self._local.cursor = self._con.cursor()
        return cur

    def _dicts(self, sql: str, params: list[Any] | None = None) -> list[dict[str, Any]]:
        cur = self.cursor()
        cur.execute(sql, params or [])
        names = [d[0] for d in cur.description]
        return [dict(zip(names, row, strict=True)) for row in cur.fetchall()]
