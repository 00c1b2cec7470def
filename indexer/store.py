"""The indexer's DuckDB database: schema, atomic block writes, rollbacks, and the reads the API serves.

The only module that touches DuckDB. One process writes (the follower); the API reads through cursors of the
same connection, so there is never a second writer.
"""

from __future__ import annotations

import json
import threading
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd

from indexer.handlers import Insert, MarkDeleted, Write
from mediaproof.errors import DeploymentError

_WHERE = [("block", "BIGINT"), ("tx_index", "INTEGER"), ("log_index", "INTEGER"), ("tx_hash", "VARCHAR")]

# Chain-derived tables: every row has the block it came from, so a rollback is `DELETE ... WHERE block > n`.
TABLES: dict[str, list[tuple[str, str]]] = {
    "users": [
        ("owner", "VARCHAR"),
        ("user_contract", "VARCHAR"),
        ("deposit", "HUGEINT"),
        ("time", "BIGINT"),
        *_WHERE,
    ],
    "deposits": [
        ("owner", "VARCHAR"),
        ("kind", "VARCHAR"),
        ("amount", "HUGEINT"),
        ("balance", "HUGEINT"),
        ("relayer", "VARCHAR"),
        ("time", "BIGINT"),
        *_WHERE,
    ],
    "proofs": [
        ("sha256", "VARCHAR"),
        ("media_id", "VARCHAR"),
        ("owner", "VARCHAR"),
        ("user_contract", "VARCHAR"),
        ("time", "BIGINT"),
        *_WHERE,
    ],
    "media": [
        ("pos", "BIGINT"),  # Position.key: sortable, unique, the search index's row id
        ("id", "VARCHAR"),
        ("short_id", "VARCHAR"),  # known once the gateway's short links are indexed
        ("owner", "VARCHAR"),
        ("user_contract", "VARCHAR"),
        ("sha256", "VARCHAR"),
        ("cid", "VARCHAR"),
        ("title", "VARCHAR"),
        ("media_type", "VARCHAR"),
        ("size", "BIGINT"),
        ("parent", "VARCHAR"),
        ("cluster_ids", "INTEGER[]"),
        ("sender", "VARCHAR"),
        ("time", "BIGINT"),
        ("deleted", "BOOLEAN"),
        ("deleted_block", "BIGINT"),
        ("deleted_tx_hash", "VARCHAR"),
        *_WHERE,
    ],
    "variants": [
        ("media_id", "VARCHAR"),
        ("sha256", "VARCHAR"),
        ("name", "VARCHAR"),
        ("cid", "VARCHAR"),
        ("size", "BIGINT"),
        *_WHERE,
    ],
    "receipts": [
        ("media_id", "VARCHAR"),
        ("cluster_id", "INTEGER"),
        ("signer", "VARCHAR"),
        ("pinned_at", "BIGINT"),
        ("signature", "VARCHAR"),
        *_WHERE,
    ],
    "cluster_events": [
        ("cluster_id", "INTEGER"),
        ("kind", "VARCHAR"),  # registered · updated · signer_rotated · status
        ("signer", "VARCHAR"),
        ("weight", "INTEGER"),
        ("endpoint", "VARCHAR"),
        ("status", "VARCHAR"),
        ("changed_by", "VARCHAR"),
        ("time", "BIGINT"),
        *_WHERE,
    ],
    "setting_events": [
        ("contract", "VARCHAR"),
        ("address", "VARCHAR"),
        ("name", "VARCHAR"),
        ("args", "VARCHAR"),
        *_WHERE,
    ],
    # One row per distinct token of a title: the inverted index the title search loads.
    "search_tokens": [
        ("token", "VARCHAR"),
        ("media_pos", "BIGINT"),
        ("tf", "SMALLINT"),
        ("title_len", "SMALLINT"),
        ("block", "BIGINT"),
    ],
}

_EXTRA_DDL = """
CREATE TABLE IF NOT EXISTS blocks (number BIGINT PRIMARY KEY, hash VARCHAR NOT NULL,
                                   parent_hash VARCHAR NOT NULL, time BIGINT NOT NULL);
CREATE TABLE IF NOT EXISTS meta (key VARCHAR PRIMARY KEY, value VARCHAR NOT NULL);
-- Views counted by the download service, from its records (not chain data: rollbacks leave it alone).
CREATE TABLE IF NOT EXISTS media_views (record_id VARCHAR PRIMARY KEY, media_id VARCHAR NOT NULL,
  size VARCHAR NOT NULL, cluster_id INTEGER, viewed_at TIMESTAMP NOT NULL);
CREATE INDEX IF NOT EXISTS media_id_idx ON media(id);
CREATE INDEX IF NOT EXISTS media_pos_idx ON media(pos);
CREATE OR REPLACE VIEW clusters AS
  SELECT cluster_id,
         arg_max(signer, (block, log_index)) FILTER (WHERE signer IS NOT NULL) AS signer,
         arg_max(weight, (block, log_index)) FILTER (WHERE weight IS NOT NULL) AS weight,
         arg_max(endpoint, (block, log_index)) FILTER (WHERE endpoint IS NOT NULL) AS endpoint,
         arg_max(status, (block, log_index)) FILTER (WHERE status IS NOT NULL) AS status,
         min(time) AS registered_time
  FROM cluster_events GROUP BY cluster_id;
CREATE OR REPLACE VIEW cluster_status_history AS
  SELECT cluster_id, status, changed_by, time, block, tx_index, log_index, tx_hash
  FROM cluster_events WHERE status IS NOT NULL;
"""


@dataclass(frozen=True)
class BlockRef:
    number: int
    hash: str
    parent_hash: str
    time: int


class Store:
    """One DuckDB file. `apply` and `rollback_to` are atomic; reads use their own cursors."""

    def __init__(self, path: Path | str):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._con = duckdb.connect(str(self.path))
        self._write_lock = threading.Lock()
        for table, cols in TABLES.items():
            body = ", ".join(f"{name} {type_}" for name, type_ in cols)
            self._con.execute(f"CREATE TABLE IF NOT EXISTS {table} ({body})")
        self._con.execute(_EXTRA_DDL)

    def close(self) -> None:
        self._con.close()

    def cursor(self) -> duckdb.DuckDBPyConnection:
        """A reader's own connection to the database (DuckDB connections are not shared across threads)."""
        return self._con.cursor()

    # -- identity --------------------------------------------------------------------------------------------
    def bind_deployment(self, identity: dict[str, Any]) -> None:
        """Refuses a database built from another chain or other contracts (it would mix two histories)."""
        wanted = json.dumps(identity, sort_keys=True)
        row = self._con.execute("SELECT value FROM meta WHERE key = 'deployment'").fetchone()
        if row is None:
            self._con.execute("INSERT INTO meta VALUES ('deployment', ?)", [wanted])
        elif row[0] != wanted:
            raise DeploymentError(
                f"{self.path} was built from another deployment ({row[0]}); "
                "point --db at a new file or delete this one to re-index"
            )

    # -- the cursor and the unfinalised blocks ---------------------------------------------------------------
    def head(self) -> BlockRef | None:
        """The last block written, or None before the first."""
        row = self._con.execute("SELECT * FROM blocks ORDER BY number DESC LIMIT 1").fetchone()
        return BlockRef(*row) if row else None

    def recent_blocks(self) -> list[BlockRef]:
        """Blocks kept for reorg checks, newest first."""
        return [BlockRef(*r) for r in self._con.execute("SELECT * FROM blocks ORDER BY number DESC").fetchall()]

    def user_contracts(self) -> set[str]:
        return {r[0] for r in self._con.execute("SELECT user_contract FROM users").fetchall()}

    # -- writes ----------------------------------------------------------------------------------------------
    def apply(self, blocks: Sequence[BlockRef], writes: Iterable[Write], keep_blocks: int = 256) -> None:
        """Writes the rows of `blocks` and moves the cursor to the last of them, all in one transaction."""
        inserts: dict[str, list[dict[str, Any]]] = defaultdict(list)
        deletes: list[MarkDeleted] = []
        for write in writes:
            if isinstance(write, Insert):
                inserts[write.table].append(write.row)
            else:
                deletes.append(write)
        with self._write_lock:
            con = self._con
            con.execute("BEGIN TRANSACTION")
            try:
                for table, rows in inserts.items():
                    self._insert(table, rows)
                for d in deletes:
                    con.execute(
                        "UPDATE media SET deleted = true, deleted_block = ?, deleted_tx_hash = ? WHERE id = ?",
                        [d.block, d.tx_hash, d.media_id],
                    )
                if blocks:
                    con.executemany(
                        "INSERT OR REPLACE INTO blocks VALUES (?, ?, ?, ?)",
                        [[b.number, b.hash, b.parent_hash, b.time] for b in blocks],
                    )
                    # Older blocks are final for our purposes; the newest always stays as the cursor.
                    con.execute("DELETE FROM blocks WHERE number < ?", [blocks[-1].number - keep_blocks])
                con.execute("COMMIT")
            except BaseException:
                con.execute("ROLLBACK")
                raise

    def _insert(self, table: str, rows: list[dict[str, Any]]) -> None:
        cols = TABLES[table]
        frame = pd.DataFrame(
            {
                # Wei amounts can pass int64: hand them over as text and let DuckDB cast.
                name: [str(r[name]) if type_ == "HUGEINT" and r.get(name) is not None else r.get(name) for r in rows]
                for name, type_ in cols
            }
        )
        select = ", ".join(f"CAST({name} AS {type_})" for name, type_ in cols)
        self._con.register("incoming_rows", frame)
        try:
            self._con.execute(f"INSERT INTO {table} SELECT {select} FROM incoming_rows")
        finally:
            self._con.unregister("incoming_rows")

    def rollback_to(self, number: int) -> None:
        """Removes everything written for blocks after `number`, in one transaction."""
        with self._write_lock:
            con = self._con
            con.execute("BEGIN TRANSACTION")
            try:
                for table in TABLES:
                    con.execute(f"DELETE FROM {table} WHERE block > ?", [number])
                con.execute(
                    "UPDATE media SET deleted = false, deleted_block = NULL, deleted_tx_hash = NULL "
                    "WHERE deleted_block > ?",
                    [number],
                )
                con.execute("DELETE FROM blocks WHERE number > ?", [number])
                con.execute("COMMIT")
            except BaseException:
                con.execute("ROLLBACK")
                raise

    # -- snapshots (tests, benchmarks) -----------------------------------------------------------------------
    def table_rows(self, table: str) -> list[tuple[Any, ...]]:
        """Every row of a chain-derived table in a canonical order, for comparing two databases."""
        cols = ", ".join(name for name, _ in TABLES[table])
        return self.cursor().execute(f"SELECT {cols} FROM {table} ORDER BY ALL").fetchall()

    # -- the title index's inputs -----------------------------------------------------------------------------
    def load_postings(self) -> tuple[list[str], dict[str, Any]]:
        """Every token (sorted) and every posting as numpy columns (term number, media pos, tf, title length,
        block), ordered by term then media position: what the in-memory title index is built from."""
        cur = self.cursor()
        terms = [r[0] for r in cur.execute("SELECT DISTINCT token FROM search_tokens ORDER BY token").fetchall()]
        columns = cur.execute(
            """
            WITH terms AS (SELECT token, (row_number() OVER (ORDER BY token) - 1)::INTEGER AS term
                           FROM (SELECT DISTINCT token FROM search_tokens))
            SELECT term, media_pos, tf, title_len, block FROM search_tokens JOIN terms USING (token)
            ORDER BY term, media_pos
            """
        ).fetchnumpy()
        return terms, columns

    def postings_after(self, block: int) -> list[tuple[str, int, int, int, int]]:
        """Postings of blocks after `block`, in chain order: (token, media pos, tf, title length, block)."""
        return (
            self.cursor()
            .execute(
                "SELECT token, media_pos, tf, title_len, block FROM search_tokens WHERE block > ? ORDER BY media_pos",
                [block],
            )
            .fetchall()
        )

    def deleted_positions(self) -> list[int]:
        return [r[0] for r in self.cursor().execute("SELECT pos FROM media WHERE deleted").fetchall()]

    # -- reads the API serves ------------------------------------------------------------------------------------
    def _dicts(self, sql: str, params: list[Any] | None = None) -> list[dict[str, Any]]:
        cur = self.cursor()
        cur.execute(sql, params or [])
        names = [d[0] for d in cur.description]
        return [dict(zip(names, row, strict=True)) for row in cur.fetchall()]

    _MEDIA_COLS = (
        "id, short_id, owner, user_contract, sha256, cid, title, media_type, size, parent, time, block, "
        "tx_hash, deleted"
    )

    def media_by_positions(self, positions: list[int]) -> list[dict[str, Any]]:
        """Media rows in the order of `positions` (search hits)."""
        if not positions:
            return []
        marks = ", ".join("?" * len(positions))
        rows = self._dicts(f"SELECT pos, {self._MEDIA_COLS} FROM media WHERE pos IN ({marks})", list(positions))
        by_pos = {r.pop("pos"): r for r in rows}
        return [by_pos[p] for p in positions if p in by_pos]

    def media_detail(self, key: str) -> dict[str, Any] | None:
        """One media record by id or sha256 (the first registration of those bytes), with its proof."""
        rows = self._dicts(
            f"SELECT {self._MEDIA_COLS} FROM media WHERE id = ? OR sha256 = ? ORDER BY pos LIMIT 1", [key, key]
        )
        if not rows:
            return None
        media = rows[0]
        media["variants"] = self._dicts(
            "SELECT name, sha256, cid, size FROM variants WHERE media_id = ? ORDER BY log_index", [media["id"]]
        )
        media["receipts"] = self._dicts(
            "SELECT cluster_id, signer, pinned_at, signature FROM receipts WHERE media_id = ? ORDER BY log_index",
            [media["id"]],
        )
        first = self._dicts(
            "SELECT media_id, owner, user_contract, time, block, tx_hash FROM proofs WHERE sha256 = ?",
            [media["sha256"]],
        )
        media["first_registration"] = first[0] if first else None
        return media

    def user_profile(self, address: str, limit: int, offset: int) -> dict[str, Any] | None:
        users = self._dicts(
            "SELECT owner, user_contract, deposit::VARCHAR AS deposit, time, block FROM users "
            "WHERE owner = ? OR user_contract = ?",
            [address, address],
        )
        if not users:
            return None
        user = users[0]
        balance = self._dicts(
            "SELECT balance::VARCHAR AS balance FROM deposits WHERE owner = ? "
            "ORDER BY block DESC, tx_index DESC, log_index DESC LIMIT 1",
            [user["owner"]],
        )
        user["deposit_balance"] = balance[0]["balance"] if balance else user["deposit"]
        user["media_count"] = self._dicts(
            "SELECT count(*) AS n FROM media WHERE owner = ? AND NOT deleted", [user["owner"]]
        )[0]["n"]
        user["media"] = self._dicts(
            f"SELECT {self._MEDIA_COLS} FROM media WHERE owner = ? AND NOT deleted ORDER BY pos DESC LIMIT ? OFFSET ?",
            [user["owner"], limit, offset],
        )
        return user

    def recent_media(self, limit: int, offset: int) -> list[dict[str, Any]]:
        return self._dicts(
            f"SELECT {self._MEDIA_COLS} FROM media WHERE NOT deleted ORDER BY pos DESC LIMIT ? OFFSET ?",
            [limit, offset],
        )

    def cluster_list(self) -> list[dict[str, Any]]:
        return self._dicts(
            """
            SELECT c.cluster_id, c.signer, c.weight, c.endpoint, c.status, c.registered_time,
                   count(DISTINCT m.id) AS objects
            FROM clusters c
            LEFT JOIN receipts r ON r.cluster_id = c.cluster_id
            LEFT JOIN media m ON m.id = r.media_id AND NOT m.deleted
            GROUP BY ALL ORDER BY c.cluster_id
            """
        )

    def media_analytics(self, media_id: str) -> dict[str, Any]:
        per_day = self._dicts(
            "SELECT CAST(viewed_at AS DATE)::VARCHAR AS day, count(*) AS views FROM media_views "
            "WHERE media_id = ? GROUP BY ALL ORDER BY day",
            [media_id],
        )
        per_size = self._dicts(
            "SELECT size, count(*) AS views FROM media_views WHERE media_id = ? GROUP BY ALL ORDER BY size",
            [media_id],
        )
        return {
            "media_id": media_id,
            "views": sum(d["views"] for d in per_day),
            "per_day": per_day,
            "per_size": per_size,
        }

    def media_exists(self, media_id: str) -> bool:
        return bool(self._dicts("SELECT 1 AS x FROM media WHERE id = ?", [media_id]))
