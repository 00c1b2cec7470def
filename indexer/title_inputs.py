"""What the in-memory title index (indexer/search.py) is built and kept current from: postings, titles and media
rows read as columns."""

from __future__ import annotations

from typing import Any

import numpy as np

from indexer.database import Database
from indexer.media_rows import MEDIA_COLUMNS


class TitleIndexInputs(Database):
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
