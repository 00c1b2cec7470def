"""Follows, likes and comments in real Chromium against the real stack: wallet B (an anvil key signing in the page)
follows A on A's profile, likes and comments on A's photo, edits and deletes the comment, and sees A's media in its
Following feed; each waits on what the page shows once the indexer has the anchored action, never on time. Also the
play badge on a video card (not on a photo's) and relative times on cards.
"""

from __future__ import annotations

import re
from typing import Any

import httpx
import pytest
from eth_account import Account
from playwright.sync_api import Page, expect

from tests.e2e.conftest import ANVIL_KEY, OTHER_KEY, Chain, WalletConfig, screenshot, wait_for
from tests.e2e.test_pages import go, hydrated, photo, sign_in
from tests.e2e.test_video_upload import pattern_video

A = Account.from_key(ANVIL_KEY).address
RELATIVE = re.compile(r"^(just now|\d+ min ago)$")
UTC_TIME = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d UTC$")
ANCHORED = 120_000  # ms: the batch closes in seconds, but the machine is shared


def b_wallet() -> WalletConfig:
    return WalletConfig(key=OTHER_KEY, signing_key=OTHER_KEY)


def indexed(chain: Chain, media_id: str) -> dict[str, Any]:
    """Waits until the indexer serves the record (the feed and profile pages read it from there)."""
    return wait_for(
        lambda: (r := httpx.get(f"{chain.indexer_url}/media/{media_id}", timeout=10)).status_code == 200 and r.json(),
        60,
        "the indexer has the record",
    )


@pytest.fixture(scope="module")
def a_media(chain: Chain, tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[str, Any]]:
    """A's photo and video, registered through the upload service's API and indexed."""
    work = tmp_path_factory.mktemp("social")
    made = {
        "photo": chain.register(photo(work / "harbour.jpg", seed=41), "Harbour at dusk", key=ANVIL_KEY),
        "video": chain.register(pattern_video(work / "pattern.mp4"), "Test pattern", key=ANVIL_KEY),
    }
    for media in made.values():
        indexed(chain, media["media_id"])
    return made


def card(page: Page, media_id: str):
    return page.locator(f'.media-card[data-media-id="{media_id}"]')


def test_play_badge_on_video_cards_only_and_relative_times(open_page, a_media) -> None:
    page = hydrated(open_page(f"/u/{A}"))
    video, still = card(page, a_media["video"]["media_id"]), card(page, a_media["photo"]["media_id"])
    expect(video).to_have_attribute("data-kind", "video")
    expect(video.locator(".play-badge")).to_have_count(1)
    expect(video.locator(".play-badge")).to_have_attribute("aria-label", "Video")
    expect(still.locator(".play-badge")).to_have_count(0)
    # registered moments ago: a relative time, with the UTC time as its tooltip
    expect(still.locator(".time-ago")).to_have_text(RELATIVE)
    expect(still.locator(".time-ago")).to_have_attribute("title", UTC_TIME)
    screenshot(page, "social-play-badge")


def test_follow_needs_a_wallet_and_is_hidden_on_your_own_profile(open_page) -> None:
    wallet = b_wallet()
    page = hydrated(open_page(f"/u/{A}", wallet))
    expect(page.locator("#follow-needs-wallet")).to_be_visible()  # until it signs in
    expect(page.locator("#follow-button")).to_be_disabled()
    sign_in(page, wallet)
    expect(page.locator("#follow-needs-wallet")).to_have_count(0)
    expect(page.locator("#follow-button")).to_be_enabled()
    go(page, f"/u/{wallet.address}")
    expect(page.locator("#profile-address")).to_contain_text(wallet.address)
    expect(page.locator("#profile-follows")).to_be_visible()
    expect(page.locator("#follow-button")).to_have_count(0)


def test_b_follows_a_sees_a_in_following_feed_then_unfollows(open_page, chain: Chain, a_media) -> None:
    wallet = b_wallet()
    page = hydrated(open_page("/", wallet))
    expect(page.locator("#feed-tab-following")).to_be_visible()
    page.click("#feed-tab-following")
    expect(page.locator("#feed-needs-wallet")).to_be_visible()

    sign_in(page, wallet)
    go(page, f"/u/{A}")
    button = page.locator("#follow-button")
    expect(button).to_have_text("Follow")
    followers_before = int(page.locator("#profile-followers").get_attribute("data-count") or 0)
    button.click()
    # accepted, then shown once the indexer has the anchored follow
    expect(button).to_have_text("Unfollow", timeout=ANCHORED)
    expect(page.locator("#profile-followers")).to_have_attribute("data-count", str(followers_before + 1))
    assert "eth_signTypedData_v4" in wallet.calls
    following = httpx.get(f"{chain.indexer_url}/users/{wallet.address}/following", timeout=10).json()
    assert A.lower() in str(following).lower()
    screenshot(page, "social-followed")
    # the count opens the list, each wallet a link to its profile; B's own profile lists A under "following"
    page.click("#profile-followers-link")
    expect(page.locator("#follow-list")).to_have_attribute("data-list", "followers")
    expect(page.locator(f'#follow-list a.follow-row[href="/u/{wallet.address}"]')).to_have_count(1)
    go(page, f"/u/{wallet.address}")
    page.click("#profile-following-link")
    expect(page.locator(f'#follow-list a.follow-row[href="/u/{A}"]')).to_have_count(1)
    page.locator("#follow-list a.follow-row").first.click()
    expect(page.locator("#follow-button")).to_have_text("Unfollow")  # A's profile again

    go(page, "/")
    page.click("#feed-tab-following")
    expect(card(page, a_media["photo"]["media_id"])).to_be_visible(timeout=30_000)
    page.click("#feed-order-latest")
    expect(page.locator("#feed-order-latest")).to_have_attribute("aria-pressed", "true")
    expect(card(page, a_media["photo"]["media_id"])).to_be_visible()
    screenshot(page, "social-following-feed")

    # unfollow: the count falls back and A's media leaves B's Following feed
    go(page, f"/u/{A}")
    expect(button).to_have_text("Unfollow")
    button.click()
    expect(button).to_have_text("Follow", timeout=ANCHORED)
    expect(page.locator("#profile-followers")).to_have_attribute("data-count", str(followers_before))
    go(page, "/")
    page.click("#feed-tab-following")
    expect(page.locator("#empty-following")).to_be_visible()
    expect(card(page, a_media["photo"]["media_id"])).to_have_count(0)


def test_b_likes_and_comments_on_a_photo_then_edits_and_deletes(open_page, chain: Chain, a_media) -> None:
    media = a_media["photo"]
    wallet = b_wallet()
    page = hydrated(open_page(f"/m/{media['short_id']}", wallet))
    expect(page.locator("#media-time-ago")).to_have_text(RELATIVE)
    expect(page.locator("#media-time-ago")).to_have_attribute("title", re.compile(r"UTC$"))
    expect(page.locator("#social-needs-wallet")).to_be_visible()
    expect(page.locator("#like-button")).to_be_disabled()
    sign_in(page, wallet)

    likes = page.locator("#like-count")
    expect(likes).to_have_attribute("data-count", "0")
    page.click("#like-button")
    expect(likes).to_have_attribute("data-count", "1", timeout=ANCHORED)
    expect(page.locator("#social-pending")).to_have_count(0, timeout=ANCHORED)  # the indexer says B likes it
    # opened again, the button says what the indexer knows of this wallet, not what this page signed
    go(page, f"/u/{A}")
    go(page, f"/m/{media['short_id']}")
    expect(likes).to_have_attribute("data-count", "1")
    expect(page.locator("#like-button")).to_contain_text("Liked")

    # refused before anything is signed, and says why
    signed_before = wallet.calls.count("eth_signTypedData_v4")
    page.fill("#comment-text", "x" * 2001)
    expect(page.locator("#comment-bytes-left")).to_contain_text("at most 2000 bytes")
    expect(page.locator("#comment-post")).to_be_disabled()
    page.fill("#comment-text", "   ")
    page.click("#comment-post")
    expect(page.locator("#social-error")).to_contain_text("empty")
    assert wallet.calls.count("eth_signTypedData_v4") == signed_before

    text = "The light on the water — signed by B"
    page.fill("#comment-text", text)
    page.click("#comment-post")
    # accepted: the page says so until the indexer has it (the watch sleeps a poll before it first looks)
    expect(page.locator("#social-pending")).to_contain_text("pending anchoring")
    mine = page.locator(f'.comment[data-author="{wallet.address}"]')
    expect(mine).to_have_count(1, timeout=ANCHORED)
    expect(mine.locator(".comment-text")).to_have_text(text)
    expect(mine.locator(".comment-author")).to_have_attribute("href", f"/u/{wallet.address}")
    expect(mine.locator(".time-ago")).to_have_text(RELATIVE)
    expect(page.locator("#social-pending")).to_have_count(0)
    comments = httpx.get(f"{chain.indexer_url}/media/{media['media_id']}/comments", timeout=10).json()
    assert text in str(comments) and wallet.address.lower() in str(comments).lower()
    screenshot(page, "social-commented")

    mine.locator(".comment-edit").click()
    page.fill("#comment-edit-text", "The light on the water (edited)")
    page.click("#comment-edit-save")
    expect(mine.locator(".comment-text")).to_have_text("The light on the water (edited)", timeout=ANCHORED)
    expect(mine.locator(".comment-edited")).to_be_visible()

    mine.locator(".comment-delete").click()
    expect(mine).to_have_count(0, timeout=ANCHORED)

    # A's card in any grid carries the counts
    go(page, f"/u/{A}")
    expect(card(page, media["media_id"]).locator(".card-likes")).to_have_text("1")
    expect(card(page, media["media_id"]).locator(".card-comments")).to_have_text("0")
