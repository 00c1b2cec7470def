"""The pages people browse, in real Chromium at 1280 and 390 px, each with no console error and no failed request: a
media page with one heading and its views per day and per size (drawn, and as a table for screen readers), the feed
and a profile read as a timeline under date headings, a profile that reads as a person's (avatar, name, counts), and
the upload page warning a second wallet, before it signs, that its file's bytes were proven first by someone else.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import OTHER_KEY, Chain, WalletConfig, screenshot, wait_for
from tests.e2e.test_pages import choose_file, sign_in
from tests.e2e.test_verify import photo_bytes
from tests.e2e.test_verify_links import DESKTOP, PHONE, fits_a_phone, sha_of

TITLE = "Harbour at dusk"
VIEWPORTS = pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["1280", "390"])
VIEWS = {"small": 2, "original": 1}  # fetched through the media's link before its page is opened


def short(address: str) -> str:
    return f"{address[:6]}…{address[-4:]}"


@pytest.fixture(scope="module")
def photo_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("people") / "harbour.jpg"
    data = bytearray(photo_bytes())
    data[-4] ^= 0x3C  # bytes no other module registers: this module's first proof is anvil account 0's
    path.write_bytes(bytes(data))
    return path


@pytest.fixture(scope="module")
def registered(chain: Chain, photo_file: Path) -> dict[str, Any]:
    """Proven by anvil account 0, then viewed through its link at two sizes, until the indexer counts the views."""
    proof = chain.register(photo_file, TITLE)
    download = f"http://127.0.0.1:{chain.download_port}/m/{proof['short_id']}"
    for size, times in VIEWS.items():
        for _ in range(times):
            assert httpx.get(download, params={"size": size}, timeout=30).status_code == 200
    analytics = f"{chain.indexer_url}/analytics/media/{proof['short_id']}"

    def counted() -> bool:  # a 404 until the indexer has the media and its short id: not yet, not a failure
        answer = httpx.get(analytics, timeout=10)
        return answer.status_code == 200 and answer.json()["views"] >= sum(VIEWS.values())

    wait_for(counted, 90, "views indexed")
    return proof


@VIEWPORTS
def test_the_media_page_has_one_heading_and_charts_its_views(visit, registered, viewport) -> None:
    page, problems = visit(f"/m/{registered['short_id']}", viewport)
    expect(page.locator("#media-title")).to_have_text(TITLE)
    expect(page.locator("h1")).to_have_count(1)
    total = page.locator("#media-views-total")
    expect(total).to_have_attribute("data-views", re.compile(r"^[1-9]\d*$"))
    assert int(total.get_attribute("data-views") or 0) >= sum(VIEWS.values())

    per_day = page.locator("#media-views-per-day")
    expect(per_day.locator(".chart-bar").last).to_have_attribute("data-views", re.compile(r"^[1-9]"))
    day_rows = per_day.locator(".chart-table tbody tr")
    assert day_rows.count() == per_day.locator(".chart-bar").count() >= 1
    assert sum(int(b.get_attribute("data-views") or 0) for b in per_day.locator(".chart-bar").all()) == int(
        total.get_attribute("data-views") or 0
    )

    per_size = page.locator("#media-views-per-size")
    small = per_size.locator(".chart-table tbody tr", has=page.locator("th", has_text="Small"))
    expect(small).to_have_count(1)
    assert int(small.locator("td").inner_text()) >= VIEWS["small"]
    expect(per_size.locator(".chart-table tbody tr", has=page.locator("th", has_text="Original"))).to_have_count(1)
    # The bars are for eyes; the table (off screen, not display:none) is what a screen reader reads.
    assert per_size.locator("[aria-hidden=true]").count() >= 1
    assert per_size.locator(".chart-table").evaluate("t => getComputedStyle(t).display") != "none"

    if viewport == PHONE:
        fits_a_phone(page)
    page.locator("#media-views").scroll_into_view_if_needed()
    screenshot(page, f"media-views-{viewport[0]}")
    assert problems == []


@VIEWPORTS
def test_the_feed_reads_as_a_timeline_under_date_headings(visit, registered, viewport) -> None:
    page, problems = visit("/", viewport)
    grid = page.locator("#feed-grid")
    expect(grid.locator(".media-card").first).to_be_visible(timeout=30_000)
    headings = grid.locator(".date-heading")
    expect(headings.first).to_have_text("Today")  # anvil stamps blocks with the wall clock: proven today
    labels = headings.all_inner_texts()
    assert len(labels) == len(set(labels)), labels  # one heading per group
    # The heading comes before the cards it names: the first child of the grid is a heading.
    assert grid.locator(":scope > *").first.evaluate("e => e.classList.contains('date-heading')")
    expect(grid.locator(".media-card", has_text=TITLE)).to_have_count(1)
    # The headings count the viewer's days: the zone the browser reports reached the backend.
    zone = page.evaluate("Intl.DateTimeFormat().resolvedOptions().timeZone")
    expect(headings.first).to_have_attribute("data-zone", zone)
    if viewport == PHONE:
        fits_a_phone(page)
    screenshot(page, f"feed-timeline-{viewport[0]}")
    assert problems == []


def test_date_headings_count_the_days_of_the_viewers_time_zone(visit, registered) -> None:
    # A viewer fourteen hours ahead of UTC: the browser names its zone and both grids head their dates by it.
    owner = registered["owner"]
    for path, grid_id in (("/", "#feed-grid"), (f"/u/{owner.lower()}", "#profile-grid")):
        page, problems = visit(path, PHONE, zone="Pacific/Kiritimati")
        headings = page.locator(f"{grid_id} .date-heading")
        expect(headings.first).to_have_text("Today", timeout=30_000)
        for zone in headings.evaluate_all("hs => hs.map((h) => h.dataset.zone)"):
            assert zone == "Pacific/Kiritimati", path
        assert problems == []


def test_the_feed_looks_the_zone_up_before_the_app_hydrates(visit, registered, app_url: str) -> None:
    # The feed's first data is a dated grid: its page says so and assets/mediaproof.js writes the zone cookie before
    # the app connects, so the first grid the backend sends is already headed by the viewer's days. Seen at
    # DOMContentLoaded, before the app's socket could carry an ask; a media page (no dated grid) writes none then.
    page, _ = visit("/", PHONE, zone="Pacific/Kiritimati")
    page.context.add_init_script(
        "document.addEventListener('DOMContentLoaded', () => { window.__cookieAtDom = document.cookie; })"
    )
    for path, written in (("/", True), (f"/m/{registered['short_id']}", False)):
        page.context.clear_cookies()
        page.goto(app_url + path)
        page.wait_for_function("window.__cookieAtDom !== undefined")
        at_dom = page.evaluate("window.__cookieAtDom")
        assert ("mediaproof_tz=Pacific%2FKiritimati" in at_dom) is written, (path, at_dom)


def test_a_grid_reached_from_a_media_page_asks_the_browser_for_its_zone(visit, registered) -> None:
    # A media page has no date headings: it does not look the zone up while it loads (ICU's first use costs a phone
    # a blocked main thread), so no cookie carries it yet. The feed, reached by the app's own navigation (no new
    # hydration), asks the browser and heads its dates by the zone it names; the cookie then keeps it.
    page, problems = visit(f"/m/{registered['short_id']}", PHONE, zone="Pacific/Kiritimati")
    expect(page.locator("#media-title")).to_have_text(TITLE)
    assert "mediaproof_tz=" not in page.evaluate("document.cookie")
    page.locator("#main-nav a[href='/']").click()
    headings = page.locator("#feed-grid .date-heading")
    expect(headings.first).to_have_attribute("data-zone", "Pacific/Kiritimati", timeout=30_000)
    for zone in headings.evaluate_all("hs => hs.map((h) => h.dataset.zone)"):
        assert zone == "Pacific/Kiritimati"
    assert "mediaproof_tz=Pacific%2FKiritimati" in page.evaluate("document.cookie")
    assert problems == []


@VIEWPORTS
def test_a_profile_reads_as_a_persons_page(visit, registered, viewport) -> None:
    owner = registered["owner"]
    page, problems = visit(f"/u/{owner.lower()}", viewport)
    expect(page.locator("#profile-name")).to_have_text(short(owner))
    expect(page.locator("h1")).to_have_count(1)
    avatar = page.locator("#profile-avatar")
    expect(avatar).to_have_attribute("src", re.compile(r"^data:image/svg\+xml;base64,"))
    wait_for(lambda: avatar.evaluate("img => img.complete && img.naturalWidth > 0"), 30, "the avatar drawn")
    drawn = avatar.get_attribute("src")
    expect(page.locator("#profile-address")).to_contain_text(owner)
    media = page.locator("#profile-media-count")
    expect(media).to_have_attribute("data-count", re.compile(r"^[1-9]\d*$"))
    expect(page.locator("#profile-followers")).to_be_visible()
    expect(page.locator("#profile-following")).to_be_visible()
    grid = page.locator("#profile-grid")
    expect(grid.locator(".date-heading").first).to_have_text("Today")
    expect(grid.locator(".media-card", has_text=TITLE)).to_have_count(1)
    if viewport == PHONE:
        fits_a_phone(page)
    screenshot(page, f"profile-person-{viewport[0]}")
    assert problems == []

    # The same wallet, spelled in capitals, draws the same picture; another wallet another one.
    again, problems = visit(f"/u/{owner}", viewport)
    expect(again.locator("#profile-avatar")).to_have_attribute("src", drawn or "")
    other, _ = visit("/u/0x" + "5e" * 20, viewport)
    expect(other.locator("#profile-avatar")).not_to_have_attribute("src", drawn or "")
    assert problems == []


@VIEWPORTS
def test_uploading_bytes_someone_proved_warns_before_signing(visit, registered, photo_file, viewport) -> None:
    """Anvil account 1 uploads the very bytes account 0 proved: the page names the first prover and the block before
    the record is signed, links to the proof, and lets the user register anyway (a later registration)."""
    wallet = WalletConfig(key=OTHER_KEY, signing_key=OTHER_KEY)
    page, problems = visit("/upload", viewport, wallet=wallet)
    sign_in(page, wallet)
    choose_file(page, photo_file)
    warning = page.locator("#upload-first-proof")
    expect(warning).to_be_visible(timeout=60_000)
    expect(warning).to_contain_text(
        f"These bytes were first proven by {short(registered['owner'])} in block {registered['block']}"
    )
    expect(warning).to_have_attribute("data-owner", registered["owner"])
    expect(page.locator("#upload-first-verify")).to_have_attribute("href", f"/verify/{sha_of(registered)}")
    if viewport == PHONE:
        # The page's own content; the signed-in header (wallet and Sign out, the layout's) is left to its own tests.
        wider = page.evaluate(
            """() => [...document.querySelectorAll('.rt-Container *')]
              .filter(e => e.getBoundingClientRect().right > window.innerWidth + 0.5)
              .map(e => e.outerHTML.slice(0, 80))"""
        )
        assert wider == [], wider
    screenshot(page, f"upload-duplicate-{viewport[0]}")
    if viewport == PHONE:
        assert problems == []
        return

    page.fill("#upload-title", "Harbour, again")
    page.click("#upload-prepare")
    expect(page.locator("#upload-sign")).to_be_visible(timeout=60_000)
    expect(page.locator("#upload-first-proof")).to_contain_text(f"in block {registered['block']}")  # still said
    assert "eth_signTypedData_v4" not in wallet.calls  # warned before anything was signed
    page.click("#upload-sign")
    expect(page.locator("#upload-result")).to_be_visible(timeout=90_000)
    assert "eth_signTypedData_v4" in wallet.calls
    assert problems == []
