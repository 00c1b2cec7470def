"""The Projects pages in real Chromium: a project created, committed twice and shared on chain (ProjectRegistry,
sent by anvil's unlocked accounts as a CLI would) shows in its owner's list and in the grantee's "shared with you",
and its page lists both versions with who committed them, when, and in which transaction. Links that name no project
explain themselves."""

from __future__ import annotations

import hashlib
import json
import secrets
from typing import Any

import httpx
from eth_abi import encode
from eth_account import Account
from eth_utils import keccak
from playwright.sync_api import expect

from tests.e2e.conftest import ANVIL_KEY, OTHER_KEY, Chain, WalletConfig, rpc, screenshot, wait_for
from tests.e2e.test_pages import go, hydrated, sign_in

READ = 1


def _call(signature: str, types: list[str], args: list[Any]) -> str:
    return "0x" + (keccak(text=signature)[:4] + encode(types, args)).hex()


def send(chain: Chain, key: str, data: str) -> str:
    """A ProjectRegistry call from an anvil account (anvil signs for it); its mined transaction's hash."""
    registry = json.loads(chain.deployment_file.read_text())["contracts"]["ProjectRegistry"]
    sender = Account.from_key(key).address
    tx_hash = rpc(chain.rpc_url, "eth_sendTransaction", [{"from": sender, "to": registry, "data": data}])
    receipt = wait_for(lambda: rpc(chain.rpc_url, "eth_getTransactionReceipt", [tx_hash]), 30, "transaction mined")
    assert receipt["status"] == "0x1", receipt
    return str(tx_hash)


def project_on_chain(chain: Chain, name: str) -> tuple[str, list[str]]:
    """Creates `name` as ANVIL_KEY's wallet, commits two versions and gives OTHER_KEY's wallet read; returns the
    project id and the two commits' transaction hashes."""
    owner = Account.from_key(ANVIL_KEY).address
    pid = keccak(encode(["address", "string"], [owner, name]))
    send(chain, ANVIL_KEY, _call("createProject(string,bool)", ["string", "bool"], [name, True]))
    commits = []
    for version, cid in ((0, "bafy-first-manifest"), (1, "bafy-second-manifest")):
        data = _call(
            "commit(bytes32,uint64,bytes32,string)",
            ["bytes32", "uint64", "bytes32", "string"],
            [pid, version, hashlib.sha256(cid.encode()).digest(), cid],
        )
        commits.append(send(chain, ANVIL_KEY, data))
    grantee = Account.from_key(OTHER_KEY).address
    send(chain, ANVIL_KEY, _call("grant(bytes32,address,uint8)", ["bytes32", "address", "uint8"], [pid, grantee, READ]))
    return "0x" + pid.hex(), commits


def test_projects_page_lists_a_project_made_on_chain_and_its_history(open_page, chain: Chain) -> None:
    name = f"field robots {secrets.token_hex(3)}"
    pid, commits = project_on_chain(chain, name)
    wait_for(
        lambda: (
            len(httpx.get(f"{chain.indexer_url}/projects/{pid}/versions", timeout=10).json().get("versions", [])) == 2
        ),
        60,
        "the indexer has both versions",
    )

    wallet = WalletConfig()
    page = open_page("/", wallet)
    sign_in(page, wallet)
    page.locator("#main-nav").get_by_text("Projects", exact=True).click()
    hydrated(page)
    card = page.locator(f"#projects-owned .project-card[data-project-id='{pid}']")
    expect(card).to_contain_text(name, timeout=30_000)
    expect(card).to_contain_text("owner")
    expect(card).to_contain_text("version 2")
    expect(card).to_contain_text("private")
    screenshot(page, "projects-list")

    card.click()
    hydrated(page)
    expect(page.locator("#project-name")).to_have_text(name, timeout=30_000)
    expect(page.locator("#project-head")).to_contain_text("bafy-second-manifest")
    expect(page.locator("#project-grants")).to_contain_text("can read")
    versions = page.locator("#project-versions .project-version")
    expect(versions).to_have_count(2)
    # newest first, each with who committed it, when and in which transaction
    for row, (version, tx) in zip(versions.all(), ((2, commits[1]), (1, commits[0])), strict=True):
        expect(row).to_have_attribute("data-version", str(version))
        expect(row.locator(".version-tx")).to_have_text(tx)
        expect(row.locator(".version-committer")).to_have_attribute("href", f"/u/{wallet.address}")
        expect(row).to_contain_text("UTC")
    screenshot(page, "project-history")

    # the grantee finds it under "shared with you"
    other = WalletConfig(key=OTHER_KEY, signing_key=OTHER_KEY)
    shared = open_page("/", other)
    sign_in(shared, other)
    go(shared, "/projects")
    expect(shared.locator(f"#projects-shared .project-card[data-project-id='{pid}']")).to_contain_text(
        "can read", timeout=30_000
    )
    expect(shared.locator(f"#projects-owned .project-card[data-project-id='{pid}']")).to_have_count(0)


def test_project_links_that_name_no_project_explain_themselves(open_page) -> None:
    page = hydrated(open_page("/projects/0x12"))
    expect(page.locator("#project-bad-id")).to_contain_text("Not a project id")
    page = hydrated(open_page("/projects/0x" + "11" * 32))
    expect(page.locator("#project-unknown")).to_contain_text("No such project")
    page = hydrated(open_page("/projects"))
    expect(page.locator("#projects-signed-out")).to_contain_text("Sign in")
