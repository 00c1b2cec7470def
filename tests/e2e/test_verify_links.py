"""Shareable proofs in real Chromium: /verify/<sha256> and /verify?tx=<hash> prove or disprove without a file (known,
unknown and malformed), every hash, address and transaction has a copy button and an explorer link (the app runs with
MEDIAPROOF_EXPLORER_URL set), the media page's embed badge and snippet, the indexer's badge endpoint, the favicon and
the 404 page. Every page is opened with listeners for console errors, page errors and failed requests from the start.

The registered file's title is hostile (markup, quotes, a script): it must show as text everywhere.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from playwright.sync_api import Page, expect

from tests.e2e.conftest import DESKTOP, EXPLORER, PHONE, Chain, screenshot, wait_for
from tests.e2e.test_verify import photo_bytes

HOSTILE_TITLE = """<script>window.__pwned=1</script><img src=x onerror="window.__pwned=2">"quoted" 'too'"""


@pytest.fixture(scope="module")
def registered(chain: Chain, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    path = tmp_path_factory.mktemp("media") / "lighthouse.jpg"
    data = bytearray(photo_bytes())
    data[-3] ^= 0x5A  # bytes no other module registers, so this module's proof is the first of them
    path.write_bytes(bytes(data))
    return chain.register(path, HOSTILE_TITLE)


def sha_of(proof: dict[str, Any]) -> str:
    """The sha256 as the indexer and the links spell it: 0x and 64 lower-case hex digits."""
    return "0x" + str(proof["sha256"]).lower().removeprefix("0x")


def copied(page: Page, wanted: Callable[[str], bool]) -> None:
    """Waits until the clipboard holds what `wanted` accepts (the copy runs in the page's event queue)."""
    wait_for(lambda: wanted(page.evaluate("navigator.clipboard.readText()")), 30, "the value copied")


# The innermost elements whose right edge passes the screen's: what to fix when a page does not fit.
_WIDER_THAN_SCREEN = """() => [...document.querySelectorAll('body *')]
  .filter(e => e.getBoundingClientRect().right > window.innerWidth + 0.5)
  .filter(e => ![...e.children].some(c => c.getBoundingClientRect().right > window.innerWidth + 0.5))
  .slice(0, 5)
  .map(e => `${e.tagName.toLowerCase()}#${e.id}.${[...e.classList].join('.')} to `
    + `${Math.round(e.getBoundingClientRect().right)}px`)"""


def fits_a_phone(page: Page) -> None:
    overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 0, f"the page is {overflow}px wider than a phone screen: {page.evaluate(_WIDER_THAN_SCREEN)}"


def no_script_ran(page: Page) -> None:
    assert page.evaluate("window.__pwned === undefined"), "the title's markup ran"


@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["1280", "390"])
def test_a_sha256_link_proves_the_bytes_without_a_file(visit, registered, viewport) -> None:
    proof = registered
    tx, owner = proof["proof"]["tx"], proof["owner"]
    page, problems = visit(f"/verify/{proof['sha256'].upper().replace('0X', '0x')}", viewport)
    result = page.locator("#verify-result")
    expect(result).to_have_attribute("data-status", "proven", timeout=30_000)
    expect(result).to_contain_text(f"registered by {owner} in batch {proof['batch']} (block {proof['block']})")
    expect(page.locator("#verify-sha256")).to_have_text(proof["sha256"].removeprefix("0x"))
    report = page.locator(".proof-report").first
    expect(report).to_have_attribute("data-proven", "true")
    expect(report.locator(".proof-check[data-check=first]")).to_have_attribute("data-ok", "true")
    expect(report.locator(".proof-receipt[data-ok=true]")).to_have_count(len(proof["proof"]["receipts"]))
    expect(report.locator(".proof-receipt").first).to_contain_text("cluster")
    expect(report.locator(".report-tx")).to_have_text(tx)
    expect(report.locator(".report-media-link")).to_have_attribute("href", f"/m/{proof['media_id']}")
    expect(report).to_contain_text(HOSTILE_TITLE)  # shown as text
    no_script_ran(page)

    # Copy buttons beside the owner, the transaction and the sha256; explorer links for the address and the tx only.
    owner_copy = report.locator(".copyable", has=page.locator(".report-owner"))
    expect(owner_copy.locator(".explorer-link")).to_have_attribute("href", f"{EXPLORER}/address/{owner}")
    tx_copy = report.locator(".copyable", has=page.locator(".report-tx"))
    expect(tx_copy.locator(".explorer-link")).to_have_attribute("href", f"{EXPLORER}/tx/{tx}")
    sha_copy = page.locator(".copyable", has=page.locator("#verify-sha256"))
    expect(sha_copy.locator(".explorer-link")).to_have_count(0)
    tx_copy.locator(".copy-button").click()
    copied(page, lambda text: text == tx)
    sha_copy.locator(".copy-button").click()
    copied(page, lambda text: text == sha_of(proof)[2:])

    if viewport == PHONE:
        fits_a_phone(page)
    screenshot(page, f"verify-link-proven-{viewport[0]}")
    assert problems == []


def test_an_unknown_sha256_is_not_proven_and_a_malformed_one_gets_a_sentence(visit) -> None:
    page, problems = visit("/verify/" + "5e" * 32, PHONE)
    expect(page.locator("#verify-result")).to_have_attribute("data-status", "not_proven", timeout=30_000)
    expect(page.locator("#verify-result")).to_contain_text("Not proven: nobody has proven these exact bytes")
    fits_a_phone(page)
    screenshot(page, "verify-link-unknown-390")
    assert problems == []

    page, problems = visit(
        "/verify/%3Cb%3Ebold%22onmouseover%3D1", DESKTOP
    )  # no %2F: a "/" would make it another route
    result = page.locator("#verify-result")
    expect(result).to_have_attribute("data-status", "malformed")
    expect(result).to_contain_text("is not a SHA-256: a verify link is /verify/ followed by the 64 hex digits")
    expect(result).to_contain_text("<b>bold")  # said back as text
    expect(result.locator("b")).to_have_count(0)
    expect(page.locator(".proof-report")).to_have_count(0)
    screenshot(page, "verify-link-malformed-1280")
    assert problems == []


@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["1280", "390"])
def test_a_transaction_link_lists_its_batch_and_the_files_it_proved(visit, registered, viewport) -> None:
    proof = registered
    tx = proof["proof"]["tx"]
    page, problems = visit(f"/verify?tx={tx}", viewport)
    result = page.locator("#verify-result")
    expect(result).to_have_attribute("data-status", "found")
    expect(result).to_contain_text(f"This transaction anchored batch {proof['batch']} in block {proof['block']}")
    expect(page.locator("#verify-tx")).to_have_text(tx)
    expect(page.locator(".copyable", has=page.locator("#verify-tx")).locator(".explorer-link")).to_have_attribute(
        "href", f"{EXPLORER}/tx/{tx}"
    )
    expect(page.locator(".tx-batch")).to_have_count(1)
    ours = page.locator(".tx-file", has=page.locator(".tx-file-sha256", has_text=sha_of(proof)))
    expect(ours).to_have_count(1)
    expect(ours.locator(".tx-file-title")).to_have_text(HOSTILE_TITLE)
    expect(ours).to_contain_text("first proof of these bytes")
    expect(ours.locator(".tx-file-verify")).to_have_attribute("href", f"/verify/{sha_of(proof)}")
    media_href = ours.locator(".tx-file-media").get_attribute("href")
    assert media_href in (f"/m/{proof['short_id']}", f"/m/{proof['media_id']}"), media_href
    no_script_ran(page)
    if viewport == PHONE:
        fits_a_phone(page)
    screenshot(page, f"verify-tx-{viewport[0]}")

    ours.locator(".tx-file-verify").click()  # on to the file's own verify page
    expect(page.locator("#verify-result")).to_have_attribute("data-status", "proven", timeout=30_000)
    assert problems == []


def test_an_unknown_or_malformed_transaction_gets_a_sentence(visit) -> None:
    page, problems = visit("/verify?tx=0x" + "7a" * 32)
    expect(page.locator("#verify-result")).to_have_attribute("data-status", "unknown")
    expect(page.locator("#verify-result")).to_contain_text("Not a Mediaproof registration")
    assert problems == []

    page, problems = visit("/verify?tx=%3Cscript%3Ewindow.__pwned%3D1%3C%2Fscript%3E", PHONE)
    expect(page.locator("#verify-result")).to_have_attribute("data-status", "malformed")
    expect(page.locator("#verify-result")).to_contain_text("is not a transaction hash")
    no_script_ran(page)
    fits_a_phone(page)
    screenshot(page, "verify-tx-malformed-390")
    assert problems == []


@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["1280", "390"])
def test_the_media_page_shows_its_badge_and_a_copyable_embed_snippet(visit, registered, chain, viewport) -> None:
    proof = registered
    page, problems = visit(f"/m/{proof['short_id']}", viewport)
    expect(page.locator("#media-title")).to_have_text(HOSTILE_TITLE)
    snippet = page.locator("#media-embed-snippet")
    expect(snippet).to_contain_text(
        f'/verify/{sha_of(proof)}"><img src="{chain.indexer_url}/badge/{sha_of(proof)}.svg"'
    )
    badge = page.locator("#media-badge img")
    expect(badge).to_have_attribute("src", f"{chain.indexer_url}/badge/{sha_of(proof)}.svg")
    wait_for(lambda: badge.evaluate("img => img.complete && img.naturalWidth > 0"), 30, "the badge drawn")
    assert page.locator("#media-badge").get_attribute("href").endswith(f"/verify/{sha_of(proof)}")
    page.locator(".copyable", has=snippet).locator(".copy-button").click()
    copied(page, lambda text: f"/badge/{sha_of(proof)}.svg" in text and text.startswith("<a href="))
    tx_copy = page.locator(".copyable", has=page.locator("#media-tx"))
    expect(tx_copy.locator(".explorer-link")).to_have_attribute("href", f"{EXPLORER}/tx/{proof['proof']['tx']}")
    signer = page.locator(".copyable", has=page.locator(".receipt-signer")).first
    expect(signer.locator(".explorer-link")).to_have_attribute(
        "href", re.compile(f"^{EXPLORER}/address/0x[0-9a-fA-F]{{40}}$")
    )
    for field in ("#media-sha256", "#media-cid", "#media-id", "#media-owner"):  # every hash and address: a copy button
        expect(page.locator(".copyable", has=page.locator(field)).locator(".copy-button")).to_have_count(1)
    no_script_ran(page)
    if viewport == PHONE:
        fits_a_phone(page)
    page.locator("#media-embed-snippet").scroll_into_view_if_needed()
    screenshot(page, f"media-embed-{viewport[0]}")
    assert problems == []


def test_the_badge_endpoint_draws_svg_and_refuses_malformed_hashes(chain: Chain, registered) -> None:
    proof = registered
    proven = httpx.get(f"{chain.indexer_url}/badge/{sha_of(proof)}.svg", timeout=30)
    assert proven.status_code == 200 and proven.headers["content-type"].startswith("image/svg+xml")
    first_block = httpx.get(f"{chain.indexer_url}/media/{sha_of(proof)}", timeout=30).json()["block"]
    assert f"proven on Ethereum · block {first_block}" in proven.text
    assert "<script" not in proven.text and "onload" not in proven.text
    unknown = httpx.get(f"{chain.indexer_url}/badge/{'5e' * 32}.svg", timeout=30)
    assert unknown.status_code == 200 and ">not proven<" in unknown.text
    for name in ('"><script>alert(1)<%2Fscript>.svg', "0x12.svg", f"{proof['sha256']}.png", "%00.svg"):
        refused = httpx.get(f"{chain.indexer_url}/badge/{name}", timeout=30)
        assert 400 <= refused.status_code < 500, name
        assert refused.headers["content-type"] == "application/problem+json", name


@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["1280", "390"])
def test_an_unknown_route_gets_the_styled_404_with_the_favicon(visit, app_url, viewport) -> None:
    # The document's own 404 status is the one console error Chromium logs for it.
    page, problems = visit("/no/such/page", viewport, allowed=("404",))
    expect(page.locator("#not-found")).to_be_visible()
    expect(page.locator("h1, h2").first).to_have_text("Page not found")
    expect(page.locator("#main-nav")).to_be_visible()
    if viewport == PHONE:
        fits_a_phone(page)
    screenshot(page, f"not-found-{viewport[0]}")
    page.get_by_text("Go to the feed").click()
    expect(page.locator("#main-nav [aria-current=page]")).to_have_text("Feed")
    icons = page.locator("link[rel=icon]")
    assert icons.count() >= 1
    for href in ("/favicon.ico", "/favicon.svg"):
        answer = httpx.get(app_url + href, timeout=30)
        assert answer.status_code == 200 and answer.headers["content-type"].startswith("image/"), href
    assert problems == []
