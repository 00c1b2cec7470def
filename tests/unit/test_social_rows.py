"""The web app's follows, likes and comments before any I/O: the actions it asks a wallet to sign are exactly what
the gateway parses and accepts (same id, signature recovered to the author), a comment it cannot send is refused with
its reason before signing, and the indexer's answers read into rows whatever they carry."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
from eth_account import Account
from eth_account.messages import encode_typed_data
from hypothesis import given
from hypothesis import strategies as st

from mediaproof import social
from mediaproof.errors import InputError

WEBAPP = str(Path(__file__).resolve().parents[2] / "webapp")
sys.path.insert(0, WEBAPP)
try:
    from webapp.social_rows import (
        addresses_in,
        comment_action,
        comment_bytes_left,
        comment_row,
        comment_text,
        count_of,
        follow_action,
        like_action,
        typed_json,
    )
finally:
    sys.path.remove(WEBAPP)

KEY = "0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d"
AUTHOR = Account.from_key(KEY).address
SUBJECT = "0x" + "ab" * 20
MEDIA = "0x" + "cd" * 32
CHAIN, MEDIA_APP = 31337, "0x9fE46736679d2D9a65F0992F2272dE9f3c7fa6e0"
NOW = 1_780_000_000
NONCE = bytes(range(32))


def _signed_and_parsed(action: social.Action) -> social.Action:
    """Signs the JSON the page gives the wallet as a wallet does, then reads it back as the gateway would."""
    typed = json.loads(typed_json(action, CHAIN, MEDIA_APP))
    signature = Account.from_key(KEY).sign_message(encode_typed_data(full_message=typed)).signature
    parsed = social.parse_action(typed["primaryType"], typed["message"])
    social.check_rules(parsed)
    assert social.recover(parsed, CHAIN, MEDIA_APP, signature) == AUTHOR
    assert social.action_id(parsed, CHAIN, MEDIA_APP) == social.action_id(action, CHAIN, MEDIA_APP)
    return parsed


def test_follow_like_comment_sign_as_the_gateway_reads_them() -> None:
    follow = _signed_and_parsed(follow_action(AUTHOR, SUBJECT, True, NOW, NONCE))
    assert isinstance(follow, social.Follow) and follow.subject.lower() == SUBJECT and follow.follow
    assert isinstance(_signed_and_parsed(like_action(AUTHOR, MEDIA, False, NOW, NONCE)), social.Like)
    new = _signed_and_parsed(comment_action(AUTHOR, MEDIA, "nice\nshot", NOW, NONCE))
    assert isinstance(new, social.Comment) and new.is_new
    first = "0x" + social.action_id(new, CHAIN, MEDIA_APP).hex()
    edit = _signed_and_parsed(comment_action(AUTHOR, MEDIA, "nicer", NOW, NONCE, replaces=first))
    assert isinstance(edit, social.Comment) and "0x" + edit.replaces.hex() == first
    gone = _signed_and_parsed(comment_action(AUTHOR, MEDIA, "ignored", NOW, NONCE, replaces=first, deleted=True))
    assert isinstance(gone, social.Comment) and gone.deleted and gone.text == ""


def test_typed_data_integers_are_decimal_strings() -> None:
    """A wallet's JSON.parse would round a large number; a decimal string it passes on as it is."""
    message = json.loads(typed_json(follow_action(AUTHOR, SUBJECT, True, NOW, NONCE), CHAIN, MEDIA_APP))["message"]
    assert message["issuedAt"] == str(NOW)


@pytest.mark.parametrize(
    ("text", "why"),
    [
        ("", "empty"),
        ("   \n ", "empty"),
        ("x" * 2001, "over 2000"),
        ("é" * 1001, "over 2000"),  # 2002 bytes in 1001 characters: the limit is bytes
        ("a\x1b[31mred", "control"),
        ("abc\u202edef", "bidirectional"),
    ],
)
def test_comment_refused_before_signing_says_why(text: str, why: str) -> None:
    with pytest.raises(InputError, match=why):
        comment_action(AUTHOR, MEDIA, text, NOW, NONCE)


def test_self_follow_and_bad_ids_are_refused() -> None:
    with pytest.raises(InputError, match="yourself"):
        follow_action(AUTHOR, AUTHOR.lower(), True, NOW, NONCE)
    with pytest.raises(InputError, match="media id"):
        like_action(AUTHOR, "0x1234", True, NOW, NONCE)
    with pytest.raises(InputError, match="comment id"):
        comment_action(AUTHOR, MEDIA, "hi", NOW, NONCE, replaces="0x" + "zz" * 32)


def test_comment_of_exactly_2000_bytes_is_accepted() -> None:
    assert comment_bytes_left("é" * 1000) == 0
    comment_action(AUTHOR, MEDIA, "é" * 1000, NOW, NONCE)
    assert comment_bytes_left("x" * 2001) == -1


@given(st.text(max_size=300))
def test_comment_text_shows_no_control_character_fuzz(text: str) -> None:
    shown = comment_text(text)
    assert all(c == "\n" or c.isprintable() or c in "\u200c\u200d" for c in shown)
    assert shown.count("\n") == text.count("\n")


def test_counts_and_addresses_read_whatever_the_answer_carries() -> None:
    assert count_of({"count": 3}, "count") == 3
    assert count_of({"like_count": "7"}, "likes", "like_count") == 7
    assert count_of({"count": True, "total": 2}, "count", "total") == 2  # a bool is not a count
    assert count_of({}, "count") == 0
    body = {"results": [{"address": SUBJECT, "block": 3}, {"address": AUTHOR}, {"subject": MEDIA[:42]}, SUBJECT, 5]}
    assert addresses_in(body, "results") == [SUBJECT, AUTHOR]


def test_comment_row_for_the_page() -> None:
    row = {
        "comment_id": "0x" + "01" * 32,
        "author": AUTHOR,
        "text": "hi\x07",
        "created_time": NOW - 120,
        "edited": True,
    }
    shown = comment_row(row, NOW, AUTHOR.lower())
    assert shown["id"] == "0x" + "01" * 32
    assert shown["author_short"] == f"{AUTHOR[:6]}…{AUTHOR[-4:]}"
    assert shown["text"] == "hi\\x07" and shown["raw_text"] == "hi\x07"
    assert (shown["time_ago"], shown["edited"], shown["mine"]) == ("2 min ago", "yes", "yes")
    assert comment_row({**row, "edited": False}, NOW, "")["edited"] == ""
    assert comment_row(row, NOW, SUBJECT)["mine"] == ""
