"""The same bytes proven three times: by a first wallet, then by a second wallet, then by the first again under
another title. Each link's page shows its own record (not the first one's title and owner), and every surface says
plainly of the later ones who proved the bytes first; /verify checks all three proofs in the browser.
"""

from __future__ import annotations

from pathlib import Path

from playwright.sync_api import expect

from tests.e2e.conftest import ANVIL_KEY, OTHER_KEY, Chain, WalletConfig, screenshot
from tests.e2e.test_pages import go, hydrated, photo

FIRST_TITLE, SECOND_TITLE, AGAIN_TITLE = "Old pier at low tide", "Pier borrowed", "Old pier retitled"


def short(address: str) -> str:
    return f"{address[:6]}…{address[-4:]}"


def test_later_registrations_show_their_own_record_and_who_proved_the_bytes_first(
    open_page, chain: Chain, tmp_path: Path
) -> None:
    path = photo(tmp_path / "pier.jpg", seed=91)
    first = chain.register(path, FIRST_TITLE, key=ANVIL_KEY)
    second = chain.register(path, SECOND_TITLE, key=OTHER_KEY)
    again = chain.register(path, AGAIN_TITLE, key=ANVIL_KEY)
    assert first["sha256"] == second["sha256"] == again["sha256"] and first["block"] < second["block"] < again["block"]
    first_said = f"First proven by {first['owner']} in block {first['block']}"

    # The second wallet's link: its own title and owner, and who was first.
    page = hydrated(open_page(f"/m/{second['short_id']}", WalletConfig()))
    expect(page.locator("#media-title")).to_have_text(SECOND_TITLE, timeout=30_000)
    expect(page.locator("#media-owner")).to_have_text(second["owner"])
    expect(page.locator("#media-id")).to_have_text(second["media_id"])
    expect(page.locator("#media-first-proof")).to_contain_text(first_said)
    expect(page.locator("#media-first-proof a", has_text="first registration")).to_have_attribute(
        "href", f"/m/{first['short_id']}"
    )
    expect(page.locator("#media-revealed")).to_contain_text("Not revealed")
    page.click("#media-verify")
    expect(page.locator("#media-verify-result")).to_have_attribute("data-status", "proven", timeout=30_000)
    first_check = page.locator(".proof-report .proof-check[data-check=first]")
    expect(first_check).to_have_attribute("data-ok", "false")
    expect(first_check).to_contain_text(f"{first['owner']} proved these bytes first, in block {first['block']}")
    screenshot(page, "media-later-registration")

    # The same owner again under another title: that record, and it is a later one too.
    go(page, f"/m/{again['short_id']}")
    expect(page.locator("#media-title")).to_have_text(AGAIN_TITLE, timeout=30_000)
    expect(page.locator("#media-owner")).to_have_text(first["owner"])
    expect(page.locator("#media-first-proof")).to_contain_text(first_said)

    # The first link: its own record, first, and revealed into proofOf before the second wallet's proof came.
    go(page, f"/m/{first['short_id']}")
    expect(page.locator("#media-title")).to_have_text(FIRST_TITLE, timeout=30_000)
    expect(page.locator("#media-owner")).to_have_text(first["owner"])
    expect(page.locator("#media-revealed")).to_contain_text("Yes: MediaApp.proofOf names this record")
    expect(page.locator("#media-first-proof")).to_have_count(0)

    # Search and feed cards say it too.
    go(page, "/search")
    page.locator("#search-input").fill("pier")
    cards = page.locator("#search-results .media-card")
    expect(cards).to_have_count(3)
    note = f"First proven by {short(first['owner'])} in block {first['block']}"
    expect(cards.filter(has_text=SECOND_TITLE).locator(".first-proof-note")).to_have_text(note)
    expect(cards.filter(has_text=AGAIN_TITLE).locator(".first-proof-note")).to_have_text(note)
    expect(cards.filter(has_text=FIRST_TITLE).locator(".first-proof-note")).to_have_count(0)
    screenshot(page, "search-later-registration")
    go(page, "/")
    expect(page.locator("#feed-grid .media-card", has_text=SECOND_TITLE).locator(".first-proof-note")).to_have_text(
        note
    )

    # /verify of the bytes: all three proofs checked in the browser, earliest first; the first one is first.
    go(page, "/verify")
    page.set_input_files("#verify-file", str(path))
    result = page.locator("#verify-result")
    expect(result).to_have_attribute("data-status", "proven", timeout=30_000)
    expect(result).to_contain_text(f"registered by {first['owner']} in batch {first['batch']}")
    reports = page.locator(".proof-report")
    expect(reports).to_have_count(3)
    expect(page.locator("#verify-source")).to_contain_text("The indexer gave 3 proof bundles")
    for i, owner in enumerate((first["owner"], second["owner"], first["owner"])):
        report = reports.nth(i)
        expect(report).to_have_attribute("data-proven", "true")
        expect(report.locator(".report-owner")).to_have_text(owner)
        for check in ("inclusion", "receipts"):
            expect(report.locator(f".proof-check[data-check={check}]")).to_have_attribute("data-ok", "true")
        expect(report.locator(".proof-check[data-check=first]")).to_have_attribute("data-ok", str(i == 0).lower())
    screenshot(page, "verify-three-proofs")

    # One byte changed: none of that applies.
    tampered = bytearray(path.read_bytes())
    tampered[len(tampered) // 3] ^= 0x01
    changed = tmp_path / "pier-edited.jpg"
    changed.write_bytes(bytes(tampered))
    page.set_input_files("#verify-file", str(changed))
    expect(result).to_have_attribute("data-status", "not_proven", timeout=30_000)
    expect(reports).to_have_count(0)
