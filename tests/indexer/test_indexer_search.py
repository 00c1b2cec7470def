"""Title search over a real DuckDB store fed by the pure handlers with synthetic events."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from indexer.handlers import ChainEvent, Position, handle
from indexer.search import TitleIndex
from indexer.store import BlockRef, Store
from indexer.text import fold, parse_query, tokens

OWNER = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8"
USER = "0xBA5Cb98A032237C75F0fFd8c08F17C00223A8Eaa"


def media_event(block: int, title: str, log_index: int = 0) -> ChainEvent:
    mid = "0x" + f"{block:032x}{log_index:032x}"
    args = {
        "mediaId": mid,
        "owner": OWNER,
        "sha256": "0x" + f"{block:064x}",
        "cid": f"bafk{block}",
        "size": 100,
        "mediaType": "image/jpeg",
        "title": title,
        "parent": "0x" + "00" * 32,
        "sender": OWNER,
        "receipts": [{"clusterId": 1, "issuedAt": 1000, "signature": "0x" + "11" * 65}],
    }
    return ChainEvent("UserMedia", USER, "MediaRegistered", args, Position(block, 0, log_index), "0x" + "ab" * 32, 1000)


def deleted_event(block: int, media_id: str) -> ChainEvent:
    args = {"mediaId": media_id, "owner": OWNER, "sender": OWNER}
    return ChainEvent("UserMedia", USER, "MediaDeleted", args, Position(block, 0, 0), "0x" + "cd" * 32, 1000)


def write_block(store: Store, number: int, events: list[ChainEvent]) -> None:
    writes = [w for e in events for w in handle(e).writes]
    store.apply([BlockRef(number, f"0x{number:064x}", f"0x{number - 1:064x}", 1000)], writes)


@pytest.fixture
def store(tmp_path: Path) -> Store:
    s = Store(tmp_path / "index.duckdb")
    yield s
    s.close()


def titles(store: Store, index: TitleIndex, query: str) -> list[str]:
    hits = index.search(query, limit=50)
    cur = store.cursor()
    return [cur.execute("SELECT title FROM media WHERE pos = ?", [h.media_pos]).fetchone()[0] for h in hits]


def test_fold_removes_case_and_accents():
    assert fold("Été à ZÜRICH") == "ete a zurich"
    assert tokens("Sunset_2024, Zürich!") == ["sunset", "2024", "zurich"]


def test_parse_query_treats_the_last_unfinished_word_as_a_prefix():
    assert parse_query("red bic") == (["red"], "bic")
    assert parse_query("red bicycle ") == (["red", "bicycle"], None)
    assert parse_query("  ") == ([], None)


def test_search_finds_words_prefixes_numbers_and_folds_accents(store: Store):
    write_block(store, 1, [media_event(1, "Sunset over Zürich 2024")])
    write_block(store, 2, [media_event(2, "Red bicycle in Paris")])
    write_block(store, 3, [media_event(3, "Café de Flore, Paris")])
    index = TitleIndex(store)
    assert titles(store, index, "zurich ") == ["Sunset over Zürich 2024"]
    assert titles(store, index, "ZURICH 2024 ") == ["Sunset over Zürich 2024"]
    assert titles(store, index, "2024") == ["Sunset over Zürich 2024"]
    assert titles(store, index, "cafe") == ["Café de Flore, Paris"]
    assert titles(store, index, "paris bic") == ["Red bicycle in Paris"]
    assert sorted(titles(store, index, "pa")) == ["Café de Flore, Paris", "Red bicycle in Paris"]
    assert titles(store, index, "paris tokyo ") == []
    assert titles(store, index, "x") == []


def test_search_ranks_rarer_and_shorter_matches_first(store: Store):
    write_block(store, 1, [media_event(1, "cat"), media_event(1, "cat on a long long sofa in the sun", 1)])
    write_block(store, 2, [media_event(2, "dog")])
    index = TitleIndex(store)
    assert titles(store, index, "cat ") == ["cat", "cat on a long long sofa in the sun"]


def test_new_titles_deletions_and_rollbacks_reach_search_after_refresh(store: Store):
    write_block(store, 1, [media_event(1, "harbour at dawn")])
    index = TitleIndex(store)
    write_block(store, 2, [media_event(2, "harbour at night")])
    index.refresh()
    assert sorted(titles(store, index, "harbour ")) == ["harbour at dawn", "harbour at night"]
    write_block(store, 3, [deleted_event(3, media_event(1, "").args["mediaId"])])
    index.refresh()
    assert titles(store, index, "harbour ") == ["harbour at night"]
    store.rollback_to(1)
    index.rollback(1)
    assert titles(store, index, "harbour ") == ["harbour at dawn"]
    store.rollback_to(0)
    index.rollback(0)
    assert titles(store, index, "harbour ") == []


WORDS = st.sampled_from(["alpha", "alpine", "beta", "bet", "gamma", "2024", "zürich", "zurich", "Été", "ete"])


@settings(max_examples=25, deadline=None)
@given(
    st.lists(st.lists(WORDS, min_size=1, max_size=4), min_size=1, max_size=12),
    st.lists(WORDS, min_size=1, max_size=3),
    st.booleans(),
)
def test_search_matches_a_brute_force_scan_fuzz(tmp_path_factory, docs, query_words, typing):
    store = Store(tmp_path_factory.mktemp("fuzz") / "f.duckdb")
    try:
        for i, words in enumerate(docs):
            write_block(store, i + 1, [media_event(i + 1, " ".join(words))])
        index = TitleIndex(store)
        query = " ".join(query_words) + ("" if typing else " ")
        whole, prefix = parse_query(query)
        expected = set()
        for i, words in enumerate(docs):
            toks = set(tokens(" ".join(words)))
            if all(w in toks for w in whole) and (prefix is None or any(t.startswith(prefix) for t in toks)):
                expected.add(media_event(i + 1, "").position.key)
        assert {h.media_pos for h in index.search(query, limit=100)} == expected
    finally:
        store.close()


@settings(max_examples=25, deadline=None)
@given(
    st.lists(st.lists(WORDS, min_size=1, max_size=4), min_size=1, max_size=12),
    st.integers(0, 12),
    st.sets(st.integers(1, 12), max_size=4),
    st.lists(WORDS, min_size=1, max_size=3),
    st.booleans(),
)
def test_search_of_titles_added_after_the_build_matches_a_brute_force_scan_fuzz(
    tmp_path_factory, docs, built_after, deleted, query_words, typing
):
    """Titles before `built_after` are in the sorted arrays, later ones arrive by refresh; some get deleted."""
    store = Store(tmp_path_factory.mktemp("fuzz") / "f.duckdb")
    try:
        index = None
        for i, words in enumerate(docs):
            if i == built_after:
                index = TitleIndex(store)
            write_block(store, i + 1, [media_event(i + 1, " ".join(words))])
            if index is not None:
                index.refresh()
        index = index or TitleIndex(store)
        gone = sorted(d for d in deleted if d <= len(docs))
        for n, block in enumerate(gone):
            write_block(
                store, len(docs) + 1 + n, [deleted_event(len(docs) + 1 + n, media_event(block, "").args["mediaId"])]
            )
        index.refresh()
        query = " ".join(query_words) + ("" if typing else " ")
        whole, prefix = parse_query(query)
        expected = set()
        for i, words in enumerate(docs):
            toks = set(tokens(" ".join(words)))
            if i + 1 in gone:
                continue
            if all(w in toks for w in whole) and (prefix is None or any(t.startswith(prefix) for t in toks)):
                expected.add(media_event(i + 1, "").position.key)
        hits = index.search(query, limit=100)
        assert {h.media_pos for h in hits} == expected
        assert [r["title"] for r in index.rows(hits)] == [" ".join(docs[(h.media_pos >> 32) - 1]) for h in hits]
    finally:
        store.close()
