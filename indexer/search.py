"""Title search: BM25 over the tokens the store keeps, with prefix matching for the word being typed.

The durable inverted index is DuckDB's `search_tokens` table (rolled back with its block like every other row).
This module holds a read-optimised copy in memory because DuckDB's own scans take 70-300 ms over 1M titles:
every title gets a dense ordinal in chain order, each term a sorted array of ordinals, and the media rows of the
hits come from compact columns by ordinal. The follower refreshes it after every commit and rollback, so a title
is searchable as soon as its block is written.
"""

from __future__ import annotations

import bisect
import math
import threading
from collections import defaultdict
from dataclasses import dataclass
from typing import Any

import numpy as np

from indexer.media_rows import MediaRows
from indexer.store import Store
from indexer.text import parse_query

K1 = 1.2
B = 0.75
PREFIX_COMPLETIONS = 16  # the word being typed expands to its most frequent completions
MERGE_RECENT_TITLES = 20_000  # fold recent titles into the sorted arrays past this many


@dataclass(frozen=True)
class Hit:
    media_pos: int
    score: float
    ordinal: int = -1


class _Postings:
    """One term's postings: document ordinals ascending, each with its impact (BM25's tf and length part, which
    the term's idf multiplies), plus the impact order."""

    __slots__ = ("by_impact", "impact", "ords")

    def __init__(self, ords: np.ndarray, impact: np.ndarray):
        self.ords, self.impact = ords, impact
        # Within one term only the impact differs: sort once, answer single terms by slicing.
        self.by_impact = np.lexsort((-ords, -impact))


def _tf_norm(tf: np.ndarray, length: np.ndarray, avg_len: float) -> np.ndarray:
    tf = tf.astype(np.float64)
    return tf * (K1 + 1) / (tf + K1 * (1 - B + B * length / max(avg_len, 1.0)))


class TitleIndex:
    """Thread-safe: the follower calls refresh/rollback/set_short_ids, API threads call search and rows."""

    def __init__(self, store: Store):
        self.store = store
        self._lock = threading.Lock()
        self._rebuild()

    # -- keeping up with the store ---------------------------------------------------------------------------
    def _rebuild(self) -> None:
        terms, cols, docs = self.store.load_postings()
        doc_pos = docs["media_pos"].astype(np.int64)
        doc_len = docs["title_len"].astype(np.int64)
        term = cols["term"]
        # int64 ordinals: numpy indexes with them without a conversion pass (int32 scatters take ~1.7x as long)
        ords = np.searchsorted(doc_pos, cols["media_pos"]).astype(np.int64)
        total_len = int(doc_len.sum())
        # Lengths are normalised against the average at this build (the index is rebuilt every
        # MERGE_RECENT_TITLES titles), so every posting's impact is worked out once, here.
        avg_len = total_len / len(doc_pos) if len(doc_pos) else 1.0
        impact = _tf_norm(cols["tf"], cols["title_len"], avg_len)
        bounds = np.searchsorted(term, np.arange(len(terms) + 1))
        main = {
            t: _Postings(ords[bounds[i] : bounds[i + 1]], impact[bounds[i] : bounds[i + 1]])
            for i, t in enumerate(terms)
        }
        media = self.store.media_columns()
        if len(media["id"]) != len(doc_pos):
            raise RuntimeError(f"{len(doc_pos)} titles but {len(media['id'])} media rows: the store is inconsistent")
        rows = MediaRows(media)
        deleted = self.store.deleted_positions()
        term_df = np.diff(bounds).astype(np.int64)
        with self._lock:
            self._terms = terms
            self._term_df = term_df
            self._main = main
            self._main_docs = len(doc_pos)
            self._avg_len = avg_len
            self._main_block = int(docs["block"].max()) if len(doc_pos) else -1
            self._pos = list(doc_pos.tolist())  # ordinal → media position (chain order, ascending)
            self._pos_array = doc_pos
            self._recent: dict[str, list[tuple[int, float]]] = defaultdict(list)  # term → (ordinal, impact)
            self._recent_terms: list[str] = []
            self._seen_block = self._main_block
            self._rows = rows
            self._dead = np.zeros(len(doc_pos), dtype=bool)
            self._slot = np.full(len(doc_pos), -1, dtype=np.int64)  # scratch: ordinal → candidate index
            self._mark_dead(deleted)

    def refresh(self) -> None:
        """Takes in what the store committed since the last call (new titles, deletions, short ids)."""
        titles = self.store.titles_after(self._seen_block)
        media = self.store.media_after(self._seen_block)
        deleted = self.store.deleted_positions()
        with self._lock:
            for pos, tokens, tfs, length, block in titles:
                row = media[pos]
                ordinal = len(self._pos)
                self._pos.append(pos)
                impacts = _tf_norm(np.array(tfs), np.full(len(tfs), length), self._avg_len)
                for token, impact in zip(tokens, impacts.tolist(), strict=True):
                    if token not in self._recent:
                        bisect.insort(self._recent_terms, token)
                    self._recent[token].append((ordinal, impact))
                self._seen_block = max(self._seen_block, block)
                self._rows.append([row])
            self._grow(len(self._pos))
            self._dead[:] = False
            self._mark_dead(deleted)
        if len(self._pos) - self._main_docs > MERGE_RECENT_TITLES:
            self._rebuild()

    def _grow(self, n: int) -> None:
        if len(self._pos_array) < n:  # only new titles are copied in, never the whole list again
            new = np.array(self._pos[len(self._pos_array) :], dtype=np.int64)
            self._pos_array = np.concatenate((self._pos_array, new))
        if len(self._dead) < n:
            self._dead = np.concatenate((self._dead, np.zeros(max(n - len(self._dead), 1024), dtype=bool)))
            self._slot = np.concatenate((self._slot, np.full(len(self._dead) - len(self._slot), -1, np.int64)))

    def _mark_dead(self, positions: list[int]) -> None:
        wanted = np.array(positions, dtype=np.int64)
        ords = np.searchsorted(self._pos_array, wanted)
        inside = ords < len(self._pos_array)
        ords, wanted = ords[inside], wanted[inside]
        self._dead[ords[self._pos_array[ords] == wanted]] = True
        self._dead_count = int(self._dead.sum())

    def rollback(self, block: int) -> None:
        """Forgets titles of blocks after `block` (the store has just rolled them back)."""
        if block < self._main_block:
            self._rebuild()
            return
        with self._lock:
            del self._pos[self._main_docs :]
            self._pos_array = self._pos_array[: self._main_docs]
            self._recent = defaultdict(list)
            self._recent_terms = []
            self._seen_block = self._main_block
            self._rows.truncate(self._main_docs)
        self.refresh()

    def set_short_ids(self, pairs: list[tuple[int, str]]) -> None:
        """Short ids the gateway gave media after they were indexed: (media position, short id)."""
        with self._lock:
            for pos, short_id in pairs:
                ordinal = bisect.bisect_left(self._pos, pos)
                if ordinal < len(self._pos) and self._pos[ordinal] == pos:
                    self._rows.set_short_id(ordinal, short_id)

    # -- searching -----------------------------------------------------------------------------------------------
    def search(self, query: str, limit: int = 20, offset: int = 0) -> list[Hit]:
        words, prefix = parse_query(query)
        if not words and prefix is None:
            return []
        with self._lock:
            return self._search(words, prefix, limit, offset)

    def rows(self, hits: list[Hit]) -> list[dict[str, Any]]:
        """The media rows of hits (with their scores), from memory."""
        with self._lock:
            out = []
            for hit in hits:
                ordinal = hit.ordinal
                if not (0 <= ordinal < len(self._pos) and self._pos[ordinal] == hit.media_pos):
                    ordinal = bisect.bisect_left(self._pos, hit.media_pos)  # the index was rebuilt meanwhile
                    if ordinal >= len(self._pos) or self._pos[ordinal] != hit.media_pos:
                        continue  # rolled back meanwhile
                out.append(self._rows.get(ordinal) | {"score": round(hit.score, 4)})
            return out

    def _postings(self, token: str) -> tuple[np.ndarray, np.ndarray]:
        """(ordinals, impacts) of a token, main then recent, ordinals ascending."""
        main = self._main.get(token)
        recent = self._recent.get(token)
        if recent is None:
            if main is None:
                return _EMPTY, _EMPTY_F
            return main.ords, main.impact
        r_ords = np.array([o for o, _ in recent], dtype=np.int64)
        r_impact = np.array([i for _, i in recent], dtype=np.float64)
        if main is None:
            return r_ords, r_impact
        return np.concatenate((main.ords, r_ords)), np.concatenate((main.impact, r_impact))

    def _df(self, token: str) -> int:
        main = self._main.get(token)
        return (len(main.ords) if main is not None else 0) + len(self._recent.get(token, ()))

    def _idf(self, df: int) -> float:
        n = len(self._pos)
        return math.log(1 + (n - df + 0.5) / (df + 0.5))

    def _completions(self, prefix: str) -> list[str]:
        """The prefix's most frequent completions; the main terms' counts are one numpy slice."""
        lo = bisect.bisect_left(self._terms, prefix)
        hi = bisect.bisect_left(self._terms, prefix + "\U0010ffff")
        if hi - lo > PREFIX_COMPLETIONS:
            top = np.argpartition(-self._term_df[lo:hi], PREFIX_COMPLETIONS - 1)[:PREFIX_COMPLETIONS]
            found = {self._terms[lo + int(i)] for i in top}
        else:
            found = set(self._terms[lo:hi])
        lo = bisect.bisect_left(self._recent_terms, prefix)
        hi = bisect.bisect_left(self._recent_terms, prefix + "\U0010ffff")
        found.update(self._recent_terms[lo:hi])
        return sorted(found, key=lambda t: (-self._df(t), t))[:PREFIX_COMPLETIONS]

    def _search(self, words: list[str], prefix: str | None, limit: int, offset: int) -> list[Hit]:
        want = limit + offset
        completions = self._completions(prefix) if prefix is not None else []
        if prefix is not None and not completions:
            return []
        if not words:
            return self._best_of(completions, want, limit, offset)
        if len(words) == 1 and not completions:
            return self._best_of(words, want, limit, offset)
        lists = sorted(((*self._postings(w), self._idf(self._df(w))) for w in words), key=lambda p: len(p[0]))
        cand, impact, idf = lists[0]
        scores = idf * impact
        # Whole words first: each narrows the candidates, the rarest first, so the prefix meets few titles.
        for other, other_impact, other_idf in lists[1:]:
            if not len(cand):
                return []
            at_cand, at_other = self._common(cand, other)
            cand, scores = cand[at_cand], scores[at_cand] + other_idf * other_impact[at_other]
        if completions and len(cand):
            best = np.full(len(cand), -1.0)
            slot = self._slot
            slot[cand] = np.arange(len(cand), dtype=np.int64)  # marked once for every completion
            try:
                for term in completions:
                    c_ords, c_impact = self._postings(term)
                    at_cand, at_c = self._common(cand, c_ords, marked=True)
                    if len(at_cand):
                        s = self._idf(self._df(term)) * c_impact[at_c]
                        best[at_cand] = np.maximum(best[at_cand], s)  # one posting per title and term: no repeats
            finally:
                slot[cand] = -1
            keep = best >= 0
            cand, scores = cand[keep], scores[keep] + best[keep]
        return self._page(cand, scores, limit, offset)

    def _common(self, cand: np.ndarray, other: np.ndarray, marked: bool = False) -> tuple[np.ndarray, np.ndarray]:
        """Indexes into `cand` and into `other` (both ascending ordinals) of the ordinals they share. Binary search
        from the shorter side when one is far shorter, else one pass over `other` through the scratch array
        (`marked`: the caller has already written the candidates' indexes into it)."""
        if not len(other):
            return _EMPTY, _EMPTY
        if len(other) > 16 * len(cand):
            idx = np.searchsorted(other, cand)
            idx[idx >= len(other)] = 0
            hit = other[idx] == cand
            return np.flatnonzero(hit), idx[hit]
        if len(cand) > 16 * len(other):
            idx = np.searchsorted(cand, other)
            idx[idx >= len(cand)] = 0
            hit = cand[idx] == other
            return idx[hit], np.flatnonzero(hit)
        slot = self._slot
        if not marked:
            slot[cand] = np.arange(len(cand), dtype=np.int64)
        try:
            at = slot[other]
        finally:
            if not marked:
                slot[cand] = -1
        where = np.flatnonzero(at >= 0)
        return at[where], where  # an index gather: twice as fast as a boolean mask on large lists

    def _best_of(self, terms: list[str], want: int, limit: int, offset: int) -> list[Hit]:
        """Titles with any of `terms`, best first: each term's best titles come first in its impact order."""
        ord_parts, score_parts = [], []
        reserve = want + self._dead_count
        for term in terms:
            ords, impact = self._take_best(term, reserve)
            ord_parts.append(ords)
            score_parts.append(self._idf(self._df(term)) * impact)
        ords = np.concatenate(ord_parts)
        scores = np.concatenate(score_parts)
        order = np.lexsort((-ords, -scores))
        ords, scores = ords[order], scores[order]
        _, first = np.unique(ords, return_index=True)  # one hit per title: its best completion
        keep = np.sort(first)
        return self._page(ords[keep], scores[keep], limit, offset)

    def _take_best(self, term: str, n: int) -> tuple[np.ndarray, np.ndarray]:
        """The term's `n` best postings from the sorted arrays, and all its recent ones."""
        main = self._main.get(term)
        parts = []
        if main is not None:
            top = main.by_impact[:n]
            parts.append((main.ords[top], main.impact[top]))
        recent = self._recent.get(term)
        if recent:
            parts.append((np.array([o for o, _ in recent], np.int64), np.array([i for _, i in recent], np.float64)))
        if not parts:
            return _EMPTY, _EMPTY_F
        return np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts])

    def _page(self, ords: np.ndarray, scores: np.ndarray, limit: int, offset: int) -> list[Hit]:
        if len(ords) and self._dead_count:
            alive = ~self._dead[ords]
            ords, scores = ords[alive], scores[alive]
        want = limit + offset
        if len(ords) > want:
            # Everything scoring at least the want-th best, ties included, so the order below (score, then newest)
            # decides who makes the page, not the order the candidates came in.
            cut = np.partition(scores, len(scores) - want)[len(scores) - want]
            top = scores >= cut
            ords, scores = ords[top], scores[top]
        order = np.lexsort((-ords, -scores))[offset:want]
        return [Hit(self._pos[int(ords[i])], float(scores[i]), int(ords[i])) for i in order]


_EMPTY = np.zeros(0, dtype=np.int64)
_EMPTY_F = np.zeros(0, dtype=np.float64)
