"""Title search: BM25 over the tokens the store keeps, with prefix matching for the word being typed.

The durable inverted index is DuckDB's `search_tokens` table (rolled back with its block like every other row).
This module holds a read-optimised copy in memory (numpy postings per term, sorted term list for prefix ranges)
because DuckDB's own scans take 70-300 ms over 1M titles; the follower refreshes it after every commit and
rollback, so a title is searchable as soon as its block is written.
"""

from __future__ import annotations

import bisect
import math
import threading
from collections import defaultdict
from dataclasses import dataclass

import numpy as np

from indexer.store import Store
from indexer.text import parse_query

K1 = 1.2
B = 0.75
PREFIX_COMPLETIONS = 16  # the word being typed expands to its most frequent completions
MERGE_DELTA_POSTINGS = 100_000  # fold recent postings into the sorted arrays past this many


@dataclass(frozen=True)
class Hit:
    media_pos: int
    score: float


class _Postings:
    """One term's postings: media positions ascending, with tf and title length, plus its impact order."""

    __slots__ = ("by_impact", "length", "pos", "tf")

    def __init__(self, pos: np.ndarray, tf: np.ndarray, length: np.ndarray, avg_len: float):
        self.pos, self.tf, self.length = pos, tf, length
        # Within one term BM25 depends only on tf and title length: sort once, answer single terms by slicing.
        self.by_impact = np.lexsort((-pos, -_tf_norm(tf, length, avg_len)))


def _tf_norm(tf: np.ndarray, length: np.ndarray, avg_len: float) -> np.ndarray:
    tf = tf.astype(np.float64)
    return tf * (K1 + 1) / (tf + K1 * (1 - B + B * length / max(avg_len, 1.0)))


class TitleIndex:
    """Thread-safe: the follower calls refresh/rollback, API threads call search."""

    def __init__(self, store: Store):
        self.store = store
        self._lock = threading.Lock()
        self._rebuild()

    # -- keeping up with the store ---------------------------------------------------------------------------
    def _rebuild(self) -> None:
        terms, cols = self.store.load_postings()
        term, pos, tf, length, block = (cols[k] for k in ("term", "media_pos", "tf", "title_len", "block"))
        docs = np.unique(pos)
        total_len = 0
        if len(pos):
            # every posting of a title carries the title's length: count each title once
            order = np.argsort(pos, kind="stable")
            first = np.concatenate(([True], np.diff(pos[order]) != 0))
            total_len = int(length[order][first].sum())
        avg_len = total_len / len(docs) if len(docs) else 1.0
        bounds = np.searchsorted(term, np.arange(len(terms) + 1))
        main = {
            t: _Postings(
                pos[bounds[i] : bounds[i + 1]],
                tf[bounds[i] : bounds[i + 1]],
                length[bounds[i] : bounds[i + 1]],
                avg_len,
            )
            for i, t in enumerate(terms)
        }
        with self._lock:
            self._terms = terms
            self._main = main
            self._main_block = int(block.max()) if len(block) else -1
            self._main_docs = (len(docs), total_len)
            self._doc_count, self._total_len = self._main_docs
            self._delta: dict[str, list[tuple[int, int, int, int]]] = defaultdict(list)
            self._delta_terms: list[str] = []
            self._delta_size = 0
            self._seen_block = self._main_block
            self._deleted = np.array(sorted(self.store.deleted_positions()), dtype=np.int64)

    def refresh(self) -> None:
        """Takes in what the store committed since the last call (new titles, deletions)."""
        rows = self.store.postings_after(self._seen_block)
        deleted = np.array(sorted(self.store.deleted_positions()), dtype=np.int64)
        with self._lock:
            last_pos = None
            for token, pos, tf, length, block in rows:
                if token not in self._delta:
                    bisect.insort(self._delta_terms, token)
                self._delta[token].append((pos, tf, length, block))
                if pos != last_pos:
                    self._doc_count += 1
                    self._total_len += length
                    last_pos = pos
                self._seen_block = max(self._seen_block, block)
            self._delta_size += len(rows)
            self._deleted = deleted
        if self._delta_size > MERGE_DELTA_POSTINGS:
            self._rebuild()

    def rollback(self, block: int) -> None:
        """Forgets postings of blocks after `block` (the store has just rolled them back)."""
        if block < self._main_block:
            self._rebuild()
            return
        with self._lock:
            self._delta = defaultdict(list)
            self._delta_terms = []
            self._delta_size = 0
            self._seen_block = self._main_block
            self._doc_count, self._total_len = self._main_docs
        self.refresh()

    # -- searching -----------------------------------------------------------------------------------------------
    def search(self, query: str, limit: int = 20, offset: int = 0) -> list[Hit]:
        words, prefix = parse_query(query)
        if not words and prefix is None:
            return []
        with self._lock:
            return self._search(words, prefix, limit, offset)

    def _postings(self, token: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(pos, tf, length) of a token, main then recent, positions ascending."""
        main = self._main.get(token)
        recent = self._delta.get(token)
        if recent is None:
            if main is None:
                return _EMPTY, _EMPTY, _EMPTY
            return main.pos, main.tf, main.length
        r = np.array([(p, tf, ln) for p, tf, ln, _ in recent], dtype=np.int64).reshape(-1, 3)
        if main is None:
            return r[:, 0], r[:, 1], r[:, 2]
        return (
            np.concatenate((main.pos, r[:, 0])),
            np.concatenate((main.tf, r[:, 1])),
            np.concatenate((main.length, r[:, 2])),
        )

    def _df(self, token: str) -> int:
        main = self._main.get(token)
        return (len(main.pos) if main is not None else 0) + len(self._delta.get(token, ()))

    def _idf(self, df: int) -> float:
        return math.log(1 + (self._doc_count - df + 0.5) / (df + 0.5))

    def _avg_len(self) -> float:
        return self._total_len / self._doc_count if self._doc_count else 1.0

    def _completions(self, prefix: str) -> list[str]:
        found = set()
        for terms in (self._terms, self._delta_terms):
            lo = bisect.bisect_left(terms, prefix)
            hi = bisect.bisect_left(terms, prefix + "\U0010ffff")
            found.update(terms[lo:hi])
        return sorted(found, key=lambda t: (-self._df(t), t))[:PREFIX_COMPLETIONS]

    def _search(self, words: list[str], prefix: str | None, limit: int, offset: int) -> list[Hit]:
        avg = self._avg_len()
        want = limit + offset
        completions = self._completions(prefix) if prefix is not None else []
        if prefix is not None and not completions:
            return []
        if not words:
            # Only the word being typed: each completion's best titles come first in its impact order.
            pos_parts, score_parts = [], []
            for term in completions:
                pos, tf, length = self._take_best(term, want + len(self._deleted))
                pos_parts.append(pos)
                score_parts.append(self._idf(self._df(term)) * _tf_norm(tf, length, avg))
            pos = np.concatenate(pos_parts)
            scores = np.concatenate(score_parts)
            order = np.lexsort((-pos, -scores))
            pos, scores = pos[order], scores[order]
            _, first = np.unique(pos, return_index=True)  # one hit per title: its best completion
            keep = np.sort(first)
            return self._page(pos[keep], scores[keep], limit, offset)
        lists = sorted(((*self._postings(w), self._idf(self._df(w))) for w in words), key=lambda p: len(p[0]))
        cand, tf, length, idf = lists[0]
        scores = idf * _tf_norm(tf, length, avg)
        for other_pos, other_tf, other_len, other_idf in lists[1:]:
            idx = np.searchsorted(other_pos, cand)
            idx[idx >= len(other_pos)] = 0
            hit = other_pos[idx] == cand if len(other_pos) else np.zeros(len(cand), bool)
            cand, idx, scores = cand[hit], idx[hit], scores[hit]
            scores = scores + other_idf * _tf_norm(other_tf[idx], other_len[idx], avg)
        if completions:
            best = np.full(len(cand), -1.0)
            for term in completions:
                c_pos, c_tf, c_len = self._postings(term)
                if not len(c_pos):
                    continue
                idx = np.searchsorted(c_pos, cand)
                idx[idx >= len(c_pos)] = 0
                hit = c_pos[idx] == cand
                s = self._idf(self._df(term)) * _tf_norm(c_tf[idx], c_len[idx], avg)
                best = np.where(hit & (s > best), s, best)
            keep = best >= 0
            cand, scores = cand[keep], scores[keep] + best[keep]
        return self._page(cand, scores, limit, offset)

    def _take_best(self, term: str, n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        main = self._main.get(term)
        parts = []
        if main is not None:
            top = main.by_impact[:n]
            parts.append((main.pos[top], main.tf[top], main.length[top]))
        recent = self._delta.get(term)
        if recent:
            r = np.array([(p, tf, ln) for p, tf, ln, _ in recent], dtype=np.int64)
            parts.append((r[:, 0], r[:, 1], r[:, 2]))
        return tuple(np.concatenate([p[i] for p in parts]) for i in range(3))  # type: ignore[return-value]

    def _page(self, pos: np.ndarray, scores: np.ndarray, limit: int, offset: int) -> list[Hit]:
        if len(self._deleted) and len(pos):
            alive = ~np.isin(pos, self._deleted)
            pos, scores = pos[alive], scores[alive]
        want = limit + offset
        if len(pos) > want:
            top = np.argpartition(-scores, want - 1)[:want]
            pos, scores = pos[top], scores[top]
        order = np.lexsort((-pos, -scores))[offset:want]
        return [Hit(int(pos[i]), float(scores[i])) for i in order]


_EMPTY = np.zeros(0, dtype=np.int64)
