"""The indexer database's layout: every table's columns, the derived views and indexes, how the layout is
created or rebuilt, and how rows become the numpy columns DuckDB inserts from."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import duckdb
import numpy as np

log = logging.getLogger("indexer")
# Bumped when a table's layout changes: an older file is then rebuilt from its sources.
SCHEMA_VERSION = "9"

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
        ("declared_actions", "INTEGER"),  # social actions the manifest lists
        ("indexed_actions", "INTEGER"),  # actions that passed the manifest checks (see actions.status for the rest)
        ("rejected_actions", "VARCHAR"),  # JSON: [{"action": j, "why": "..."}]
        *_WHERE,
    ],
    # A social action (mediaproof/social.py) from a batch manifest, append-only. `status` is the store's verdict at
    # the action's place in the chain: applied, or ignored with `why` (a replayed id, unknown or deleted media, an
    # edit by someone else). follow_edges, like_edges, comments and the counts are derived from the applied ones.
    "actions": [
        ("action_id", "VARCHAR"),
        ("kind", "VARCHAR"),  # follow · like · comment
        ("author", "VARCHAR"),
        ("subject", "VARCHAR"),  # follow: whom
        ("media_id", "VARCHAR"),  # like, comment
        ("comment_id", "VARCHAR"),  # comment: its first action id (its own for a new one, `replaces` otherwise)
        ("replaces", "VARCHAR"),  # comment edit or delete: the comment it changes; NULL for a new one
        ("state", "BOOLEAN"),  # follow: following; like: liking; comment: deleted
        ("text", "VARCHAR"),
        ("issued_at", "BIGINT"),
        ("signature", "VARCHAR"),
        ("signature_check", "VARCHAR"),  # ecdsa · erc1271-unchecked
        ("batch", "BIGINT"),
        ("seq", "INTEGER"),  # its index among the batch's actions: orders actions of one batch
        ("tree_index", "INTEGER"),
        ("leaf", "VARCHAR"),
        ("status", "VARCHAR"),  # applied · ignored
        ("why", "VARCHAR"),
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

VIEW_COLS = [
    ("record", "BIGINT"),
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
# Derived from the applied actions (and view records), never written directly: the store recomputes the keys that
# the actions of an apply or a rollback touched (social_state.py), so they always equal a recomputation from scratch.
SOCIAL_DDL = """
-- Text columns stored uncompressed: a read fetches its rows by index, and fetching one row of an FSST-compressed
-- segment decodes far more than the row (about 0.1 ms a row; the feed's page cost 4x more, bench/feed.py).
CREATE TABLE IF NOT EXISTS follow_edges (author VARCHAR NOT NULL USING COMPRESSION uncompressed,
  subject VARCHAR NOT NULL USING COMPRESSION uncompressed, block BIGINT NOT NULL, time BIGINT NOT NULL,
  action_id VARCHAR NOT NULL USING COMPRESSION uncompressed);
CREATE TABLE IF NOT EXISTS like_edges (author VARCHAR NOT NULL USING COMPRESSION uncompressed,
  media_id VARCHAR NOT NULL USING COMPRESSION uncompressed, block BIGINT NOT NULL, time BIGINT NOT NULL,
  action_id VARCHAR NOT NULL USING COMPRESSION uncompressed);
CREATE TABLE IF NOT EXISTS comments (comment_id VARCHAR NOT NULL USING COMPRESSION uncompressed,
  media_id VARCHAR NOT NULL USING COMPRESSION uncompressed, author VARCHAR NOT NULL USING COMPRESSION uncompressed,
  text VARCHAR NOT NULL USING COMPRESSION uncompressed, deleted BOOLEAN NOT NULL, edited BOOLEAN NOT NULL,
  created_block BIGINT NOT NULL, created_time BIGINT NOT NULL, created_key BIGINT NOT NULL, edited_block BIGINT,
  edited_time BIGINT, batch BIGINT NOT NULL, tx_hash VARCHAR NOT NULL USING COMPRESSION uncompressed,
  last_action_id VARCHAR NOT NULL USING COMPRESSION uncompressed);
-- One row per media id (its first record): the feed reads it alone, by owner, already ranked, with the columns a
-- feed item shows (so a page needs no second lookup into media). first_id: the media id of the first record of the
-- same bytes, fixed for the row's life (a later record has a later place; a rollback that removes the first removes
-- every later one), so a feed item that is the first proof of its bytes needs no lookup to say so.
CREATE TABLE IF NOT EXISTS media_social (media_id VARCHAR NOT NULL USING COMPRESSION uncompressed,
  owner VARCHAR NOT NULL USING COMPRESSION uncompressed, pos BIGINT NOT NULL, deleted BOOLEAN NOT NULL,
  likes BIGINT NOT NULL, comments BIGINT NOT NULL, views BIGINT NOT NULL, plays DOUBLE NOT NULL, rank DOUBLE NOT NULL,
  short_id VARCHAR USING COMPRESSION uncompressed, kind VARCHAR USING COMPRESSION uncompressed, batch BIGINT,
  user_contract VARCHAR USING COMPRESSION uncompressed, sha256 VARCHAR USING COMPRESSION uncompressed,
  cid VARCHAR USING COMPRESSION uncompressed, title VARCHAR USING COMPRESSION uncompressed,
  media_type VARCHAR USING COMPRESSION uncompressed, size BIGINT, parent VARCHAR USING COMPRESSION uncompressed,
  time BIGINT, block BIGINT, tx_hash VARCHAR USING COMPRESSION uncompressed,
  first_id VARCHAR USING COMPRESSION uncompressed);
CREATE TABLE IF NOT EXISTS user_social (address VARCHAR NOT NULL USING COMPRESSION uncompressed,
  followers BIGINT NOT NULL, following BIGINT NOT NULL);
-- Each owner's media (not deleted) as feed items, best first in each order, the first FEED_FAN_IN of each as one
-- text: a feed page reads one row per followed wallet and merges them. Fetching a row by index costs DuckDB about
-- the same per column whatever its size, so one text per owner costs a third of the owner's media rows
-- (bench/feed.py). One line per item, its sort key before the item's JSON ("rank<TAB>pos<TAB>{...}" in by_rank,
-- "pos<TAB>{...}" in by_pos): the merge reads the keys and parses only the page's items (JSON escapes newlines and
-- tabs inside strings, so neither can occur in an item).
CREATE TABLE IF NOT EXISTS owner_feed (owner VARCHAR NOT NULL USING COMPRESSION uncompressed,
  by_rank VARCHAR NOT NULL USING COMPRESSION uncompressed, by_pos VARCHAR NOT NULL USING COMPRESSION uncompressed);
-- Only what a read looks up by key (the refresh joins whole key sets: hash joins, no index).
CREATE INDEX IF NOT EXISTS actions_id_idx ON actions(action_id);
CREATE INDEX IF NOT EXISTS follow_edges_subject_idx ON follow_edges(subject);
CREATE INDEX IF NOT EXISTS follow_edges_author_idx ON follow_edges(author);
CREATE INDEX IF NOT EXISTS like_edges_author_idx ON like_edges(author);
CREATE INDEX IF NOT EXISTS comments_media_idx ON comments(media_id);
CREATE INDEX IF NOT EXISTS media_social_idx ON media_social(media_id);
CREATE INDEX IF NOT EXISTS media_social_owner_idx ON media_social(owner);
CREATE INDEX IF NOT EXISTS user_social_idx ON user_social(address);
CREATE INDEX IF NOT EXISTS owner_feed_idx ON owner_feed(owner);
"""
SOCIAL_TABLES = ("follow_edges", "like_edges", "comments", "media_social", "user_social", "owner_feed")

BLOCK_COLS = [("number", "BIGINT"), ("hash", "VARCHAR"), ("parent_hash", "VARCHAR"), ("time", "BIGINT")]

EXTRA_DDL = """
CREATE TABLE IF NOT EXISTS blocks (number BIGINT PRIMARY KEY, hash VARCHAR NOT NULL,
                                   parent_hash VARCHAR NOT NULL, time BIGINT NOT NULL);
CREATE TABLE IF NOT EXISTS meta (key VARCHAR PRIMARY KEY, value VARCHAR NOT NULL);
-- Not chain data (rollbacks leave them alone): the download service's view records (`record`: the gateway rowid),
-- read up to the meta key 'views_rowid' ('views_missed' of them gone before they were read), and the gateway's
-- short links mirrored up to the meta key 'gateway_rowid'.
CREATE TABLE IF NOT EXISTS media_views (record BIGINT NOT NULL, viewed_at DOUBLE NOT NULL, day DATE NOT NULL,
  short_id VARCHAR NOT NULL, size VARCHAR NOT NULL, served VARCHAR NOT NULL, status SMALLINT NOT NULL,
  byte_offset BIGINT NOT NULL, bytes BIGINT NOT NULL, counted BOOLEAN NOT NULL);
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


def numpy_columns(rows: list[dict[str, Any]], cols: list[tuple[str, str]]) -> tuple[dict[str, np.ndarray], str]:
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


def installed_version(cur: duckdb.DuckDBPyConnection) -> str | None:
    """The layout the file at `cur` holds: None for an empty file, "none" for one from before layouts had numbers."""
    names = {r[0] for r in cur.execute("SELECT table_name FROM information_schema.tables").fetchall()}
    if "meta" not in names:
        return "none" if names else None
    row = cur.execute("SELECT value FROM meta WHERE key = 'schema'").fetchone()
    return row[0] if row else "none"


def create(con: duckdb.DuckDBPyConnection, path: Path) -> None:
    """One transaction (one sync to disk: a restart costs milliseconds, not one sync per table). Everything
    here is derived (from the chain and the gateway's links and view records), so a database of an older layout is
    emptied and rebuilt rather than migrated."""
    version = installed_version(con)
    con.execute("BEGIN TRANSACTION")
    try:
        if version is not None:
            log.warning("%s has an older layout (schema %s, now %s): re-indexing from scratch", path,
                        version, SCHEMA_VERSION)  # fmt: skip
            for kind, name in con.execute(
                "SELECT table_type, table_name FROM information_schema.tables ORDER BY table_type = 'VIEW' DESC"
            ).fetchall():
                con.execute(f"DROP {'VIEW' if kind == 'VIEW' else 'TABLE'} IF EXISTS {name}")
        for table, cols in TABLES.items():
            body = ", ".join(f"{name} {type_}" for name, type_ in cols)
            con.execute(f"CREATE TABLE IF NOT EXISTS {table} ({body})")
        con.execute(EXTRA_DDL)
        con.execute(SOCIAL_DDL)
        con.execute("INSERT INTO meta VALUES ('schema', ?)", [SCHEMA_VERSION])
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise
