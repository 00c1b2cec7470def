"""The project page's files and writes in real Chromium against the whole local system: a private project made and
synced by the real CLI shows its files (with a thumbnail) to its owner and not to a signed-in stranger; the owner
restores a version with the wallet (a new head equal to that version, checked on chain) and a stale restore says so
and reloads; the owner shares and unshares with a wallet address (checked with ProjectRegistry.canRead), and a bad
address is refused on the page before the wallet is asked anything."""

from __future__ import annotations

import io
import json
import os
import secrets
import subprocess
from pathlib import Path
from typing import Any

import httpx
from eth_abi import decode, encode
from eth_account import Account
from eth_utils import keccak
from PIL import Image
from playwright.sync_api import Page, expect

from tests.e2e.conftest import ANVIL_KEY, MAIN_PYTHON, OTHER_KEY, Chain, WalletConfig, rpc, wait_for
from tests.e2e.test_pages import go, hydrated, sign_in
from tests.e2e.test_projects import _call, send

THIRD_KEY = "0x5de4111afa1a4b94908f83103eb1f1706367c2e68ca870fc3fb9a804cdab365a"  # anvil account 2


def cli(chain: Chain, *args: str) -> dict[str, Any]:
    """`mediaproof ARGS --json` as the owner's CLI (anvil account 0), pointed at the test system."""
    env = {
        **os.environ,
        "MEDIAPROOF_RPC_URL": chain.rpc_url,
        "MEDIAPROOF_DEPLOYMENT_FILE": str(chain.deployment_file),
        "MEDIAPROOF_UPLOAD_URL": chain.upload_url,
        "MEDIAPROOF_DOWNLOAD_URL": f"http://127.0.0.1:{chain.download_port}",
        "MEDIAPROOF_PRIVATE_KEY": ANVIL_KEY,
    }
    done = subprocess.run(
        [str(MAIN_PYTHON.parent / "mediaproof"), *args, "--json"], capture_output=True, text=True, env=env, timeout=180
    )
    assert done.returncode == 0, f"mediaproof {' '.join(args)}: {done.stderr}"
    answer: dict[str, Any] = json.loads(done.stdout)
    return answer


def registry_call(chain: Chain, signature: str, types: list[str], args: list[Any], returns: list[str]) -> Any:
    registry = json.loads(chain.deployment_file.read_text())["contracts"]["ProjectRegistry"]
    answer = rpc(chain.rpc_url, "eth_call", [{"to": registry, "data": _call(signature, types, args)}, "latest"])
    return decode(returns, bytes.fromhex(answer.removeprefix("0x")))


def head(chain: Chain, pid: str) -> tuple[int, str]:
    """(version, manifest sha256 hex) of the project's head on chain."""
    (found,) = registry_call(
        chain, "head(bytes32)", ["bytes32"], [bytes.fromhex(pid[2:])], ["(address,bool,uint64,bytes32,string)"]
    )
    return int(found[2]), bytes(found[3]).hex()


def can_read(chain: Chain, pid: str, wallet: str) -> bool:
    (found,) = registry_call(
        chain, "canRead(bytes32,address)", ["bytes32", "address"], [bytes.fromhex(pid[2:]), wallet], ["bool"]
    )
    return bool(found)


def indexed_versions(chain: Chain, pid: str, count: int) -> None:
    wait_for(
        lambda: (
            len(httpx.get(f"{chain.indexer_url}/projects/{pid}/versions", timeout=10).json().get("versions", []))
            >= count
        ),
        60,
        f"the indexer has {count} versions",
    )


def png(color: tuple[int, int, int]) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (24, 16), color).save(out, "PNG")
    return out.getvalue()


def synced_private_project(chain: Chain, tmp_path: Path) -> tuple[str, str]:
    """A private project the CLI made and synced twice: version 1 has photo.png and notes/readme.txt, version 2
    adds more.txt. Returns its id and version 1's manifest sha256."""
    name = f"robot log {secrets.token_hex(3)}"
    pid = cli(chain, "project", "create", name, "--private")["project"]
    work = tmp_path / "device"
    cli(chain, "clone", pid, str(work))
    (work / "photo.png").write_bytes(png((200, 30, 30)))
    (work / "notes").mkdir()
    (work / "notes" / "readme.txt").write_text("first capture\n")
    assert cli(chain, "sync", str(work))["version"] == 1
    _, first_sha = head(chain, pid)
    (work / "more.txt").write_text("second capture\n")
    assert cli(chain, "sync", str(work))["version"] == 2
    indexed_versions(chain, pid, 2)
    return pid, first_sha


def open_project(open_page: Any, pid: str, wallet: WalletConfig | None) -> Page:
    if wallet is None:
        return hydrated(open_page(f"/projects/{pid}"))
    page = open_page("/", wallet)
    sign_in(page, wallet)
    go(page, f"/projects/{pid}")
    expect(page.locator("#project-name")).to_be_visible(timeout=30_000)
    return page


def test_private_project_files_show_to_its_owner_only_and_a_restore_makes_a_new_head(
    open_page, chain: Chain, tmp_path: Path
) -> None:
    pid, first_sha = synced_private_project(chain, tmp_path)

    owner = WalletConfig()
    page = open_project(open_page, pid, owner)
    files = page.locator("#project-files .project-file")
    expect(files).to_have_count(3, timeout=30_000)
    expect(page.locator("#project-files")).to_contain_text("notes/readme.txt")
    expect(page.locator("#project-files")).to_contain_text("UTC")
    thumb = page.locator("#project-files .project-file[data-path='photo.png'] img.project-thumb")
    expect(thumb).to_be_visible(timeout=30_000)
    assert (thumb.get_attribute("src") or "").startswith("data:image/png;base64,")
    assert page.evaluate("(img) => img.naturalWidth", thumb.element_handle()) == 24  # the real image, decoded
    assert "token" not in (thumb.get_attribute("src") or "")[:40]

    # a signed-in stranger: the download service refuses, so the page lists nothing and says why; no write controls
    stranger = WalletConfig(key=THIRD_KEY, signing_key=THIRD_KEY)
    other = open_project(open_page, pid, stranger)
    expect(other.locator("#project-files-refused")).to_contain_text("may not read it", timeout=30_000)
    expect(other.locator(".project-file")).to_have_count(0)
    expect(other.locator(".project-restore")).to_have_count(0)
    expect(other.locator("#share-address")).to_have_count(0)
    expect(other.locator("#project-folder-input")).to_have_count(0)
    # nobody signed in: asked to sign in, nothing fetched
    anonymous = open_project(open_page, pid, None)
    expect(anonymous.locator("#project-files-sign-in")).to_contain_text("private", timeout=30_000)
    expect(anonymous.locator(".project-file")).to_have_count(0)

    # restore version 1: the wallet commits version 1's manifest as version 3
    page.locator("#project-versions .project-version[data-version='1'] .project-restore").click()
    expect(page.locator("#project-notice")).to_contain_text("Version 1 restored", timeout=60_000)
    assert "eth_sendTransaction" in owner.calls
    assert head(chain, pid) == (3, first_sha)
    expect(page.locator("#project-head")).to_contain_text("Version 3", timeout=30_000)
    expect(files).to_have_count(2, timeout=30_000)  # version 1's files: more.txt is gone from the head
    expect(page.locator("#project-versions .project-version")).to_have_count(3)

    # someone else commits meanwhile (the CLI's key, straight to the chain): the page's restore is stale
    version2 = httpx.get(f"{chain.indexer_url}/projects/{pid}/versions", timeout=10).json()["versions"]
    second = next(v for v in version2 if int(v["version"]) == 2)
    send(
        chain,
        ANVIL_KEY,
        _call(
            "commit(bytes32,uint64,bytes32,string)",
            ["bytes32", "uint64", "bytes32", "string"],
            [
                bytes.fromhex(pid[2:]),
                3,
                bytes.fromhex(second["manifest_sha256"].removeprefix("0x")),
                second["manifest_cid"],
            ],
        ),
    )
    page.locator("#project-versions .project-version[data-version='2'] .project-restore").click()
    expect(page.locator("#project-problem")).to_contain_text("Version 4 was committed since", timeout=60_000)
    assert head(chain, pid)[0] == 4  # nothing else was committed
    expect(page.locator("#project-head")).to_contain_text("Version 4", timeout=30_000)


def test_owner_shares_and_unshares_by_address_and_a_bad_address_is_refused_first(open_page, chain: Chain) -> None:
    name = f"shared field {secrets.token_hex(3)}"
    owner = WalletConfig()
    raw_pid = keccak(encode(["address", "string"], [owner.address, name]))
    send(chain, ANVIL_KEY, _call("createProject(string,bool)", ["string", "bool"], [name, True]))
    pid = "0x" + raw_pid.hex()
    wait_for(lambda: httpx.get(f"{chain.indexer_url}/projects/{pid}", timeout=10).status_code == 200, 60, "indexed")
    grantee = Account.from_key(OTHER_KEY).address

    page = open_project(open_page, pid, owner)
    address = page.locator("#share-address")
    for bad, says in (
        ("0x1234", "is not a wallet address"),
        ("0x" + "00" * 20, "zero address"),
        (owner.address, "owner's own address"),
        ("<script>alert(1)</script>", "is not a wallet address"),
    ):
        address.fill(bad)
        page.click("#share-submit")
        expect(page.locator("#project-problem")).to_contain_text(says)
    assert "eth_sendTransaction" not in owner.calls  # refused before the wallet was asked
    assert not can_read(chain, pid, grantee)

    address.fill(grantee)
    page.locator("#share-role").select_option("write")
    page.click("#share-submit")
    expect(page.locator("#project-notice")).to_contain_text("Shared with", timeout=60_000)
    assert can_read(chain, pid, grantee)
    (role,) = registry_call(chain, "roleOf(bytes32,address)", ["bytes32", "address"], [raw_pid, grantee], ["uint8"])
    assert role == 2
    row = page.locator("#project-grants .project-grant")
    expect(row).to_contain_text("can commit", timeout=30_000)
    expect(row).to_have_count(1)

    row.locator(".project-unshare").click()
    expect(page.locator("#project-notice")).to_contain_text("no longer has access", timeout=60_000)
    assert not can_read(chain, pid, grantee)
    expect(page.locator(".project-grant")).to_have_count(0, timeout=30_000)


def test_files_and_a_whole_folder_upload_into_a_project_with_one_progress_view(
    open_page, chain: Chain, tmp_path: Path
) -> None:
    name = f"field uploads {secrets.token_hex(3)}"
    owner = WalletConfig()
    pid = "0x" + keccak(encode(["address", "string"], [owner.address, name])).hex()
    send(chain, ANVIL_KEY, _call("createProject(string,bool)", ["string", "bool"], [name, True]))
    wait_for(lambda: httpx.get(f"{chain.indexer_url}/projects/{pid}", timeout=10).status_code == 200, 60, "indexed")
    photo, notes = tmp_path / "photo.png", tmp_path / "notes.txt"
    photo.write_bytes(png((20, 160, 40)))
    notes.write_text("what the robot saw\n")
    folder = tmp_path / "trip"
    (folder / "day1").mkdir(parents=True)
    (folder / "day1" / "photo.png").write_bytes(photo.read_bytes())  # bytes the head already holds
    (folder / "log.txt").write_text("arrived\n")

    page = open_project(open_page, pid, owner)
    puts: list[str] = []
    page.on("request", lambda request: puts.append(request.url) if request.method == "PUT" else None)
    upload = page.locator("#project-upload")

    page.locator("#project-files-input").set_input_files([str(photo), str(notes)])
    expect(upload).to_have_attribute("data-stage", "done", timeout=90_000)
    expect(page.locator("#project-upload-detail")).to_contain_text("2 files committed as version 1")
    expect(page.locator("#project-upload-progress")).to_be_visible()
    assert len(puts) == 2 and all(f"/projects/{pid}/blobs/" in url for url in puts)
    assert head(chain, pid)[0] == 1
    expect(page.locator("#project-files .project-file")).to_have_count(2, timeout=30_000)

    puts.clear()
    page.locator("#project-folder-input").set_input_files(str(folder))
    expect(page.locator("#project-upload-detail")).to_contain_text("2 files committed as version 2", timeout=90_000)
    assert len(puts) == 1  # only log.txt: the photo's bytes are in the head already
    assert head(chain, pid)[0] == 2
    files = page.locator("#project-files")
    expect(files.locator(".project-file")).to_have_count(4, timeout=30_000)
    expect(files.locator(".project-file[data-path='trip/day1/photo.png']")).to_have_count(1)
    expect(files.locator(".project-file[data-path='trip/log.txt']")).to_have_count(1)
