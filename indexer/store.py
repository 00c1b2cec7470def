"""The indexer's DuckDB database: atomic block writes and rollbacks, the follower's cursor, and the deployment it
belongs to. The reads and side tables are its parts: title_inputs.py (the search index's inputs), reads.py,
project_reads.py and social_reads.py (the API's queries), social_state.py (actions judged, follows, likes, comments
and counts derived), offchain_tables.py (views, short links); schema.py holds the layout and
database.py the connection. These modules are the only ones that touch DuckDB; one process writes (the follower) and
the API reads through cursors of the same connection, so there is never a second writer.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from indexer import schema, social_state
from indexer.database import Database
from indexer.handlers import Insert, Write
from indexer.offchain_tables import OffchainTables
from indexer.project_reads import ProjectReads
from indexer.reads import ApiReads
from indexer.schema import BLOCK_COLS, TABLES, numpy_columns
from indexer.social_reads import SocialReads
from indexer.title_inputs import TitleIndexInputs
from mediaproof.errors import DeploymentError

__all__ = ["TABLES", "BlockRef", "Store"]


@dataclass(frozen=True)
class BlockRef:
    number: int
    hash: str
    parent_hash: str
    time: int


class Store(ApiReads, ProjectReads, SocialReads, TitleIndexInputs, OffchainTables, Database):
    """One DuckDB file. `apply` and `rollback_to` are atomic; reads use their own cursors."""

    def __init__(self, path: Path | str):
        super().__init__(path)
        if schema.installed_version(self.cursor()) != schema.SCHEMA_VERSION:
            schema.create(self._con, self.path)

    # -- identity --------------------------------------------------------------------------------------------
    def bind_deployment(self, identity: dict[str, Any]) -> None:
        """Refuses a database built from another chain or other contracts (it would mix two histories)."""
        wanted = json.dumps(identity, sort_keys=True)
        row = self.cursor().execute("SELECT value FROM meta WHERE key = 'deployment'").fetchone()
        if row is None:
            with self._write_lock:
                self._con.execute("INSERT INTO meta VALUES ('deployment', ?)", [wanted])
        elif row[0] != wanted:
            raise DeploymentError(
                f"{self.path} was built from another deployment ({row[0]}); "
                "point --db at a new file or delete this one to re-index"
            )

    # -- the cursor and the unfinalised blocks ---------------------------------------------------------------
    def head(self) -> BlockRef | None:
        """The last block written, or None before the first."""
        row = self.cursor().execute("SELECT * FROM blocks ORDER BY number DESC LIMIT 1").fetchone()
        return BlockRef(*row) if row else None

    def recent_blocks(self) -> list[BlockRef]:
        """Blocks kept for reorg checks, newest first."""
        return [BlockRef(*r) for r in self.cursor().execute("SELECT * FROM blocks ORDER BY number DESC").fetchall()]

    def user_contracts(self) -> set[str]:
        return {r[0] for r in self.cursor().execute("SELECT user_contract FROM users").fetchall()}

    # -- writes ----------------------------------------------------------------------------------------------
    def apply(self, blocks: Sequence[BlockRef], writes: Iterable[Write], keep_blocks: int = 256) -> None:
        """Writes the rows of `blocks` and moves the cursor to the last of them, all in one transaction."""
        inserts: dict[str, list[dict[str, Any]]] = defaultdict(list)
        for write in writes:
            if isinstance(write, Insert):
                inserts[write.table].append(write.row)
            else:
                row = {"media_id": write.media_id, "owner": write.owner, "block": write.block, "tx_hash": write.tx_hash}
                inserts["tombstones"].append(row)
        actions = inserts.pop("actions", [])
        with self._write_lock:
            con = self._con
            con.execute("BEGIN TRANSACTION")
            try:
                for table, rows in inserts.items():
                    self._insert(table, rows)
                if blocks and ("tombstones" in inserts or "media" in inserts):
                    # A tombstone holds whichever comes first, it or the record (UserMedia does not order them).
                    con.execute(
                        "UPDATE media SET deleted = true, deleted_block = t.block, deleted_tx_hash = t.tx_hash "
                        "FROM (SELECT media_id, owner, min(block) AS block, arg_min(tx_hash, block) AS tx_hash "
                        "      FROM tombstones GROUP BY ALL) t "
                        "WHERE media.id = t.media_id AND media.owner = t.owner AND NOT media.deleted "
                        "AND (t.block >= ? OR media.block >= ?)",
                        [blocks[0].number, blocks[0].number],
                    )
                if actions:  # judged against what came before them, media and tombstones of this range included
                    social_state.judge(con, actions)
                    self._insert("actions", actions)
                media = {r["id"] for r in inserts.get("media", [])} | {
                    r["media_id"] for r in inserts.get("tombstones", [])
                }
                if actions or media:
                    ids = [a["action_id"] for a in actions if a["status"] == "applied"]
                    social_state.touch_actions(con, "action_id IN (SELECT unnest(?::VARCHAR[]))", [ids])
                    social_state.touch_media(con, "SELECT unnest(?::VARCHAR[])", [sorted(media)])
                    social_state.refresh(con)
                if blocks:
                    self._insert_blocks(blocks)
                    # Older blocks are final for our purposes; the newest always stays as the cursor.
                    con.execute("DELETE FROM blocks WHERE number < ?", [blocks[-1].number - keep_blocks])
                con.execute("COMMIT")
            except BaseException:
                con.execute("ROLLBACK")
                raise

    def _insert(self, table: str, rows: list[dict[str, Any]]) -> None:
        """One INSERT per table per range: DuckDB scans the columns as numpy arrays (no per-row statements)."""
        incoming, select = numpy_columns(rows, TABLES[table])  # noqa: RUF059 - DuckDB finds `incoming` by name
        self._con.execute(f"INSERT INTO {table} SELECT {select} FROM incoming")

    def _insert_blocks(self, blocks: Sequence[BlockRef]) -> None:
        rows = [{"number": b.number, "hash": b.hash, "parent_hash": b.parent_hash, "time": b.time} for b in blocks]
        incoming, select = numpy_columns(rows, BLOCK_COLS)  # noqa: RUF059 - read by name, as above
        self._con.execute(f"INSERT OR REPLACE INTO blocks SELECT {select} FROM incoming")

    def rollback_to(self, number: int) -> None:
        """Removes everything written for blocks after `number`, in one transaction."""
        with self._write_lock:
            con = self._con
            con.execute("BEGIN TRANSACTION")
            try:
                social_state.touch_actions(con, "block > ?", [number])
                social_state.touch_media(
                    con,
                    "SELECT id FROM media WHERE block > ? UNION SELECT media_id FROM tombstones WHERE block > ?",
                    [number, number],
                )
                for table in TABLES:
                    con.execute(f"DELETE FROM {table} WHERE block > ?", [number])
                con.execute(
                    "UPDATE media SET deleted = false, deleted_block = NULL, deleted_tx_hash = NULL "
                    "WHERE deleted_block > ?",
                    [number],
                )
                social_state.refresh(con)
                con.execute("DELETE FROM blocks WHERE number > ?", [number])
                con.execute("COMMIT")
            except BaseException:
                con.execute("ROLLBACK")
                raise

    # -- snapshots (tests, benchmarks) -----------------------------------------------------------------------
    def table_rows(self, table: str) -> list[tuple[Any, ...]]:
        """Every row of a chain-derived table (or a table derived from them) in a canonical order, for comparing
        two databases."""
        cols = ", ".join(name for name, _ in TABLES[table]) if table in TABLES else "*"
        return self.cursor().execute(f"SELECT {cols} FROM {table} ORDER BY ALL").fetchall()
