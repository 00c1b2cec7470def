"""Sign-In with Ethereum against the upload service's session store, without a chain: what signs in, what does not
(each refusal a sentence), single-use nonces, expiry, and messages that are not canonical EIP-4361."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
from eth_account import Account
from eth_account.messages import encode_defunct
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mediaproof.errors import NotAuthenticated
from mediaproof.session_reader import bearer_token
from mediaproof.settings import ANVIL_TEST_KEYS
from mediaproof.upload.sessions import (
    ERC1271_MAGIC,
    SessionStore,
    build_message,
    iso,
    parse_message,
)

ALICE = Account.from_key(ANVIL_TEST_KEYS[0])
BOB = Account.from_key(ANVIL_TEST_KEYS[1])
DOMAIN, URI, CHAIN = "127.0.0.1:8700", "http://127.0.0.1:8700", 31337
NOW = 1_750_000_000.0


def sign(text: str, account: object = ALICE) -> str:
    return "0x" + bytes(account.sign_message(encode_defunct(text=text)).signature).hex()  # type: ignore[attr-defined]


@pytest.fixture
def store(gateway_target: Path | str) -> SessionStore:
    """On each backend (SQLite file, real PostgreSQL): tests/conftest.py's gateway_target."""
    return SessionStore(gateway_target, nonce_lifetime=300, session_lifetime=3600)


def refused(store: SessionStore, message: str, signature: str, fragment: str, now: float = NOW + 1) -> None:
    with pytest.raises(NotAuthenticated) as caught:
        store.sign_in(message, signature, CHAIN, None, now=now)
    assert fragment in str(caught.value), str(caught.value)


def test_the_issued_message_signs_in_once_and_the_session_names_the_wallet(store: SessionStore) -> None:
    issued = store.issue(ALICE.address, DOMAIN, URI, CHAIN, now=NOW)
    lines = issued.message.splitlines()
    assert lines[0] == f"{DOMAIN} wants you to sign in with your Ethereum account:" and lines[1] == ALICE.address
    for field in (f"URI: {URI}", "Version: 1", f"Chain ID: {CHAIN}", f"Nonce: {issued.nonce}",
                  f"Issued At: {iso(NOW)}", f"Expiration Time: {iso(NOW + 300)}"):  # fmt: skip
        assert field in lines
    session = store.sign_in(issued.message, sign(issued.message), CHAIN, None, now=NOW + 1)
    assert session.address == ALICE.address and session.expires_at == NOW + 1 + 3600
    assert store.wallet(session.token, now=NOW + 2) == (ALICE.address, NOW + 1 + 3600)
    refused(store, issued.message, sign(issued.message), "already used")  # a replay
    with pytest.raises(NotAuthenticated, match="expired"):
        store.wallet(session.token, now=NOW + 3602)
    assert store.end(session.token) and not store.end(session.token)
    with pytest.raises(NotAuthenticated, match="signed out"):
        store.wallet(session.token, now=NOW + 2)


def test_forged_expired_foreign_and_other_chain_messages_are_refused(store: SessionStore) -> None:
    issued = store.issue(ALICE.address, DOMAIN, URI, CHAIN, now=NOW)
    refused(store, issued.message, sign(issued.message, BOB), f"not {ALICE.address}'s")
    refused(store, issued.message, "0x" + "11" * 65, f"not {ALICE.address}'s")
    refused(store, issued.message, "nothex", "signature must be")
    refused(store, issued.message, sign(issued.message), "expired", now=NOW + 301)
    own = build_message(DOMAIN, ALICE.address, URI, CHAIN, issued.nonce, NOW - 600, NOW - 1)  # signed, expired
    refused(store, own, sign(own), "expired at")
    foreign = build_message("evil.example", ALICE.address, "https://evil.example", CHAIN, issued.nonce, NOW, NOW + 60)
    refused(store, foreign, sign(foreign), "another site")
    other_chain = build_message(DOMAIN, ALICE.address, URI, 1, issued.nonce, NOW, NOW + 60)
    refused(store, other_chain, sign(other_chain), "chain 1")
    wrong_uri = build_message(DOMAIN, ALICE.address, "https://evil.example", CHAIN, issued.nonce, NOW, NOW + 60)
    refused(store, wrong_uri, sign(wrong_uri), "not on its domain")
    for_bob = build_message(DOMAIN, BOB.address, URI, CHAIN, issued.nonce, NOW, NOW + 60)
    refused(store, for_bob, sign(for_bob, BOB), f"issued for {ALICE.address}")
    unknown = build_message(DOMAIN, ALICE.address, URI, CHAIN, "f" * 32, NOW, NOW + 60)
    refused(store, unknown, sign(unknown), "not issued by this service")
    # None of those spent the nonce: the real message still signs in.
    assert store.sign_in(issued.message, sign(issued.message), CHAIN, None, now=NOW + 1).address == ALICE.address


def test_a_contract_wallet_signs_in_through_eip_1271(store: SessionStore) -> None:
    wallet = "0x" + "ab" * 20
    from eth_utils import to_checksum_address

    wallet = to_checksum_address(wallet)
    asked: list[dict[str, str]] = []

    def contract_says(call: dict[str, str]) -> bytes:
        asked.append(call)
        return ERC1271_MAGIC + bytes(28)

    issued = store.issue(wallet, DOMAIN, URI, CHAIN, now=NOW)
    session = store.sign_in(issued.message, "0x" + "22" * 100, CHAIN, contract_says, now=NOW + 1)
    assert session.address == wallet and asked[0]["to"] == wallet
    assert asked[0]["data"].startswith("0x1626ba7e")  # isValidSignature(bytes32,bytes)
    again = store.issue(wallet, DOMAIN, URI, CHAIN, now=NOW)
    with pytest.raises(NotAuthenticated, match="EIP-1271"):
        store.sign_in(again.message, "0x" + "22" * 100, CHAIN, lambda call: bytes(32), now=NOW + 1)


def test_two_sign_ins_with_one_nonce_open_one_session(store: SessionStore, gateway_target: Path | str) -> None:
    issued = store.issue(ALICE.address, DOMAIN, URI, CHAIN, now=NOW)
    signature = sign(issued.message)
    outcomes: list[str] = []
    start = threading.Barrier(4)

    def attempt() -> None:
        own = SessionStore(gateway_target, 300, 3600)
        start.wait()
        try:
            own.sign_in(issued.message, signature, CHAIN, None, now=NOW + 1)
            outcomes.append("in")
        except NotAuthenticated:
            outcomes.append("refused")

    threads = [threading.Thread(target=attempt) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(outcomes) == ["in", "refused", "refused", "refused"]


@pytest.mark.parametrize(
    ("header", "fragment"),
    [(None, "needs a signed-in wallet"), ("", "needs a signed-in wallet"), ("Basic abc", "Bearer <token>"),
     ("Bearer", "Bearer <token>"), ("Bearer " + "x" * 300, "Bearer <token>")],
)  # fmt: skip
def test_bearer_header_is_checked(header: str | None, fragment: str) -> None:
    with pytest.raises(NotAuthenticated, match=fragment.replace("<", ".").replace(">", ".")):
        bearer_token(header)
    assert bearer_token("Bearer abc.def") == "abc.def"


# --- the message parser (siwe's ABNF grammar, plus our canonical-form rule) ---

HOSTS = st.builds(
    lambda name, port: name if port is None else f"{name}:{port}",
    st.from_regex(r"[a-z][a-z0-9-]{0,20}(\.[a-z]{2,6}){0,2}", fullmatch=True),
    st.none() | st.integers(1, 65535),
)
NONCES = st.from_regex(r"[A-Za-z0-9]{8,40}", fullmatch=True)
TIMES = st.floats(min_value=1e9, max_value=4e9, allow_nan=False)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(host=HOSTS, chain=st.integers(min_value=1, max_value=2**53), nonce=NONCES, at=TIMES,
       key=st.sampled_from(ANVIL_TEST_KEYS))  # fmt: skip
def test_every_built_message_parses_back_to_its_fields(host: str, chain: int, nonce: str, at: float, key: str) -> None:
    address = Account.from_key(key).address
    text = build_message(host, address, f"https://{host}/", chain, nonce, at, at + 300)
    parsed = parse_message(text)
    assert (parsed.domain, parsed.address, parsed.uri, parsed.chain_id, parsed.nonce) == (
        host, address, f"https://{host}/", chain, nonce
    )  # fmt: skip
    assert abs(parsed.issued_at - at) < 0.001 and parsed.expiration is not None
    assert abs(parsed.expiration - (at + 300)) < 0.001


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(nonce=NONCES, data=st.data())
def test_any_edit_of_a_message_is_refused_or_changes_its_fields(nonce: str, data: st.DataObject) -> None:
    """Dropping, duplicating or altering a line, or re-spacing it, never yields a message that parses to the same
    fields as the original: what was signed is what is read."""
    text = build_message(DOMAIN, ALICE.address, URI, CHAIN, nonce, NOW, NOW + 300)
    lines = text.split("\n")
    index = data.draw(st.integers(min_value=0, max_value=len(lines) - 1))
    edit = data.draw(st.sampled_from(["drop", "duplicate", "pad", "crlf", "replace"]))
    if edit == "drop":
        edited = lines[:index] + lines[index + 1 :]
    elif edit == "duplicate":
        edited = lines[: index + 1] + lines[index:]
    elif edit == "pad":
        edited = [*lines[:index], lines[index] + " ", *lines[index + 1 :]]
    elif edit == "crlf":
        edited = [*lines[:index], lines[index] + "\r", *lines[index + 1 :]]
    else:
        edited = [*lines[:index], data.draw(st.text(max_size=40)), *lines[index + 1 :]]
    changed = "\n".join(edited)
    if changed == text:
        return
    try:
        parsed = parse_message(changed)
    except NotAuthenticated as exc:
        assert str(exc)  # a sentence
        return
    original = parse_message(text)
    assert parsed != original


@pytest.mark.parametrize(
    "text",
    ["", "hello", "x" * 5000, 42, None,
     "127.0.0.1:8700 wants you to sign in with your Ethereum account:\n0xnotanaddress\n\nURI: http://a\nVersion: 1"],
)  # fmt: skip
def test_garbage_is_no_message(text: object) -> None:
    with pytest.raises(NotAuthenticated):
        parse_message(text)


def test_a_lower_case_address_is_refused() -> None:
    text = build_message(DOMAIN, ALICE.address, URI, CHAIN, "abcdefgh12", NOW, NOW + 300)
    with pytest.raises(NotAuthenticated):
        parse_message(text.replace(ALICE.address, ALICE.address.lower()))
