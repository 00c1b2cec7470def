"""The indexer's DuckDB database: schema, atomic block writes, rollbacks, and the reads the API serves.

The only module that touches DuckDB. One process writes (the follower); the API reads through cursors of the
same connection, so there is never a second writer.

Threads: the connection itself (`_con`) is the writer's, used under `_write_lock`. Every read goes through the
calling thread's own cursor (`cursor()`), made on its first read: a DuckDB connection runs one statement at a
time, so API threads reading on the writer's connection got the writer's rows back (`TypeError BlockRef`,
`ValueError unpack` under 16 readers during commits, issue 9). Cursors read the last committed state, never a
block half-written, and do not wait for the writer (bench/abuse.py measures them beside one lock for all).
"""

from __future__ import annotations

import json
import logging
import threading
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb
import numpy as np

from indexer.handlers import Insert, Write
from indexer.media_rows import MEDIA_COLUMNS
from mediaproof.errors import DeploymentError

log = logging.getLogger("indexer")
# Bumped when a table's layout changes: an older file is then rebuilt from its sources.
SCHEMA_VERSION = "5"

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
        ("kind", "VARCHAR"),  # added · withdrawn · withdrawal_requested · relay_fee
        ("amount", "HUGEINT"),
        ("balance", "HUGEINT"),  # NULL for a withdrawal request (nothing moved yet)
        ("relayer", "VARCHAR"),
        ("available_at", "BIGINT"),
        ("time", "BIGINT"),
        *_WHERE,
    ],
    # ProofRevealed: a batched file written into MediaApp.proofOf.
    "proofs": [
        ("sha256", "VARCHAR"),
        ("media_id", "VARCHAR"),
        ("owner", "VARCHAR"),
        ("batch", "BIGINT"),
        ("revealer", "VARCHAR"),
        ("time", "BIGINT"),
        *_WHERE,
    ],
    # BatchAnchored, with what its manifest gave: the rebuilt tree (for proofs) and how many entries passed.
    "batches": [
        ("root", "VARCHAR"),
        ("sequencer", "VARCHAR"),
        ("manifest_cid", "VARCHAR"),  # base32 CIDv1, NULL when the event's bytes are not a CID
        ("manifest_cid_hex", "VARCHAR"),  # the event's bytes
        ("status", "VARCHAR"),  # indexed · refused
        ("problem", "VARCHAR"),  # why a refused manifest gave no media
        ("declared", "INTEGER"),  # entries the manifest lists
        ("indexed", "INTEGER"),  # entries that passed the checks
        ("rejected", "VARCHAR"),  # JSON: [{"entry": i, "why": "..."}]
        ("tree", "VARCHAR[]"),  # node hashes, OpenZeppelin layout (root first)
        ("time", "BIGINT"),
        *_WHERE,
    ],
    "media": [
        ("pos", "BIGINT"),  # Position.entry_key: sortable, unique, the search index's row id
        ("id", "VARCHAR"),
        ("short_id", "VARCHAR"),  # known once the gateway's short links are indexed
        ("kind", "VARCHAR"),  # direct · batched
        ("batch", "BIGINT"),  # the anchor's block for batched media, 0 for direct
        ("owner", "VARCHAR"),
        ("user_contract", "VARCHAR"),  # NULL for batched media (the owner needs no UserMedia)
        ("sha256", "VARCHAR"),
        ("cid", "VARCHAR"),
        ("title", "VARCHAR"),
        ("media_type", "VARCHAR"),
        ("size", "BIGINT"),
        ("parent", "VARCHAR"),
        ("cluster_ids", "INTEGER[]"),
        ("sender", "VARCHAR"),  # who sent it: the owner or a relayer (direct), the sequencer (batched)
        ("time", "BIGINT"),
        ("deleted", "BOOLEAN"),
        ("deleted_block", "BIGINT"),
        ("deleted_tx_hash", "VARCHAR"),
        # what a proof bundle needs beside the above
        ("tree_index", "INTEGER"),  # batched: the leaf's place in its batch's tree
        ("leaf", "VARCHAR"),  # batched: the batch leaf; direct: the media id
        ("receipts_hash", "VARCHAR"),  # batched only (a direct bundle hashes its receipts when asked)
        ("record", "VARCHAR"),  # JSON of the signed MediaRecord message; NULL when a direct one could not be read
        ("owner_signature", "VARCHAR"),
        ("signature_check", "VARCHAR"),  # on-chain (direct) · ecdsa · erc1271-unchecked (batched)
        *_WHERE,
    ],
    "variants": [
        ("media_id", "VARCHAR"),
        ("idx", "INTEGER"),  # order within a batched record (direct variants are ordered by log index)
        ("sha256", "VARCHAR"),
        ("name", "VARCHAR"),
        ("cid", "VARCHAR"),
        ("size", "BIGINT"),
        *_WHERE,
    ],
    "receipts": [
        ("media_id", "VARCHAR"),
        ("idx", "INTEGER"),  # order within the registration
        ("cluster_id", "INTEGER"),
        ("issued_at", "BIGINT"),
        ("signature", "VARCHAR"),
        *_WHERE,
    ],
    # MediaDeleted: a media id its owner tombstoned, whenever its record comes (UserMedia does not order them).
    "tombstones": [
        ("media_id", "VARCHAR"),
        ("owner", "VARCHAR"),
        *_WHERE,
    ],
    "cluster_events": [
        ("cluster_id", "INTEGER"),
        ("kind", "VARCHAR"),  # registered · updated · signer_rotated · status
        ("signer", "VARCHAR"),
        ("weight", "INTEGER"),
        ("endpoint", "VARCHAR"),
        ("status", "VARCHAR"),
        ("held", "BOOLEAN"),  # a status the admin set, which observers may not change
        ("changed_by", "VARCHAR"),
        ("time", "BIGINT"),
        *_WHERE,
    ],
    # ProjectRegistry: a project's creation (its name travels in this event only), every commit (each a version,
    # restorable from its manifest), and each grant or revoke (the role history; `project_grants` is the current role).
    "projects": [
        ("project_id", "VARCHAR"),
        ("owner", "VARCHAR"),
        ("name", "VARCHAR"),
        ("private", "BOOLEAN"),
        ("time", "BIGINT"),
        *_WHERE,
    ],
    "project_versions": [
        ("project_id", "VARCHAR"),
        ("version", "BIGINT"),
        ("manifest_sha256", "VARCHAR"),
        ("manifest_cid", "VARCHAR"),
        ("committer", "VARCHAR"),
        ("time", "BIGINT"),
        *_WHERE,
    ],
    "project_grant_events": [
        ("project_id", "VARCHAR"),
        ("grantee", "VARCHAR"),
        ("role", "VARCHAR"),  # read · write · none (revoked)
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
    # One row per title: its distinct tokens and their counts, what the in-memory title index is built from.
    "search_tokens": [
        ("media_pos", "BIGINT"),
        ("tokens", "VARCHAR[]"),
        ("tfs", "SMALLINT[]"),
        ("title_len", "SMALLINT"),
        ("block", "BIGINT"),
    ],
}

_VIEW_COLS = [
    ("file", "VARCHAR"),
    ("viewed_at", "DOUBLE"),
    ("day", "DATE"),
    ("short_id", "VARCHAR"),
    ("size", "VARCHAR"),
    ("served", "VARCHAR"),
    ("status", "SMALLINT"),
    ("byte_offset", "BIGINT"),
    ("bytes", "BIGINT"),
    ("counted", "BOOLEAN"),
]
_BLOCK_COLS = [("number", "BIGINT"), ("hash", "VARCHAR"), ("parent_hash", "VARCHAR"), ("time", "BIGINT")]

_EXTRA_DDL = """
CREATE TABLE IF NOT EXISTS blocks (number BIGINT PRIMARY KEY, hash VARCHAR NOT NULL,
                                   parent_hash VARCHAR NOT NULL, time BIGINT NOT NULL);
CREATE TABLE IF NOT EXISTS meta (key VARCHAR PRIMARY KEY, value VARCHAR NOT NULL);
-- Not chain data (rollbacks leave them alone): the download service's view records, each file read up to
-- read_bytes, and the gateway's short links mirrored up to the meta key 'gateway_rowid'.
CREATE TABLE IF NOT EXISTS media_views (file VARCHAR NOT NULL, viewed_at DOUBLE NOT NULL, day DATE NOT NULL,
  short_id VARCHAR NOT NULL, size VARCHAR NOT NULL, served VARCHAR NOT NULL, status SMALLINT NOT NULL,
  byte_offset BIGINT NOT NULL, bytes BIGINT NOT NULL, counted BOOLEAN NOT NULL);
CREATE TABLE IF NOT EXISTS view_files (file VARCHAR PRIMARY KEY, read_bytes BIGINT NOT NULL);
CREATE TABLE IF NOT EXISTS short_links (short_id VARCHAR PRIMARY KEY, media_id VARCHAR);
CREATE INDEX IF NOT EXISTS media_id_idx ON media(id);
CREATE INDEX IF NOT EXISTS media_pos_idx ON media(pos);
CREATE INDEX IF NOT EXISTS media_sha256_idx ON media(sha256);
CREATE OR REPLACE VIEW clusters AS
  SELECT cluster_id,
         arg_max(signer, (block, log_index)) FILTER (WHERE signer IS NOT NULL) AS signer,
         arg_max(weight, (block, log_index)) FILTER (WHERE weight IS NOT NULL) AS weight,
         arg_max(endpoint, (block, log_index)) FILTER (WHERE endpoint IS NOT NULL) AS endpoint,
         arg_max(status, (block, log_index)) FILTER (WHERE status IS NOT NULL) AS status,
         arg_max(held, (block, log_index)) FILTER (WHERE held IS NOT NULL) AS held,
         min(time) AS registered_time
  FROM cluster_events GROUP BY cluster_id;
CREATE INDEX IF NOT EXISTS project_versions_idx ON project_versions(project_id, version);
-- A grantee's current role on a project: its newest grant or revoke, unless that was a revoke.
CREATE OR REPLACE VIEW project_grants AS
  SELECT project_id, grantee, role, time, block, tx_hash FROM project_grant_events
  QUALIFY row_number() OVER (PARTITION BY project_id, grantee ORDER BY block DESC, log_index DESC) = 1
      AND role <> 'none';
CREATE OR REPLACE VIEW cluster_status_history AS
  SELECT cluster_id, status, held, changed_by, time, block, tx_index, log_index, tx_hash
  FROM cluster_events WHERE status IS NOT NULL;
"""


_INT_TYPES = ("BIGINT", "INTEGER", "SMALLINT")


def _columns(rows: list[dict[str, Any]], cols: list[tuple[str, str]]) -> tuple[dict[str, np.ndarray], str]:
    """Rows turned into numpy columns that DuckDB scans by name, and the SELECT list that casts them back.

    Ints and booleans go as int64/bool arrays (no per-object type sniffing), everything else as object arrays of
    str. Missing values travel as a separate bool mask, lists (of ints, or of tokens, which never hold a space)
    as space-joined text: DuckDB's numpy scan fails on object columns whose first 1000 values are None.
    """
    incoming: dict[str, np.ndarray] = {}
    select = []
    for name, type_ in cols:
        values: list[Any] = [r.get(name) for r in rows]
        missing = [v is None for v in values]
        if all(missing):
            select.append(f"NULL::{type_}")
            continue
        if any(missing):
            blank: Any = 0 if type_ in _INT_TYPES else False if type_ == "BOOLEAN" else ""
            values = [blank if v is None else v for v in values]
            incoming[name + "__null"] = np.array(missing, dtype=bool)
        if type_ in _INT_TYPES:
            column = np.array(values, dtype=np.int64)
            expr = f"CAST({name} AS {type_})"
        elif type_ == "BOOLEAN":
            column = np.array(values, dtype=bool)
            expr = name
        else:
            if type_.endswith("[]"):
                values = [" ".join(map(str, v)) for v in values]
                expr = f"if({name} = '', []::{type_}, CAST(string_split({name}, ' ') AS {type_}))"
            elif type_ == "HUGEINT":
                values = [str(v) for v in values]  # wei amounts can pass int64: DuckDB casts the text
                expr = f"CAST(NULLIF({name}, '') AS HUGEINT)"
            else:
                expr = name
            column = np.empty(len(values), dtype=object)
            column[:] = values
        incoming[name] = column
        select.append(f"if({name}__null, NULL, {expr})" if any(missing) else expr)
    return incoming, ", ".join(select)


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
        self._local = threading.local()
        if self._schema_version() != SCHEMA_VERSION:
            self._create_schema()

    def _schema_version(self) -> str | None:
        cur = self.cursor()
        names = {r[0] for r in cur.execute("SELECT table_name FROM information_schema.tables").fetchall()}
        if "meta" not in names:
            return "none" if names else None
        row = cur.execute("SELECT value FROM meta WHERE key = 'schema'").fetchone()
        return row[0] if row else "none"

    def _create_schema(self) -> None:
        """One transaction (one sync to disk: a restart costs milliseconds, not one sync per table). Everything
        here is derived (from the chain, the gateway and view files), so a database of an older layout is
        emptied and rebuilt rather than migrated."""
        con = self._con
        version = self._schema_version()
        con.execute("BEGIN TRANSACTION")
        try:
            if version is not None:
                log.warning("%s has an older layout (schema %s, now %s): re-indexing from scratch", self.path,
                            version, SCHEMA_VERSION)  # fmt: skip
                for kind, name in con.execute(
                    "SELECT table_type, table_name FROM information_schema.tables ORDER BY table_type = 'VIEW' DESC"
                ).fetchall():
                    con.execute(f"DROP {'VIEW' if kind == 'VIEW' else 'TABLE'} IF EXISTS {name}")
            for table, cols in TABLES.items():
                body = ", ".join(f"{name} {type_}" for name, type_ in cols)
                con.execute(f"CREATE TABLE IF NOT EXISTS {table} ({body})")
            con.execute(_EXTRA_DDL)
            con.execute("INSERT INTO meta VALUES ('schema', ?)", [SCHEMA_VERSION])
            con.execute("COMMIT")
        except BaseException:
            con.execute("ROLLBACK")
            raise

    def close(self) -> None:
        self._con.close()

    def cursor(self) -> duckdb.DuckDBPyConnection:
        """The calling thread's own connection to the database, for reads (made on its first read, then reused)."""
        cur: duckdb.DuckDBPyConnection | None = getattr(self._local, "cursor", None)
        if cur is None:
            cur = self._local.cursor = self._con.cursor()
        return cur

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
        incoming, select = _columns(rows, TABLES[table])  # noqa: RUF059 - DuckDB finds `incoming` by name
        self._con.execute(f"INSERT INTO {table} SELECT {select} FROM incoming")

    def _insert_blocks(self, blocks: Sequence[BlockRef]) -> None:
        rows = [{"number": b.number, "hash": b.hash, "parent_hash": b.parent_hash, "time": b.time} for b in blocks]
        incoming, select = _columns(rows, _BLOCK_COLS)  # noqa: RUF059 - read by name, as above
        self._con.execute(f"INSERT OR REPLACE INTO blocks SELECT {select} FROM incoming")

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
    def load_postings(self) -> tuple[list[str], dict[str, np.ndarray], dict[str, np.ndarray]]:
        """What the in-memory title index is built from: every token (sorted); every posting as numpy columns
        (term number, media pos, tf, title length) ordered by term then media position; and every title
        (media pos, title length, block) ordered by media position."""
        cur = self.cursor()
        cur.execute(
            """
            CREATE OR REPLACE TEMP TABLE postings AS
              SELECT unnest(tokens) AS token, media_pos, unnest(tfs) AS tf, title_len FROM search_tokens
            """
        )
        try:
            terms = [r[0] for r in cur.execute("SELECT DISTINCT token FROM postings ORDER BY token").fetchall()]
            columns = cur.execute(
                """
                WITH terms AS (SELECT token, (row_number() OVER (ORDER BY token) - 1)::INTEGER AS term
                               FROM (SELECT DISTINCT token FROM postings))
                SELECT term, media_pos, tf, title_len FROM postings JOIN terms USING (token)
                ORDER BY term, media_pos
                """
            ).fetchnumpy()
        finally:
            cur.execute("DROP TABLE IF EXISTS postings")
        docs = cur.execute("SELECT media_pos, title_len, block FROM search_tokens ORDER BY media_pos").fetchnumpy()
        return terms, columns, docs

    def titles_after(self, block: int) -> list[tuple[int, list[str], list[int], int, int]]:
        """Titles of blocks after `block`, in chain order: (media pos, tokens, their counts, length, block)."""
        return (
            self.cursor()
            .execute(
                "SELECT media_pos, tokens, tfs, title_len, block FROM search_tokens WHERE block > ? ORDER BY media_pos",
                [block],
            )
            .fetchall()
        )

    def media_columns(self) -> dict[str, Any]:
        """Every media row as columns (lists or numpy arrays, None for NULL), ordered by position."""
        columns = self.cursor().execute(f"SELECT {', '.join(MEDIA_COLUMNS)} FROM media ORDER BY pos").fetchnumpy()
        return {
            k: v.tolist() if isinstance(v, np.ma.MaskedArray) or v.dtype == object else v for k, v in columns.items()
        }

    def media_after(self, block: int) -> dict[int, dict[str, Any]]:
        """Media rows of blocks after `block`, by position."""
        rows = self._dicts(f"SELECT pos, {', '.join(MEDIA_COLUMNS)} FROM media WHERE block > ?", [block])
        return {r.pop("pos"): r for r in rows}

    def deleted_positions(self) -> list[int]:
        return [r[0] for r in self.cursor().execute("SELECT pos FROM media WHERE deleted").fetchall()]

    # -- reads the API serves ------------------------------------------------------------------------------------
    def _dicts(self, sql: str, params: list[Any] | None = None) -> list[dict[str, Any]]:
        cur = self.cursor()
        cur.execute(sql, params or [])
        names = [d[0] for d in cur.description]
        return [dict(zip(names, row, strict=True)) for row in cur.fetchall()]

    _MEDIA_COLS = (
        "id, short_id, kind, batch, owner, user_contract, sha256, cid, title, media_type, size, parent, time, block, "
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

    def first_media_id(self, sha256: str) -> str | None:
        """The media id of the first proof of these bytes (earliest block, then earliest log, then batch entry)."""
        row = self.cursor().execute("SELECT id FROM media WHERE sha256 = ? ORDER BY pos LIMIT 1", [sha256]).fetchone()
        return row[0] if row else None

    def first_proofs(self, sha256s: Iterable[str]) -> dict[str, dict[str, Any]]:
        """The first proof of each of these bytes (as media_detail's `first_registration`: owner, media_id, block,
        short_id), by sha256; one query for a page of rows."""
        keys = sorted(set(sha256s))
        if not keys:
            return {}
        rows = self._dicts(
            "SELECT m.sha256, m.owner, m.id AS media_id, m.block, m.short_id FROM "
            f"(SELECT min(pos) AS pos FROM media WHERE sha256 IN ({', '.join('?' * len(keys))}) GROUP BY sha256) f "
            "JOIN media m ON m.pos = f.pos",
            keys,
        )
        return {r.pop("sha256"): r for r in rows}

    def media_detail(self, media_id: str) -> dict[str, Any] | None:
        """One media record by its media id (its own registration, never another record of the same bytes), with
        its variants, receipts, and the first proof of its bytes."""
        rows = self._dicts(
            f"SELECT pos, log_index, {self._MEDIA_COLS}, signature_check FROM media WHERE id = ? ORDER BY pos LIMIT 1",
            [media_id],
        )
        if not rows:
            return None
        media = rows[0]
        pos, log_index = media.pop("pos"), media.pop("log_index")
        where = [media["id"], media["block"], media["tx_hash"]]
        media["variants"] = self._dicts(
            "SELECT name, sha256, cid, size FROM variants WHERE media_id = ? AND block = ? AND tx_hash = ? "
            "ORDER BY log_index, idx",
            where,
        )
        media["receipts"] = self._receipts(*where)
        first = self._dicts(
            "SELECT pos, owner, id AS media_id, block, short_id FROM media WHERE sha256 = ? ORDER BY pos LIMIT 1",
            [media["sha256"]],
        )[0]
        media["is_first_proof"] = first.pop("pos") == pos
        media["first_registration"] = first
        media["manifest_cid"] = None
        media["revealed"] = None
        if media["kind"] == "batched":
            batch = self._dicts(
                "SELECT manifest_cid FROM batches WHERE block = ? AND log_index = ?", [media["block"], log_index]
            )
            media["manifest_cid"] = batch[0]["manifest_cid"] if batch else None
            media["revealed"] = bool(
                self._dicts("SELECT 1 AS x FROM proofs WHERE media_id = ? AND batch = ?", [media["id"], media["batch"]])
            )
        return media

    def _receipts(self, media_id: str, block: int, tx_hash: str) -> list[dict[str, Any]]:
        return self._dicts(
            "SELECT cluster_id, issued_at, signature FROM receipts WHERE media_id = ? AND block = ? AND tx_hash = ? "
            "ORDER BY log_index, idx",
            [media_id, block, tx_hash],
        )

    _PROOF_COLS = (
        "m.pos, m.id, m.kind, m.batch, m.owner, m.user_contract, m.sha256, m.block, m.tx_hash, m.tree_index, m.leaf, "
        "m.receipts_hash, m.record, m.owner_signature, m.signature_check, b.manifest_cid, b.tree"
    )

    def proof_sources(self, *, sha256: str | None = None, media_id: str | None = None) -> list[dict[str, Any]]:
        """What the proof bundles of some bytes (every record of them, earliest first) or of one media id are made
        from: each media row's proof columns, its receipts, and for a batched one its batch's tree."""
        if (sha256 is None) == (media_id is None):
            raise ValueError("give sha256 or media_id")
        column, key = ("sha256", sha256) if sha256 is not None else ("id", media_id)
        rows = self._dicts(
            f"SELECT {self._PROOF_COLS} FROM media m LEFT JOIN batches b "
            "ON m.kind = 'batched' AND b.block = m.block AND b.log_index = m.log_index "
            f"WHERE m.{column} = ? ORDER BY m.pos" + (" LIMIT 1" if media_id is not None else ""),
            [key],
        )
        for row in rows:
            row["receipts"] = self._receipts(row["id"], row["block"], row["tx_hash"])
        return rows

    # -- projects ------------------------------------------------------------------------------------------------
    # A project as lists show it: who owns it, its name, privacy, and its head (the newest version; 0 before the
    # first commit). The contract bumps the version by one per commit, so the newest version is the highest.
    _PROJECT_SELECT = (
        "SELECT p.project_id, p.owner, p.name, p.private, coalesce(v.version, 0) AS version, "
        "v.manifest_sha256, v.manifest_cid, v.committer, v.time AS updated_time, v.block AS updated_block, "
        "v.tx_hash AS updated_tx_hash, p.time AS created_time, "
        "p.block AS created_block, p.tx_hash AS created_tx_hash FROM projects p "
        "LEFT JOIN (SELECT * FROM project_versions QUALIFY row_number() OVER "
        "(PARTITION BY project_id ORDER BY version DESC, block DESC, log_index DESC) = 1) v USING (project_id) "
    )

    def project(self, project_id: str) -> dict[str, Any] | None:
        """One project with its head and its grantees' current roles; None if no ProjectCreated names it."""
        rows = self._dicts(self._PROJECT_SELECT + "WHERE p.project_id = ? ORDER BY p.block LIMIT 1", [project_id])
        if not rows:
            return None
        found = rows[0]
        head = {k.removeprefix("updated_"): found.pop(k) for k in (
            "manifest_sha256", "manifest_cid", "committer", "updated_time", "updated_block", "updated_tx_hash"
        )}  # fmt: skip
        found["head"] = None if found["version"] == 0 else head
        found["grants"] = self._dicts(
            "SELECT grantee, role, time, block, tx_hash FROM project_grants WHERE project_id = ? "
            "ORDER BY block, grantee",
            [project_id],
        )
        return found

    def project_versions(self, project_id: str, limit: int, offset: int) -> list[dict[str, Any]]:
        """A project's versions, newest first."""
        return self._dicts(
            "SELECT version, committer, time, block, tx_hash, manifest_cid, manifest_sha256 FROM project_versions "
            "WHERE project_id = ? ORDER BY version DESC, block DESC, log_index DESC LIMIT ? OFFSET ?",
            [project_id, limit, offset],
        )

    def projects_of(self, address: str, limit: int, offset: int) -> dict[str, list[dict[str, Any]]]:
        """The projects `address` owns (role "owner") and those shared with it (its current role), newest first."""
        owned = self._dicts(
            f"SELECT * FROM ({self._PROJECT_SELECT} WHERE p.owner = ?) "
            "ORDER BY created_block DESC, project_id LIMIT ? OFFSET ?",
            [address, limit, offset],
        )
        shared = self._dicts(
            f"SELECT q.*, g.role FROM ({self._PROJECT_SELECT}) q JOIN project_grants g USING (project_id) "
            "WHERE g.grantee = ? ORDER BY g.block DESC, q.project_id LIMIT ? OFFSET ?",
            [address, limit, offset],
        )
        for row in owned:
            row["role"] = "owner"
        return {"owned": owned, "shared": shared}

    def deployment_identity(self) -> dict[str, Any] | None:
        """The chain and contracts this database follows (what bind_deployment stored); None before the follower
        bound one."""
        row = self.cursor().execute("SELECT value FROM meta WHERE key = 'deployment'").fetchone()
        return dict(json.loads(row[0])) if row else None

    def batches_in_block(self, block: int) -> list[dict[str, Any]]:
        """The batches anchored in one block (a batch's number is its block): anchor, manifest, how it was read."""
        rows = self._dicts(
            "SELECT block AS batch, root, sequencer, manifest_cid, manifest_cid_hex, status, problem, declared, "
            "indexed, rejected, time, block, tx_hash FROM batches WHERE block = ? ORDER BY log_index",
            [block],
        )
        for row in rows:
            row["rejected"] = json.loads(row["rejected"])
        return rows

    def user_profile(self, address: str, limit: int, offset: int) -> dict[str, Any] | None:
        """An owner (by wallet or UserMedia address) and their media, newest first; also an owner who has only
        batched media (they need no UserMedia)."""
        users = self._dicts(
            "SELECT owner, user_contract, deposit::VARCHAR AS deposit, time, block FROM users "
            "WHERE owner = ? OR user_contract = ?",
            [address, address],
        )
        if users:
            user = users[0]
        elif self._dicts("SELECT 1 AS x FROM media WHERE owner = ? LIMIT 1", [address]):
            user = {"owner": address, "user_contract": None, "deposit": None, "time": None, "block": None}
        else:
            return None
        balance = self._dicts(
            "SELECT balance::VARCHAR AS balance FROM deposits WHERE owner = ? AND balance IS NOT NULL "
            "ORDER BY block DESC, log_index DESC LIMIT 1",
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
        """Views of a media (through its short links) per UTC day and per size asked for."""
        where = "counted AND short_id IN (SELECT short_id FROM short_links WHERE media_id = ?)"
        per_day = self._dicts(
            f"SELECT day::VARCHAR AS day, count(*) AS views FROM media_views WHERE {where} GROUP BY ALL ORDER BY day",
            [media_id],
        )
        per_size = self._dicts(
            f"SELECT size, count(*) AS views FROM media_views WHERE {where} GROUP BY ALL ORDER BY size", [media_id]
        )
        return {
            "media_id": media_id,
            "views": sum(d["views"] for d in per_day),
            "per_day": per_day,
            "per_size": per_size,
        }

    # -- views and short links (not chain data) -------------------------------------------------------------------
    def view_cursors(self) -> dict[str, int]:
        """View file name → how many of its bytes are in media_views."""
        return dict(self.cursor().execute("SELECT file, read_bytes FROM view_files").fetchall())

    def add_views(self, file: str, read_bytes: int, records: Sequence[Any]) -> None:
        """The records of one file's next lines and its new cursor, in one transaction."""
        rows = [{"file": file} | vars(r) for r in records]
        with self._write_lock:
            con = self._con
            con.execute("BEGIN TRANSACTION")
            try:
                if rows:
                    incoming, select = _columns(rows, _VIEW_COLS)  # noqa: RUF059 - read by name, as above
                    con.execute(f"INSERT INTO media_views SELECT {select} FROM incoming")
                con.execute("INSERT OR REPLACE INTO view_files VALUES (?, ?)", [file, read_bytes])
                con.execute("COMMIT")
            except BaseException:
                con.execute("ROLLBACK")
                raise

    def short_link_cursor(self) -> int:
        row = self.cursor().execute("SELECT value FROM meta WHERE key = 'gateway_rowid'").fetchone()
        return int(row[0]) if row else 0

    def pending_short_ids(self, after: str, limit: int) -> list[str]:
        """Mirrored links that had no media id yet (their upload was not registered when they were read), in short
        id order after `after`."""
        rows = self.cursor().execute(
            "SELECT short_id FROM short_links WHERE media_id IS NULL AND short_id > ? ORDER BY short_id LIMIT ?",
            [after, limit],
        )
        return [r[0] for r in rows.fetchall()]

    def add_short_links(
        self, links: Sequence[tuple[int, str, str | None]], move_cursor: bool = True
    ) -> list[tuple[int, str]]:
        """Mirrors gateway links (rowid, short id, media id), moves the cursor past them (unless `move_cursor` is
        False: links looked up again) and sets the short id of media already indexed, in one transaction; returns
        (media position, short id) of those media."""
        if not links:
            return []
        with self._write_lock:
            con = self._con
            con.execute("BEGIN TRANSACTION")
            try:
                incoming = {  # noqa: F841 - read by name, as above
                    "short_id": np.array([link[1] for link in links], dtype=object),
                    "media_id": np.array([link[2] or "" for link in links], dtype=object),
                }
                con.execute("INSERT OR REPLACE INTO short_links SELECT short_id, NULLIF(media_id, '') FROM incoming")
                if move_cursor:
                    con.execute("INSERT OR REPLACE INTO meta VALUES ('gateway_rowid', ?)", [str(links[-1][0])])
                filled = con.execute(
                    "UPDATE media SET short_id = l.short_id FROM incoming l WHERE media.id = l.media_id "
                    "AND media.short_id IS DISTINCT FROM l.short_id RETURNING media.pos, media.short_id"
                ).fetchall()
                con.execute("COMMIT")
            except BaseException:
                con.execute("ROLLBACK")
                raise
        return [(int(pos), str(short_id)) for pos, short_id in filled]

    def fill_short_ids(self, after_block: int) -> list[tuple[int, str]]:
        """Sets the short id of media of blocks after `after_block` whose link is already mirrored."""
        with self._write_lock:
            rows = self._con.execute(
                "UPDATE media SET short_id = l.short_id FROM short_links l WHERE media.block > ? "
                "AND media.short_id IS NULL AND l.media_id = media.id RETURNING media.pos, media.short_id",
                [after_block],
            ).fetchall()
        return [(int(pos), str(short_id)) for pos, short_id in rows]

    def media_id_of_short_id(self, short_id: str) -> str | None:
        row = self.cursor().execute("SELECT media_id FROM short_links WHERE short_id = ?", [short_id]).fetchone()
        return row[0] if row else None

    def media_exists(self, media_id: str) -> bool:
        return bool(self._dicts("SELECT 1 AS x FROM media WHERE id = ?", [media_id]))
