"""Numbers the upload service puts into transactions (deposit, delete nonce and deadline) and the JSON they come
in: anything a transaction cannot carry is refused with a sentence (an InputError: 422), never a 500, never sent on.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from starlette.requests import Request

from mediaproof.errors import InputError
from mediaproof.upload.access import json_body
from mediaproof.upload.relay import parse_uint


@pytest.mark.parametrize("value", [0, 1, 10**17, "100000000000000000", " 42 ", 2**256 - 1, str(2**256 - 1)])
def test_whole_numbers_a_transaction_can_carry_pass(value: Any) -> None:
    assert parse_uint(value, "deposit_wei", "wei") == int(str(value).strip())


@pytest.mark.parametrize(
    ("value", "says"),
    [
        (2**256, "outside what a transaction can carry"),
        (str(2**256), "outside what a transaction can carry"),
        (-1, "outside what a transaction can carry"),
        (1e18, "not a whole number of wei"),
        (1.5, "not a whole number of wei"),
        (float("inf"), "not a whole number of wei"),
        (True, "not a whole number of wei"),
        ("1e18", "not a whole number of wei"),
        ("0x10", "not a whole number of wei"),
        ("-5", "not a whole number of wei"),
        ("٣", "not a whole number of wei"),  # an Arabic-Indic digit: str.isdigit() says yes, a transaction no
        ("9" * 4400, "not a whole number of wei"),  # past int()'s digit limit: refused before it is read
        (None, "not a whole number of wei"),
        ([1], "not a whole number of wei"),
        (2**5000, "5001-bit number"),
    ],
)
def test_numbers_a_transaction_cannot_carry_are_refused_with_a_sentence(value: Any, says: str) -> None:
    with pytest.raises(InputError, match=says) as refused:
        parse_uint(value, "deposit_wei", "wei")
    assert len(str(refused.value)) < 200


def test_a_deadline_is_bounded_by_its_uint64_field() -> None:
    assert parse_uint(2**64 - 1, "deadline", bits=64) == 2**64 - 1
    with pytest.raises(InputError, match=r"2\*\*64"):
        parse_uint(2**64, "deadline", bits=64)


def body_of(raw: bytes) -> dict[str, Any]:
    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": raw, "more_body": False}

    request = Request({"type": "http", "method": "POST", "headers": [], "path": "/users"}, receive)
    return asyncio.run(json_body(request))


@pytest.mark.parametrize(
    "raw",
    [b'{"deposit_wei": 1e400}', b'{"deposit_wei": Infinity}', b'{"deposit_wei": -Infinity}', b'{"nonce": NaN}',
     b'{"deposit_wei": ' + b"9" * 4400 + b"}"],
)  # fmt: skip
def test_json_numbers_python_would_make_infinite_or_cannot_read_are_refused(raw: bytes) -> None:
    with pytest.raises(InputError, match="must be a JSON object"):
        body_of(raw)


def test_ordinary_json_bodies_still_read() -> None:
    assert body_of(b'{"deposit_wei": "1000", "x": 1.5, "y": 12}') == {"deposit_wei": "1000", "x": 1.5, "y": 12}
