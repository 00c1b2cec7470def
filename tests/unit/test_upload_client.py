"""The CLI's upload-service client against a scripted service: it signs in with its key by itself, signs in again
when its session ends, waits out 429s as Retry-After asks (saying so), and never signs a message for elsewhere."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from eth_account import Account
from eth_account.messages import encode_defunct

from mediaproof.clients.upload import MAX_RETRY_WAIT, UploadClient
from mediaproof.errors import ContentMismatch, RateLimited
from mediaproof.settings import ANVIL_TEST_KEYS
from mediaproof.upload.sessions import build_message

ALICE = Account.from_key(ANVIL_TEST_KEYS[0])
URL = "http://127.0.0.1:8700"


class Service:
    """A scripted upload service: sign-in routes that check the signature, and a queue of answers for uploads."""

    def __init__(self, uploads: list[httpx.Response], domain: str = "127.0.0.1:8700") -> None:
        self.uploads = uploads
        self.domain = domain
        self.sessions = 0
        self.seen: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.seen.append(request)
        if request.url.path == "/auth/nonce":
            address = json.loads(request.content)["address"]
            message = build_message(
                self.domain, address, f"http://{self.domain}", 31337, f"n{self.sessions:09d}", 1e9, 4e9
            )
            return httpx.Response(200, json={"nonce": "n", "message": message})
        if request.url.path == "/auth/session":
            body = json.loads(request.content)
            signer = Account.recover_message(encode_defunct(text=body["message"]), signature=body["signature"])
            assert signer == ALICE.address
            self.sessions += 1
            return httpx.Response(200, json={"token": f"token-{self.sessions}", "address": signer, "expires_at": 0})
        assert request.headers["authorization"] == f"Bearer token-{self.sessions}"
        return self.uploads.pop(0)


def client(service: Service, waits: list[float], said: list[str]) -> UploadClient:
    made = UploadClient(URL, account=ALICE, chain_id=31337, notify=said.append, sleep=waits.append)
    made._http = httpx.Client(base_url=URL, transport=httpx.MockTransport(service))
    return made


def limited(seconds: int, status: int = 429) -> httpx.Response:
    return httpx.Response(
        status,
        headers={"retry-after": str(seconds)},
        json={"detail": "wallet 0x… has sent 60 uploads in the last minute", "retry_after": seconds},
    )


STORED = httpx.Response(201, json={"upload_id": "u1"})


def test_signs_in_by_itself_then_waits_out_429_and_503_saying_so() -> None:
    service = Service([limited(7), limited(3, 503), STORED])
    waits: list[float] = []
    said: list[str] = []
    assert client(service, waits, said).upload_bytes(b"photo") == {"upload_id": "u1"}
    assert service.sessions == 1 and waits == [7, 3]
    assert len(said) == 2 and "waiting 7 s" in said[0] and "Retry-After" in said[0] and "60 uploads" in said[0]


def test_a_session_that_ended_is_signed_in_again_once() -> None:
    gone = httpx.Response(401, json={"detail": "the session expired"})
    service = Service([STORED, gone, STORED])
    up = client(service, [], [])
    up.upload_bytes(b"a")
    up.upload_bytes(b"b")
    assert service.sessions == 2


def test_a_wait_longer_than_it_would_sit_through_is_reported() -> None:
    service = Service([limited(MAX_RETRY_WAIT + 1)])
    waits: list[float] = []
    with pytest.raises(RateLimited) as caught:
        client(service, waits, []).upload_bytes(b"photo")
    assert waits == [] and caught.value.retry_after == MAX_RETRY_WAIT + 1 and "60 uploads" in str(caught.value)


@pytest.mark.parametrize("make", [lambda s: setattr(s, "domain", "evil.example")])
def test_never_signs_in_to_another_domain(make: Callable[[Service], Any]) -> None:
    service = Service([STORED])
    make(service)
    with pytest.raises(ContentMismatch, match="nothing was signed"):
        client(service, [], []).upload_bytes(b"photo")
    assert service.sessions == 0
