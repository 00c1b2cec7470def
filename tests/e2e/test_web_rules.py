"""The web app's pure rules, without a browser: the sign-in check, reading the deployment for the page, what the
browser's proof check is given, and how its reports and the indexer's rows read.

Here rather than in tests/unit because they need the web environment (siwe, Reflex's pins); they take < 1 s.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from eth_account import Account
from eth_account.messages import encode_defunct
from eth_utils import keccak
from webapp.deployment import MEDIA_APP_ABI_FILE, chain_config_from_files
from webapp.signin import challenge_from, check_signature

from mediaproof.errors import DeploymentError, InputError
from mediaproof.upload.sessions import build_message

KEY = "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80"
ACCOUNT = Account.from_key(KEY)
NOW = datetime(2026, 5, 1, 12, 0, tzinfo=UTC)
MEDIA_APP = "0x9fE46736679d2D9a65F0992F2272dE9f3c7fa6e0"
PAGE = "http://127.0.0.1:3000"
NONCE = "0123456789abcdef0123456789abcdef"


def issued(domain: str = "127.0.0.1:3000", uri: str = PAGE, address: str = ACCOUNT.address, chain_id: int = 31337,
           nonce: str = NONCE, lifetime: float = 300, at: datetime = NOW) -> dict[str, str]:  # fmt: skip
    """The upload service's answer to POST /auth/nonce, written by its own code (mediaproof.upload.sessions)."""
    start = at.timestamp()
    return {"nonce": NONCE, "message": build_message(domain, address, uri, chain_id, nonce, start, start + lifetime)}


def challenge(answer: dict[str, str] | None = None, **overrides):
    args = {"address": ACCOUNT.address.lower(), "chain_id": 31337, "origin": PAGE, "now": NOW + timedelta(seconds=1)}
    return challenge_from(answer or issued(), **{**args, **overrides})


def sign(message: str, key: str = KEY) -> str:
    return "0x" + Account.from_key(key).sign_message(encode_defunct(text=message)).signature.hex()


def test_signin_takes_the_upload_services_message_for_this_page() -> None:
    taken = challenge()
    lines = taken.message.splitlines()
    assert lines[0] == "127.0.0.1:3000 wants you to sign in with your Ethereum account:"
    assert lines[1] == ACCOUNT.address  # checksummed, as EIP-4361 requires
    assert "URI: http://127.0.0.1:3000" in lines and "Chain ID: 31337" in lines and f"Nonce: {NONCE}" in lines
    assert (taken.address, taken.domain, taken.nonce) == (ACCOUNT.address, "127.0.0.1:3000", NONCE)
    assert taken.expires_at == NOW + timedelta(seconds=300)


@pytest.mark.parametrize(
    ("answer", "expected"),
    [
        (issued(domain="evil.example", uri="https://evil.example"), "not this page's '127.0.0.1:3000'"),
        (issued(address=Account.from_key("0x" + "11" * 32).address), "not your wallet's"),
        (issued(chain_id=1), "names chain 1, not 31337"),
        ({"nonce": "f" * 32, "message": issued()["message"]}, "nonce is not the one"),
        ({"nonce": NONCE, "message": issued()["message"].replace("\n", "\r\n")}, "EIP-4361"),
        (issued(at=NOW - timedelta(seconds=600)), "expiration time"),
        (issued(lifetime=24 * 3600), "expiration time"),
        (issued(at=NOW + timedelta(hours=1)), "in the future"),
        ({"message": "", "nonce": NONCE}, "no sign-in message"),
    ],
)
def test_signin_refuses_a_message_this_page_must_not_show(answer: dict[str, str], expected: str) -> None:
    with pytest.raises(InputError, match=expected):
        challenge(answer)


def test_signin_accepts_the_owners_signature() -> None:
    taken = challenge()
    signed = check_signature(taken, taken.message, sign(taken.message), NOW + timedelta(seconds=5))
    assert signed == ACCOUNT.address


@pytest.mark.parametrize(
    ("tamper", "expected"),
    [
        ("other_key", "does not match"),
        ("other_message", "different message"),
        ("late", "too late"),
        ("garbage_signature", "does not match"),
    ],
)
def test_signin_rejects(tamper: str, expected: str) -> None:
    taken = challenge()
    message, signature, now = taken.message, sign(taken.message), NOW + timedelta(seconds=5)
    if tamper == "other_key":
        signature = sign(message, "0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d")
    elif tamper == "other_message":
        message = message.replace(NONCE, "f" * 32)
        signature = sign(message)
    elif tamper == "late":
        now = taken.expires_at + timedelta(seconds=1)
    elif tamper == "garbage_signature":
        signature = "0x" + "ab" * 65
    with pytest.raises(InputError, match=expected):
        check_signature(taken, message, signature, now)


def test_signin_refuses_a_bad_address_or_origin() -> None:
    with pytest.raises(InputError, match="not an Ethereum address"):
        challenge(address="0x1234")
    with pytest.raises(InputError, match="origin"):
        challenge(origin="")


def test_the_upload_services_refusals_read_as_what_to_do() -> None:
    from webapp.pages.upload_refusals import DEFAULT_WAIT_SECONDS, Refusal, upload_refusal

    ended = upload_refusal("a.jpg", 401, "the bearer token is not a session of this service (or was signed out)")
    assert ended.kind == "signed_out" and "Sign in again" in ended.sentence and "a.jpg" in ended.sentence
    busy = upload_refusal("a.jpg", 429, "wallet 0xAb has sent 3 uploads in the last minute: try again in 42 s", "42")
    assert busy == upload_refusal(
        "a.jpg", 429, "wallet 0xAb has sent 3 uploads in the last minute: try again in 42 s", 42
    )
    assert busy.kind == "wait" and busy.wait == 42
    assert busy.sentence == "The upload service asks you to wait: wallet 0xAb has sent 3 uploads in the last minute."
    full = upload_refusal("a.jpg", 503, "this upload service is receiving 64 uploads: try again in 5 s", "5")
    assert (full.kind, full.wait) == ("wait", 5) and full.sentence.startswith("The upload service is busy: ")
    in_flight = (
        "wallet 0xAb has 8 uploads in flight (MEDIAPROOF_UPLOAD_CONCURRENT): try again in 5 s, or once one is done"
    )
    assert upload_refusal("a.jpg", 429, in_flight, 5).sentence == (
        "The upload service asks you to wait: wallet 0xAb has 8 uploads in flight (MEDIAPROOF_UPLOAD_CONCURRENT)."
    )
    assert upload_refusal("a.jpg", 429, "too many", None).wait == DEFAULT_WAIT_SECONDS
    stalled = upload_refusal("a.jpg", 408, "no bytes of the upload arrived for 30 s; it was cut off")
    assert stalled.kind == "stalled" and stalled.sentence.endswith("Send it again.")
    other = upload_refusal("a.jpg", 403, "upload abc was sent by another wallet")
    assert other == Refusal("refused", "The upload service refused a.jpg: upload abc was sent by another wallet.")
    assert (
        upload_refusal("a.jpg", 415, "not a photo").sentence == "The upload service did not accept a.jpg: not a photo."
    )
    assert upload_refusal("a.jpg", 0, "the upload service at http://x could not be reached").kind == "unreachable"
    assert upload_refusal("a.jpg", 500, "").kind == "failed"


def write_deployment(tmp_path: Path, data: object) -> Path:
    path = tmp_path / "deployment.json"
    path.write_text(json.dumps(data))
    return path


def test_chain_config_reads_deployment_and_makes_deposit_calls(tmp_path: Path) -> None:
    path = write_deployment(tmp_path, {"chain_id": 31337, "block": 1, "contracts": {"MediaApp": MEDIA_APP.lower()}})
    config = chain_config_from_files(path, MEDIA_APP_ABI_FILE, "http://127.0.0.1:8545")
    assert (config.chain_id, config.chain_id_hex, config.media_app) == (31337, "0x7a69", MEDIA_APP)
    calldata = config.deposit_of_calldata(ACCOUNT.address)
    assert calldata == "0x" + keccak(text="depositOf(address)")[:4].hex() + "00" * 12 + ACCOUNT.address[2:].lower()
    with pytest.raises(InputError, match="not an Ethereum address"):
        config.deposit_of_calldata("0x1234")


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (None, "no deployment"),
        ("{not json", "not JSON"),
        ({"chain_id": 31337, "contracts": {}}, "lacks chain_id or contracts.MediaApp"),
        ({"chain_id": "31337", "contracts": {"MediaApp": MEDIA_APP}}, "lacks chain_id"),
    ],
)
def test_chain_config_names_the_problem_with_the_deployment(tmp_path: Path, content: object, expected: str) -> None:
    path = tmp_path / "deployment.json"
    if isinstance(content, str):
        path.write_text(content)
    elif content is not None:
        path.write_text(json.dumps(content))
    with pytest.raises(DeploymentError, match=expected):
        chain_config_from_files(path, MEDIA_APP_ABI_FILE, "http://127.0.0.1:8545")


def test_chain_config_needs_deposit_of_in_the_abi(tmp_path: Path) -> None:
    path = write_deployment(tmp_path, {"chain_id": 31337, "contracts": {"MediaApp": MEDIA_APP}})
    abi = tmp_path / "abi.json"
    abi.write_text(json.dumps([{"type": "function", "name": "other", "inputs": [], "outputs": []}]))
    with pytest.raises(DeploymentError, match="no depositOf"):
        chain_config_from_files(path, abi, "http://127.0.0.1:8545")


def test_rejection_message_names_the_file_and_the_reason() -> None:
    from webapp.pages.upload_refusals import rejection_message

    too_large = [{"file": {"path": "./big.jpg"}, "errors": [{"code": "file-too-large", "message": "File is larger"}]}]
    assert rejection_message(too_large, 4_000_000) == "big.jpg is too large: the limit is 4.0 MB."
    wrong = [{"file": {}, "errors": [{"code": "file-invalid-type"}]}]
    assert "the file is not a photo or video" in rejection_message(wrong, 1)
    assert rejection_message([{"file": "odd", "errors": None}], 1) == "the file was not accepted."
    assert rejection_message([], 1) == "That file was not accepted."


def test_media_card_links_by_short_id_and_falls_back_to_media_id() -> None:
    from webapp.media_rows import ether, human_size, media_card

    row = {"id": "0x" + "ab" * 32, "title": "Harbour", "owner": "0x" + "12" * 20, "media_type": "image/jpeg",
           "time": 1_700_000_000, "size": 15_400}  # fmt: skip
    card = media_card(row, "aZ3k9", "http://127.0.0.1:8701")
    assert card["link"] == "/m/aZ3k9" and card["thumb"] == "http://127.0.0.1:8701/m/aZ3k9?size=small"
    assert card["owner_short"] == "0x1212…1212" and card["time"] == "2023-11-14 22:13 UTC"
    unlinked = media_card(row, "", "http://127.0.0.1:8701")
    assert unlinked["link"] == "/m/0x" + "ab" * 32 and unlinked["thumb"] == ""
    assert media_card({**row, "media_type": "video/mp4"}, "v1", "http://d")["thumb"] == "http://d/m/v1?size=poster"
    assert human_size(15_400) == "15.4 KB" and human_size(999) == "999 bytes"
    assert ether(10**16) == "0.01 ETH" and ether(0) == "0 ETH" and ether("9472000000000000") == "0.009472 ETH"


def test_proof_check_config_carries_the_exported_abis_and_the_signed_types(tmp_path: Path) -> None:
    from webapp.deployment import PROOF_CHECK_ABI, proof_check_abis, proof_check_config

    path = write_deployment(tmp_path, {"chain_id": 31337, "contracts": {"MediaApp": MEDIA_APP}})
    config = proof_check_config(chain_config_from_files(path, MEDIA_APP_ABI_FILE, "http://127.0.0.1:8545"))
    assert (config["chainId"], config["mediaApp"], config["rpcUrl"]) == (31337, MEDIA_APP, "http://127.0.0.1:8545")
    for contract, names in PROOF_CHECK_ABI.items():
        assert [entry["name"] for entry in config["abis"][contract]] == list(names)
    assert config["domain"] == {"name": "Mediaproof", "version": "1"}
    assert [f["name"] for f in config["recordTypes"]["MediaRecord"]][-3:] == ["nonce", "deadline", "maxFee"]
    assert config["receiptTypes"]["StorageReceipt"][0] == {"name": "clusterId", "type": "uint32"}

    (tmp_path / "abi").mkdir()
    for name in PROOF_CHECK_ABI:
        (tmp_path / "abi" / f"{name}.json").write_text(json.dumps([]))
    with pytest.raises(DeploymentError, match="has no verifyInclusion"):
        proof_check_abis(tmp_path / "abi")


def test_browser_reports_read_as_a_verdict_in_words() -> None:
    from webapp.proof_reports import ZERO_ADDRESS, bundle_data_url, report_from, verdict

    owner, other = ACCOUNT.address, "0x" + "12" * 20
    raw = {
        "kind": "batched", "owner": owner, "batch": 42, "block": 42, "timestamp": 1_700_000_000, "proven": True,
        "first": False, "first_owner": other, "first_block": 40,
        "checks": [{"key": "inclusion", "ok": True, "text": "in"}, {"key": "first", "ok": False, "info": True}],
        "receipts": [{"cluster_id": 1, "ok": True, "text": "Cluster 1: fine"}],
    }  # fmt: skip
    report = report_from(raw)
    assert report.summary == "Batched proof in batch 42 (block 42), 2023-11-14 22:13:20 UTC"
    assert [c.key for c in report.checks] == ["inclusion", "first"] and report.checks[1].info
    assert report.receipts[0].cluster == "1" and report.receipts[0].ok
    status, headline = verdict([report], None)
    assert status == "proven" and f"registered by {owner} in batch 42 (block 42)" in headline
    assert f"First proven by {other} in block 40." in headline
    direct = report_from({**raw, "kind": "direct", "batch": 0, "block": 7})
    assert direct.summary.startswith("Direct proof directly in block 7")

    failed = report_from({**raw, "proven": False})
    assert verdict([failed], None)[0] == "failed"
    assert "none of the 2 proof bundles" in verdict([failed, failed], None)[1]
    assert verdict([], {"owner": ZERO_ADDRESS, "block": 0})[0] == "not_proven"
    status, headline = verdict([], {"owner": other, "block": 9})
    assert status == "chain_only" and f"names {other} (block 9)" in headline
    url = bundle_data_url({"title": "a b/c"})
    assert url.startswith("data:application/json;charset=utf-8,") and "%20" in url and " " not in url


def test_cards_of_later_registrations_name_who_proved_the_bytes_first() -> None:
    from webapp.media_rows import media_card

    first = {"owner": "0x" + "34" * 20, "media_id": "0x" + "cd" * 32, "block": 12, "short_id": "F1"}
    row = {"id": "0x" + "ab" * 32, "title": "Copy", "owner": "0x" + "12" * 20, "media_type": "image/jpeg",
           "is_first_proof": False, "first_registration": first}  # fmt: skip
    assert media_card(row, "c1", "http://d")["first_note"] == "First proven by 0x3434…3434 in block 12"
    assert media_card({**row, "is_first_proof": True}, "c1", "http://d")["first_note"] == ""
    assert media_card({k: v for k, v in row.items() if k != "first_registration"}, "", "http://d")["first_note"] == ""


def test_project_rows_escape_chain_names_and_say_what_each_role_may_do() -> None:
    from webapp.project_rows import grant_row, is_project_id, project_card, version_row

    pid = "0x" + "ab" * 32
    owner = "0x" + "12" * 20
    row = {"project_id": pid, "name": "robots\u202e\x1b[2J", "owner": owner, "private": True, "version": 3,
           "updated_time": 1_700_000_000, "role": "write"}  # fmt: skip
    card = project_card(row)
    assert card["name"] == "robots\\u202e\\x1b[2J"  # a bidi override or an escape sequence from the chain is shown
    assert (card["role"], card["visibility"], card["version"]) == ("can commit", "private", "version 3")
    assert card["link"] == f"/projects/{pid}" and card["updated"] == "2023-11-14 22:13 UTC"
    fresh = project_card({**row, "version": 0, "role": "owner", "private": False, "updated_time": None,
                          "created_time": 1_700_000_000})  # fmt: skip
    assert (fresh["version"], fresh["role"], fresh["visibility"], fresh["updated"]) == (
        "no commit yet", "owner", "public", "2023-11-14 22:13 UTC"
    )  # fmt: skip
    version = version_row({"version": 2, "committer": owner, "time": 1_700_000_000, "block": 7,
                           "tx_hash": "0x" + "cd" * 32, "manifest_cid": "bafy\u202e"})  # fmt: skip
    assert (version["version"], version["committer_short"], version["block"]) == ("2", "0x1212…1212", "7")
    assert version["tx"] == "0x" + "cd" * 32 and version["manifest_cid"] == "bafy\\u202e"
    assert grant_row({"grantee": owner, "role": "read", "time": 1_700_000_000})["role"] == "can read"
    assert is_project_id(pid) and not is_project_id(pid[:-1]) and not is_project_id("../media/x")


def test_project_calls_encode_what_the_registry_abi_says() -> None:
    from web3 import Web3
    from webapp.deployment import ABI_DIR
    from webapp.project_calls import commit_data, grant_data, revoke_data

    abi = json.loads((ABI_DIR / "ProjectRegistry.json").read_text())
    registry = Web3().eth.contract(abi=abi["abi"] if isinstance(abi, dict) else abi)
    pid, sha, grantee = "0x" + "ab" * 32, "cd" * 32, ACCOUNT.address
    assert commit_data(pid, 3, sha, "bafy-manifest") == registry.encode_abi(
        "commit", [bytes.fromhex("ab" * 32), 3, bytes.fromhex(sha), "bafy-manifest"]
    )
    assert grant_data(pid, grantee, "write") == registry.encode_abi("grant", [bytes.fromhex("ab" * 32), grantee, 2])
    assert revoke_data(pid, grantee) == registry.encode_abi("revoke", [bytes.fromhex("ab" * 32), grantee])
    with pytest.raises(InputError, match="read or write"):
        grant_data(pid, grantee, "owner")
    with pytest.raises(InputError, match="names no manifest"):
        commit_data(pid, 3, "", "bafy")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", "Enter the wallet address"),
        ("0x12", "is not a wallet address"),
        ("0x" + "g" * 40, "is not a wallet address"),
        ("0x" + "00" * 20, "zero address"),
        (ACCOUNT.address.lower(), "owner's own address"),
        ("x" * 10_000, "is not a wallet address"),
    ],
)
def test_share_refuses_an_address_before_the_wallet_is_asked(text: str, expected: str) -> None:
    from webapp.project_calls import grantee_address

    with pytest.raises(InputError, match=expected) as refused:
        grantee_address(text, ACCOUNT.address)
    assert len(str(refused.value)) < 200  # a sentence, not the input echoed back whole


def test_project_files_trust_only_the_manifest_the_head_names() -> None:
    import hashlib

    from webapp.project_files import THUMBNAIL_MAX_BYTES, checked_manifest, data_url, file_rows, thumbnail_targets

    from mediaproof.errors import ContentMismatch
    from mediaproof.sync.manifest import FileEntry, ProjectManifest

    def entry(data: bytes, size: int | None = None) -> FileEntry:
        return FileEntry(
            hashlib.sha256(data).digest(), "bafy", len(data) if size is None else size, 1_700_000_000 * 10**9
        )

    manifest = ProjectManifest({"b/photo.PNG": entry(b"png"), "a.txt": entry(b"text"),
                                "big.jpg": entry(b"big", THUMBNAIL_MAX_BYTES + 1)})  # fmt: skip
    data = manifest.encode()
    assert checked_manifest(data, "0x" + hashlib.sha256(data).hexdigest()) == manifest
    with pytest.raises(ContentMismatch, match="not the head's"):
        checked_manifest(data.replace(b"a.txt", b"c.txt"), hashlib.sha256(data).hexdigest())
    rows = file_rows(manifest)
    assert [r["path"] for r in rows] == ["a.txt", "b/photo.PNG", "big.jpg"]
    assert rows[0]["modified"] == "2023-11-14 22:13 UTC" and rows[0]["size"] == "4 bytes"
    assert thumbnail_targets(manifest) == [(1, hashlib.sha256(b"png").hexdigest(), "image/png")]  # big.jpg: too large
    assert data_url(b"png", hashlib.sha256(b"png").hexdigest(), "image/png") == "data:image/png;base64,cG5n"
    with pytest.raises(ContentMismatch):
        data_url(b"other", hashlib.sha256(b"png").hexdigest(), "image/png")


@pytest.mark.parametrize(
    ("listed", "expected"),
    [
        ([], "No files were chosen"),
        ("not a list", "No files were chosen"),
        ([{"path": "../etc/passwd", "size": 1, "mtime_ms": 0, "sha256": "ab" * 32}], "'..' segment"),
        ([{"path": "/abs.txt", "size": 1, "mtime_ms": 0, "sha256": "ab" * 32}], "must be relative"),
        ([{"path": "a.txt", "size": 1, "mtime_ms": 0, "sha256": "zz" * 32}], "bad hash or size"),
        ([{"path": "a.txt", "size": -1, "mtime_ms": 0, "sha256": "ab" * 32}], "bad hash or size"),
        ([{"path": "a.txt"}], "cannot read"),
        ([{"path": f"{i}.txt", "size": 1, "mtime_ms": 0, "sha256": "ab" * 32} for i in range(1001)], "at most 1000"),
    ],
)
def test_an_upload_from_the_page_refuses_a_forged_file_list(listed: object, expected: str) -> None:
    from webapp.project_files import chosen_files

    with pytest.raises(InputError, match=expected):
        chosen_files(listed)


def test_an_upload_from_the_page_adds_to_the_head_and_sends_only_new_bytes() -> None:
    from webapp.project_files import chosen_files, manifest_with, to_send

    from mediaproof.sync.manifest import FileEntry, ProjectManifest

    old, new = "aa" * 32, "bb" * 32
    head = ProjectManifest({"keep.txt": FileEntry(bytes.fromhex(old), "bafy-old", 3, 5)})
    files = chosen_files([
        {"path": "trip/keep-copy.txt", "size": 3, "mtime_ms": 7, "sha256": old},
        {"path": "trip/new.txt", "size": 4, "mtime_ms": 8, "sha256": new.upper()},
    ])  # fmt: skip
    assert to_send(head, files) == [new]
    merged = manifest_with(head, files, {new: "bafy-new"})
    assert sorted(merged) == ["keep.txt", "trip/keep-copy.txt", "trip/new.txt"]
    assert merged["trip/keep-copy.txt"].cid == "bafy-old" and merged["trip/new.txt"].mtime_ns == 8_000_000
    with pytest.raises(InputError, match="no CID came back"):
        manifest_with(head, files, {})
    with pytest.raises(InputError, match="both a file and a directory"):
        manifest_with(head, chosen_files([{"path": "keep.txt/x", "size": 1, "mtime_ms": 0, "sha256": old}]), {})


def test_a_file_sent_by_tus_gets_its_cid_from_the_pages_chunk_hashes_and_forged_lists_are_refused() -> None:
    import hashlib

    from webapp.project_files import chosen_files, cids_from_chunks

    from mediaproof.content import digest_bytes
    from mediaproof.unixfs import CHUNK_SIZE

    data = bytes(range(256)) * (CHUNK_SIZE // 128 + 3)  # three chunks, the last a short one
    sha = hashlib.sha256(data).hexdigest()
    chunks = "".join(hashlib.sha256(data[i : i + CHUNK_SIZE]).hexdigest() for i in range(0, len(data), CHUNK_SIZE))
    files = chosen_files([{"path": "big.bin", "size": len(data), "mtime_ms": 1, "sha256": sha}])
    assert cids_from_chunks({sha: chunks}, files) == {sha: digest_bytes(data).cid}
    assert cids_from_chunks(None, files) == {}
    for forged in ({"cc" * 32: chunks}, {sha: "zz"}, {sha: 7}, [chunks]):
        with pytest.raises(InputError, match="cannot read"):
            cids_from_chunks(forged, files)
    with pytest.raises(InputError, match="digests came"):
        cids_from_chunks({sha: chunks[:-64]}, files)  # one chunk short
