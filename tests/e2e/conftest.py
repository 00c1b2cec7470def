"""Fixtures for the browser tests: the local system (anvil with the contracts, a storage cluster with its IPFS node,
indexer, upload and download services), the Reflex app in prod mode, Debian's Chromium, and an injected EIP-1193
wallet that signs with an anvil test key.

Runs in .venv-web (Reflex, Playwright); the rest of the system (mediaproof.devstack.LocalStack) runs in .venv
through tests/e2e/stack_runner.py.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from eth_account import Account
from eth_account.messages import encode_defunct, encode_typed_data
from playwright.sync_api import Browser, BrowserContext, Page, expect, sync_playwright

ROOT = Path(__file__).resolve().parents[2]
WEBAPP_DIR = ROOT / "webapp"
MAIN_PYTHON = ROOT / ".venv" / "bin" / "python"
WEB_BIN = ROOT / ".venv-web" / "bin"
ANVIL = ROOT / "node_modules" / ".bin" / "anvil"
BUN = ROOT / "tooling" / "web" / "node_modules" / "@oven" / "bun-linux-x64" / "bin" / "bun"
WALLET_SCRIPT = Path(__file__).with_name("injected_wallet.js")
# The tests' own build and state directories, so a running `make up` (webapp/.web) is never disturbed;
# kept between runs so the front end rebuilds warm (~12 s instead of ~25 s).
REFLEX_WORK = ROOT / ".cache" / "webapp-e2e"
ARTIFACTS = ROOT / "test-artifacts"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
ANVIL_CHAIN_ID = 31337
ANVIL_KEY = "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80"  # anvil account 0
OTHER_KEY = "0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d"  # anvil account 1
SERVER_START_TIMEOUT = 300
# The app's upload limit in the tests: small, so the too-large case needs no huge file.
MAX_UPLOAD_BYTES = 4_000_000
# The app's resumable threshold and chunk in the tests: a ~2 MB photo goes by tus in a few PATCHes, while every
# other test's files (tens of KB) still go by one POST /uploads.
RESUMABLE_ABOVE = 1_500_000
CHUNK_BYTES = 512 << 10
NEW_USER_KEY = "0x8b3a350cf5c34c9194ca85829a2df0ec3153be0318b5e2d3348e872092edffba"  # anvil account 5, never onboarded
# The e2e upload service's MEDIAPROOF_UPLOAD_RATE_PER_MINUTE, per wallet and per client address: low enough that
# test_upload_session fills one wallet's minute (from another loopback address) and meets the 429 in the page, high
# enough for every browser upload of the suite, which all come from 127.0.0.1 (a handful a minute).
UPLOADS_PER_MINUTE = 20
PHONE = (390, 844)
DESKTOP = (1280, 900)
# The app's block explorer (MEDIAPROOF_EXPLORER_URL): pages link hashes there; the tests only read the links.
EXPLORER = "https://explorer.example"

# The app's package (webapp/webapp) for the tests of its pure rules; Reflex itself runs it from webapp/.
sys.path.insert(0, str(WEBAPP_DIR))

# How long an action or an expect() waits, where a test names no time of its own: on a busy machine an answer from
# the backend and the indexer can take seconds. Playwright's expect() waits 5 s by default, and a context's
# set_default_timeout covers actions only. What holds returns as soon as it does: this only bounds a failure.
PATIENCE_MS = 20_000
expect.set_options(timeout=PATIENCE_MS)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def stop_group(process: subprocess.Popen[Any], timeout: float = 15) -> None:
    """Stops a process started with start_new_session=True together with everything it started."""
    if process.poll() is not None:
        return
    os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=5)


def wait_until(ready: Callable[[], bool], timeout: float, what: str, process: subprocess.Popen[Any], log: Path):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{what} exited with {process.returncode}:\n{log.read_text()[-4000:]}")
        try:
            if ready():
                return
        except (httpx.HTTPError, OSError):
            pass
        time.sleep(0.3)
    raise RuntimeError(f"{what} not ready after {timeout} s:\n{log.read_text()[-4000:]}")


def rpc(url: str, method: str, params: list[Any]) -> Any:
    answer = httpx.post(url, json={"jsonrpc": "2.0", "id": 1, "method": method, "params": params}, timeout=30)
    body = answer.json()
    if "error" in body:
        raise RuntimeError(f"{method}: {body['error']}")
    return body["result"]


STACK_START_TIMEOUT = 240


@dataclass
class Chain:
    """The running system: anvil with the contracts, one storage cluster, indexer, upload and download services."""

    rpc_url: str
    deployment_file: Path
    indexer_url: str
    upload_url: str
    download_port: int
    upload_rate_per_minute: int
    upload_concurrent: int

    def register(self, path: Path, title: str, key: str = ANVIL_KEY, mode: str = "batched") -> dict[str, Any]:
        """Uploads and proves `path` through the upload service's API as the wallet of `key` (as the CLI would):
        batched by default (no account needed), or direct (the wallet is onboarded first). Returns sha256, short id,
        media id, owner, mode, batch, block, its time and the proof bundle."""
        owner = Account.from_key(key)
        up = self.upload_url
        signed_in = sign_in(up, owner)  # every write to the upload service needs the wallet's SIWE session
        if mode == "direct" and not httpx.get(f"{up}/users/{owner.address}", timeout=30).json()["registered"]:
            tx = httpx.post(f"{up}/users", json={"owner": owner.address}, headers=signed_in, timeout=30).json()[
                "transaction"
            ]
            # anvil keeps its test accounts unlocked, so it signs the onboarding for the test
            tx_hash = rpc(self.rpc_url, "eth_sendTransaction", [{k: tx[k] for k in ("from", "to", "data", "value")}])
            wait_for(lambda: rpc(self.rpc_url, "eth_getTransactionReceipt", [tx_hash]), 30, "onboarding mined")
        stored = httpx.post(f"{up}/uploads", content=path.read_bytes(), headers=signed_in, timeout=120)
        assert stored.status_code == 201, stored.text
        upload_id = stored.json()["upload_id"]
        prepared = httpx.post(
            f"{up}/uploads/{upload_id}/prepare",
            json={"owner": owner.address, "title": title, "mode": mode},
            headers=signed_in,
            timeout=120,
        ).json()
        signature = owner.sign_message(encode_typed_data(full_message=prepared["typed_data"])).signature.hex()
        done = httpx.post(
            f"{up}/uploads/{upload_id}/commit", json={"signature": "0x" + signature}, headers=signed_in, timeout=120
        )
        assert done.status_code == 200, done.text
        committed = done.json()
        if committed["state"] != "committed":  # its batch was still open when the commit stopped waiting
            committed = wait_for(lambda: self.committed(upload_id), 60, "its batch anchored")
        block = rpc(self.rpc_url, "eth_getBlockByNumber", [hex(committed["block"]), False])
        return {
            "sha256": committed["sha256"],
            "short_id": committed["short_id"],
            "media_id": committed["media_id"],
            "owner": owner.address,
            "title": title,
            "mode": committed["mode"],
            "batch": committed["batch"],
            "timestamp": int(block["timestamp"], 16),
            "block": committed["block"],
            "proof": committed["proof"],
        }

    def committed(self, upload_id: str) -> dict[str, Any] | None:
        answer: dict[str, Any] = httpx.get(f"{self.upload_url}/uploads/{upload_id}", timeout=30).json()
        return answer if answer["state"] == "committed" else None


def cli_verify(path: Path, bundle: Path, rpc_url: str) -> tuple[int, dict[str, Any]]:
    """`mediaproof verify PATH --proof BUNDLE --rpc URL --json`, run from the main environment (.venv) as a
    third party would: nothing but the file, its bundle and the chain. Returns its exit code and report."""
    command = [str(MAIN_PYTHON.parent / "mediaproof"), "verify", str(path), "--proof", str(bundle), "--rpc", rpc_url]
    done = subprocess.run(
        [*command, "--json"],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=bundle.parent,
    )
    try:
        return done.returncode, json.loads(done.stdout)
    except ValueError:
        raise AssertionError(f"mediaproof verify printed no report ({done.returncode}): {done.stderr}") from None


def sign_in(upload_url: str, owner: Any) -> dict[str, str]:
    """Sign in to the upload service as the CLI does (SIWE: its nonce and message, signed with EIP-191): the
    Authorization header of the session."""
    issued = httpx.post(f"{upload_url}/auth/nonce", json={"address": owner.address}, timeout=30)
    assert issued.status_code == 200, issued.text
    message = issued.json()["message"]
    signature = "0x" + bytes(owner.sign_message(encode_defunct(text=message)).signature).hex()
    session = httpx.post(f"{upload_url}/auth/session", json={"message": message, "signature": signature}, timeout=30)
    assert session.status_code == 200, session.text
    return {"authorization": f"Bearer {session.json()['token']}"}


def wait_for(done: Callable[[], Any], timeout: float, what: str) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if result := done():
            return result
        time.sleep(0.2)
    raise AssertionError(f"{what}: not within {timeout} s")


@pytest.fixture(scope="session")
def webapp_port() -> int:
    """Chosen before the stack starts: the upload service allows the web app's origin (CORS) by this port."""
    return free_port()


@pytest.fixture(scope="session")
def chain(tmp_path_factory: pytest.TempPathFactory, webapp_port: int) -> Iterator[Chain]:
    """mediaproof.devstack.LocalStack run by tests/e2e/stack_runner.py in the main environment (.venv)."""
    with running_stack(tmp_path_factory.mktemp("stack"), webapp_port) as running:
        yield running


@contextmanager
def running_stack(work: Path, webapp_port: int) -> Iterator[Chain]:
    """The local system under `work`, stopped on leaving; outside pytest too (bench/web_audit.py)."""
    log = work / "stack.log"
    ready = work / "stack.json"
    with log.open("w") as out:
        process = subprocess.Popen(
            [str(MAIN_PYTHON), "-m", "tests.e2e.stack_runner", str(work), str(webapp_port), str(UPLOADS_PER_MINUTE)],
            cwd=ROOT,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        started = time.monotonic()
        wait_until(ready.exists, STACK_START_TIMEOUT, "local stack", process, log)
        print(f"local stack ready in {time.monotonic() - started:.1f} s")
        described = json.loads(ready.read_text())
        yield Chain(
            rpc_url=described["rpc_url"],
            deployment_file=Path(described["deployment_file"]),
            indexer_url=described["indexer_url"],
            upload_url=described["upload_url"],
            download_port=int(described["download_port"]),
            upload_rate_per_minute=int(described["upload_rate_per_minute"]),
            upload_concurrent=int(described["upload_concurrent"]),
        )
    finally:
        stop_group(process, timeout=60)


@pytest.fixture(scope="session")
def app_url(chain: Chain, webapp_port: int, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """`reflex run --env prod` on a free port, pointed at the test chain; front and back end share the port."""
    with running_webapp(chain, webapp_port, tmp_path_factory.mktemp("reflex")) as url:
        yield url


@contextmanager
def running_webapp(chain: Chain, port: int, work: Path, **environment: str) -> Iterator[str]:
    """The web app on `port` against `chain` (its log under `work`), stopped on leaving; `environment` overrides
    its settings (e.g. MEDIAPROOF_EXPLORER_URL="")."""
    log = work / "reflex.log"
    REFLEX_WORK.mkdir(parents=True, exist_ok=True)
    env = {
        **os.environ,
        "PATH": f"{WEB_BIN}:{os.environ['PATH']}",
        "REFLEX_BUN_PATH": str(BUN),
        "REFLEX_TELEMETRY_ENABLED": "false",
        "REFLEX_CHECK_LATEST_VERSION": "false",
        "REFLEX_WEB_WORKDIR": str(REFLEX_WORK / "web"),
        "REFLEX_STATES_WORKDIR": str(REFLEX_WORK / "states"),
        "MEDIAPROOF_RPC_URL": chain.rpc_url,
        "MEDIAPROOF_DEPLOYMENT_FILE": str(chain.deployment_file),
        "MEDIAPROOF_INDEXER_URL": chain.indexer_url,
        "MEDIAPROOF_UPLOAD_URL": chain.upload_url,
        "MEDIAPROOF_DOWNLOAD_PORT": str(chain.download_port),
        "MEDIAPROOF_MAX_UPLOAD_BYTES": str(MAX_UPLOAD_BYTES),
        "MEDIAPROOF_UPLOAD_RESUMABLE_ABOVE": str(RESUMABLE_ABOVE),
        "MEDIAPROOF_UPLOAD_CHUNK_BYTES": str(CHUNK_BYTES),
        "MEDIAPROOF_EXPLORER_URL": EXPLORER,
        "REFLEX_UPLOADED_FILES_DIR": str(REFLEX_WORK / "uploaded_files"),
        **environment,
    }
    command = [str(WEB_BIN / "reflex"), "run", "--env", "prod", "--frontend-port", str(port)]
    command += ["--backend-host", "127.0.0.1"]
    with log.open("w") as out:
        process = subprocess.Popen(
            command, cwd=WEBAPP_DIR, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )
    url = f"http://127.0.0.1:{port}"
    try:
        started = time.monotonic()
        wait_until(
            lambda: (
                httpx.get(f"{url}/ping", timeout=2).status_code == 200
                and httpx.get(f"{url}/verify/", timeout=2).status_code == 200
            ),
            SERVER_START_TIMEOUT,
            "reflex",
            process,
            log,
        )
        print(f"reflex ready in {time.monotonic() - started:.1f} s at {url}")
        yield url
    finally:
        stop_group(process)


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_FLAGS)
        yield launched
        launched.close()


@dataclass
class WalletConfig:
    """How the injected wallet behaves: which chain it starts on, what it refuses, which key really signs."""

    chain_id: int = ANVIL_CHAIN_ID
    refuse_connect: bool = False
    refuse_sign: bool = False
    refuse_typed_sign: bool = False  # signs in, then refuses the record (eth_signTypedData_v4)
    signing_key: str = ANVIL_KEY
    key: str = ANVIL_KEY
    calls: list[str] = field(default_factory=list)
    # Names of several wallets announced by EIP-6963 instead of one window.ethereum (injected_wallet.js)
    announce: tuple[str, ...] = ()

    @property
    def address(self) -> str:
        return str(Account.from_key(self.key).address)


def install_wallet(context: BrowserContext, wallet: WalletConfig, rpc_url: str) -> None:
    signer = Account.from_key(wallet.signing_key)

    def personal_sign(message_hex: str, address: str) -> str:
        assert address.lower() == wallet.address.lower(), f"asked to sign for {address}"
        wallet.calls.append("personal_sign")
        return "0x" + signer.sign_message(encode_defunct(hexstr=message_hex)).signature.hex()

    def sign_typed_data(address: str, typed_json: str) -> str:
        assert address.lower() == wallet.address.lower(), f"asked to sign for {address}"
        wallet.calls.append("eth_signTypedData_v4")
        typed = json.loads(typed_json) if isinstance(typed_json, str) else typed_json
        return "0x" + signer.sign_message(encode_typed_data(full_message=typed)).signature.hex()

    def forward(method: str, params: list[Any]) -> Any:
        # anvil keeps its test accounts unlocked, so eth_sendTransaction from account 0 works as forwarded.
        wallet.calls.append(method)
        return rpc(rpc_url, method, params)

    context.expose_function("__walletPersonalSign", personal_sign)
    context.expose_function("__walletSignTypedData", sign_typed_data)
    context.expose_function("__walletRpc", forward)
    settings = {
        "chainId": hex(wallet.chain_id),
        "anvilChainId": hex(ANVIL_CHAIN_ID),
        "address": wallet.address,
        "refuseConnect": wallet.refuse_connect,
        "refuseSign": wallet.refuse_sign,
        "refuseTypedSign": wallet.refuse_typed_sign,
        "announce": list(wallet.announce),
    }
    context.add_init_script(WALLET_SCRIPT.read_text().replace("__WALLET_CONFIG__", json.dumps(settings)))


@pytest.fixture
def open_page(browser: Browser, app_url: str, chain: Chain) -> Iterator[Callable[..., Page]]:
    """open_page(path, wallet=WalletConfig() | None, viewport=...) → a page in a fresh browser profile."""
    contexts: list[BrowserContext] = []

    def open_(path: str, wallet: WalletConfig | None = None, viewport: tuple[int, int] = (1280, 900)) -> Page:
        context = browser.new_context(viewport={"width": viewport[0], "height": viewport[1]})
        context.set_default_timeout(PATIENCE_MS)
        contexts.append(context)
        if wallet is not None:
            install_wallet(context, wallet, chain.rpc_url)
        page = context.new_page()
        page.goto(app_url + path)
        return page

    yield open_
    for context in contexts:
        context.close()


@pytest.fixture
def visit(browser: Browser, app_url: str, chain: Chain) -> Iterator[Callable[..., tuple[Page, list[str]]]]:
    """visit(path, viewport, allowed, wallet, no_wallet, zone) → the hydrated page with a test wallet (`wallet`, else
    a new WalletConfig(); none with no_wallet=True), in a browser set to the time zone `zone` (IANA; None: the
    machine's), and the problems it had so far (console errors, page errors, failed requests, answers ≥ 400 but for
    `allowed` statuses), recorded from before the first request."""
    contexts = []

    def visit_(
        path: str,
        viewport: tuple[int, int] = DESKTOP,
        allowed: tuple[str, ...] = (),
        wallet: WalletConfig | None = None,
        no_wallet: bool = False,
        zone: str | None = None,
    ) -> tuple[Page, list[str]]:
        context = browser.new_context(viewport={"width": viewport[0], "height": viewport[1]}, timezone_id=zone)
        context.set_default_timeout(PATIENCE_MS)
        context.grant_permissions(["clipboard-read", "clipboard-write"], origin=app_url)
        contexts.append(context)
        if not no_wallet:
            install_wallet(context, wallet or WalletConfig(), chain.rpc_url)
        page = context.new_page()
        problems: list[str] = []

        def console(message: Any) -> None:
            if message.type == "error" and not any(a in message.text for a in allowed):
                problems.append(f"console: {message.text}")

        page.on("console", console)
        page.on("pageerror", lambda error: problems.append(f"page error: {error}"))
        page.on("requestfailed", lambda request: problems.append(f"failed: {request.url} {request.failure}"))
        page.on(
            "response",
            lambda response: (
                problems.append(f"answer {response.status}: {response.url}")
                if response.status >= 400 and not any(a in str(response.status) for a in allowed)
                else None
            ),
        )
        page.goto(app_url + path)
        # Hydration waits for the bundle and the websocket: seconds on a busy machine, more than expect's default 5.
        expect(page.locator("#page")).to_have_attribute("data-hydrated", "true", timeout=30_000)
        return page, problems

    yield visit_
    for context in contexts:
        context.close()


def screenshot(page: Page, name: str) -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.evaluate("window.scrollTo(0, 0)")  # a full-page shot of a scrolled page draws the sticky header mid-page
    page.screenshot(path=str(path), full_page=True)
    return path
