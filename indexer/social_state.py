"""Social actions into state: the store's verdict on each new action (what depends on the index, not the manifest)
and the derived tables (follow_edges, like_edges, comments, media_social, user_social) recomputed for the keys that
an apply or a rollback touched, so they always equal a recomputation from the applied actions.

Rules, each judged at the action's place in the chain (block, log index, its index in the batch), so a rollback
never changes the verdict of an action that survives it:
- an action id seen before is ignored (a replay by a rogue gateway, in this batch or an earlier one);
- a like or comment on media not indexed at that place, or deleted by then, is ignored;
- an edit or delete of a comment counts only from the comment's author, on the same media, while it is not deleted;
- the latest applied action decides a follow or like (block, then log index, then place in the batch).

Called by the store inside its write transaction, on its writer connection.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

import duckdb

# The relevance score (docs/feed.md): log engagement plus recency as a half-life decay.
HALF_LIFE = 2 * 86400  # seconds: a post's score halves every two days against the same engagement
W_LIKE, W_COMMENT, W_VIEW, W_PLAY = 1.0, 3.0, 0.1, 0.4
RECENCY = math.log(2) / HALF_LIFE  # rank = ln(1 + engagement) + time * RECENCY
ENGAGEMENT_SQL = f"{W_LIKE} * likes + {W_COMMENT} * comments + {W_VIEW} * views + {W_PLAY} * plays"
ORDER = "block DESC, log_index DESC, seq DESC"  # newest action first
# the media record's columns media_social keeps beside the counts (what a feed item shows)
MEDIA_COLS = "short_id, kind, batch, user_contract, sha256, cid, title, media_type, size, parent, time, block, tx_hash"
# A feed item (SocialReads.feed): the media record's columns as /media lists give them, its counts and rank.
# owner_feed keeps each owner's first FEED_FAN_IN items in each order: a page that ends within them merges those.
FEED_FAN_IN = 100
_ITEM_COLS = ("short_id", "kind", "batch", "owner", "user_contract", "sha256", "cid", "title", "media_type", "size",
              "parent", "time", "block", "tx_hash", "deleted", "likes", "comments", "views", "rank",
              "first_id")  # fmt: skip
FEED_ITEM = "{" + ", ".join(["'id': media_id", *(f"'{c}': {c}" for c in _ITEM_COLS)]) + "}"


def _place(row: dict[str, Any]) -> tuple[int, int, int]:
    return row["block"], row["log_index"], row["seq"]


def judge(con: duckdb.DuckDBPyConnection, rows: list[dict[str, Any]]) -> None:
    """Sets `status` and `why` of new action rows (sorted in place into chain order), given what the database
    holds before them: media, tombstones and earlier actions."""
    rows.sort(key=_place)
    seen = _column(con, "SELECT action_id FROM actions WHERE action_id IN (SELECT unnest(?::VARCHAR[]))",
                   [r["action_id"] for r in rows])  # fmt: skip
    media_ids = sorted({r["media_id"] for r in rows if r.get("media_id")})
    first_pos = dict(
        con.execute(
            "SELECT id, min(pos) FROM media WHERE id IN (SELECT unnest(?::VARCHAR[])) GROUP BY id", [media_ids]
        ).fetchall()
    )
    deleted_at = dict(  # the block of the first tombstone of the media's owner (tombstones keep no log index)
        con.execute(
            "SELECT t.media_id, min(t.block) FROM tombstones t "
            "JOIN media m ON m.id = t.media_id AND m.owner = t.owner "
            "WHERE t.media_id IN (SELECT unnest(?::VARCHAR[])) GROUP BY t.media_id",
            [media_ids],
        ).fetchall()
    )
    named = sorted({r["replaces"] for r in rows if r.get("replaces")})
    comments: dict[str, tuple[str, str]] = {
        cid: (author, media)
        for cid, author, media in con.execute(
            "SELECT action_id, author, media_id FROM actions WHERE action_id IN (SELECT unnest(?::VARCHAR[])) "
            "AND kind = 'comment' AND replaces IS NULL AND status = 'applied'",
            [named],
        ).fetchall()
    }
    gone = _column(con, "SELECT comment_id FROM actions WHERE comment_id IN (SELECT unnest(?::VARCHAR[])) AND kind = "
                   "'comment' AND replaces IS NOT NULL AND state AND status = 'applied'", named)  # fmt: skip
    for r in rows:
        why = _why(r, seen, first_pos, deleted_at, comments, gone)
        seen.add(r["action_id"])
        r["status"], r["why"] = ("ignored", why) if why else ("applied", None)
        if why is None and r["kind"] == "comment":
            if r["replaces"] is None:
                comments[r["action_id"]] = (r["author"], r["media_id"])
            elif r["state"]:
                gone.add(r["replaces"])


def _why(r: dict[str, Any], seen: set[str], first_pos: dict[str, int], deleted_at: dict[str, int],
         comments: dict[str, tuple[str, str]], gone: set[str]) -> str | None:  # fmt: skip
    if r["action_id"] in seen:
        return "the action id was seen before (a replay)"
    media = r.get("media_id")
    if media is not None:
        # media of the same batch comes first (entries precede actions in the tree): any entry key of this log
        if first_pos.get(media, 1 << 62) > (r["block"] << 32 | r["log_index"] << 16 | 0xFFFF):
            return f"media {media} is not indexed at this point"
        if deleted_at.get(media, 1 << 62) <= r["block"]:  # a delete in the same block counts as before
            return f"media {media} was deleted before"
    replaces = r.get("replaces")
    if replaces is not None:
        original = comments.get(replaces)
        if original is None:
            return f"comment {replaces} is not an indexed comment"
        if original[0] != r["author"]:
            return f"only the comment's author {original[0]} may edit or delete it"
        if original[1] != media:
            return f"comment {replaces} is on media {original[1]}, not {media}"
        if replaces in gone:
            return f"comment {replaces} was deleted before"
    return None


def _column(con: duckdb.DuckDBPyConnection, sql: str, values: list[str]) -> set[str]:
    return {row[0] for row in con.execute(sql, [values]).fetchall()} if values else set()


# -- derived tables ------------------------------------------------------------------------------------------
TOUCH = "social_touch"  # temp table: kind, author, subject, media_id, comment_id of the actions that changed


def touch_actions(con: duckdb.DuckDBPyConnection, where: str, params: Iterable[Any] = ()) -> None:
    """Marks the keys of the applied actions matching `where` (before they are deleted, for a rollback)."""
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE {TOUCH} AS SELECT DISTINCT kind, author, subject, media_id, comment_id "
        f"FROM actions WHERE status = 'applied' AND ({where})",
        list(params),
    )


def touch_media(con: duckdb.DuckDBPyConnection, media_sql: str, params: Iterable[Any] = ()) -> None:
    """Adds media ids (the query's one column) whose counts or score may have changed (views, a reorged record)."""
    con.execute(f"INSERT INTO {TOUCH} SELECT 'media', NULL, NULL, id, NULL FROM ({media_sql}) AS t(id)", list(params))


def refresh_media(con: duckdb.DuckDBPyConnection, media_ids: list[str]) -> None:
    """Recomputes the counts and score of these media (new view records or links)."""
    if media_ids:
        touch_actions(con, "false")
        touch_media(con, "SELECT unnest(?::VARCHAR[])", [media_ids])
        refresh(con)


_FOLLOWS = f"""
        CREATE OR REPLACE TEMP TABLE t_follow AS SELECT DISTINCT author, subject FROM {TOUCH} WHERE kind = 'follow';
        DELETE FROM follow_edges e USING t_follow t WHERE e.author = t.author AND e.subject = t.subject;
        INSERT INTO follow_edges SELECT author, subject, block, time, action_id FROM (
          SELECT a.* FROM actions a SEMI JOIN t_follow t ON a.author = t.author AND a.subject = t.subject
          WHERE a.kind = 'follow' AND a.status = 'applied'
          QUALIFY row_number() OVER (PARTITION BY a.author, a.subject ORDER BY {ORDER}) = 1) WHERE state;
"""
_LIKES = f"""
        CREATE OR REPLACE TEMP TABLE t_like AS SELECT DISTINCT author, media_id FROM {TOUCH} WHERE kind = 'like';
        DELETE FROM like_edges e USING t_like t WHERE e.author = t.author AND e.media_id = t.media_id;
        INSERT INTO like_edges SELECT author, media_id, block, time, action_id FROM (
          SELECT a.* FROM actions a SEMI JOIN t_like t ON a.author = t.author AND a.media_id = t.media_id
          WHERE a.kind = 'like' AND a.status = 'applied'
          QUALIFY row_number() OVER (PARTITION BY a.author, a.media_id ORDER BY {ORDER}) = 1) WHERE state;
"""
_COMMENTS = f"""
        CREATE OR REPLACE TEMP TABLE t_comment AS SELECT DISTINCT comment_id FROM {TOUCH} WHERE kind = 'comment';
        DELETE FROM comments WHERE comment_id IN (SELECT comment_id FROM t_comment);
        INSERT INTO comments
          WITH changes AS (
            SELECT * FROM actions WHERE kind = 'comment' AND status = 'applied' AND replaces IS NOT NULL
              AND comment_id IN (SELECT comment_id FROM t_comment)),
          latest AS (SELECT * FROM changes QUALIFY row_number() OVER (PARTITION BY comment_id ORDER BY {ORDER}) = 1),
          edit AS (SELECT * FROM changes WHERE NOT state
                   QUALIFY row_number() OVER (PARTITION BY comment_id ORDER BY {ORDER}) = 1)
          SELECT o.action_id, o.media_id, o.author, coalesce(l.text, o.text), coalesce(l.state, false),
                 e.action_id IS NOT NULL, o.block, o.time, o.block * 4294967296 + o.log_index::BIGINT * 65536 + o.seq,
                 e.block, e.time, o.batch, o.tx_hash, coalesce(l.action_id, o.action_id)
          FROM actions o LEFT JOIN latest l ON l.comment_id = o.action_id LEFT JOIN edit e ON e.comment_id = o.action_id
          WHERE o.kind = 'comment' AND o.status = 'applied' AND o.replaces IS NULL
            AND o.action_id IN (SELECT comment_id FROM t_comment);
"""
_MEDIA = f"""
        CREATE OR REPLACE TEMP TABLE t_media AS SELECT DISTINCT media_id FROM {TOUCH} WHERE media_id IS NOT NULL;
        CREATE OR REPLACE TEMP TABLE t_owner AS
          SELECT owner FROM media_social WHERE media_id IN (SELECT media_id FROM t_media)
          UNION SELECT owner FROM media WHERE id IN (SELECT media_id FROM t_media);
        DELETE FROM media_social WHERE media_id IN (SELECT media_id FROM t_media);
        INSERT INTO media_social
          SELECT id, owner, pos, deleted, likes, comments, views, plays,
                 ln(1 + {ENGAGEMENT_SQL}) + time * {RECENCY!r}, {MEDIA_COLS}, first_id FROM (
            SELECT m.id, m.owner, m.pos, m.deleted, m.time, m.short_id, m.kind, m.batch, m.user_contract, m.sha256,
                   m.cid, m.title, m.media_type, m.size, m.parent, m.block, m.tx_hash,
                   coalesce(l.n, 0) AS likes, coalesce(c.n, 0) AS comments,
                   coalesce(v.views, 0) AS views, coalesce(v.bytes, 0) / greatest(m.size, 1) AS plays,
                   f.first_id
            FROM (SELECT * FROM media WHERE id IN (SELECT media_id FROM t_media)
                  QUALIFY row_number() OVER (PARTITION BY id ORDER BY pos) = 1) m
            LEFT JOIN (SELECT media_id, count(*) AS n FROM like_edges
                       WHERE media_id IN (SELECT media_id FROM t_media) GROUP BY ALL) l ON l.media_id = m.id
            LEFT JOIN (SELECT media_id, count(*) AS n FROM comments
                       WHERE NOT deleted AND media_id IN (SELECT media_id FROM t_media) GROUP BY ALL) c
                   ON c.media_id = m.id
            LEFT JOIN (SELECT s.media_id, count(*) FILTER (WHERE v.counted) AS views, sum(v.bytes) AS bytes
                       FROM media_views v JOIN short_links s ON s.short_id = v.short_id
                       WHERE s.media_id IN (SELECT media_id FROM t_media) GROUP BY ALL) v ON v.media_id = m.id
            LEFT JOIN (SELECT sha256, arg_min(id, pos) AS first_id FROM media WHERE sha256 IN
                         (SELECT sha256 FROM media WHERE id IN (SELECT media_id FROM t_media)) GROUP BY ALL) f
                   ON f.sha256 = m.sha256);
        DELETE FROM owner_feed WHERE owner IN (SELECT owner FROM t_owner);
        INSERT INTO owner_feed
          SELECT owner,
                 string_agg(rank::VARCHAR || chr(9) || pos || chr(9) || item, chr(10) ORDER BY rank DESC, pos DESC)
                   FILTER (WHERE by_rank <= {FEED_FAN_IN}),
                 string_agg(pos || chr(9) || item, chr(10) ORDER BY pos DESC) FILTER (WHERE by_pos <= {FEED_FAN_IN})
          FROM (
            SELECT owner, rank, pos, to_json({FEED_ITEM}) AS item,
                   row_number() OVER (PARTITION BY owner ORDER BY rank DESC, pos DESC) AS by_rank,
                   row_number() OVER (PARTITION BY owner ORDER BY pos DESC) AS by_pos
            FROM media_social WHERE NOT deleted AND owner IN (SELECT owner FROM t_owner)) GROUP BY owner;
"""
_USERS = f"""
        CREATE OR REPLACE TEMP TABLE t_user AS SELECT author AS address FROM {TOUCH} WHERE kind = 'follow'
          UNION SELECT subject FROM {TOUCH} WHERE kind = 'follow';
        DELETE FROM user_social WHERE address IN (SELECT address FROM t_user);
        INSERT INTO user_social SELECT * FROM (
          SELECT u.address, coalesce(f.n, 0) AS followers, coalesce(g.n, 0) AS following FROM t_user u
          LEFT JOIN (SELECT subject, count(*) AS n FROM follow_edges WHERE subject IN (SELECT address FROM t_user)
                     GROUP BY ALL) f ON f.subject = u.address
          LEFT JOIN (SELECT author, count(*) AS n FROM follow_edges WHERE author IN (SELECT address FROM t_user)
                     GROUP BY ALL) g ON g.author = u.address)
          WHERE followers + following > 0;
"""


def refresh(con: duckdb.DuckDBPyConnection) -> None:
    """Recomputes every derived row of the touched keys from the applied actions (and view records); the parts
    whose keys were not touched are skipped (a block of media only costs the media part)."""
    kinds = {k for (k,) in con.execute(f"SELECT DISTINCT kind FROM {TOUCH}").fetchall()}
    media = con.execute(f"SELECT count(*) FROM {TOUCH} WHERE media_id IS NOT NULL").fetchone()
    parts = [("follow" in kinds, _FOLLOWS), ("like" in kinds, _LIKES), ("comment" in kinds, _COMMENTS),
             (bool(media and media[0]), _MEDIA), ("follow" in kinds, _USERS)]  # fmt: skip
    for touched, sql in parts:
        if touched:
            con.execute(sql)
