"""The social reads at scale: 1,000,000 media, 10,000,000 actions (20 % follows, 50 % likes with some unlikes, 30 %
comments) of 100,000 wallets, generated in DuckDB with SQL (`range()`) into the indexer's own tables (kept as Parquet
under .cache/bench-feed/ for the next run); the derived tables are built by the store's own refresh
(indexer/social_state.py). p50/p95 of followers, following, comments, feed relevant and feed latest (with which
items the viewer likes) through the Store reads the API uses, beside a naive SQL baseline that computes the same
answer from the raw actions table, in the same run.

Run: .venv/bin/python bench/feed.py [--scale 0.1] [--samples 200]   (writes bench/results/feed.txt)
"""

from __future__ import annotations

import argparse
import hashlib
import inspect
import os
import random
import shutil
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from indexer import schema, social_state
from indexer.api import with_first
from indexer.social_state import ENGAGEMENT_SQL, ORDER, RECENCY
from indexer.store import Store

BASE_TIME = 1_760_000_000
PAGE = 20
CACHE = Path(__file__).resolve().parent.parent / ".cache" / "bench-feed"


def wallet(expr: str) -> str:
    return f"'0x' || lpad(printf('%x', {expr}), 40, '0')"


def hexid(expr: str) -> str:
    return f"'0x' || sha256(({expr})::VARCHAR)"


def _insert_raw(con: Any, media: int, actions: int, wallets: int) -> None:
    con.execute(f"""
        INSERT INTO media (pos, id, kind, batch, owner, sha256, cid, title, media_type, size, time, deleted,
                           block, tx_index, log_index, tx_hash)
        SELECT i, {hexid("i")}, 'batched', i // 100 + 1, {wallet(f"hash(i * 7) % {wallets}")}, {hexid("-i")},
               'bafk' || i, 'media ' || i, 'image/jpeg', 100000 + i % 5000, {BASE_TIME} + i * 3, false,
               i // 100 + 1, 0, 0, '0x' || lpad(printf('%x', i // 100 + 1), 64, '0')
        FROM range({media}) t(i)""")
    # action i: kind by i % 10; its block follows the media (media block = i // 100 + 1); seq orders a block
    first_block = media // 100 + 2
    con.execute(f"""
        INSERT INTO actions (action_id, kind, author, subject, media_id, comment_id, replaces, state, text,
                             issued_at, signature, signature_check, batch, seq, tree_index, leaf, status, why, time,
                             block, tx_index, log_index, tx_hash)
        SELECT {hexid("'a' || i")} AS id, k, {wallet(f"hash(i * 13) % {wallets}")},
               CASE WHEN k = 'follow' THEN {
        wallet(f"(hash(i * 13) % {wallets} + 1 + hash(i * 17) % {wallets - 1}) % {wallets}")
    } END,
               CASE WHEN k <> 'follow' THEN {hexid(f"hash(i * 19) % {media}")} END,
               CASE WHEN k = 'comment' THEN {hexid("'a' || i")} END, NULL,
               CASE WHEN k = 'comment' THEN false ELSE i % 23 <> 0 END,
               CASE WHEN k = 'comment' THEN 'comment number ' || i END,
               {BASE_TIME} + i, '0x00', 'ecdsa', {first_block} + i // 1000, i % 1000, i % 1000, '0x00', 'applied',
               NULL, {BASE_TIME + 3 * media} + i // 1000 * 12, {first_block} + i // 1000, 0, 0,
               '0x' || lpad(printf('%x', i // 1000), 64, '0')
        FROM (SELECT i, CASE WHEN i % 10 < 2 THEN 'follow' WHEN i % 10 < 7 THEN 'like' ELSE 'comment' END AS k
              FROM range({actions}) t(i))""")


def generate(store: Store, media: int, actions: int, wallets: int) -> list[str]:
    con = store._con  # the writer's connection: the benchmark owns the file
    lines = []
    t = time.perf_counter()
    # a bulk load builds its indexes once at the end (schema.SOCIAL_DDL again), not row by row
    indexes = [r[0] for r in con.execute("SELECT index_name FROM duckdb_indexes()").fetchall()]
    for name in indexes:
        con.execute(f"DROP INDEX {name}")
    # the raw rows take minutes at full scale under load: kept as Parquet under .cache/, named by the sizes and a
    # hash of the SQL that makes them, so a changed generator never reuses old rows
    key = hashlib.sha256(inspect.getsource(_insert_raw).encode()).hexdigest()[:12]
    cache = CACHE / f"{media}-{actions}-{wallets}-{key}"
    if (cache / "done").exists():
        for table in ("media", "actions"):
            con.execute(f"INSERT INTO {table} BY NAME SELECT * FROM read_parquet('{cache / table}.parquet')")
        how = f"read from .cache/{cache.name}"
    else:
        _insert_raw(con, media, actions, wallets)
        cache.mkdir(parents=True, exist_ok=True)
        for table in ("media", "actions"):
            con.execute(f"COPY {table} TO '{cache / table}.parquet' (FORMAT parquet)")
        (cache / "done").touch()
        how = "generate"
    lines.append(f"{how} {media:,} media and {actions:,} actions of {wallets:,} wallets: "
                 f"{time.perf_counter() - t:.1f} s")  # fmt: skip
    t = time.perf_counter()
    con.execute("BEGIN TRANSACTION")
    social_state.touch_actions(con, "true")
    social_state.touch_media(con, "SELECT id FROM media")
    social_state.refresh(con)
    con.execute("COMMIT")
    derived = time.perf_counter() - t
    t = time.perf_counter()
    # every index of the store but the actions' id index, which none of these reads uses (it serves /actions/{id})
    con.execute(schema.EXTRA_DDL + schema.SOCIAL_DDL.replace("CREATE INDEX IF NOT EXISTS actions_id_idx", "-- "))
    indexed = time.perf_counter() - t
    counts = con.execute(
        "SELECT (SELECT count(*) FROM follow_edges), (SELECT count(*) FROM like_edges), "
        "(SELECT count(*) FROM comments), (SELECT count(*) FROM media_social)"
    ).fetchone()
    assert counts is not None
    lines.append(f"derive follow edges, like edges, comments, media counts (the store's refresh of every key): "
                 f"{derived:.1f} s → {counts[0]:,} follows, {counts[1]:,} likes, {counts[2]:,} "
                 f"comments, {counts[3]:,} media with counts")  # fmt: skip
    lines.append(f"build the indexes: {indexed:.1f} s")
    return lines


# -- naive: the same answers from the raw actions table --------------------------------------------------------
LATEST_FOLLOWS = (
    "SELECT author, subject, state, block FROM actions WHERE kind = 'follow' AND status = 'applied' AND {where} "
    f"QUALIFY row_number() OVER (PARTITION BY author, subject ORDER BY {ORDER}) = 1"
)


def naive_follows(store: Store, column: str, other: str, address: str) -> Any:
    cur = store.cursor()
    sql = LATEST_FOLLOWS.format(where=f"{column} = ?")
    count = cur.execute(f"SELECT count(*) FROM ({sql}) WHERE state", [address]).fetchone()
    rows = cur.execute(
        f"SELECT {other} FROM ({sql}) WHERE state ORDER BY block DESC, {other} LIMIT {PAGE}", [address]
    ).fetchall()
    return count, rows


def naive_comments(store: Store, media_id: str) -> Any:
    cur = store.cursor()
    return cur.execute(
        f"""WITH c AS (SELECT * FROM actions WHERE kind = 'comment' AND status = 'applied' AND media_id = ?),
                 latest AS (SELECT * FROM c WHERE replaces IS NOT NULL
                            QUALIFY row_number() OVER (PARTITION BY comment_id ORDER BY {ORDER}) = 1)
            SELECT o.action_id, o.author, coalesce(l.text, o.text), count(*) OVER () FROM c o
            LEFT JOIN latest l ON l.comment_id = o.action_id
            WHERE o.replaces IS NULL AND NOT coalesce(l.state, false)
            ORDER BY o.block DESC, o.log_index DESC, o.seq DESC LIMIT {PAGE}""",
        [media_id],
    ).fetchall()


def naive_feed(store: Store, viewer: str, order: str) -> Any:
    key = "rank DESC, pos DESC" if order == "relevant" else "pos DESC"
    follows = LATEST_FOLLOWS.format(where="author = ?")
    return (
        store.cursor()
        .execute(
            f"""WITH f AS (SELECT subject FROM ({follows}) WHERE state),
                 m AS (SELECT m.id, m.pos, m.time FROM media m JOIN f ON m.owner = f.subject WHERE NOT m.deleted),
                 lk AS (SELECT media_id, state FROM actions WHERE kind = 'like' AND status = 'applied'
                        AND media_id IN (SELECT id FROM m)
                        QUALIFY row_number() OVER (PARTITION BY author, media_id ORDER BY {ORDER}) = 1),
                 likes AS (SELECT media_id, count(*) FILTER (WHERE state) AS likes FROM lk GROUP BY ALL),
                 cm AS (SELECT media_id, count(*) AS comments FROM actions WHERE kind = 'comment'
                        AND status = 'applied' AND replaces IS NULL AND media_id IN (SELECT id FROM m) GROUP BY ALL),
                 scored AS (SELECT m.id, m.pos, m.time, coalesce(l.likes, 0) AS likes,
                                   coalesce(c.comments, 0) AS comments, 0 AS views, 0 AS plays
                            FROM m LEFT JOIN likes l ON l.media_id = m.id LEFT JOIN cm c ON c.media_id = m.id)
            SELECT id, pos, ln(1 + {ENGAGEMENT_SQL}) + time * {RECENCY!r} AS rank FROM scored
            ORDER BY {key} LIMIT {PAGE}""",
            [viewer],
        )
        .fetchall()
    )


def feed_page(store: Store, viewer: str, order: str) -> Any:
    """What /feed reads for a page: its items, the first proof of each one's bytes, and which the viewer likes."""
    return with_first(store, store.feed(viewer, order, PAGE, 0), viewer)


def timed(fn: Callable[[Any], Any], keys: list[Any]) -> tuple[float, float, float, float]:
    """p50 and p95 of wall time, then of the process's CPU time (all its threads): on a machine shared with other
    work the wall time includes waiting for a core, the CPU time is the read's own cost."""
    wall, cpu = [], []
    for k in keys:
        t, c = time.perf_counter(), time.process_time()
        fn(k)
        wall.append(time.perf_counter() - t)
        cpu.append(time.process_time() - c)
    w, p = np.array(wall) * 1000, np.array(cpu) * 1000
    return (float(np.percentile(w, 50)), float(np.percentile(w, 95)),
            float(np.percentile(p, 50)), float(np.percentile(p, 95)))  # fmt: skip


def built_store(tmp: Path, media: int, actions: int, wallets: int) -> tuple[Store, list[str]]:
    """The store with the generated rows and every derived table, built once and kept under .cache/ (about 9 GB at
    full scale), named by the sizes and a hash of the code that makes it: a changed generator, schema or refresh
    builds it again (about 10 minutes), an unchanged one is reused."""
    code = inspect.getsource(_insert_raw) + inspect.getsource(generate)
    code += inspect.getsource(schema) + inspect.getsource(social_state)
    key = hashlib.sha256(code.encode()).hexdigest()[:12]
    kept = CACHE / f"built-{media}-{actions}-{wallets}-{key}.duckdb"
    if kept.exists():
        return Store(kept), [f"reused the store built earlier: .cache/bench-feed/{kept.name}"]
    for old in CACHE.glob(f"built-{media}-{actions}-{wallets}-*.duckdb"):
        old.unlink()  # an older build of the same sizes: never reused again
    store = Store(tmp / "feed.duckdb")
    lines = generate(store, media, actions, wallets)
    store.close()
    CACHE.mkdir(parents=True, exist_ok=True)
    shutil.move(tmp / "feed.duckdb", kept)  # only a finished build gets the name that says so
    return Store(kept), lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=float, default=1.0, help="fraction of the full size (1M media, 10M actions)")
    parser.add_argument("--samples", type=int, default=200, help="queries per read (the naive ones: a tenth)")
    args = parser.parse_args()
    media, actions, wallets = (max(1000, int(n * args.scale)) for n in (1_000_000, 10_000_000, 100_000))
    rng = random.Random(42)
    with tempfile.TemporaryDirectory() as tmp:
        lines = [f"social reads benchmark (scale {args.scale}), page of {PAGE}"]
        store, built = built_store(Path(tmp), media, actions, wallets)
        lines += built
        cur = store.cursor()
        viewers = [r[0] for r in cur.execute(
            f"SELECT author FROM follow_edges USING SAMPLE {args.samples} ROWS").fetchall()]  # fmt: skip
        subjects = [r[0] for r in cur.execute(
            f"SELECT subject FROM follow_edges USING SAMPLE {args.samples} ROWS").fetchall()]  # fmt: skip
        commented = [r[0] for r in cur.execute(
            f"SELECT media_id FROM comments USING SAMPLE {args.samples} ROWS").fetchall()]  # fmt: skip
        rng.shuffle(viewers)
        few = max(5, args.samples // 10)
        reads: list[tuple[str, Callable[[Any], Any], Callable[[Any], Any], list[Any]]] = [
            ("followers", lambda a: (store.follow_counts(a), store.followers(a, PAGE, 0)),
             lambda a: naive_follows(store, "subject", "author", a), subjects),
            ("following", lambda a: (store.follow_counts(a), store.following(a, PAGE, 0)),
             lambda a: naive_follows(store, "author", "subject", a), viewers),
            ("comments", lambda m: (store.comment_count(m), store.media_comments(m, PAGE, 0)),
             lambda m: naive_comments(store, m), commented),
            ("feed relevant", lambda v: feed_page(store, v, "relevant"),
             lambda v: naive_feed(store, v, "relevant"), viewers),
            ("feed latest", lambda v: feed_page(store, v, "latest"),
             lambda v: naive_feed(store, v, "latest"), viewers),
        ]  # fmt: skip
        same = 0
        for v in viewers[:50]:  # the feed's own page (owner_feed) against the same page of media rows
            owners = [r[0] for r in cur.execute("SELECT subject FROM follow_edges WHERE author = ?", [v]).fetchall()]
            for order in ("relevant", "latest"):
                page = store.feed(v, order, PAGE, 0)
                for item in page:
                    del item["liked"]  # only the feed's page says it; the rows' page gets it from with_first
                same += page == store.feed_rows(owners, order, PAGE, 0)
        lines.append(f"feed pages (owner_feed) equal to pages of media rows: {same} of 100")
        load = os.getloadavg()[0]
        lines += ["", f"machine load average {load:.1f} on {os.cpu_count()} cores as the reads start",
                  f"{'read':<16} {'store p50 / p95 ms':>20} {'store CPU p50 / p95':>22} "
                  f"{'naive SQL p50 / p95 ms':>24} {'naive CPU p50 / p95':>22}"]  # fmt: skip
        for name, ours, naive, keys in reads:
            for k in keys:  # a long-running indexer has its pages in memory: time the steady state, not disk reads
                ours(k)
            o, n = timed(ours, keys), timed(naive, keys[:few])
            lines.append(f"{name:<16} {o[0]:>9.2f} / {o[1]:<8.2f} {o[2]:>11.2f} / {o[3]:<8.2f} "
                         f"{n[0]:>11.2f} / {n[1]:<8.2f} {n[2]:>11.2f} / {n[3]:<8.2f}")  # fmt: skip
            print(lines[-1], flush=True)
        followees = cur.execute(
            "SELECT avg(n), max(n) FROM (SELECT count(*) AS n FROM follow_edges GROUP BY author)"
        ).fetchone()
        assert followees is not None
        lines.append(f"machine load average {os.getloadavg()[0]:.1f} as the reads end")
        lines += ["", f"viewers follow {followees[0]:.1f} wallets on average (max {followees[1]}); naive runs on "
                  f"{few} keys per read", "goal: p95 <= 20 ms for each store read; no timing asserts",
                  "a feed read is all that /feed reads: items, first proofs, which the viewer likes"]  # fmt: skip
        store.close()
    text = "\n".join(lines)
    print(text)
    out = Path(__file__).resolve().parent / "results" / "feed.txt"
    out.write_text(text + "\n")


if __name__ == "__main__":
    main()
