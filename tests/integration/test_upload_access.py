"""Who may write to the upload service, and how much, on a real stack (anvil, a js-ipfs daemon, a storage cluster,
the upload service): Sign-In with Ethereum (keys and an EIP-1271 contract wallet), uploads owned by their sender,
cross-site writes, rate limits and quotas shared by two upload-service processes, slow bodies, the cap on open
uploads, and the CLI signing in and waiting out a 429 by itself. Every wait is for an observed state, never a clock.
"""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import solcx
from eth_account import Account
from eth_account.messages import encode_defunct

from mediaproof import eip712
from mediaproof.chain import MediaproofChain
from mediaproof.clients.upload import UploadClient, ensure_wallet
from mediaproof.devstack import LocalStack
from mediaproof.processes import ManagedProcess
from mediaproof.settings import ANVIL_TEST_KEYS, PROJECT_ROOT
from mediaproof.upload.launch import upload_process
from mediaproof.upload.sessions import build_message
from tests.integration.auth import auth, sign_in
from tests.integration.stack import cli_env, stack_settings
from tests.unit.test_upload_intake import photo_bytes

pytestmark = pytest.mark.integration
ALICE = Account.from_key(ANVIL_TEST_KEYS[0])
BOB = Account.from_key(ANVIL_TEST_KEYS[1])
WEB_APP = "http://127.0.0.1:3999"  # the allowed web app origin of this stack
WRITES = [
    ("POST", "/uploads"), ("POST", "/uploads/abc/prepare"), ("POST", "/uploads/abc/commit"),
    ("POST", "/uploads/abc/confirm"), ("POST", "/users"), ("POST", f"/media/0x{'11' * 32}/delete/prepare"),
    ("POST", f"/media/0x{'11' * 32}/delete"), ("DELETE", "/auth/session"),
]  # fmt: skip


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalStack]:
    settings = stack_settings(tmp_path_factory.mktemp("access")).model_copy(
        update={"batch_interval": 0.5, "upload_cors_origins": WEB_APP}
    )
    running = LocalStack(settings).start()
    yield running
    running.stop()


@pytest.fixture(scope="module")
def chain(stack: LocalStack) -> MediaproofChain:
    chain = MediaproofChain.from_settings(stack.settings)
    with UploadClient(url(stack)) as client:
        ensure_wallet(client, chain, ALICE, 10**17)  # deletes are relayed from the owner's UserMedia
    return chain


def url(stack: LocalStack) -> str:
    return stack.settings.resolved_upload_url()


def incoming(stack: LocalStack) -> list[Path]:
    return sorted((stack.settings.data_dir / "upload" / "incoming").glob("*/upload-*.part"))


def wait_until(done: Callable[[], Any], what: str, timeout: float = 60.0) -> Any:
    deadline = time.monotonic() + timeout
    while not (result := done()):
        assert time.monotonic() < deadline, f"never saw: {what}"
        time.sleep(0.05)
    return result


def post_photo(
    base: str,
    who: Any,
    seed: int,
    source: str = "127.0.0.1",
    size: tuple[int, int] = (320, 240),
    headers: dict[str, str] | None = None,
) -> httpx.Response:
    """POST a photo (320×240: ~46 000 bytes; 600×400: ~141 000) as `who`, from the loopback address `source`."""
    with httpx.Client(transport=httpx.HTTPTransport(local_address=source), timeout=120) as http:
        return http.post(
            base + "/uploads", content=photo_bytes(seed, size), headers={**auth(base, who), **(headers or {})}
        )


def slow_upload(base: str, who: Any, source: str = "127.0.0.1", total: int = 100_000) -> socket.socket:
    """A signed-in upload that announces `total` bytes, sends the first thousand, and then stalls."""
    host, port = base.removeprefix("http://").split(":")
    sock = socket.create_connection((host, int(port)), timeout=120, source_address=(source, 0))
    head = (
        f"POST /uploads HTTP/1.1\r\nHost: {host}:{port}\r\nContent-Length: {total}\r\n"
        f"Authorization: {auth(base, who)['authorization']}\r\n\r\n"
    )
    sock.sendall(head.encode() + photo_bytes(99, (320, 240))[:1000])
    return sock


def open_uploads(base: str) -> int:
    return int(httpx.get(base + "/health", timeout=30).json()["open_uploads"])


def refused_with(answer: httpx.Response, status: int, *fragments: str) -> dict[str, Any]:
    assert answer.status_code == status, answer.text
    body = dict(answer.json())
    assert len(body["detail"]) > 20 and " " in body["detail"], body
    for fragment in fragments:
        assert fragment in body["detail"], body["detail"]
    return body


def nonce_for(stack: LocalStack, who: Any) -> dict[str, Any]:
    answer = httpx.post(url(stack) + "/auth/nonce", json={"address": who.address}, timeout=30)
    assert answer.status_code == 200, answer.text
    return dict(answer.json())


def session(stack: LocalStack, message: str, signature: bytes | str) -> httpx.Response:
    sig = signature if isinstance(signature, str) else "0x" + signature.hex()
    return httpx.post(url(stack) + "/auth/session", json={"message": message, "signature": sig}, timeout=30)


def personal_sign(text: str, who: Any) -> bytes:
    return bytes(who.sign_message(encode_defunct(text=text)).signature)


# --- who may write ---


def test_anonymous_writes_get_401_on_every_write_route(stack: LocalStack) -> None:
    for method, path in WRITES:
        for headers in ({}, {"authorization": "Bearer not-a-session"}, {"authorization": "Basic abc"}):
            answer = httpx.request(method, url(stack) + path, content=b"{}", headers=headers, timeout=30)
            refused_with(answer, 401, "sign in")
    assert incoming(stack) == []
    assert httpx.get(url(stack) + "/users/" + ALICE.address, timeout=30).status_code == 200  # reads stay open
    huge = b'{"address": "' + b"0" * 100_000 + b'"}'  # the sign-in routes read a body before anyone signed in
    refused_with(httpx.post(url(stack) + "/auth/nonce", content=huge, timeout=30), 413, "JSON body is over")


def test_sign_in_with_ethereum_and_what_it_refuses(stack: LocalStack, chain: MediaproofChain) -> None:
    issued = nonce_for(stack, BOB)
    domain = url(stack).removeprefix("http://")
    assert issued["message"].startswith(f"{domain} wants you to sign in with your Ethereum account:\n{BOB.address}\n")
    assert f"Chain ID: {chain.chain_id}" in issued["message"] and f"Nonce: {issued['nonce']}" in issued["message"]
    assert "Version: 1" in issued["message"] and "Expiration Time: " in issued["message"]

    refused_with(session(stack, issued["message"], personal_sign(issued["message"], ALICE)), 401, "not", BOB.address)
    now = time.time()
    expired = build_message(domain, BOB.address, url(stack), chain.chain_id, issued["nonce"], now - 600, now - 60)
    refused_with(session(stack, expired, personal_sign(expired, BOB)), 401, "expired")
    foreign = build_message(
        "evil.example", BOB.address, "https://evil.example", chain.chain_id, issued["nonce"], now, now + 60
    )
    refused_with(session(stack, foreign, personal_sign(foreign, BOB)), 401, "evil.example", "another site")
    other_chain = build_message(domain, BOB.address, url(stack), 1, issued["nonce"], now, now + 60)
    refused_with(session(stack, other_chain, personal_sign(other_chain, BOB)), 401, "chain 1")
    refused_with(session(stack, "not a message", "0x1234"), 401, "EIP-4361")

    signature = personal_sign(issued["message"], BOB)
    opened = session(stack, issued["message"], signature)
    assert opened.status_code == 200, opened.text
    token = opened.json()["token"]
    assert opened.json()["address"] == BOB.address and opened.json()["expires_at"] > now
    refused_with(session(stack, issued["message"], signature), 401, "already used")  # a replayed nonce
    whoami = httpx.get(url(stack) + "/auth/session", headers={"authorization": f"Bearer {token}"}, timeout=30)
    assert whoami.json()["address"] == BOB.address
    assert httpx.delete(url(stack) + "/auth/session", headers={"authorization": f"Bearer {token}"}).status_code == 200
    after = httpx.post(url(stack) + "/uploads", content=b"x", headers={"authorization": f"Bearer {token}"})
    refused_with(after, 401, "signed out")


def owned_wallet(chain: MediaproofChain, holder: str) -> str:
    """A one-owner contract wallet (tests/contracts/solidity/OwnedWallet.sol, ERC-1271) deployed for `holder`."""
    source = PROJECT_ROOT / "tests" / "contracts" / "solidity" / "OwnedWallet.sol"
    out = solcx.compile_standard(
        {
            "language": "Solidity",
            "sources": {"OwnedWallet.sol": {"content": source.read_text()}},
            "settings": {
                "remappings": ["@openzeppelin/=node_modules/@openzeppelin/"],
                "outputSelection": {"*": {"*": ["abi", "evm.bytecode.object"]}},
            },
        },
        solc_version="0.8.28",
        allow_paths=[str(PROJECT_ROOT / "node_modules")],
        base_path=str(PROJECT_ROOT),
    )["contracts"]["OwnedWallet.sol"]["OwnedWallet"]
    w3 = chain.w3
    factory = w3.eth.contract(abi=out["abi"], bytecode=out["evm"]["bytecode"]["object"])
    tx = factory.constructor(holder).transact({"from": w3.eth.accounts[6]})
    return str(w3.eth.wait_for_transaction_receipt(tx)["contractAddress"])


def test_a_contract_wallet_signs_in_with_eip_1271(stack: LocalStack, chain: MediaproofChain) -> None:
    holder, stranger = Account.create(), Account.create()
    wallet = owned_wallet(chain, holder.address)
    issued = httpx.post(url(stack) + "/auth/nonce", json={"address": wallet}, timeout=30).json()
    refused_with(session(stack, issued["message"], personal_sign(issued["message"], stranger)), 401, "EIP-1271")
    opened = session(stack, issued["message"], personal_sign(issued["message"], holder))
    assert opened.status_code == 200, opened.text
    assert opened.json()["address"] == wallet
    stored = httpx.post(
        url(stack) + "/uploads",
        content=photo_bytes(70, (320, 240)),
        headers={"authorization": f"Bearer {opened.json()['token']}"},
        timeout=120,
    )
    assert stored.status_code == 201, stored.text


def test_an_upload_belongs_to_the_wallet_that_sent_it(stack: LocalStack, chain: MediaproofChain) -> None:
    base = url(stack)
    stored = post_photo(base, ALICE, 71)
    assert stored.status_code == 201, stored.text
    upload_id = stored.json()["upload_id"]
    prepare = f"{base}/uploads/{upload_id}/prepare"
    # Bob, signed in, cannot take Alice's upload, neither for himself nor in her name; Alice cannot prepare for Bob.
    for owner in (BOB, ALICE):
        refused_with(
            httpx.post(
                prepare, json={"owner": owner.address, "title": "Mine now"}, headers=auth(base, BOB), timeout=60
            ),
            403,
            "another wallet",
        )
    refused_with(
        httpx.post(prepare, json={"owner": BOB.address, "title": "For Bob"}, headers=auth(base, ALICE), timeout=60),
        403,
        "owner",
    )
    prepared = httpx.post(prepare, json={"title": "Alice's"}, headers=auth(base, ALICE), timeout=60)  # owner: herself
    assert prepared.status_code == 200 and prepared.json()["owner"] == ALICE.address, prepared.text
    signature = "0x" + eip712.sign(prepared.json()["typed_data"], ALICE.key).hex()
    for step, body in (("commit", {"signature": signature}), ("confirm", {"tx": "0x" + "11" * 32})):
        refused_with(
            httpx.post(f"{base}/uploads/{upload_id}/{step}", json=body, headers=auth(base, BOB), timeout=60),
            403,
            "another wallet",
        )
    assert httpx.get(f"{base}/uploads/{upload_id}").json()["state"] == "prepared"
    done = httpx.post(
        f"{base}/uploads/{upload_id}/commit", json={"signature": signature}, headers=auth(base, ALICE), timeout=120
    )
    assert done.status_code == 200 and done.json()["state"] == "committed", done.text
    media = done.json()["media_id"]
    refused_with(httpx.post(f"{base}/users", json={"owner": ALICE.address}, headers=auth(base, BOB)), 403, "itself")
    refused_with(httpx.post(f"{base}/media/{media}/delete/prepare", headers=auth(base, BOB)), 403, "belongs to")
    order = httpx.post(f"{base}/media/{media}/delete/prepare", headers=auth(base, ALICE), timeout=60).json()
    body = {
        "nonce": order["nonce"],
        "deadline": order["deadline"],
        "signature": "0x" + eip712.sign(order["typed_data"], ALICE.key).hex(),
    }
    refused_with(httpx.post(f"{base}/media/{media}/delete", json=body, headers=auth(base, BOB)), 403, "belongs to")
    deleted = httpx.post(f"{base}/media/{media}/delete", json=body, headers=auth(base, ALICE), timeout=60)
    assert deleted.status_code == 200 and deleted.json()["deleted"], deleted.text


def test_cross_site_writes_are_refused_and_the_web_app_may_write(stack: LocalStack) -> None:
    base = url(stack)
    for headers in ({}, auth(base, ALICE)):
        for content_type in ("text/plain", "application/x-www-form-urlencoded"):
            answer = httpx.post(
                base + "/uploads",
                content=photo_bytes(72, (320, 240)),
                timeout=60,
                headers={**headers, "origin": "https://evil.example", "content-type": content_type},
            )
            refused_with(answer, 403, "web origin")
    assert incoming(stack) == []
    preflight = httpx.options(
        base + "/uploads",
        headers={
            "origin": WEB_APP,
            "access-control-request-method": "POST",
            "access-control-request-headers": "authorization",
        },
    )
    assert preflight.status_code == 200 and "authorization" in preflight.headers["access-control-allow-headers"]
    # The web app's page: a nonce for its own origin, then the upload from the browser with the token.
    issued = httpx.post(base + "/auth/nonce", json={"address": BOB.address}, headers={"origin": WEB_APP}).json()
    assert issued["domain"] == "127.0.0.1:3999" and issued["uri"] == WEB_APP
    token = session(stack, issued["message"], personal_sign(issued["message"], BOB)).json()["token"]
    from_page = httpx.post(
        base + "/uploads",
        content=photo_bytes(73, (320, 240)),
        timeout=120,
        headers={"origin": WEB_APP, "authorization": f"Bearer {token}"},
    )
    assert from_page.status_code == 201, from_page.text
    assert from_page.headers["access-control-allow-origin"] == WEB_APP
    refused_with(
        httpx.post(base + "/auth/nonce", json={"address": BOB.address, "origin": "https://evil.example"}), 403, "origin"
    )


# --- how much: limits shared by two processes, slow bodies, open uploads ---


@pytest.fixture
def two_processes(stack: LocalStack) -> Iterator[tuple[str, str]]:
    """Two more upload-service processes on the stack's gateway database, with tight limits."""
    tight = stack.settings.model_copy(
        update={"upload_rate_per_minute": 3, "upload_bytes_per_day": 200_000, "upload_concurrent": 1, "upload_port": 0}
    )
    started: list[ManagedProcess] = []
    try:
        for _ in range(2):
            started.append(upload_process(tight, rpc_url=stack.anvil.url).start())
        yield tuple(f"http://127.0.0.1:{p.ports[0]}" for p in started)  # type: ignore[misc]
    finally:
        for process in started:
            process.stop()


def test_a_flood_gets_429_with_retry_after_across_two_processes(
    stack: LocalStack, two_processes: tuple[str, str]
) -> None:
    a, b = two_processes
    dave, erin, frank = Account.create(), Account.create(), Account.create()
    answers = [post_photo((a, b)[n % 2], dave, 80 + n) for n in range(8)]
    assert [r.status_code for r in answers] == [201, 201, 201] + [429] * 5, [r.text[-200:] for r in answers]
    for refused in answers[3:]:
        body = refused_with(refused, 429, f"wallet {dave.address}", "3 uploads in the last minute", "try again in")
        assert 1 <= int(refused.headers["retry-after"]) <= 60 and body["retry_after"] == int(
            refused.headers["retry-after"]
        )
    # The client address is limited too: another wallet from the same address waits; from another address it does not.
    refused_with(post_photo(a, erin, 90), 429, "client address 127.0.0.1")
    claimed = post_photo(
        a, erin, 90, headers={"x-forwarded-for": "10.1.2.3"}
    )  # no trusted proxy: the header is not believed
    refused_with(claimed, 429, "client address 127.0.0.1")
    assert post_photo(b, erin, 91, source="127.0.0.2").status_code == 201
    # Bytes per day: 200 000, and each of these photos is ~141 000 bytes.
    assert post_photo(a, frank, 92, source="127.0.0.3", size=(600, 400)).status_code == 201
    refused = post_photo(b, frank, 93, source="127.0.0.3", size=(600, 400))
    refused_with(refused, 429, f"wallet {frank.address}", "200000 bytes uploaded per day")
    assert int(refused.headers["retry-after"]) >= 1


def test_uploads_in_flight_are_capped_across_processes(stack: LocalStack, two_processes: tuple[str, str]) -> None:
    a, b = two_processes
    grace = Account.create()
    stalled = slow_upload(a, grace, source="127.0.0.4")
    try:
        wait_until(lambda: open_uploads(a) == 1, "the stalled upload is open on process A")
        refused = post_photo(b, grace, 94, source="127.0.0.5")
        refused_with(refused, 429, f"wallet {grace.address}", "in flight")
        assert refused.headers["retry-after"].isdigit()
    finally:
        stalled.close()
    wait_until(lambda: open_uploads(a) == 0, "the hung-up upload is closed")
    assert post_photo(b, grace, 95, source="127.0.0.5").status_code == 201


def test_a_stalled_body_is_cut_off_and_its_temp_file_removed(stack: LocalStack) -> None:
    impatient = upload_process(
        stack.settings.model_copy(update={"upload_idle_timeout": 1.0, "upload_port": 0}), rpc_url=stack.anvil.url
    ).start()
    base = f"http://127.0.0.1:{impatient.ports[0]}"
    try:
        stalled = slow_upload(base, BOB)
        with stalled:
            wait_until(lambda: len(incoming(stack)) == 1, "the stalled upload's temp file")
            answer = b""
            while b"\r\n\r\n" not in answer or not answer.rstrip().endswith(b"}"):
                chunk = stalled.recv(65536)  # the service answers once the idle timeout cuts the body off
                assert chunk, answer
                answer += chunk
            assert answer.startswith(b"HTTP/1.1 408"), answer
            detail = json.loads(answer.split(b"\r\n\r\n", 1)[1])["detail"]
            assert "no bytes of the upload arrived" in detail and "cut off" in detail
            assert stalled.recv(65536) == b""  # and it hangs up
        assert incoming(stack) == []
        assert open_uploads(base) == 0
    finally:
        impatient.stop()


def test_open_uploads_are_capped_and_the_cli_waits_out_a_429(stack: LocalStack, tmp_path: Path) -> None:
    """A process that receives at most two uploads at once answers a third with 503 and Retry-After; the CLI,
    refused with 429 while its own wallet has an upload in flight, waits as asked, says so, and succeeds."""
    assert stack.upload is not None
    stack.upload.stop()
    capped = stack.settings.model_copy(update={"upload_max_open": 2, "upload_concurrent": 1})
    process = upload_process(capped, rpc_url=stack.anvil.url).start()
    base = f"http://127.0.0.1:{process.ports[0]}"
    try:
        hank, ivy, jack = Account.create(), Account.create(), Account.create()
        held = [slow_upload(base, hank, source="127.0.0.6"), slow_upload(base, ivy, source="127.0.0.7")]
        try:
            wait_until(lambda: open_uploads(base) == 2, "two stalled uploads open")
            refused = post_photo(base, jack, 96, source="127.0.0.8")
            refused_with(refused, 503, "the most it takes at once", "try again in")
            assert refused.headers["retry-after"].isdigit()
        finally:
            for sock in held:
                sock.close()
        wait_until(lambda: open_uploads(base) == 0 and not incoming(stack), "the hung-up uploads are gone")
        assert post_photo(base, jack, 97, source="127.0.0.8").status_code == 201

        key = Account.create()
        photo = tmp_path / "cli.jpg"
        photo.write_bytes(photo_bytes(98, (640, 480)))
        stalled = slow_upload(base, key, source="127.0.0.9")  # the CLI's own wallet has one in flight already
        wait_until(lambda: open_uploads(base) == 1, "the wallet's stalled upload")
        cli = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "mediaproof.cli",
                "upload",
                str(photo),
                "--title",
                "Patient",
                "--json",
                "--upload-url",
                base,
            ],
            env=cli_env(stack.settings, "0x" + bytes(key.key).hex()),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        try:
            assert cli.stderr is not None
            said = ""
            for _ in range(100):  # blocks until the CLI says it waits (or ends)
                said = cli.stderr.readline()
                if not said or "waiting" in said:
                    break
            assert "waiting" in said and "Retry-After" in said and "in flight" in said, said
            stalled.close()
            out, rest = cli.communicate(timeout=300)
        finally:
            stalled.close()
            if cli.poll() is None:
                cli.kill()
        assert cli.returncode == 0, said + rest
        assert json.loads(out)["link"].startswith("http")
    finally:
        process.stop()
        stack.upload = upload_process(stack.settings, rpc_url=stack.anvil.url).start()


def test_sign_in_helper_signs_in_as_the_cli_does(stack: LocalStack) -> None:
    token = sign_in(url(stack), ALICE)
    whoami = httpx.get(url(stack) + "/auth/session", headers={"authorization": f"Bearer {token}"}, timeout=30)
    assert whoami.json()["address"] == ALICE.address
