"""The upload page sends a file over MEDIAPROOF_UPLOAD_RESUMABLE_ABOVE by tus (npm tus-js-client, served from the app's
/vendor/), in real Chromium on the real stack: in chunks, resuming from the service's offset after a dropped
connection, and then on exactly as after POST /uploads (prepare, sign, commit) to its proof. Forged bytes sent that
way are refused with the service's sentence, and the page holds nothing it did not check. On a project's page a file
over the threshold goes by tus too (Upload-Metadata project + sha256), its CID named from the page's chunk hashes,
and lands in the project's new head beside a small file sent by PUT.

The e2e web app runs with a 1.5 MB threshold and 512 KiB chunks (tests/e2e/conftest.py), so a ~2 MB photo is enough.
"""

from __future__ import annotations

import hashlib
import math
import os
import secrets
from pathlib import Path
from typing import Any

import httpx
from eth_abi import encode
from eth_utils import keccak
from playwright.sync_api import Page, Route, expect

from tests.e2e.conftest import ANVIL_KEY, CHUNK_BYTES, MAX_UPLOAD_BYTES, RESUMABLE_ABOVE, Chain, WalletConfig, wait_for
from tests.e2e.test_pages import choose_file
from tests.e2e.test_pages import sign_in as sign_in_on_page
from tests.e2e.test_project_writes import head, open_project
from tests.e2e.test_projects import _call, send
from tests.e2e.test_tus_browser import photo
from tests.e2e.test_upload_session import new_wallet, to_upload_page


def sent_requests(page: Page, upload_url: str) -> list[tuple[str, str, str]]:
    """(method, path, Upload-Offset) of every request the page makes to the upload service, as it makes them."""
    seen: list[tuple[str, str, str]] = []

    def note(request: Any) -> None:
        if request.url.startswith(upload_url) and request.method != "OPTIONS":
            path = request.url.removeprefix(upload_url)
            seen.append((request.method, path, request.header_value("upload-offset") or ""))

    page.on("request", note)
    return seen


def drop_one_patch(page: Page, upload_url: str, at: int) -> list[int]:
    """The page's `at`-th PATCH (0-based) to /files/ never reaches the service: its connection is reset."""
    count = [0]
    dropped: list[int] = []

    def cut(route: Route) -> None:
        if route.request.method == "PATCH":
            count[0] += 1
            if count[0] == at + 1:
                dropped.append(int(route.request.header_value("upload-offset") or -1))
                route.abort("connectionreset")
                return
        route.continue_()

    page.route(f"{upload_url}/files/**", cut)
    return dropped


def test_a_photo_over_the_threshold_goes_by_tus_resumes_after_a_drop_and_ends_proven(
    open_page, chain: Chain, tmp_path: Path
) -> None:
    data = photo((1700, 1300))  # ~2 MB of noise: a JPEG cannot compress it
    assert RESUMABLE_ABOVE < len(data) < MAX_UPLOAD_BYTES, len(data)
    path = tmp_path / "static.jpg"
    path.write_bytes(data)
    wallet = new_wallet()
    page = open_page("/", wallet)
    sent = sent_requests(page, chain.upload_url)
    dropped = drop_one_patch(page, chain.upload_url, at=1)
    sign_in_on_page(page, wallet)
    to_upload_page(page)
    choose_file(page, path)
    expect(page.locator("#upload-preview")).to_be_visible(timeout=90_000)
    expect(page.locator("#upload-facts")).to_contain_text("image/jpeg")

    patches = [int(offset) for method, where, offset in sent if method == "PATCH" and where.startswith("/files/")]
    assert [m for m, where, _ in sent if where in ("/files/", "/uploads")] == ["POST"], "one tus creation, no POST"
    assert dropped and dropped[0] > 0, "the second chunk was cut"
    # The cut chunk is sent again from the service's offset (a HEAD asks it), never from byte 0.
    assert patches.count(dropped[0]) == 2 and patches == sorted(patches), patches
    assert len(patches) == math.ceil(len(data) / CHUNK_BYTES) + 1, patches
    assert any(m == "HEAD" for m, _, _ in sent)

    page.fill("#upload-title", "Static over the threshold")
    page.click("#upload-prepare")
    expect(page.locator("#record-sha256")).to_have_text("0x" + hashlib.sha256(data).hexdigest())
    page.click("#upload-sign")
    expect(page.locator("#upload-proven")).to_contain_text("Proven in batch", timeout=60_000)


def test_forged_bytes_over_the_threshold_by_tus_are_refused_with_the_services_sentence(
    open_page, chain: Chain, tmp_path: Path
) -> None:
    path = tmp_path / "not-a-photo.jpg"  # the browser calls it image/jpeg by its name; its bytes are noise
    path.write_bytes(os.urandom(RESUMABLE_ABOVE + 300_000))
    wallet = new_wallet()
    page = open_page("/", wallet)
    sent = sent_requests(page, chain.upload_url)
    sign_in_on_page(page, wallet)
    to_upload_page(page)
    choose_file(page, path)
    expect(page.locator("#upload-error")).to_contain_text("did not accept not-a-photo.jpg", timeout=60_000)
    expect(page.locator("#media-upload")).to_be_visible()  # back to choosing a file: nothing is held or stored
    assert any(m == "PATCH" for m, where, _ in sent if where.startswith("/files/"))
    assert not any(where == "/uploads" for _, where, _ in sent)


def test_a_project_file_over_the_threshold_goes_by_tus_and_lands_in_the_new_head(
    open_page, chain: Chain, tmp_path: Path
) -> None:
    name = f"big captures {secrets.token_hex(3)}"
    owner = WalletConfig()
    pid = "0x" + keccak(encode(["address", "string"], [owner.address, name])).hex()
    send(chain, ANVIL_KEY, _call("createProject(string,bool)", ["string", "bool"], [name, True]))
    wait_for(lambda: httpx.get(f"{chain.indexer_url}/projects/{pid}", timeout=10).status_code == 200, 60, "indexed")
    big, small = tmp_path / "scan.bin", tmp_path / "notes.txt"
    big.write_bytes(os.urandom(RESUMABLE_ABOVE + 600_000))  # a project file may be any bytes
    small.write_text("what the scanner saw\n")

    page = open_project(open_page, pid, owner)
    sent = sent_requests(page, chain.upload_url)
    page.locator("#project-files-input").set_input_files([str(big), str(small)])
    expect(page.locator("#project-upload")).to_have_attribute("data-stage", "done", timeout=90_000)
    expect(page.locator("#project-upload-detail")).to_contain_text("2 files committed as version 1")

    puts = [where for method, where, _ in sent if method == "PUT"]
    patches = [int(offset) for method, where, offset in sent if method == "PATCH" and where.startswith("/files/")]
    assert puts == [f"/projects/{pid}/blobs/{hashlib.sha256(small.read_bytes()).hexdigest()}"], puts
    assert len(patches) == math.ceil(big.stat().st_size / CHUNK_BYTES), patches
    assert head(chain, pid)[0] == 1
    files = page.locator("#project-files")
    expect(files.locator(".project-file")).to_have_count(2, timeout=30_000)
    expect(files.locator(".project-file[data-path='scan.bin']")).to_have_count(1)
