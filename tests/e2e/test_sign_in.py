"""Sign-In with Ethereum in real Chromium: success, refusal, no wallet, wrong chain, a forged signature."""

from __future__ import annotations

from eth_account import Account
from playwright.sync_api import Page, expect

from tests.e2e.conftest import OTHER_KEY, WalletConfig, screenshot


def hydrated(page: Page) -> Page:
    expect(page.locator("#page")).to_have_attribute("data-hydrated", "true")
    return page


def test_sign_in_succeeds_and_shows_address(open_page) -> None:
    wallet = WalletConfig()
    page = hydrated(open_page("/", wallet))
    page.click("#sign-in")
    badge = page.locator("#signed-in-address")
    expect(badge).to_have_attribute("data-address", wallet.address)
    expect(badge).to_contain_text(wallet.address[:6])
    assert wallet.calls.count("personal_sign") == 1
    expect(page.locator("#wallet-problem")).to_have_count(0)
    screenshot(page, "signed-in-feed")

    page.click("text=Profile")
    expect(page.locator("#profile-address")).to_contain_text(wallet.address)
    screenshot(page, "profile-signed-in")

    page.click("#sign-out")
    expect(page.locator("#sign-in")).to_be_visible()


def test_refused_signature_explains_and_stays_signed_out(open_page) -> None:
    wallet = WalletConfig(refuse_sign=True)
    page = hydrated(open_page("/", wallet))
    page.click("#sign-in")
    expect(page.locator("#wallet-message")).to_contain_text("declined to sign")
    expect(page.locator("#wallet-problem")).to_have_attribute("data-problem", "refused")
    expect(page.locator("#signed-in-address")).to_have_count(0)
    expect(page.locator("#sign-in")).to_be_visible()
    screenshot(page, "sign-in-refused")


def test_refused_connection_explains(open_page) -> None:
    page = hydrated(open_page("/", WalletConfig(refuse_connect=True)))
    page.click("#sign-in")
    expect(page.locator("#wallet-message")).to_contain_text("declined to connect")


def test_no_wallet_explains_how_to_get_one(open_page) -> None:
    page = hydrated(open_page("/", wallet=None))
    page.click("#sign-in")
    expect(page.locator("#wallet-message")).to_contain_text("No Ethereum wallet found")
    expect(page.locator("#wallet-problem")).to_have_attribute("data-problem", "no_wallet")
    screenshot(page, "sign-in-no-wallet")


def test_wrong_chain_offers_switch_then_signs_in(open_page) -> None:
    wallet = WalletConfig(chain_id=1)
    page = hydrated(open_page("/", wallet))
    page.click("#sign-in")
    expect(page.locator("#wallet-message")).to_contain_text("Your wallet is on chain 1")
    expect(page.locator("#wallet-message")).to_contain_text("runs on chain 31337")
    switch = page.locator("#switch-chain")
    expect(switch).to_contain_text("31337")
    assert "personal_sign" not in wallet.calls  # nothing is signed for the wrong chain
    screenshot(page, "sign-in-wrong-chain")

    switch.click()
    expect(page.locator("#signed-in-address")).to_have_attribute("data-address", wallet.address)
    assert wallet.calls.count("personal_sign") == 1


def test_signature_by_another_key_is_rejected_by_the_server(open_page) -> None:
    # The wallet claims account 0 but signs with account 1's key: only the server's check can notice.
    wallet = WalletConfig(signing_key=OTHER_KEY)
    page = hydrated(open_page("/", wallet))
    page.click("#sign-in")
    expect(page.locator("#wallet-message")).to_contain_text("signature does not match")
    expect(page.locator("#signed-in-address")).to_have_count(0)


def test_switching_account_in_the_wallet_signs_out(open_page) -> None:
    wallet = WalletConfig()
    page = hydrated(open_page("/", wallet))
    page.click("#sign-in")
    expect(page.locator("#signed-in-address")).to_have_attribute("data-address", wallet.address)
    page.evaluate("address => window.__testWallet.switchAccount(address)", Account.from_key(OTHER_KEY).address)
    expect(page.locator("#wallet-message")).to_contain_text("switched to another account")
    expect(page.locator("#signed-in-address")).to_have_count(0)
