"""The pages in real Chromium against the running system: a new wallet uploads a real photo and signs its record,
which is proven in the next batch (no account, no deposit); its downloaded proof bundle verifies with the CLI on the
chain alone. The photo is then in the feed, in search, on its own page (proof panel, checked in the browser), in the
profile, and the clusters page counts it; /verify proves the original and not a copy with one byte changed. Wrong
type, too large and a refused signature each get a clear message and leave nothing registered.
"""

from __future__ import annotations

import hashlib
import json
import re
import time
from pathlib import Path

import httpx
from eth_account import Account
from PIL import Image, ImageDraw
from playwright.sync_api import Page, expect

from tests.e2e.conftest import MAX_UPLOAD_BYTES, NEW_USER_KEY, Chain, WalletConfig, cli_verify, rpc, screenshot

TITLE = "Lighthouse at noon"


def photo(path: Path, seed: int = 3) -> Path:
    """A real JPEG: sky, sea, a lighthouse; `seed` shifts a colour so each call makes other bytes."""
    image = Image.new("RGB", (960, 720), (120, 170, 230))
    draw = ImageDraw.Draw(image)
    draw.rectangle((0, 480, 960, 720), fill=(20, 60 + seed, 120))
    draw.rectangle((430, 200, 530, 520), fill=(240, 240, 240))
    draw.polygon([(420, 200), (540, 200), (480, 140)], fill=(200, 30, 30))
    image.save(path, "JPEG", quality=88)
    return path


def hydrated(page: Page) -> Page:
    expect(page.locator("#page")).to_have_attribute("data-hydrated", "true")
    return page


def sign_in(page: Page, wallet: WalletConfig) -> None:
    hydrated(page)
    page.click("#sign-in")
    # Three calls to the upload service (nonce, the wallet's signature, session) on a shared, busy machine.
    expect(page.locator("#signed-in-address")).to_have_attribute("data-address", wallet.address, timeout=60_000)


def go(page: Page, path: str) -> Page:
    """Client-side navigation through the nav bar keeps the session; a plain goto would reload the app."""
    page.evaluate(
        "(path) => { window.history.pushState({}, '', path); window.dispatchEvent(new PopStateEvent('popstate')); }",
        path,
    )
    return hydrated(page)


def choose_file(page: Page, path: Path) -> None:
    expect(page.locator("#media-upload")).to_contain_text(re.compile(r"up to [1-9]"))  # the page knows its limit
    page.locator("#media-upload input[type=file]").set_input_files(str(path))


def proof_of(chain: Chain, sha256_hex: str) -> str:
    """The owner MediaApp.proofOf names for these bytes (the zero address when nobody registered them)."""
    import json

    deployment = json.loads(chain.deployment_file.read_text())
    from eth_utils import keccak

    selector = keccak(text="proofOf(bytes32)")[:4].hex()
    result = rpc(
        chain.rpc_url,
        "eth_call",
        [{"to": deployment["contracts"]["MediaApp"], "data": "0x" + selector + sha256_hex}, "latest"],
    )
    return "0x" + result[2 + 24 : 2 + 64]


def download(page: Page, link: str, target: Path) -> Path:
    """Clicks a download link as a user does and keeps the file the browser saves."""
    with page.expect_download() as started:
        page.click(link)
    started.value.save_as(target)
    return target


def check_passed(scope: Page, check: str, first_report: bool = True):
    """The line of one check (file, media_id, owner_signature, inclusion, receipts, first…) in a proof report."""
    report = scope.locator(".proof-report").first if first_report else scope.locator(".proof-report")
    return report.locator(f".proof-check[data-check={check}]")


def test_new_wallet_uploads_a_photo_proven_in_a_batch(open_page, chain: Chain, tmp_path: Path) -> None:
    wallet = WalletConfig(key=NEW_USER_KEY, signing_key=NEW_USER_KEY)
    page = open_page("/", wallet)
    sign_in(page, wallet)
    page.locator("#main-nav").get_by_text("Upload", exact=True).click()
    hydrated(page)

    # Batched is the default and needs nothing but a signature: no account step for a new wallet.
    expect(page.locator("#upload-mode-batched")).to_have_attribute("data-state", "checked")
    expect(page.locator("#account-step")).to_have_count(0)
    path = photo(tmp_path / "lighthouse.jpg")
    choose_file(page, path)
    expect(page.locator("#upload-preview")).to_be_visible(timeout=60_000)
    expect(page.locator("#upload-facts")).to_contain_text("image/jpeg")
    page.fill("#upload-title", TITLE)
    screenshot(page, "upload-preview")
    page.click("#upload-prepare")
    expect(page.locator("#record-title")).to_have_text(TITLE, timeout=30_000)
    sha256 = hashlib.sha256(path.read_bytes()).hexdigest()
    expect(page.locator("#record-sha256")).to_have_text("0x" + sha256)
    expect(page.locator("#record-how")).to_contain_text("Batched")
    screenshot(page, "upload-record")
    page.click("#upload-sign")
    expect(page.locator("#upload-result")).to_be_visible(timeout=60_000)
    assert "eth_signTypedData_v4" in wallet.calls and "eth_sendTransaction" not in wallet.calls
    link = page.locator("#upload-link").inner_text()
    block = int(page.locator("#upload-block").inner_text())
    assert link.startswith("/m/") and block > 0
    expect(page.locator("#upload-proven")).to_have_text(f"Proven in batch {block} (block {block}).")
    expect(page.locator("#upload-batch")).to_have_text(str(block))
    screenshot(page, "upload-done")

    # The downloaded bundle proves the photo to the CLI with nothing but the file and the chain.
    bundle_file = download(page, "#upload-proof", tmp_path / "lighthouse.proof.json")
    bundle = json.loads(bundle_file.read_text())
    assert bundle["format"] == "mediaproof-proof-v1" and bundle["kind"] == "batched" and bundle["batch"] == block
    assert bundle["sha256"] == "0x" + sha256 and bundle["owner"] == wallet.address
    code, report = cli_verify(path, bundle_file, chain.rpc_url)
    assert code == 0 and report["proven"] is True, report["problems"]
    assert report["owner"] == wallet.address and report["batch"] == block and report["first"] is True
    assert [r["signature_valid"] and r["active_when_signed"] for r in report["receipts"]] == [True]
    assert int(proof_of(chain, sha256), 16) == 0  # batched: proofOf learns it only when someone reveals it

    # The feed, newest first (the indexer may be a block behind: reload until it shows).
    deadline = time.monotonic() + 60  # a guard against a hang, not a speed limit
    while True:
        go(page, "/")
        card = page.locator(".media-card", has_text=TITLE)
        try:
            expect(card).to_be_visible(timeout=2_000)
            break
        except AssertionError:
            if time.monotonic() > deadline:
                raise
    expect(card.locator("img")).to_have_attribute("alt", TITLE)
    expect(card.locator(".first-proof-note")).to_have_count(0)  # the first proof of these bytes
    assert page.locator(".media-card").first.inner_text().startswith(TITLE)
    page.wait_for_function(
        "() => [...document.querySelectorAll('.media-card img')].every((i) => i.complete && i.naturalWidth > 0)"
    )
    screenshot(page, "feed")

    # Search: results while typing, the last word a prefix.
    go(page, "/search")
    page.locator("#search-input").press_sequentially("lighth", delay=40)
    expect(page.locator("#search-results .media-card", has_text=TITLE)).to_be_visible()
    screenshot(page, "search")
    page.locator("#search-input").fill("zebra crossing")
    expect(page.locator("#search-empty")).to_be_visible()

    # The media page: one heading (its title), the photo at a chosen size, the proof panel, and the browser's check.
    go(page, link)
    expect(page.locator("#media-title")).to_have_text(TITLE)
    assert page.locator("h1").all_inner_texts() == [TITLE]
    image = page.locator("#media-image")
    expect(image).to_have_attribute("alt", TITLE)
    page.click("#media-size >> text=Small")
    expect(image).to_have_attribute("src", f"http://127.0.0.1:{chain.download_port}{link}?size=small")
    expect(page.locator("#media-sha256")).to_have_text(sha256)
    expect(page.locator("#media-owner")).to_have_text(wallet.address)
    expect(page.locator("#media-proof-kind")).to_have_text("batched")
    expect(page.locator("#media-proven-where")).to_have_text(f"in batch {block} (block {block})")
    expect(page.locator("#media-batch")).to_have_text(str(block))
    expect(page.locator("#media-block")).to_have_text(str(block))
    expect(page.locator("#media-tx")).to_have_text(bundle["tx"])
    expect(page.locator("#media-revealed")).to_contain_text("Not revealed")
    expect(page.locator("#media-first-proof")).to_have_count(0)
    expect(page.locator(".media-receipt")).to_have_count(1)
    expect(page.locator(".receipt-status")).to_have_text("active")
    expect(page.locator(".media-receipt")).to_contain_text("the cluster's signer today")
    page.click("#media-verify")
    expect(page.locator("#media-verify-result")).to_have_attribute("data-status", "proven", timeout=30_000)
    for check in ("file", "media_id", "owner_signature", "inclusion", "receipts", "first"):
        expect(check_passed(page, check)).to_have_attribute("data-ok", "true")
    expect(check_passed(page, "inclusion")).to_contain_text(f"is in batch {block}")
    download_url = page.locator("#media-download").get_attribute("href")
    assert hashlib.sha256(httpx.get(download_url, timeout=30).content).hexdigest() == sha256  # byte for byte
    again = json.loads(download(page, "#media-proof-download", tmp_path / "from-media-page.json").read_text())
    assert again["media_id"] == bundle["media_id"] and again["proof"] == bundle["proof"]
    screenshot(page, "media")

    # The profile: the wallet's media.
    page.locator("#main-nav").get_by_text("Profile", exact=True).click()
    expect(page).to_have_url(re.compile(f"/u/{wallet.address}$"))
    hydrated(page)
    expect(page.locator("#profile-grid .media-card", has_text=TITLE)).to_be_visible()
    screenshot(page, "profile")

    # Clusters: status and the object count that includes the new photo.
    go(page, "/clusters")
    expect(page.locator(".cluster-status").first).to_have_text("active")
    expect(page.locator(".cluster-objects").first).not_to_have_text("0 objects")
    screenshot(page, "clusters")

    # Verify: the original is proven (receipts and inclusion checked here); one byte changed is not proven.
    go(page, "/verify")
    page.set_input_files("#verify-file", str(path))
    expect(page.locator("#verify-result")).to_have_attribute("data-status", "proven", timeout=30_000)
    expect(page.locator(".report-owner").first).to_have_text(wallet.address)
    expect(check_passed(page, "inclusion")).to_have_attribute("data-ok", "true")
    expect(check_passed(page, "receipts")).to_have_attribute("data-ok", "true")
    tampered = bytearray(path.read_bytes())
    tampered[len(tampered) // 2] ^= 0x01
    changed = tmp_path / "lighthouse-edited.jpg"
    changed.write_bytes(bytes(tampered))
    page.set_input_files("#verify-file", str(changed))
    expect(page.locator("#verify-result")).to_have_attribute("data-status", "not_proven", timeout=30_000)
    expect(page.locator("#verify-result")).to_contain_text("Not proven")
    expect(page.locator(".proof-report")).to_have_count(0)


def test_wrong_type_too_large_and_refused_signature_leave_nothing_registered(
    open_page, chain: Chain, tmp_path: Path
) -> None:
    wallet = WalletConfig(refuse_typed_sign=True)
    page = open_page("/", wallet)
    sign_in(page, wallet)
    page.locator("#main-nav").get_by_text("Upload", exact=True).click()
    expect(page.locator("#upload-mode")).to_be_visible()

    text = tmp_path / "notes.txt"
    text.write_text("not a photo")
    choose_file(page, text)
    expect(page.locator("#upload-error")).to_contain_text("not a photo or video")

    disguised = tmp_path / "holiday.jpg"  # passes the browser's filter by name; the service checks the content
    disguised.write_bytes(b"plain text pretending to be a JPEG " * 50)
    choose_file(page, disguised)
    expect(page.locator("#upload-error")).to_contain_text("did not accept holiday.jpg", timeout=30_000)

    huge = tmp_path / "huge.jpg"
    huge.write_bytes(photo(tmp_path / "base.jpg").read_bytes() + bytes(MAX_UPLOAD_BYTES))
    choose_file(page, huge)
    expect(page.locator("#upload-error")).to_contain_text("too large")
    screenshot(page, "upload-too-large")

    path = photo(tmp_path / "refused.jpg", seed=77)
    choose_file(page, path)
    page.fill("#upload-title", "Never registered")
    page.click("#upload-prepare")
    page.click("#upload-sign")
    expect(page.locator("#upload-error")).to_contain_text("declined to sign, so nothing was registered")
    expect(page.locator("#upload-sign")).to_be_visible()  # the user can still sign, or start over
    screenshot(page, "upload-refused")
    sha256 = hashlib.sha256(path.read_bytes()).hexdigest()
    assert int(proof_of(chain, sha256), 16) == 0
    hits = httpx.get(f"{chain.indexer_url}/search", params={"q": "Never registered"}).json()["results"]
    assert hits == []
    assert Account.from_key(NEW_USER_KEY).address != wallet.address


def test_unknown_media_link_and_bad_profile_explain_themselves(open_page) -> None:
    page = hydrated(open_page("/m/NoSuchLink1"))
    expect(page.locator("#media-missing")).to_be_visible(timeout=30_000)
    page = hydrated(open_page("/u/not-an-address"))
    expect(page.locator("#profile-bad-address")).to_be_visible()
