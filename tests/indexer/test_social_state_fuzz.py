"""Invariant (hypothesis stateful) test of the social state in a real DuckDB store: random blocks of follows,
unfollows, likes, unlikes, comments, edits, deletes and replays (by random authors, some on unknown media, some on
other people's comments), and rollbacks; after every step the derived tables equal a plain Python model computed from
the surviving actions alone."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from indexer.handlers import Insert
from indexer.store import BlockRef, Store

USERS = ["0x" + f"{i:040x}" for i in range(1, 5)]
MEDIA = ["0x" + f"{i:064x}" for i in range(1, 4)]
UNKNOWN = "0x" + "ff" * 32


def _media_row(i: int, media_id: str) -> dict[str, Any]:
    return {"pos": (1 << 32) | i, "id": media_id, "kind": "batched", "batch": 1, "owner": USERS[i % len(USERS)],
            "size": 1000, "time": 1000, "deleted": False, "block": 1, "tx_index": 0, "log_index": 0,
            "tx_hash": "0x01"}  # fmt: skip


def model(actions: list[dict[str, Any]]) -> dict[str, Any]:
    """The rules of docs/feed.md, plainly, over actions in chain order."""
    seen: set[str] = set()
    follows: dict[tuple[str, str], bool] = {}
    likes: dict[tuple[str, str], bool] = {}
    comments: dict[str, dict[str, Any]] = {}
    for a in actions:
        if a["action_id"] in seen:
            continue
        seen.add(a["action_id"])
        if a.get("media_id") is not None and a["media_id"] not in MEDIA:
            continue
        if a["kind"] == "follow":
            follows[(a["author"], a["subject"])] = a["state"]
        elif a["kind"] == "like":
            likes[(a["author"], a["media_id"])] = a["state"]
        elif a["replaces"] is None:
            comments[a["action_id"]] = {"author": a["author"], "media": a["media_id"], "text": a["text"],
                                        "deleted": False}  # fmt: skip
        else:
            c = comments.get(a["replaces"])
            if c and c["author"] == a["author"] and c["media"] == a["media_id"] and not c["deleted"]:
                c["text"], c["deleted"] = a["text"], a["state"]
    edges = {k for k, on in follows.items() if on}
    liked = {k for k, on in likes.items() if on}
    return {
        "follow_edges": sorted(edges),
        "like_edges": sorted(liked),
        "comments": sorted((cid, c["text"], c["deleted"]) for cid, c in comments.items()),
        "media": sorted((m, sum(1 for _, lm in liked if lm == m),
                         sum(1 for c in comments.values() if c["media"] == m and not c["deleted"])) for m in MEDIA),
        "users": sorted((u, sum(1 for _, s in edges if s == u), sum(1 for a, _ in edges if a == u))
                        for u in {x for e in edges for x in e}),
    }  # fmt: skip


action_kinds = st.sampled_from(["follow", "unfollow", "like", "unlike", "comment", "edit", "delete", "replay"])


class SocialState(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.dir = tempfile.TemporaryDirectory()
        self.store = Store(Path(self.dir.name) / "s.duckdb")
        self.block = 1
        self.actions: list[dict[str, Any]] = []
        self.counter = 0
        self.store.apply([self._ref(1)], [Insert("media", _media_row(i, m)) for i, m in enumerate(MEDIA)])

    def _ref(self, n: int) -> BlockRef:
        return BlockRef(n, f"0x{n:064x}", f"0x{n - 1:064x}", 1000 + n)

    def _action(self, kind: str, draw: Any) -> dict[str, Any]:
        self.counter += 1
        author = draw(st.sampled_from(USERS))
        row: dict[str, Any] = {"action_id": "0x" + f"{self.counter:064x}", "author": author, "subject": None,
                               "media_id": None, "comment_id": None, "replaces": None, "text": None,
                               "status": "applied", "signature_check": "ecdsa", "time": 1000}  # fmt: skip
        if kind in ("follow", "unfollow"):
            subject = draw(st.sampled_from([u for u in USERS if u != author]))
            return row | {"kind": "follow", "subject": subject, "state": kind == "follow"}
        media = draw(st.sampled_from([*MEDIA, UNKNOWN]))
        if kind in ("like", "unlike"):
            return row | {"kind": "like", "media_id": media, "state": kind == "like"}
        row |= {"kind": "comment", "media_id": media, "state": False, "text": f"text {self.counter}"}
        earlier = [a for a in self.actions if a["kind"] == "comment" and a["replaces"] is None]
        if kind in ("edit", "delete") and earlier:
            target = draw(st.sampled_from(earlier))
            author = draw(st.sampled_from([target["author"], author]))  # often its author, sometimes not
            row |= {"author": author, "media_id": target["media_id"], "replaces": target["action_id"],
                    "comment_id": target["action_id"]}  # fmt: skip
            if kind == "delete":
                row |= {"state": True, "text": ""}
            return row
        return row | {"comment_id": row["action_id"]}

    @rule(data=st.data(), kinds=st.lists(action_kinds, min_size=1, max_size=4))
    def anchor_a_batch(self, data: st.DataObject, kinds: list[str]) -> None:
        self.block += 1
        rows = []
        for seq, kind in enumerate(kinds):
            if kind == "replay" and self.actions:
                row = dict(data.draw(st.sampled_from(self.actions)))
            else:
                row = self._action("follow" if kind == "replay" else kind, data.draw)
            rows.append(row | {"batch": self.block, "seq": seq, "block": self.block, "tx_index": 0, "log_index": 0,
                               "tx_hash": f"0x{self.block:x}"})  # fmt: skip
        self.store.apply([self._ref(self.block)], [Insert("actions", dict(r)) for r in rows])
        self.actions += rows

    @precondition(lambda self: self.block > 1)
    @rule(data=st.data())
    def reorg(self, data: st.DataObject) -> None:
        to = data.draw(st.integers(1, self.block - 1))
        self.store.rollback_to(to)
        self.actions = [a for a in self.actions if a["block"] <= to]
        self.block = to

    @invariant()
    def derived_tables_equal_the_model(self) -> None:
        want = model(self.actions)
        cur = self.store.cursor()
        assert sorted(cur.execute("SELECT author, subject FROM follow_edges").fetchall()) == want["follow_edges"]
        assert sorted(cur.execute("SELECT author, media_id FROM like_edges").fetchall()) == want["like_edges"]
        assert sorted(cur.execute("SELECT comment_id, text, deleted FROM comments").fetchall()) == want["comments"]
        assert sorted(cur.execute("SELECT media_id, likes, comments FROM media_social").fetchall()) == want["media"]
        got_users = sorted(cur.execute("SELECT address, followers, following FROM user_social").fetchall())
        assert got_users == want["users"]

    @invariant()
    def a_merged_feed_page_equals_the_same_page_of_media_rows(self) -> None:
        for order in ("relevant", "latest"):
            for limit, offset in ((20, 0), (1, 1)):
                merged = self.store.merged_feed(USERS, order, limit, offset)
                assert merged == self.store.feed_rows(USERS, order, limit, offset)
            for viewer in USERS:  # the feed's own path: the viewer's follows joined to owner_feed, then merged
                follows = self.store.cursor().execute("SELECT subject FROM follow_edges WHERE author = ?", [viewer])
                followees = [r[0] for r in follows.fetchall()]
                want = self.store.feed_rows(followees, order, 20, 0) if followees else []
                got = self.store.feed(viewer, order, 20, 0)
                likes = self.store.cursor().execute("SELECT media_id FROM like_edges WHERE author = ?", [viewer])
                liked = {r[0] for r in likes.fetchall()}
                assert [item.pop("liked") for item in got] == [item["id"] in liked for item in got]
                assert got == want

    def teardown(self) -> None:
        self.store.close()
        self.dir.cleanup()


TestSocialStateFuzz = SocialState.TestCase
TestSocialStateFuzz.settings = settings(max_examples=25, stateful_step_count=12, deadline=None)
