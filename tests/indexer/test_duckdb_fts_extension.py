"""The pinned DuckDB full-text-search extension loads offline from its PyPI package and ranks titles by BM25.

The indexer answers searches from its own postings (bench/indexer_search.py measures why: match_bm25 scans every
title on each query); the search benchmark keeps DuckDB's FTS as a baseline, so the extension must keep loading.
"""

from __future__ import annotations

from pathlib import Path

import duckdb
import duckdb_extension_fts


def test_fts_extension_loads_without_network_and_ranks_by_bm25() -> None:
    extension = next(Path(duckdb_extension_fts.__file__).parent.rglob("fts.duckdb_extension"))
    con = duckdb.connect()
    con.execute(f"LOAD '{extension}'")
    con.execute("CREATE TABLE titles (id INTEGER, title VARCHAR)")
    con.executemany(
        "INSERT INTO titles VALUES (?, ?)",
        [(1, "Harbour at dawn 1999"), (2, "Café crème"), (3, "Harbour lights"), (4, "Mountain pass")],
    )
    con.execute(
        "PRAGMA create_fts_index('titles', 'id', 'title', stemmer='none', ignore='(\\.|[^a-z0-9])+', "
        "strip_accents=1, lower=1)"
    )

    def ranked(query: str) -> list[int]:
        rows = con.execute(
            "SELECT id, fts_main_titles.match_bm25(id, ?) AS score FROM titles WHERE score IS NOT NULL"
            " ORDER BY score DESC",
            [query],
        ).fetchall()
        return [row[0] for row in rows]

    assert ranked("harbour 1999") == [1, 3]  # both words beat one; digits are tokens with this ignore pattern
    assert ranked("CREME") == [2]  # case and accents folded
    assert ranked("volcano") == []
