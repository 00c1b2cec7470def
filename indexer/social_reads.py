"""The reads the API serves about follows, likes, comments and the news feed, from the derived tables social_state.py
keeps: each an index lookup, never a pass over the actions (bench/feed.py). The lookups sit in MATERIALIZED CTEs
because DuckDB drops its index scan when a top-N or a second filter is pushed into the same scan."""

from __future__ import annotations

import heapq
import itertools
import json
from collections.abc import Iterable, Iterator
from typing import Any

from indexer.database import Database
from indexer.social_state import FEED_FAN_IN

ORDERS = ("relevant", "latest")


def _rank_lines(text: str) -> Iterator[tuple[tuple[float, int], str]]:
    """An owner_feed by_rank text's items in its order: ((rank, pos), the item's JSON), keys parsed as reached."""
    for line in text.split("\n"):
        rank, pos, item = line.split("\t", 2)
        yield (float(rank), int(pos)), item


def _pos_lines(text: str) -> Iterator[tuple[tuple[int], str]]:
    for line in text.split("\n"):
        pos, item = line.split("\t", 1)
        yield (int(pos),), item


def merge_page(texts: Iterable[str], order: str, limit: int, offset: int) -> list[dict[str, Any]]:
    """The page [offset, offset + limit) of owner_feed texts merged best first. Each text is sorted already, so a
    lazy merge reads only about offset + limit keys of them all, and only the page's items are parsed."""
    lines = _rank_lines if order == "relevant" else _pos_lines
    merged = heapq.merge(*(lines(t) for t in texts), key=lambda keyed: keyed[0], reverse=True)
    return [json.loads(item) for _, item in itertools.islice(merged, offset, offset + limit)]


# a feed item: the media record's columns as /media lists give them, then its counts and rank
_FEED_COLS = (
    "media_id AS id, short_id, kind, batch, owner, user_contract, sha256, cid, title, media_type, size, parent, time, "
    "block, tx_hash, deleted, first_id"
)


class SocialReads(Database):
    def follow_counts(self, address: str) -> dict[str, int]:
        row = (
            self.cursor()
            .execute("SELECT followers, following FROM user_social WHERE address = ?", [address])
            .fetchone()
        )
        return {"followers": row[0], "following": row[1]} if row else {"followers": 0, "following": 0}

    def followers(self, address: str, limit: int, offset: int) -> list[dict[str, Any]]:
        """Who follows `address`, most recent follow first."""
        return self._dicts(
            "WITH f AS MATERIALIZED (SELECT author AS address, block, time, action_id FROM follow_edges "
            "WHERE subject = ?) SELECT * FROM f ORDER BY block DESC, address LIMIT ? OFFSET ?",
            [address, limit, offset],
        )

    def following(self, address: str, limit: int, offset: int) -> list[dict[str, Any]]:
        """Whom `address` follows, most recent follow first."""
        return self._dicts(
            "WITH f AS MATERIALIZED (SELECT subject AS address, block, time, action_id FROM follow_edges "
            "WHERE author = ?) SELECT * FROM f ORDER BY block DESC, address LIMIT ? OFFSET ?",
            [address, limit, offset],
        )

    def comment_count(self, media_id: str) -> int:
        row = self.cursor().execute("SELECT comments FROM media_social WHERE media_id = ?", [media_id]).fetchone()
        return int(row[0]) if row else 0

    def media_comments(self, media_id: str, limit: int, offset: int) -> list[dict[str, Any]]:
        """A media's comments that are not deleted, newest first, each as its latest edit says."""
        rows = self._dicts(
            "WITH c AS MATERIALIZED (SELECT comment_id, author, text, created_block, created_time, edited, "
            "edited_block, edited_time, last_action_id AS action_id, batch, tx_hash, deleted, created_key "
            "FROM comments WHERE media_id = ?) SELECT * FROM c WHERE NOT deleted ORDER BY created_key DESC "
            "LIMIT ? OFFSET ?",
            [media_id, limit, offset],
        )
        for r in rows:
            del r["deleted"], r["created_key"]
        return rows

    def social_counts(self, media_ids: list[str]) -> dict[str, dict[str, int]]:
        """Likes and comments of each of these media (absent: none), one query for a page of rows."""
        if not media_ids:
            return {}
        marks = ", ".join("?" * len(media_ids))
        sql = f"SELECT media_id, likes, comments FROM media_social WHERE media_id IN ({marks})"
        rows = self.cursor().execute(sql, media_ids).fetchall()
        return {m: {"likes": likes, "comments": comments} for m, likes, comments in rows}

    def liked(self, viewer: str, media_ids: list[str]) -> set[str]:
        """Which of these media `viewer` likes now: one index lookup of all the viewer's likes, matched here. It
        grows with the wallet's lifetime likes (2 ms of CPU at 80, bench/feed.py); filtering the lookup by the
        page's ids in SQL cost DuckDB twice as much at that size."""
        if not media_ids:
            return set()
        rows = (
            self.cursor()
            .execute(
                "WITH l AS MATERIALIZED (SELECT media_id FROM like_edges WHERE author = ?) SELECT media_id FROM l",
                [viewer],
            )
            .fetchall()
        )
        return {r[0] for r in rows} & set(media_ids)

    def feed(self, viewer: str, order: str, limit: int, offset: int) -> list[dict[str, Any]]:
        """Media (not deleted) of the wallets `viewer` follows: by relevance (the stored rank, docs/feed.md) or
        newest first. A page within each owner's first FEED_FAN_IN items merges the followed wallets' owner_feed
        rows and says which items the viewer likes (`liked`); a deeper page reads their media's rows in
        media_social."""
        if order not in ORDERS:
            raise ValueError(f"order {order!r}: one of {', '.join(ORDERS)}")
        cur = self.cursor()
        if offset + limit <= FEED_FAN_IN:
            # One query: the viewer's follows joined to owner_feed (DuckDB scans both by index, the second through
            # the follows it found), then the viewer's likes, so each item says whether the viewer likes it. Each
            # statement costs DuckDB about a millisecond before any row (bench/feed.py), so one, not three.
            column = "by_rank" if order == "relevant" else "by_pos"
            rows = cur.execute(
                "WITH l AS MATERIALIZED (SELECT media_id FROM like_edges WHERE author = $1) "
                f"SELECT o.{column}, NULL FROM follow_edges f JOIN owner_feed o ON o.owner = f.subject "
                "WHERE f.author = $1 UNION ALL SELECT NULL, media_id FROM l",
                [viewer],
            ).fetchall()
            liked = {media for _, media in rows if media is not None}
            page = merge_page((text for text, _ in rows if text is not None), order, limit, offset)
            for item in page:
                item["liked"] = item["id"] in liked
            return page
        followees = [r[0] for r in cur.execute(
            "WITH f AS MATERIALIZED (SELECT subject FROM follow_edges WHERE author = ?) SELECT subject FROM f",
            [viewer]).fetchall()]  # fmt: skip
        if not followees:
            return []
        return self.feed_rows(followees, order, limit, offset)

    def merged_feed(self, owners: list[str], order: str, limit: int, offset: int) -> list[dict[str, Any]]:
        """A feed page that ends within each owner's first FEED_FAN_IN items: their owner_feed rows merged."""
        column = "by_rank" if order == "relevant" else "by_pos"
        marks = ", ".join("?" * len(owners))
        sql = f"WITH o AS MATERIALIZED (SELECT {column} FROM owner_feed WHERE owner IN ({marks})) SELECT * FROM o"
        texts = self.cursor().execute(sql, owners).fetchall()
        return merge_page((t for (t,) in texts), order, limit, offset)

    def feed_rows(self, owners: list[str], order: str, limit: int, offset: int) -> list[dict[str, Any]]:
        """Any feed page, from the owners' media rows in media_social."""
        sort = "rank DESC, pos DESC" if order == "relevant" else "pos DESC"
        # an IN list of parameters, not a join or an unnested list: only a constant list reaches the index scan
        return self._dicts(
            f"WITH c AS MATERIALIZED (SELECT * FROM media_social WHERE owner IN ({', '.join('?' * len(owners))})) "
            f"SELECT {_FEED_COLS}, likes, comments, views, rank FROM c WHERE NOT deleted ORDER BY {sort} "
            "LIMIT ? OFFSET ?",
            [*owners, limit, offset],
        )

    def action(self, action_id: str) -> list[dict[str, Any]]:
        """Every time this action id was anchored (more than once: a replay, ignored), first first, with its
        verdict and batch."""
        return self._dicts(
            "SELECT a.action_id, a.kind, a.author, a.subject, a.media_id, a.comment_id, a.replaces, a.state, a.text, "
            "a.issued_at, a.signature, a.signature_check, a.batch, a.seq, a.tree_index, a.leaf, a.status, a.why, "
            "a.time, a.block, a.tx_hash, b.manifest_cid FROM actions a "
            "LEFT JOIN batches b ON b.block = a.block AND b.log_index = a.log_index "
            "WHERE a.action_id = ? ORDER BY a.block, a.log_index, a.seq",
            [action_id],
        )
