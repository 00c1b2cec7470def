"""Issue 11's done-when on a real stack (anvil, js-ipfs, a storage cluster, the upload and download services, the
indexer), through the CLI as people run it: B follows A; A uploads; B's feed shows it first; B comments and likes;
`/media/<id>` and `/media/<id>/comments` show them with B as author; the comment's anchored proof verifies with
`mediaproof verify-action`; B unfollows; A's next upload is not in B's feed. (Forged, lifted and replayed actions:
test_social_actions.py and tests/indexer/test_indexer_social.py.)"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from eth_account import Account

from mediaproof.devstack import LocalStack
from mediaproof.settings import ANVIL_TEST_KEYS, Settings
from tests.integration.stack import cli_env, stack_settings, wait_until
from tests.unit.test_upload_intake import photo_bytes

pytestmark = pytest.mark.integration

A_KEY, B_KEY = ANVIL_TEST_KEYS[0], ANVIL_TEST_KEYS[1]
A, B = (Account.from_key(k).address for k in (A_KEY, B_KEY))


def run(settings: Settings, *args: str, key: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "mediaproof.cli", *args], capture_output=True, text=True,
                          timeout=600, env=cli_env(settings, key))  # fmt: skip


def ok(settings: Settings, *args: str, key: str) -> dict[str, Any]:
    result = run(settings, *args, "--json", key=key)
    assert result.returncode == 0, result.stderr
    return dict(json.loads(result.stdout))


def indexer(settings: Settings, path: str, **params: Any) -> Any:
    reply = httpx.get(settings.resolved_indexer_url() + path, params=params, timeout=30)
    return reply.json() if reply.status_code == 200 else None


def feed_ids(settings: Settings, order: str = "latest") -> list[str]:
    answer = indexer(settings, "/feed", viewer=B, order=order)
    return [r["id"] for r in answer["results"]]


def action_counted(settings: Settings, action_id: str) -> bool:
    found = indexer(settings, f"/actions/{action_id}")
    return bool(found) and found["status"] == "applied"


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalStack]:
    settings = stack_settings(tmp_path_factory.mktemp("social-feed")).model_copy(update={"batch_interval": 0.5})
    running = LocalStack(settings).start()
    yield running
    running.stop()


def test_follow_feed_comment_like_proof_unfollow(stack: LocalStack, tmp_path: Path) -> None:
    s = stack.settings
    followed = ok(s, "follow", A, "--wait", key=B_KEY)
    wait_until(lambda: action_counted(s, followed["action_id"]), "B's follow is indexed")
    assert [r["address"] for r in indexer(s, f"/users/{A}/followers")["results"]] == [B]

    first = tmp_path / "harbour.jpg"
    first.write_bytes(photo_bytes(81, (640, 480)))
    posted = ok(s, "upload", str(first), key=A_KEY)
    wait_until(lambda: posted["media_id"] in feed_ids(s), "A's upload in B's feed")
    assert feed_ids(s, "relevant")[0] == posted["media_id"]
    cli_feed = ok(s, "feed", key=B_KEY)  # the CLI's own account is the viewer
    assert cli_feed["viewer"] == B and cli_feed["results"][0]["id"] == posted["media_id"]

    commented = ok(s, "comment", posted["short_id"], "Lovely light", "--wait", key=B_KEY)
    liked = ok(s, "like", posted["media_id"], "--wait", key=B_KEY)
    for action in (commented, liked):
        wait_until(lambda a=action: action_counted(s, a["action_id"]), f"{action['kind']} indexed")
    media = indexer(s, f"/media/{posted['media_id']}")
    assert (media["likes"], media["comments"]) == (1, 1)
    comments = indexer(s, f"/media/{posted['media_id']}/comments")["results"]
    assert [(c["author"], c["text"], c["comment_id"]) for c in comments] == [
        (B, "Lovely light", commented["action_id"])
    ]
    proven = run(s, "verify-action", commented["action_id"], key=B_KEY)
    assert proven.returncode == 0, proven.stderr
    assert f"proven: {B} signed this Comment" in proven.stdout

    unfollowed = ok(s, "unfollow", A, "--wait", key=B_KEY)
    wait_until(lambda: action_counted(s, unfollowed["action_id"]), "B's unfollow is indexed")
    second = tmp_path / "dawn.jpg"
    second.write_bytes(photo_bytes(82, (640, 480)))
    later = ok(s, "upload", str(second), key=A_KEY)
    wait_until(lambda: indexer(s, f"/media/{later['media_id']}"), "A's second upload is indexed")
    assert later["media_id"] not in feed_ids(s) and later["media_id"] not in feed_ids(s, "relevant")
    assert indexer(s, f"/users/{A}/followers")["results"] == []
