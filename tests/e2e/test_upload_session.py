"""The upload page meets the upload service's sign-in session and its limits, in real Chromium on the real stack.

One wallet prompt signs in to the web app and to the upload service; the page sends every file, and the backend
prepares and commits its record, with that one session's bearer token (no second prompt). A session revoked behind the
page's back (`DELETE /auth/session`, as signing out elsewhere does) gets a "sign in again" sentence, whether the
page's upload or the backend's prepare meets it, and after signing in again the same file goes through to its proof. A
429 or 503 is shown as a sentence with the wait its Retry-After asks for, and the page sends the file again by itself
when the wait is over; a wallet over its uploads per minute (MEDIAPROOF_UPLOAD_RATE_PER_MINUTE of the e2e stack,
filled from another loopback address, so that the browser's own address, 127.0.0.1, keeps its room for the rest of the
suite) reads its limit and its wait in the page. Every wait here is for an observed state.
"""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
from eth_account import Account
from playwright.sync_api import Page, Response, expect

from tests.e2e.conftest import Chain, WalletConfig, screenshot, sign_in, wait_for
from tests.e2e.test_pages import choose_file, hydrated, photo
from tests.e2e.test_pages import sign_in as sign_in_on_page


def new_wallet() -> WalletConfig:
    key = "0x" + bytes(Account.create().key).hex()  # batched proofs need no account, deposit or ether
    return WalletConfig(key=key, signing_key=key)


def bearer_tokens(page: Page, upload_url: str) -> list[str]:
    """Every Authorization header the page's own POST /uploads sends, as it sends them."""
    seen: list[str] = []

    def note(request: Any) -> None:
        if request.method == "POST" and request.url == f"{upload_url}/uploads":
            seen.append(request.header_value("authorization") or "")

    page.on("request", note)
    return seen


def to_upload_page(page: Page) -> None:
    page.locator("#main-nav").get_by_text("Upload", exact=True).click()
    hydrated(page)
    expect(page.locator("#upload-mode")).to_be_visible()


def open_uploads(chain: Chain) -> int:
    return int(httpx.get(f"{chain.upload_url}/health", timeout=30).json()["open_uploads"])


@contextmanager
def stalled_uploads(chain: Chain, headers: dict[str, str], count: int, source: str) -> Iterator[None]:
    """`count` uploads of the wallet in flight, from the loopback address `source`: each announces a megabyte, sends
    a little and stalls, until the block ends and they hang up."""
    host, port = chain.upload_url.removeprefix("http://").split(":")
    held: list[socket.socket] = []
    try:
        for _ in range(count):
            sock = socket.create_connection((host, int(port)), timeout=60, source_address=(source, 0))
            held.append(sock)
            head = f"POST /uploads HTTP/1.1\r\nHost: {host}:{port}\r\nContent-Length: 1000000\r\n"
            sock.sendall(f"{head}Authorization: {headers['authorization']}\r\n\r\n".encode() + b"\xff\xd8\xff" * 300)
        wait_for(lambda: open_uploads(chain) >= count, 60, f"{count} stalled uploads open at the upload service")
        yield
    finally:
        for sock in held:
            sock.close()
    wait_for(lambda: open_uploads(chain) == 0, 60, "the stalled uploads closed")


def the_pages_upload(page: Page, chain: Chain):
    return page.expect_response(
        lambda r: r.url == f"{chain.upload_url}/uploads" and r.request.method == "POST", timeout=60_000
    )


def test_one_sign_in_prompt_serves_every_upload_and_its_proof_with_the_same_token(
    open_page, chain: Chain, tmp_path: Path
) -> None:
    wallet = new_wallet()
    page = open_page("/", wallet)
    tokens = bearer_tokens(page, chain.upload_url)
    sign_in_on_page(page, wallet)
    to_upload_page(page)
    choose_file(page, photo(tmp_path / "dune.jpg", seed=31))
    expect(page.locator("#upload-preview")).to_be_visible(timeout=60_000)
    page.get_by_role("button", name="Start over").click()

    # The second file goes with the same session, through the backend's prepare and commit to its proof.
    choose_file(page, photo(tmp_path / "reed.jpg", seed=32))
    expect(page.locator("#upload-preview")).to_be_visible(timeout=60_000)
    page.fill("#upload-title", "Reed after one sign-in")
    page.click("#upload-prepare")
    expect(page.locator("#upload-record")).to_contain_text(wallet.address[:6])
    page.click("#upload-sign")
    expect(page.locator("#upload-proven")).to_contain_text("Proven in batch", timeout=60_000)
    assert len(tokens) == 2 and tokens[0].startswith("Bearer ") and tokens[1] == tokens[0], tokens
    assert wallet.calls.count("personal_sign") == 1  # one prompt for the sign-in; the record's is a typed-data one
    expect(page.locator("#signed-in-address")).to_have_attribute("data-address", wallet.address)


def test_an_upload_after_the_session_was_revoked_asks_to_sign_in_again_then_goes_through(
    open_page, chain: Chain, tmp_path: Path
) -> None:
    wallet = new_wallet()
    page = open_page("/", wallet)
    tokens = bearer_tokens(page, chain.upload_url)
    sign_in_on_page(page, wallet)
    assert wallet.calls.count("personal_sign") == 1  # one prompt: the web app's sign-in and the upload service's
    to_upload_page(page)
    choose_file(page, photo(tmp_path / "first.jpg", seed=41))
    expect(page.locator("#upload-preview")).to_be_visible(timeout=60_000)
    assert len(tokens) == 1 and tokens[0].startswith("Bearer "), tokens
    session = httpx.get(f"{chain.upload_url}/auth/session", headers={"authorization": tokens[0]}, timeout=30)
    assert session.status_code == 200 and session.json()["address"] == wallet.address, session.text

    # Signed out behind the page's back: the token the page holds is no session any more.
    revoked = httpx.delete(f"{chain.upload_url}/auth/session", headers={"authorization": tokens[0]}, timeout=30)
    assert revoked.status_code == 200, revoked.text
    page.get_by_role("button", name="Start over").click()
    path = photo(tmp_path / "harbour-wall.jpg", seed=42)
    choose_file(page, path)
    error = page.locator("#upload-error")
    expect(error).to_contain_text("your sign-in has ended")
    expect(error).to_contain_text("Sign in again (top right), then send it again")
    expect(page.locator("#wallet-problem")).to_have_attribute("data-problem", "ended")
    expect(page.locator("#wallet-message")).to_contain_text("sign in again")
    expect(page.locator("#sign-in")).to_be_visible()
    expect(page.locator("#upload-resend")).to_be_disabled()  # nothing goes out before the wallet signs in again
    assert len(tokens) == 2 and tokens[1] == tokens[0]
    screenshot(page, "upload-session-ended")

    # Signing in again (one more prompt) and sending the same file: it goes through to its proof.
    sign_in_on_page(page, wallet)
    assert wallet.calls.count("personal_sign") == 2
    expect(page.locator("#upload-error")).to_have_count(1)  # the reason stays until the file is sent again
    page.click("#upload-resend")
    expect(page.locator("#upload-preview")).to_be_visible(timeout=60_000)
    expect(page.locator("#upload-error")).to_have_count(0)
    assert len(tokens) == 3 and tokens[2].startswith("Bearer ") and tokens[2] != tokens[0]
    page.fill("#upload-title", "Harbour wall after signing in again")
    page.click("#upload-prepare")
    expect(page.locator("#upload-record")).to_contain_text(wallet.address[:6])
    page.click("#upload-sign")
    expect(page.locator("#upload-result")).to_be_visible(timeout=60_000)
    assert page.locator("#upload-link").inner_text().startswith("/m/")
    expect(page.locator("#upload-proven")).to_contain_text("Proven in batch")


def test_a_record_prepared_after_the_session_was_revoked_asks_to_sign_in_again_then_goes_on(
    open_page, chain: Chain, tmp_path: Path
) -> None:
    wallet = new_wallet()
    page = open_page("/", wallet)
    tokens = bearer_tokens(page, chain.upload_url)
    sign_in_on_page(page, wallet)
    to_upload_page(page)
    choose_file(page, photo(tmp_path / "jetty.jpg", seed=45))
    expect(page.locator("#upload-preview")).to_be_visible(timeout=60_000)

    # The backend's own call (prepare) meets the revoked token: the file stays stored, the sign-in ends here too.
    revoked = httpx.delete(f"{chain.upload_url}/auth/session", headers={"authorization": tokens[0]}, timeout=30)
    assert revoked.status_code == 200, revoked.text
    page.fill("#upload-title", "Jetty after signing in again")
    page.click("#upload-prepare")
    error = page.locator("#upload-error")
    expect(error).to_contain_text("Your sign-in has ended")
    expect(error).to_contain_text("Sign in again (top right), then press Continue again: the file is still stored")
    expect(page.locator("#wallet-problem")).to_have_attribute("data-problem", "ended")
    expect(page.locator("#upload-preview")).to_be_visible()

    sign_in_on_page(page, wallet)
    assert wallet.calls.count("personal_sign") == 2
    page.click("#upload-prepare")
    expect(page.locator("#upload-record")).to_contain_text(wallet.address[:6])
    page.click("#upload-sign")
    expect(page.locator("#upload-proven")).to_contain_text("Proven in batch", timeout=60_000)
    assert len(tokens) == 1  # the file itself was never sent again


def test_a_429_for_uploads_in_flight_reads_as_its_wait_and_the_page_sends_again_when_it_is_over(
    open_page, chain: Chain, tmp_path: Path
) -> None:
    wallet = new_wallet()
    page = open_page("/", wallet)
    sign_in_on_page(page, wallet)
    to_upload_page(page)
    elsewhere = sign_in(chain.upload_url, Account.from_key(wallet.key))  # the same wallet, another session

    # Every upload the wallet may have in flight is held open elsewhere: the page's upload waits as asked (5 s),
    # and once they are gone, goes by itself.
    with stalled_uploads(chain, elsewhere, chain.upload_concurrent, source="127.0.0.2"):
        with the_pages_upload(page, chain) as refused:
            choose_file(page, photo(tmp_path / "pier.jpg", seed=51))
        assert refused.value.status == 429
        wait = refused.value.header_value("retry-after")
        assert wait and wait.isdigit(), refused.value.headers
        expect(page.locator("#upload-wait")).to_have_attribute("data-wait", wait)
        expect(page.locator("#upload-wait-reason")).to_have_text(
            f"The upload service asks you to wait: wallet {wallet.address} has {chain.upload_concurrent} uploads in "
            "flight, the most it may have at once (MEDIAPROOF_UPLOAD_CONCURRENT)."
        )
        expect(page.locator("#upload-wait-left")).to_contain_text("pier.jpg is sent again by itself in")
        screenshot(page, "upload-wait-in-flight")
    expect(page.locator("#upload-preview")).to_be_visible(timeout=60_000)
    expect(page.locator("#upload-wait")).to_have_count(0)
    expect(page.locator("#upload-error")).to_have_count(0)


def test_a_wallet_over_its_uploads_per_minute_reads_the_limit_and_the_wait(
    open_page, chain: Chain, tmp_path: Path
) -> None:
    wallet = new_wallet()
    page = open_page("/", wallet)
    sign_in_on_page(page, wallet)
    to_upload_page(page)
    elsewhere = sign_in(chain.upload_url, Account.from_key(wallet.key))
    filler = photo(tmp_path / "filler.jpg", seed=52).read_bytes()
    path = photo(tmp_path / "breakwater.jpg", seed=53)

    # The wallet's minute is filled from another address, then the page tries: MEDIAPROOF_UPLOAD_RATE_PER_MINUTE
    # of the e2e stack, per wallet, and the wait the service computes. (The window is the last 60 s, wherever the
    # wall clock's minute starts.)
    started = time.monotonic()
    with httpx.Client(transport=httpx.HTTPTransport(local_address="127.0.0.3"), timeout=120) as http:
        answers: list[httpx.Response] = []
        while not answers or answers[-1].status_code == 201:
            assert len(answers) <= chain.upload_rate_per_minute, "the wallet's uploads per minute never ran out"
            answers.append(http.post(f"{chain.upload_url}/uploads", content=filler, headers=elsewhere))
    print(f"filled the wallet's minute with {len(answers) - 1} uploads in {time.monotonic() - started:.1f} s")
    assert len(answers) == chain.upload_rate_per_minute + 1, [a.status_code for a in answers]
    assert answers[-1].status_code == 429 and f"wallet {wallet.address}" in answers[-1].json()["detail"]
    with the_pages_upload(page, chain) as limited:
        choose_file(page, path)
    answer: Response = limited.value
    assert answer.status == 429, answer.text()
    expect(page.locator("#upload-wait")).to_have_attribute("data-wait", answer.header_value("retry-after") or "")
    expect(page.locator("#upload-wait-reason")).to_have_text(
        f"The upload service asks you to wait: wallet {wallet.address} has sent {chain.upload_rate_per_minute} "
        "uploads in the last minute, the most this service takes."
    )
    expect(page.locator("#upload-wait-left")).to_contain_text("breakwater.jpg is sent again by itself in")
    screenshot(page, "upload-rate-limited")
    page.get_by_role("button", name="Cancel").click()  # the wait stops; nothing is sent
    expect(page.locator("#media-upload")).to_be_visible()
    expect(page.locator("#upload-wait")).to_have_count(0)
