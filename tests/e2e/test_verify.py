"""/verify in real Chromium: the browser hashes the file, gets its proof bundles from the indexer or from a bundle file
the user gives, and checks each against the chain itself (media id, owner signature, Merkle inclusion, receipts,
first). A proven file shows each check passed; one byte changed is not proven; an altered bundle fails the check that
catches it.
"""

from __future__ import annotations

import base64
import copy
import io
import json
import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from PIL import Image, ImageDraw
from playwright.sync_api import Page, expect

from tests.e2e.conftest import Chain, WalletConfig, screenshot


def photo_bytes() -> bytes:
    """A small but real JPEG: a gradient with shapes, so it is a plausible photo and not a few zero bytes."""
    image = Image.new("RGB", (640, 480))
    draw = ImageDraw.Draw(image)
    for y in range(480):
        draw.line([(0, y), (640, y)], fill=(y // 2, 90, 255 - y // 2))
    draw.ellipse((200, 120, 440, 360), fill=(250, 200, 40))
    out = io.BytesIO()
    image.save(out, "JPEG", quality=90)
    return out.getvalue()


@pytest.fixture(scope="module")
def registered(chain: Chain, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Any]]:
    path = tmp_path_factory.mktemp("media") / "harbour.jpg"
    path.write_bytes(photo_bytes())
    return path, chain.register(path, "Harbour at dawn")


def ready(page: Page) -> Page:
    expect(page.locator("#page")).to_have_attribute("data-hydrated", "true")
    expect(page.get_by_text("Checks MediaApp")).to_be_visible()
    return page


def drop_file(page: Page, name: str, data: bytes) -> None:
    """Drops a file on the drop zone the way a user's drag does (a DataTransfer carrying a File)."""
    page.evaluate(
        """([name, b64]) => {
            const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
            const transfer = new DataTransfer();
            transfer.items.add(new File([bytes], name));
            const zone = document.querySelector("#verify-drop");
            zone.dispatchEvent(new DragEvent("dragover", { bubbles: true, dataTransfer: transfer }));
            zone.dispatchEvent(new DragEvent("drop", { bubbles: true, dataTransfer: transfer }));
        }""",
        [name, base64.b64encode(data).decode()],
    )


def expect_proven(page: Page, proof: dict[str, Any]) -> None:
    result = page.locator("#verify-result")
    expect(result).to_have_attribute("data-status", "proven", timeout=30_000)
    moment = datetime.fromtimestamp(proof["timestamp"], UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
    expect(result).to_contain_text(f"registered by {proof['owner']} in batch {proof['batch']} (block {proof['block']})")
    expect(result).to_contain_text(moment)
    report = page.locator(".proof-report").first
    expect(report).to_have_attribute("data-proven", "true")
    expect(report.locator(".report-owner")).to_have_text(proof["owner"])
    for check in ("file", "chain", "contract", "media_id", "owner_signature", "inclusion", "receipts", "first"):
        expect(report.locator(f".proof-check[data-check={check}]")).to_have_attribute("data-ok", "true")
    expect(report.locator(".proof-receipt[data-ok=true]")).to_have_count(len(proof["proof"]["receipts"]))
    expect(page.locator(".todays-signer-note")).to_contain_text(
        "against the signer and status its cluster has in StorageTopology today"
    )


def test_registered_file_is_proven_through_the_wallet(open_page, registered) -> None:
    path, proof = registered
    wallet = WalletConfig()
    page = ready(open_page("/verify", wallet))
    page.set_input_files("#verify-file", str(path))
    expect_proven(page, proof)
    expect(page.locator("#verify-sha256")).to_have_text(proof["sha256"])
    expect(page.locator("#verify-source")).to_contain_text("The indexer gave one proof bundle")
    expect(page.locator("#verify-source")).to_contain_text("Checked through your wallet's connection")
    assert "eth_call" in wallet.calls  # the chain was asked through the browser's wallet, not by the server
    screenshot(page, "verify-proven")


def test_one_byte_changed_is_not_registered(open_page, registered) -> None:
    path, proof = registered
    tampered = bytearray(path.read_bytes())
    tampered[len(tampered) // 2] ^= 0x01
    page = ready(open_page("/verify", WalletConfig()))
    drop_file(page, "harbour-edited.jpg", bytes(tampered))
    expect(page.locator("#verify-result")).to_have_attribute("data-status", "not_proven", timeout=30_000)
    expect(page.locator("#verify-result")).to_contain_text("Not proven: nobody has proven these exact bytes")
    expect(page.locator("#verify-sha256")).not_to_have_text(proof["sha256"])
    screenshot(page, "verify-not-registered")

    # The original dropped on the same page afterwards is proven: dropping and picking share one path.
    drop_file(page, "harbour.jpg", path.read_bytes())
    expect_proven(page, proof)


@pytest.mark.parametrize("wallet", [None, WalletConfig(chain_id=1)], ids=["no-wallet", "wallet-on-chain-1"])
def test_without_a_usable_wallet_the_page_asks_the_rpc_url(open_page, registered, wallet) -> None:
    path, proof = registered
    page = ready(open_page("/verify", wallet=wallet))
    page.set_input_files("#verify-file", str(path))
    expect_proven(page, proof)
    expect(page.locator("#verify-source")).to_contain_text("Checked through the chain's RPC URL")


def test_phone_width_verify_page_fits_and_navigation_reaches_every_page(open_page, registered) -> None:
    path, proof = registered
    page = ready(open_page("/verify", WalletConfig(), viewport=(390, 844)))
    page.set_input_files("#verify-file", str(path))
    expect_proven(page, proof)
    overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 0, f"the page is {overflow}px wider than a phone screen"
    screenshot(page, "verify-proven-phone")

    nav = page.locator("#main-nav")
    for label, empty_id in [
        ("Feed", "#feed-grid"),
        ("Upload", "#upload-signed-out"),
        ("Search", "#search-hint"),
        ("Projects", "#projects-signed-out"),
        ("Clusters", "#clusters-list"),
        ("Profile", "#profile-signed-out"),
    ]:
        link = nav.get_by_text(label, exact=True)
        assert link.is_visible() and link.bounding_box()["x"] + link.bounding_box()["width"] <= 390
        link.click()
        expect(page.locator(empty_id)).to_be_visible()
        expect(nav.locator("[aria-current=page]")).to_have_text(label)
        assert page.evaluate("document.documentElement.scrollWidth - window.innerWidth") <= 0
    screenshot(page, "profile-signed-out-phone")


def give_bundle(page: Page, tmp_path: Path, name: str, bundle: dict[str, Any]) -> None:
    path = tmp_path / name
    path.write_text(json.dumps(bundle))
    page.set_input_files("#verify-bundle-file", str(path))
    expect(page.locator("#verify-bundle")).to_contain_text(name)


def current_in_served_page(html: str) -> list[str]:
    """The hrefs of the main navigation's links marked current in a page as served, before any script ran."""
    nav = re.search(r'<nav[^>]*id="main-nav"[^>]*>(.*?)</nav>', html, re.S)
    assert nav, "no main navigation in the served page"
    tags = re.findall(r"<a [^>]*>", nav.group(1))
    return [re.search(r'href="([^"]*)"', tag).group(1) for tag in tags if 'aria-current="page"' in tag]  # type: ignore[union-attr]


def test_the_navigation_marks_the_current_page_before_any_script_and_a_page_below_a_section(
    open_page, app_url: str
) -> None:
    # The navigation marks its current page by itself (React Router's NavLink), so the page the build prerendered
    # carries the mark before its scripts run, and it never waits for the backend's router data.
    for path in ("/", "/search", "/verify", "/projects", "/clusters"):
        assert current_in_served_page(httpx.get(app_url + path, timeout=30).text) == [path], path
    # A page below a section is in it: a shareable verify link is in Verify; the feed is "/" alone.
    page = open_page("/verify/" + "ab" * 32, WalletConfig())
    expect(page.locator("#page")).to_have_attribute("data-hydrated", "true")
    expect(page.locator("#main-nav [aria-current=page]")).to_have_text("Verify")
    expect(page.locator("#main-nav [aria-current=page]")).to_have_count(1)


def test_the_checker_is_fetched_once_a_bundle_is_chosen_and_reads_it_whenever_it_arrives(
    open_page, registered, tmp_path: Path
) -> None:
    # /verify does not fetch the proof checker (ethers) while it paints; a bundle chosen first is read once the
    # checker has arrived, and the file then chosen is checked against that bundle.
    path, proof = registered
    page = ready(open_page("/verify", WalletConfig()))
    assert page.evaluate("typeof window.mediaproofCheck") == "undefined"
    assert not any("proofcheck" in url for url in page.evaluate("performance.getEntries().map((e) => e.name)"))
    give_bundle(page, tmp_path, "first.proof.json", proof["proof"])
    assert page.evaluate("typeof window.mediaproofCheck") == "object"
    page.set_input_files("#verify-file", str(path))
    expect_proven(page, proof)
    expect(page.locator("#verify-source")).to_contain_text("first.proof.json")


def test_a_bundle_file_is_checked_and_an_altered_one_fails_the_check_that_catches_it(
    open_page, registered, tmp_path: Path
) -> None:
    path, proof = registered
    page = ready(open_page("/verify", WalletConfig()))
    page.set_input_files("#verify-file", str(path))
    expect_proven(page, proof)

    # Another title in the signed record: its digest is no longer the media id (nor the signed one).
    retitled = copy.deepcopy(proof["proof"])
    retitled["record"]["title"] = "Harbour at dusk"
    give_bundle(page, tmp_path, "retitled.proof.json", retitled)
    expect(page.locator("#verify-result")).to_have_attribute("data-status", "failed", timeout=30_000)
    expect(page.locator("#verify-source")).to_contain_text("Checked the proof bundle file retitled.proof.json")
    report = page.locator(".proof-report")
    expect(report).to_have_count(1)
    expect(report.locator(".proof-check[data-check=media_id]")).to_have_attribute("data-ok", "false")
    expect(report.locator(".proof-check[data-check=media_id]")).to_contain_text("the record was altered")
    screenshot(page, "verify-altered-bundle")

    # A Merkle path with one step changed: the record still hashes right, but the leaf is not in that batch.
    rerouted = copy.deepcopy(proof["proof"])
    rerouted["proof"] = ["0x" + "11" * 32, *rerouted["proof"][1:]]
    give_bundle(page, tmp_path, "rerouted.proof.json", rerouted)
    expect(page.locator("#verify-source")).to_contain_text("rerouted.proof.json")
    expect(page.locator("#verify-result")).to_have_attribute("data-status", "failed", timeout=30_000)
    expect(report.locator(".proof-check[data-check=media_id]")).to_have_attribute("data-ok", "true")
    expect(report.locator(".proof-check[data-check=inclusion]")).to_have_attribute("data-ok", "false")
    expect(report.locator(".proof-check[data-check=inclusion]")).to_contain_text("verifyInclusion says no")

    # The genuine bundle, given as a file, proves the file without the indexer.
    give_bundle(page, tmp_path, "harbour.proof.json", proof["proof"])
    expect(page.locator("#verify-source")).to_contain_text("harbour.proof.json")
    expect_proven(page, proof)
