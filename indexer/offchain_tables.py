"""The tables that are not chain data, so rollbacks leave them alone: the download service's view records (with
the gateway rowid read up to) and the gateway's short links mirrored (with the gateway rowid read up to)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from indexer import social_state
from indexer.database import Database
from indexer.schema import VIEW_COLS, numpy_columns


class OffchainTables(Database):
    def view_cursor(self) -> tuple[int, int]:
        """(the gateway rowid of the last view record in media_views, how many records were missed before it)."""
        rows = dict(
            self.cursor().execute("SELECT key, value FROM meta WHERE key IN ('views_rowid', 'views_missed')").fetchall()
        )
        return int(rows.get("views_rowid", 0)), int(rows.get("views_missed", 0))

    def add_views(self, rowid: int, missed: int, records: Sequence[tuple[int, Any]]) -> None:
        """(gateway rowid, record) pairs read up to rowid `rowid` (`missed` rowids gone before they were read), with
        the cursor, in one transaction."""
        rows = [{"record": record_id} | vars(r) for record_id, r in records]
        with self._write_lock:
            con = self._con
            con.execute("BEGIN TRANSACTION")
            try:
                if rows:
                    incoming, select = numpy_columns(rows, VIEW_COLS)  # noqa: RUF059 - read by name, as above
                    con.execute(f"INSERT INTO media_views SELECT {select} FROM incoming")
                con.execute("INSERT OR REPLACE INTO meta VALUES ('views_rowid', ?)", [str(rowid)])
                con.execute(
                    "INSERT OR REPLACE INTO meta SELECT 'views_missed', "
                    "(coalesce((SELECT value::BIGINT FROM meta WHERE key = 'views_missed'), 0) + ?)::VARCHAR",
                    [missed],
                )
                if rows:  # the viewed media's counts and score
                    viewed = con.execute(
                        "SELECT DISTINCT media_id FROM short_links WHERE short_id IN (SELECT unnest(?::VARCHAR[])) "
                        "AND media_id IS NOT NULL",
                        [sorted({r["short_id"] for r in rows})],
                    ).fetchall()
                    social_state.refresh_media(con, [m for (m,) in viewed])
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
                # views recorded before their link was mirrored now count for its media
                social_state.refresh_media(con, sorted({link[2] for link in links if link[2]}))
                con.execute("COMMIT")
            except BaseException:
                con.execute("ROLLBACK")
                raise
        return [(int(pos), str(short_id)) for pos, short_id in filled]

    def fill_short_ids(self, after_block: int) -> list[tuple[int, str]]:
        """Sets the short id of media of blocks after `after_block` whose link is already mirrored."""
        with self._write_lock:
            con = self._con
            con.execute("BEGIN TRANSACTION")
            try:
                rows = con.execute(
                    "UPDATE media SET short_id = l.short_id FROM short_links l WHERE media.block > ? "
                    "AND media.short_id IS NULL AND l.media_id = media.id "
                    "RETURNING media.pos, media.short_id, media.id",
                    [after_block],
                ).fetchall()
                # media_social keeps the short id a feed item shows
                social_state.refresh_media(con, sorted({media_id for _, _, media_id in rows}))
                con.execute("COMMIT")
            except BaseException:
                con.execute("ROLLBACK")
                raise
        return [(int(pos), str(short_id)) for pos, short_id, _ in rows]
