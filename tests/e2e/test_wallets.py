"""Wallets in real Chromium: a browser with several wallets (EIP-6963) lets the user choose one by name and icon, and
every request then goes to that one; a browser with none explains what to install and still browses.

Browser extensions cannot be installed in the test browser, so the two wallets are stand-ins announced by an init
script (tests/e2e/injected_wallet.js): the mock is at that boundary only; the web app, the upload service's sign-in
and the chain behind them are the real ones.
"""

from __future__ import annotations

import re

from playwright.sync_api import expect
from webapp.wallet_choice import FIND_A_WALLET

from tests.e2e.conftest import WalletConfig, screenshot

FIRST, SECOND = "Fox Test Wallet", "Second Test Wallet"
SIGNING = ("eth_requestAccounts", "personal_sign", "eth_signTypedData_v4", "eth_sendTransaction")


def test_several_wallets_ask_the_user_to_choose_and_the_chosen_one_signs(visit) -> None:
    wallet = WalletConfig(announce=(FIRST, SECOND))
    page, problems = visit("/", wallet=wallet)
    page.click("#sign-in")
    expect(page.locator("#wallet-problem")).to_have_attribute("data-problem", "choose")
    choices = page.locator("#wallet-choices .wallet-choice")
    expect(choices).to_have_count(2)
    expect(choices.nth(0)).to_contain_text(FIRST)
    expect(choices.nth(1)).to_contain_text(SECOND)
    for i in range(2):  # each with the icon its wallet announced
        expect(choices.nth(i).locator("img")).to_have_attribute("src", re.compile(r"^data:image/svg\+xml,"))
    screenshot(page, "wallet-choose")
    asked = page.evaluate("window.__walletLogs")
    assert not any(m in methods for methods in asked.values() for m in SIGNING), "asked before the user chose"

    choices.nth(1).click()
    expect(page.locator("#signed-in-address")).to_have_attribute("data-address", wallet.address)
    logs = page.evaluate("window.__walletLogs")
    assert "personal_sign" in logs[SECOND] and "eth_requestAccounts" in logs[SECOND]
    # window.ethereum is the first wallet (it won the race to inject): it was never asked anything.
    assert not any(method in logs.get(FIRST, []) for method in SIGNING), logs
    assert wallet.calls.count("personal_sign") == 1
    assert problems == [], problems


def test_one_announced_wallet_is_used_without_asking(visit) -> None:
    wallet = WalletConfig(announce=(SECOND,))
    page, problems = visit("/", wallet=wallet)
    page.click("#sign-in")
    expect(page.locator("#signed-in-address")).to_have_attribute("data-address", wallet.address)
    expect(page.locator("#wallet-choices")).to_have_count(0)
    assert "personal_sign" in page.evaluate("window.__walletLogs")[SECOND]
    assert problems == [], problems


def test_without_a_wallet_the_page_says_what_to_install_and_browsing_still_works(visit) -> None:
    page, problems = visit("/", no_wallet=True)
    page.click("#sign-in")
    expect(page.locator("#wallet-problem")).to_have_attribute("data-problem", "no_wallet")
    expect(page.locator("#wallet-message")).to_contain_text("verifying a file all work without one")
    expect(page.locator("#find-wallet")).to_have_attribute("href", FIND_A_WALLET)
    screenshot(page, "wallet-none")
    page.locator("#main-nav").get_by_text("Verify", exact=True).click()
    expect(page.locator("#verify-drop")).to_be_visible()
    assert problems == [], problems
