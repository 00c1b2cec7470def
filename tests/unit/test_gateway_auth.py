"""The gateway request signature: its text, its header, and every way a request is refused (pure, no network)."""

from __future__ import annotations

import pytest
from eth_account import Account
from eth_utils import keccak

from mediaproof.errors import NotAuthenticated, StorageError
from mediaproof.gateway_auth import (
    MAX_SKEW,
    UNSIGNED_PAYLOAD,
    GatewayCredentials,
    NonceWindow,
    body_hash,
    check_fresh,
    check_signature,
    parse_header,
    request_text,
    sign_request,
)
from mediaproof.settings import ANVIL_TEST_KEYS

GATEWAY = Account.from_key(ANVIL_TEST_KEYS[2])
STRANGER = Account.from_key("0x" + "11" * 32)
NOW = 1_760_000_000
TARGET = "/objects/" + "ab" * 32 + "?cid=bafkreiabc&size=12"
EMPTY = body_hash(b"")


def signed(**overrides: object) -> GatewayCredentials:
    args: dict[str, object] = {
        "account": GATEWAY,
        "cluster_id": 1,
        "method": "GET",
        "target": TARGET,
        "payload_hash": EMPTY,
        "ts": NOW,
        "nonce": "0f" * 16,
    }
    args.update(overrides)
    return sign_request(**args)  # type: ignore[arg-type]


def test_signed_text_is_the_documented_lines() -> None:
    text = request_text(7, "post", "/objects/ab?x=1", NOW, "0f" * 16, UNSIGNED_PAYLOAD)
    assert text == f"mediaproof-cluster-request\n7\nPOST\n/objects/ab?x=1\n{NOW}\n{'0f' * 16}\nUNSIGNED-PAYLOAD"
    assert EMPTY == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"


def test_signature_is_eip191_personal_sign_of_the_text() -> None:
    credentials = signed()
    text = request_text(1, "GET", TARGET, NOW, credentials.nonce, EMPTY).encode()
    # What any personal_sign implementation (MetaMask, ethers, viem) hashes for this text.
    digest = keccak(b"\x19Ethereum Signed Message:\n" + str(len(text)).encode() + text)
    assert Account._recover_hash(digest, signature=credentials.signature) == GATEWAY.address


def test_header_round_trips() -> None:
    credentials = signed()
    header = credentials.header()
    assert header == (
        f"Mediaproof-Gateway signer={GATEWAY.address}, ts={NOW}, nonce={'0f' * 16}, sig=0x{credentials.signature.hex()}"
    )
    assert parse_header(header) == credentials
    assert len(credentials.signature) == 65
    # Parts in another order, upper-case hex and a lower-case address mean the same.
    shuffled = (
        f"Mediaproof-Gateway nonce={'0F' * 16},sig=0x{credentials.signature.hex().upper()}, "
        f"ts={NOW}, signer={GATEWAY.address.lower()}"
    )
    assert parse_header(shuffled) == credentials


def test_good_signature_passes_every_check() -> None:
    credentials = parse_header(signed().header())
    check_fresh(credentials, NOW + MAX_SKEW)
    check_fresh(credentials, NOW - MAX_SKEW)
    check_signature(credentials, 1, "GET", TARGET, EMPTY)
    check_signature(credentials, 1, "get", TARGET, EMPTY)  # methods are compared upper-case


@pytest.mark.parametrize(
    ("header", "phrase"),
    [
        (None, "carries no Authorization header"),
        ("", "carries no Authorization header"),
        ("Bearer abc", "scheme is 'Bearer'"),
        ("Mediaproof-Gateway", "bad or repeated part"),
        (f"Mediaproof-Gateway ts={NOW}, nonce={'0f' * 16}, sig=0x{'00' * 65}", "lacks signer"),
        (f"Mediaproof-Gateway signer={GATEWAY.address}, ts={NOW}, ts={NOW}", "bad or repeated part 'ts="),
        (f"Mediaproof-Gateway signer={GATEWAY.address}, ts={NOW}, nonce={'0f' * 16}, sig=0x{'00' * 65}, x=1",
         "bad or repeated part 'x=1'"),
        (f"Mediaproof-Gateway signer=0x1234, ts={NOW}, nonce={'0f' * 16}, sig=0x{'00' * 65}", "signer='0x1234'"),
        (f"Mediaproof-Gateway signer={GATEWAY.address}, ts=-5, nonce={'0f' * 16}, sig=0x{'00' * 65}", "ts='-5'"),
        (f"Mediaproof-Gateway signer={GATEWAY.address}, ts={NOW}, nonce=abc, sig=0x{'00' * 65}", "nonce='abc'"),
        (f"Mediaproof-Gateway signer={GATEWAY.address}, ts={NOW}, nonce={'0f' * 16}, sig=0x{'00' * 64}", "sig="),
        (f"Mediaproof-Gateway signer={GATEWAY.address}, ts={NOW}, nonce={'zz' * 16}, sig=0x{'00' * 65}", "nonce="),
    ],
)  # fmt: skip
def test_missing_or_malformed_header_is_refused_with_a_sentence(header: str | None, phrase: str) -> None:
    with pytest.raises(NotAuthenticated) as caught:
        parse_header(header)
    assert phrase in str(caught.value)


@pytest.mark.parametrize(("offset", "phrase"), [(-MAX_SKEW - 1, "61 s old"), (MAX_SKEW + 1, "61 s in the future")])
def test_stale_or_future_ts_is_refused(offset: int, phrase: str) -> None:
    credentials = signed(ts=NOW + offset)
    with pytest.raises(NotAuthenticated, match=phrase):
        check_fresh(credentials, NOW)


@pytest.mark.parametrize(
    "change",
    [
        {"cluster_id": 2},
        {"method": "DELETE"},
        {"target": TARGET.replace("size=12", "size=13")},
        {"target": "/objects"},
        {"payload_hash": body_hash(b'{"record": {}}')},
        {"payload_hash": UNSIGNED_PAYLOAD},
    ],
)
def test_signature_over_another_request_is_refused(change: dict[str, object]) -> None:
    credentials = signed()
    request: dict[str, object] = {"cluster_id": 1, "method": "GET", "target": TARGET, "payload_hash": EMPTY}
    request.update(change)
    with pytest.raises(NotAuthenticated, match=f"not {GATEWAY.address}'s over this request"):
        check_signature(credentials, **request)  # type: ignore[arg-type]


def test_signature_claimed_for_another_signer_or_altered_is_refused() -> None:
    credentials = signed()
    as_stranger = GatewayCredentials(STRANGER.address, credentials.ts, credentials.nonce, credentials.signature)
    with pytest.raises(NotAuthenticated, match=f"not {STRANGER.address}'s"):
        check_signature(as_stranger, 1, "GET", TARGET, EMPTY)
    other_ts = GatewayCredentials(credentials.signer, NOW + 1, credentials.nonce, credentials.signature)
    with pytest.raises(NotAuthenticated):
        check_signature(other_ts, 1, "GET", TARGET, EMPTY)
    garbage = GatewayCredentials(credentials.signer, NOW, credentials.nonce, b"\xff" * 65)
    with pytest.raises(NotAuthenticated):
        check_signature(garbage, 1, "GET", TARGET, EMPTY)


def test_stranger_signs_validly_for_himself() -> None:
    """A key that is no gateway still makes a valid signature: telling it apart is StorageTopology's job (403)."""
    check_signature(signed(account=STRANGER), 1, "GET", TARGET, EMPTY)


def test_nonce_is_good_once_within_the_window() -> None:
    window = NonceWindow()
    first = signed(nonce="01" * 16)
    window.admit(first, NOW)
    with pytest.raises(NotAuthenticated, match="already used"):
        window.check_unused(first)
    with pytest.raises(NotAuthenticated, match="already used"):
        window.admit(signed(nonce="01" * 16, method="DELETE"), NOW + 5)
    window.admit(signed(nonce="02" * 16), NOW)
    assert len(window) == 2
    # Once its ts is out of the window (check_fresh refuses it anyway) the nonce is forgotten: memory stays bounded.
    window.admit(signed(nonce="03" * 16, ts=NOW + 2 * MAX_SKEW), NOW + 2 * MAX_SKEW)
    assert len(window) == 1


def test_full_window_refuses_rather_than_forgets_a_live_nonce() -> None:
    window = NonceWindow(capacity=3)
    for i in range(3):
        window.admit(signed(nonce=f"{i:032x}"), NOW)
    with pytest.raises(StorageError, match="keeps no more nonces"):
        window.admit(signed(nonce="ff" * 16), NOW)
    for i in range(3):
        with pytest.raises(NotAuthenticated):
            window.check_unused(signed(nonce=f"{i:032x}"))
    window.admit(signed(nonce="ff" * 16, ts=NOW + MAX_SKEW + 2), NOW + MAX_SKEW + 2)  # the old ones expired
