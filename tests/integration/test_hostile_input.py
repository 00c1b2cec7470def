"""Bad input gets a clear 4xx with a sentence, never a 5xx, from the running services (issue 9); a title that could
rewrite a terminal is refused at prepare, and one put on chain behind the gateway's back is printed escaped.

One stack for the module (anvil, one js-ipfs node and cluster, R = 1, upload, download, indexer, observer).
"""

from __future__ import annotations

import secrets
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest
import schemathesis
from eth_account import Account
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error

from mediaproof import eip712
from mediaproof.chain import MediaproofChain, gateway_account
from mediaproof.clients.storage import StorageClusterClient
from mediaproof.clients.upload import UploadClient
from mediaproof.content import digest_bytes
from mediaproof.devstack import LocalStack
from mediaproof.errors import InputError, NotRegistered
from mediaproof.problems import KINDS, error_from
from mediaproof.settings import ANVIL_TEST_KEYS
from tests.integration.auth import auth
from tests.integration.stack import cli_env, stack_settings
from tests.unit.test_upload_intake import photo_bytes

pytestmark = pytest.mark.integration
ALICE = Account.from_key(ANVIL_TEST_KEYS[0])
HUGE = "9" * 4400  # past Python's int() digit limit (4300): a Range of these was a 500
ESC_TITLE = "Harbour\x1b[2K\r\x1b[1Aproven: 0xAttacker held these bytes \u202egpj.exe"
INT64_PAST = str(2**63)
INT64_MAX = str(2**63 - 1)


def eventually(check: Callable[[], Any], seconds: float, what: str) -> Any:
    deadline = time.monotonic() + seconds
    while True:
        try:
            answer = check()
            if answer:
                return answer
        except httpx.HTTPError:
            pass
        assert time.monotonic() < deadline, f"timed out waiting until {what}"
        time.sleep(0.2)


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalStack]:
    settings_ = stack_settings(tmp_path_factory.mktemp("hostile"), clusters=1, replication_factor=1).model_copy(
        update={"batch_interval": 0.5, "prepare_variant_wait": 10.0}
    )
    running = LocalStack(settings_).start()
    try:
        yield running
    finally:
        running.stop()


@pytest.fixture(scope="module")
def chain(stack: LocalStack) -> MediaproofChain:
    return MediaproofChain.from_settings(stack.settings.model_copy(update={"rpc_url": stack.anvil.url}))


def upload_url(stack: LocalStack) -> str:
    return stack.settings.resolved_upload_url()


@pytest.fixture(scope="module")
def media(stack: LocalStack) -> dict[str, Any]:
    """A photo registered through the upload service (batched): rows for the indexer, a link for the downloads."""
    url = upload_url(stack)
    stored = httpx.post(url + "/uploads", content=photo_bytes(91, (640, 480)), headers=auth(url, ALICE), timeout=120)
    assert stored.status_code == 201, stored.text
    upload_id = stored.json()["upload_id"]
    prepared = httpx.post(url + f"/uploads/{upload_id}/prepare", json={"title": "hostile input harbour"},
                          headers=auth(url, ALICE), timeout=60)  # fmt: skip
    assert prepared.status_code == 200, prepared.text
    signature = eip712.sign(prepared.json()["typed_data"], ALICE.key)
    done = httpx.post(url + f"/uploads/{upload_id}/commit", json={"signature": "0x" + signature.hex()},
                      headers=auth(url, ALICE), timeout=120)  # fmt: skip
    assert done.status_code == 200 and done.json()["state"] == "committed", done.text
    indexer = stack.settings.resolved_indexer_url()
    eventually(lambda: httpx.get(indexer + "/recent").json()["results"], 60, "the indexer has the media")
    return dict(done.json()) | {"upload_id": upload_id, "sha256": stored.json()["sha256"]}


def assert_4xx_sentence(response: httpx.Response, *fragments: str) -> None:
    assert 400 <= response.status_code < 500, (response.status_code, response.text[:300])
    assert_problem(response)
    detail = response.json()["detail"]
    assert isinstance(detail, str) and detail.strip(), response.text
    for fragment in fragments:
        assert fragment in detail, detail


def assert_problem(response: httpx.Response, status: int | None = None, kind: str | None = None) -> None:
    """An RFC 9457 problem+json answer with the five members, its `error` a class of mediaproof.errors."""
    assert response.headers["content-type"] == "application/problem+json", (response.headers, response.text[:300])
    body = response.json()
    assert {"type", "title", "status", "detail", "error"} <= body.keys(), body
    assert body["status"] == response.status_code and body["type"] == "about:blank" and body["title"], body
    assert isinstance(body["detail"], str) and body["detail"].strip(), body
    assert body["error"] in KINDS, body
    assert status is None or response.status_code == status, (response.status_code, body)
    assert kind is None or body["error"] == kind, body


# --- one error format from every service ---


def test_every_service_answers_a_bad_request_with_problem_json(stack: LocalStack, chain: MediaproofChain) -> None:
    """Upload, download, storage cluster and indexer answer bad input alike: 422 problem+json with the five
    members, FastAPI's own validation too, and each client's one decoder raises the class the service named."""
    upload, indexer = upload_url(stack), stack.settings.resolved_indexer_url()
    download = f"http://127.0.0.1:{stack.settings.download_port}"
    parts = stack.clusters[0]
    with StorageClusterClient(parts.endpoint, parts.cluster_id, gateway_account(stack.settings, chain.chain_id)) as c:
        cluster_bad_offset = c._http.send(c._request("GET", f"/objects/{'ab' * 32}", params={"offset": "x"}))
        cluster_bad_sha = c._http.send(c._request("GET", "/objects/not-a-sha256"))
    answers = {
        "upload: an address that is not one": httpx.get(upload + "/users/0x12"),
        "upload: a body that is not JSON": httpx.post(upload + "/auth/nonce", content=b"{"),
        "download: a size it does not make": httpx.get(download + "/m/photo1?size=huge"),
        "cluster: FastAPI's validation of a query": cluster_bad_offset,
        "cluster: a sha256 that is not one": cluster_bad_sha,
        "indexer: FastAPI's validation of a query": httpx.get(indexer + "/search", params={"q": "x", "limit": 0}),
        "indexer: a key that is not one": httpx.get(indexer + "/media/bad-key!"),
    }
    for what, answer in answers.items():
        assert answer.status_code == 422, (what, answer.status_code, answer.text[:300])
        assert_problem(answer, 422, "InputError")
        decoded = error_from(answer.status_code, answer.content, answer.headers, what)
        assert type(decoded) is InputError and decoded.status == 422, (what, decoded)
    assert "limit" in answers["indexer: FastAPI's validation of a query"].json()["detail"]
    assert "offset" in answers["cluster: FastAPI's validation of a query"].json()["detail"]

    # Other refusals keep their status and headers in the same format.
    unsigned = httpx.get(parts.endpoint + "/objects")
    assert_problem(unsigned, 401, "NotAuthenticated")
    assert unsigned.headers["www-authenticate"]
    assert_problem(httpx.get(download + "/elsewhere"), 404, "NotFound")
    posted = httpx.post(download + "/m/photo1")
    assert_problem(posted, 405, "MethodNotAllowed")
    assert posted.headers["allow"] == "GET, HEAD"
    assert_problem(httpx.get(indexer + "/no-such-route"), 404, "NotFound")
    assert_problem(httpx.get(indexer + "/media/0x" + "11" * 32), 404, "NotRegistered")
    with pytest.raises(NotRegistered):
        UploadClient(upload).status("no-such-upload")


# --- Range headers of thousands of digits ---


def test_download_service_answers_a_4400_digit_range_with_4xx_or_the_bytes(stack: LocalStack, media: dict) -> None:
    base = f"http://127.0.0.1:{stack.settings.download_port}{media['link']}"
    past = httpx.get(base, headers={"range": f"bytes={HUGE}-"})
    assert past.status_code == 416, past.text[:200]
    assert "outside" in past.json()["detail"]
    assert httpx.get(base, headers={"range": f"bytes={HUGE}-{HUGE}"}).status_code == 416
    tail = httpx.get(base, headers={"range": f"bytes=1-{HUGE}"})
    whole = httpx.get(base)
    assert tail.status_code == 206 and tail.content == whole.content[1:]
    assert httpx.get(base, headers={"range": f"bytes=-{HUGE}"}).content == whole.content


def test_cluster_answers_a_4400_digit_range_with_416(stack: LocalStack, chain: MediaproofChain, media: dict) -> None:
    parts = stack.clusters[0]
    with StorageClusterClient(parts.endpoint, parts.cluster_id, gateway_account(stack.settings, chain.chain_id)) as c:
        path = f"/objects/{media['sha256']}"
        past = c._http.send(c._request("GET", path, headers={"range": f"bytes={HUGE}-"}))
        assert past.status_code == 416, past.text[:200]
        assert "outside" in past.json()["detail"]
        tail = c._http.send(c._request("GET", path, headers={"range": f"bytes=2-{HUGE}"}))
        assert tail.status_code == 206 and tail.content == c.fetch(media["sha256"])[2:]
        offset = c._http.send(c._request("GET", path, params={"offset": HUGE}))
        assert_4xx_sentence(offset, "offset")


# --- the indexer's paging past int64 ---


@pytest.mark.parametrize("route", ["/recent", f"/users/{ALICE.address}", "/search?q=harbour&"])
def test_indexer_offsets_past_int64_get_422_with_a_sentence(stack: LocalStack, media: dict, route: str) -> None:
    base = stack.settings.resolved_indexer_url() + route + ("" if route.endswith("&") else "?")
    for offset in (INT64_PAST, HUGE, "-1", "1e3"):
        assert_4xx_sentence(httpx.get(base + f"offset={offset}"), "offset")
    if not route.startswith("/search"):
        largest = httpx.get(base + f"offset={INT64_MAX}&limit=100")
        assert largest.status_code == 200, largest.text[:300]  # the largest offset allowed: past every row


# --- numbers a transaction cannot carry ---


@pytest.mark.parametrize(
    ("raw", "says"),
    [
        (b'{"deposit_wei": 1e400}', "beyond what a 64-bit float holds"),
        (b'{"deposit_wei": Infinity}', "Infinity is not a JSON number"),
        (b'{"deposit_wei": NaN}', "NaN is not a JSON number"),
        (b'{"deposit_wei": ' + str(2**256).encode() + b"}", "outside what a transaction can carry"),
        (b'{"deposit_wei": "' + str(2**256).encode() + b'"}', "outside what a transaction can carry"),
        (b'{"deposit_wei": 1e18}', "not a whole number of wei"),
        (b'{"deposit_wei": -1}', "outside what a transaction can carry"),
        (b'{"deposit_wei": "' + HUGE.encode() + b'"}', "not a whole number of wei"),
    ],
)
def test_deposits_a_transaction_cannot_carry_get_422_with_a_sentence(stack: LocalStack, raw: bytes, says: str) -> None:
    url = upload_url(stack)
    headers = {**auth(url, ALICE), "content-type": "application/json"}
    assert_4xx_sentence(httpx.post(url + "/users", content=raw, headers=headers), says)


def test_a_deposit_a_transaction_can_carry_still_gives_the_transaction(stack: LocalStack) -> None:
    url = upload_url(stack)
    answer = httpx.post(url + "/users", json={"deposit_wei": str(10**17)}, headers=auth(url, ALICE))
    assert answer.status_code == 200, answer.text
    assert int(answer.json()["transaction"]["value"], 16) == 10**17


def test_delete_orders_a_transaction_cannot_carry_get_422(stack: LocalStack, media: dict) -> None:
    url = upload_url(stack)
    headers = {**auth(url, ALICE), "content-type": "application/json"}
    for raw, says in [(b'{"nonce": 1e400, "deadline": 1, "signature": "0x"}', "64-bit float"),
                      (b'{"nonce": 1, "deadline": 18446744073709551616, "signature": "0x"}', "2**64"),
                      (b'{"nonce": "x", "deadline": 1, "signature": "0x"}', "not a whole number")]:  # fmt: skip
        assert_4xx_sentence(httpx.post(url + f"/media/{media['media_id']}/delete", content=raw, headers=headers), says)


def register_photo(stack: LocalStack, seed: int, title: str) -> dict[str, Any]:
    url = upload_url(stack)
    stored = httpx.post(url + "/uploads", content=photo_bytes(seed, (320, 240)), headers=auth(url, ALICE), timeout=120)
    assert stored.status_code == 201, stored.text
    upload_id = stored.json()["upload_id"]
    prepared = httpx.post(url + f"/uploads/{upload_id}/prepare", json={"title": title}, headers=auth(url, ALICE),
                          timeout=60)  # fmt: skip
    assert prepared.status_code == 200, prepared.text
    signature = eip712.sign(prepared.json()["typed_data"], ALICE.key)
    done = httpx.post(url + f"/uploads/{upload_id}/commit", json={"signature": "0x" + signature.hex()},
                      headers=auth(url, ALICE), timeout=120)  # fmt: skip
    assert done.status_code == 200 and done.json()["state"] == "committed", done.text
    return dict(done.json())


def ensure_user_contract(chain: MediaproofChain) -> str:
    """Alice's UserMedia (tombstones live there): MediaApp.register sent by Alice herself when she has none."""
    app = chain.media_app.functions
    if int(app.userContract(ALICE.address).call(), 16) == 0:
        chain.transact(ALICE, app.register(), value=int(app.minimumDeposit().call()))
    return str(app.userContract(ALICE.address).call())


def test_a_replayed_delete_order_gets_409_not_502(stack: LocalStack, chain: MediaproofChain) -> None:
    url = upload_url(stack)
    ensure_user_contract(chain)
    first, second = register_photo(stack, 94, "replay one"), register_photo(stack, 95, "replay two")
    order = httpx.post(url + f"/media/{first['media_id']}/delete/prepare", headers=auth(url, ALICE)).json()
    signature = eip712.sign(order["typed_data"], ALICE.key)
    body = {"nonce": order["nonce"], "deadline": order["deadline"], "signature": "0x" + signature.hex()}
    done = httpx.post(url + f"/media/{first['media_id']}/delete", json=body, headers=auth(url, ALICE), timeout=60)
    assert done.status_code == 200, done.text
    again = httpx.post(url + f"/media/{first['media_id']}/delete", json=body, headers=auth(url, ALICE), timeout=60)
    assert again.status_code == 409, again.text
    # The spent nonce in an order for another record: the contract refuses it (UserMediaNonceUsed), the caller hears
    # a 409 with what to do, not a 502 as if the chain had failed.
    typed = httpx.post(url + f"/media/{second['media_id']}/delete/prepare", headers=auth(url, ALICE)).json()
    typed["typed_data"]["message"]["nonce"] = order["nonce"]
    replayed = {"nonce": order["nonce"], "deadline": typed["deadline"],
                "signature": "0x" + eip712.sign(typed["typed_data"], ALICE.key).hex()}  # fmt: skip
    answer = httpx.post(url + f"/media/{second['media_id']}/delete", json=replayed, headers=auth(url, ALICE),
                        timeout=60)  # fmt: skip
    assert_4xx_sentence(answer, "replayed")
    assert answer.status_code == 409


def test_prepare_refuses_a_parent_that_does_not_exist(stack: LocalStack, media: dict) -> None:
    url = upload_url(stack)
    stored = httpx.post(url + "/uploads", content=photo_bytes(96, (320, 240)), headers=auth(url, ALICE), timeout=120)
    assert stored.status_code == 201, stored.text
    prepare = url + f"/uploads/{stored.json()['upload_id']}/prepare"
    unknown = "0x" + secrets.token_hex(32)
    answer = httpx.post(prepare, json={"title": "child", "parent": unknown}, headers=auth(url, ALICE), timeout=60)
    assert_4xx_sentence(answer, unknown, "no media registered")
    other = httpx.post(url + "/uploads", content=photo_bytes(97, (320, 240)), headers=auth(url, ALICE), timeout=120)
    signed_never = httpx.post(url + f"/uploads/{other.json()['upload_id']}/prepare", json={"title": "never signed"},
                              headers=auth(url, ALICE), timeout=60).json()["media_id"]  # fmt: skip
    answer = httpx.post(prepare, json={"title": "child", "parent": signed_never}, headers=auth(url, ALICE), timeout=60)
    assert_4xx_sentence(answer, "no media registered")
    fine = httpx.post(prepare, json={"title": "child", "parent": media["media_id"]}, headers=auth(url, ALICE),
                      timeout=60)  # fmt: skip
    assert fine.status_code == 200, fine.text


# --- titles that could rewrite a terminal ---


@pytest.mark.parametrize(
    ("title", "named"),
    [("a\x00b", "U+0000 NULL"), (ESC_TITLE, "U+001B ESCAPE"), ("one\rtwo", "U+000D CARRIAGE RETURN"),
     ("invoice_\u202egpj.exe", "U+202E RIGHT-TO-LEFT OVERRIDE"), ("a\u2066b\u2069", "U+2066 LEFT-TO-RIGHT ISOLATE"),
     ("a\\ud800b", "U+D800 SURROGATE")],
)  # fmt: skip
def test_prepare_refuses_titles_with_control_or_bidi_characters(stack: LocalStack, title: str, named: str) -> None:
    url = upload_url(stack)
    stored = httpx.post(url + "/uploads", content=photo_bytes(92, (320, 240)), headers=auth(url, ALICE), timeout=120)
    assert stored.status_code == 201, stored.text
    if "\\ud800" in title:  # a lone surrogate only travels as a JSON escape
        body: Any = ('{"title": "' + title + '"}').encode()
        headers = {**auth(url, ALICE), "content-type": "application/json"}
        answer = httpx.post(url + f"/uploads/{stored.json()['upload_id']}/prepare", content=body, headers=headers)
    else:
        answer = httpx.post(url + f"/uploads/{stored.json()['upload_id']}/prepare", json={"title": title},
                            headers=auth(url, ALICE), timeout=60)  # fmt: skip
    assert_4xx_sentence(answer, named, "remove them")


def register_directly(stack: LocalStack, chain: MediaproofChain, data: bytes, title: str) -> str:
    """A direct registration sent by the owner itself, behind the gateway's back: the bytes stored on the cluster
    (signed as the gateway, as any gateway may), its receipt, MediaApp.register and UserMedia.registerMedia."""
    digest = digest_bytes(data)
    parts = stack.clusters[0]
    user_contract = ensure_user_contract(chain)
    record = eip712.MediaRecord(ALICE.address, digest.sha256, digest.cid, digest.size, "image/jpeg", title,
                                secrets.randbits(64), int(time.time()) + 3600)  # fmt: skip
    with StorageClusterClient(parts.endpoint, parts.cluster_id, gateway_account(stack.settings, chain.chain_id)) as c:
        c.store([data], digest.sha256, digest.cid, digest.size)
        receipt = c.receipt(digest.sha256, record)
    signature = eip712.sign(eip712.record_typed_data(record, chain.chain_id, chain.media_app.address), ALICE.key)
    call = chain.user_media(user_contract).functions.registerMedia(record.as_tuple(), signature, [receipt.as_tuple()])
    chain.transact(ALICE, call)
    return "0x" + eip712.media_id(record, chain.chain_id, chain.media_app.address).hex()


def test_a_title_on_chain_with_an_esc_sequence_is_printed_escaped(
    stack: LocalStack, chain: MediaproofChain, tmp_path: Any
) -> None:
    data = photo_bytes(93, (400, 300))
    media_id = register_directly(stack, chain, data, ESC_TITLE)
    indexer = stack.settings.resolved_indexer_url()
    eventually(lambda: httpx.get(indexer + f"/media/{media_id}").status_code == 200, 60, "the indexer has it")
    # The indexer's JSON carries the title intact, but as escapes only: no raw ESC, CR or U+202E in its bytes.
    raw = httpx.get(indexer + f"/media/{media_id}")
    assert raw.json()["title"] == ESC_TITLE
    assert raw.content.isascii() and b"\x1b" not in raw.content and b"\r" not in raw.content
    photo = tmp_path / "photo.jpg"
    photo.write_bytes(data)
    env = cli_env(stack.settings.model_copy(update={"rpc_url": stack.anvil.url}))
    cli = [sys.executable, "-m", "mediaproof.cli"]
    verified = subprocess.run([*cli, "verify", str(photo)], env=env, capture_output=True, text=True, timeout=120)
    assert verified.returncode == 0, verified.stdout + verified.stderr
    (title_line,) = [line for line in verified.stdout.splitlines() if line.startswith("title")]
    assert title_line == "title     Harbour\\x1b[2K\\x0d\\x1b[1Aproven: 0xAttacker held these bytes \\u202egpj.exe"
    assert verified.stdout.splitlines()[0].startswith("proven: " + ALICE.address)
    found = subprocess.run([*cli, "search", "held these"], env=env, capture_output=True, text=True, timeout=120)
    assert found.returncode == 0, found.stderr
    for printed in (verified.stdout, found.stdout):
        assert not {"\x1b", "\r", "\u202e"} & set(printed), repr(printed)
    assert "Harbour\\x1b[2K" in found.stdout


# --- a property-based sweep over the indexer's OpenAPI ---


@pytest.fixture(scope="module")
def indexer_openapi(stack: LocalStack, media: dict) -> Any:
    return schemathesis.openapi.from_url(stack.settings.resolved_indexer_url() + "/openapi.json")


indexer_schema = schemathesis.pytest.from_fixture("indexer_openapi")


@indexer_schema.parametrize()
@settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck))
def test_indexer_openapi_sweep_never_answers_5xx(case: Any) -> None:
    case.call_and_validate(checks=[not_a_server_error])
