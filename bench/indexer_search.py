"""Title search over N generated titles (default 1M): p50/p95 for 1-, 2-, 3-word queries and prefixes, for the
indexer's TitleIndex beside SQLite FTS5 (bm25, prefix*) and DuckDB's own FTS extension (match_bm25, whole words
only: it has no prefix search) over the same titles in the same run.

Run: .venv/bin/python bench/indexer_search.py [N]   (writes bench/results/indexer_search.txt)
"""

from __future__ import annotations

import sqlite3
import sys
import tempfile
import time
from pathlib import Path

import duckdb
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from indexer.search import TitleIndex
from indexer.store import Store
from indexer.text import term_counts

DUCKDB_FTS_QUERIES = 30


def fts_extension() -> Path:
    """DuckDB's fts extension as the pinned PyPI package ships it (INSTALL would download, which fails here)."""
    import duckdb_extension_fts

    return next(Path(duckdb_extension_fts.__file__).parent.rglob("fts.duckdb_extension"))


SYLLABLES = ["ka", "lo", "mi", "ra", "te", "su", "no", "be", "ri", "ta", "zu", "ve", "do", "pa", "ne", "xi"]


def make_titles(n: int, rng: np.random.Generator) -> list[str]:
    vocab_size = 50_000
    vocab = ["".join(rng.choice(SYLLABLES, size=rng.integers(2, 5))) for _ in range(vocab_size)]
    vocab[:200] = [str(1900 + i) for i in range(200)]  # years and numbers are searchable words too
    p = 1 / np.arange(1, vocab_size + 1) ** 0.9
    p /= p.sum()
    lengths = rng.integers(2, 8, size=n)
    words = rng.choice(vocab_size, size=int(lengths.sum()), p=p)
    out, i = [], 0
    for length in lengths:
        out.append(" ".join(vocab[w] for w in words[i : i + length]))
        i += length
    return out


def pct(samples: list[float]) -> tuple[float, float]:
    arr = np.array(samples) * 1000
    return float(np.percentile(arr, 50)), float(np.percentile(arr, 95))


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000
    rng = np.random.default_rng(42)
    lines = [f"indexer search benchmark: {n:,} generated titles (Zipf words, 2-7 per title), top 20"]
    t = time.perf_counter()
    titles = make_titles(n, rng)
    lines.append(f"generate titles: {time.perf_counter() - t:.1f} s")

    with tempfile.TemporaryDirectory() as tmp:
        store = Store(Path(tmp) / "bench.duckdb")
        t = time.perf_counter()
        tokens, tfs, lengths, n_postings = [], [], [], 0
        for title in titles:
            counts, length = term_counts(title)
            tokens.append(" ".join(counts))
            tfs.append(" ".join(map(str, counts.values())))
            lengths.append(length)
            n_postings += len(counts)
        rows = {  # noqa: F841 - read by DuckDB by name
            "media_pos": np.arange(n, dtype=np.int64),
            "tokens": np.array(tokens, dtype=object),
            "tfs": np.array(tfs, dtype=object),
            "title_len": np.array(lengths, dtype=np.int64),
            "title": np.array(titles, dtype=object),
        }
        con = store.cursor()
        con.execute(
            "INSERT INTO search_tokens SELECT media_pos, string_split(tokens, ' '), "
            "string_split(tfs, ' ')::SMALLINT[], title_len, media_pos // 10 FROM rows"
        )
        # Media rows shaped like the chain's: hashes, a few hundred owners, CIDs, sizes, times.
        con.execute(
            """
            INSERT INTO media (pos, id, owner, user_contract, sha256, cid, title, media_type, size, cluster_ids,
                               time, deleted, block, tx_index, log_index, tx_hash)
            SELECT media_pos, '0x' || sha256('m' || media_pos), '0x' || sha256('o' || media_pos % 300)[:40],
                   '0x' || sha256('u' || media_pos % 300)[:40], '0x' || sha256('s' || media_pos),
                   'bafkrei' || md5('c' || media_pos) || md5('d' || media_pos)[:20], title, 'image/jpeg',
                   1000 + media_pos, [1], 1700000000 + media_pos, false, media_pos // 10, 0, 0,
                   '0x' || sha256('t' || media_pos)
            FROM rows
            """
        )
        lines.append(
            f"tokenise + load {n_postings:,} postings and {n:,} media rows into DuckDB: {time.perf_counter() - t:.1f} s"
        )
        t = time.perf_counter()
        index = TitleIndex(store)
        lines.append(f"TitleIndex build from DuckDB (postings + media rows): {time.perf_counter() - t:.1f} s")

        lite = sqlite3.connect(":memory:")
        t = time.perf_counter()
        lite.execute("CREATE VIRTUAL TABLE t USING fts5(title, tokenize='unicode61 remove_diacritics 2')")
        lite.executemany("INSERT INTO t(rowid, title) VALUES (?, ?)", enumerate(titles))
        lite.commit()
        lines.append(f"SQLite FTS5 build: {time.perf_counter() - t:.1f} s")

        duck = duckdb.connect()
        t = time.perf_counter()
        duck.execute(f"LOAD '{fts_extension()}'")
        duck.execute("CREATE TABLE titles (id INTEGER, title VARCHAR)")
        duck.execute(
            "INSERT INTO titles SELECT * FROM (SELECT unnest(range(?)) AS id, unnest(?) AS title)", [n, titles]
        )
        duck.execute(
            "PRAGMA create_fts_index('titles', 'id', 'title', stemmer='none', "
            "ignore='(\\.|[^a-z0-9])+', strip_accents=1, lower=1)"
        )
        lines.append(f"DuckDB FTS extension index build: {time.perf_counter() - t:.1f} s")

        def sample_words(k: int) -> list[str]:
            out = []
            while len(out) < 200:
                words = titles[int(rng.integers(n))].split()
                if len(words) >= k:
                    start = int(rng.integers(len(words) - k + 1))
                    out.append(" ".join(words[start : start + k]))
            return out

        prefixes = []
        while len(prefixes) < 200:
            word = titles[int(rng.integers(n))].split()[0]
            prefixes.append(word[: int(rng.integers(1, min(4, len(word)) + 1))])
        kinds = {
            "1 word": [q + " " for q in sample_words(1)],
            "2 words": [q + " " for q in sample_words(2)],
            "3 words": [q + " " for q in sample_words(3)],
            "prefix (1-4 chars)": prefixes,
            "word + prefix": [" ".join(q.split()[:-1]) + " " + q.split()[-1][:2] for q in sample_words(2)],
        }
        lines.append("")
        lines.append(
            f"{'query kind':<20} {'TitleIndex p50/p95 ms':>24} {'+ fetch rows p95':>17} {'FTS5 p50/p95 ms':>18}"
            f" {'DuckDB FTS p50/p95 ms':>24}"
        )
        for kind, queries in kinds.items():
            ours, fetch, fts = [], [], []
            for q in queries:
                t = time.perf_counter()
                hits = index.search(q, limit=20)
                ours.append(time.perf_counter() - t)
                index.rows(hits)
                fetch.append(time.perf_counter() - t)
                words = q.split()
                match = (
                    " ".join(f'"{w}"' for w in words)
                    if q.endswith(" ")
                    else " ".join([f'"{w}"' for w in words[:-1]] + [f'"{words[-1]}"*'])
                )
                t = time.perf_counter()
                lite.execute("SELECT rowid FROM t WHERE t MATCH ? ORDER BY bm25(t) LIMIT 20", [match]).fetchall()
                fts.append(time.perf_counter() - t)
            o, f, s = pct(ours), pct(fetch), pct(fts)
            duck_cell = "n/a (no prefix search)"
            if kind in ("1 word", "2 words", "3 words"):
                duck_times = []
                for q in queries[:DUCKDB_FTS_QUERIES]:  # each query scans every document: keep the run short
                    t = time.perf_counter()
                    duck.execute(
                        "SELECT id, fts_main_titles.match_bm25(id, ?) AS score FROM titles"
                        " WHERE score IS NOT NULL ORDER BY score DESC LIMIT 20",
                        [q.strip()],
                    ).fetchall()
                    duck_times.append(time.perf_counter() - t)
                d = pct(duck_times)
                duck_cell = f"{d[0]:>9.2f} / {d[1]:<8.2f}"
            lines.append(
                f"{kind:<20} {o[0]:>11.2f} / {o[1]:<10.2f} {f[1]:>17.2f} {s[0]:>9.2f} / {s[1]:<8.2f} {duck_cell:>24}"
            )
        store.close()
        duck.close()
    lines.append("")
    lines.append("goal: p95 <= 10 ms for words and prefixes (TitleIndex column); no timing asserts")
    text = "\n".join(lines)
    print(text)
    out = Path(__file__).resolve().parent / "results" / "indexer_search.txt"
    out.write_text(text + "\n")


if __name__ == "__main__":
    main()
