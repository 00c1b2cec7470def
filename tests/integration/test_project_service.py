"""Projects on a real stack (anvil, a js-ipfs daemon, a storage cluster, the upload and download services): which
hashes a writer must send or prove, project blobs and manifests, commits on chain through web3, and reads of public
and private projects — with the attacks on each: strangers, read-only grantees, forged, replayed and borrowed
possession answers, hashes stored but not in the project, wrong bytes, oversized and malformed input.
"""

from __future__ import annotations

import hashlib
import os
import socket
import sqlite3
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest
from eth_account import Account
from eth_account.signers.local import LocalAccount
from web3.contract import Contract

from mediaproof import transactions
from mediaproof.abis import load_abi
from mediaproof.chain import MediaproofChain
from mediaproof.clients.download import DownloadClient
from mediaproof.clients.upload import UploadClient
from mediaproof.content import digest_bytes
from mediaproof.devstack import LocalStack
from mediaproof.errors import ContentMismatch, Forbidden, InputError, NotRegistered
from mediaproof.projects import possession
from mediaproof.settings import ANVIL_TEST_KEYS
from mediaproof.sync.manifest import FileEntry, ProjectManifest
from tests.integration.auth import sign_in
from tests.integration.stack import stack_settings
from tests.unit.test_upload_intake import photo_bytes

pytestmark = pytest.mark.integration
ALICE = Account.from_key(ANVIL_TEST_KEYS[0])
BOB = Account.from_key(ANVIL_TEST_KEYS[1])
MAX_BYTES = 1 << 20
READ, WRITE = 1, 2


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalStack]:
    settings = stack_settings(tmp_path_factory.mktemp("projects")).model_copy(
        # Media uploads never committed expire within seconds here (only the garbage tests make any). Long enough
        # that a test's next request comes well within it on a busy machine.
        update={
            "max_upload_bytes": MAX_BYTES,
            "download_resolve_ttl": 0.5,
            "upload_ttl": 5.0,
            "upload_sweep_interval": 0.5,
        }
    )
    running = LocalStack(settings).start()
    yield running
    running.stop()


@pytest.fixture(scope="module")
def chain(stack: LocalStack) -> MediaproofChain:
    return MediaproofChain.from_settings(stack.settings)


@pytest.fixture(scope="module")
def registry(chain: MediaproofChain) -> Contract:
    return chain.w3.eth.contract(address=chain.deployment.project_registry, abi=load_abi("ProjectRegistry"))


@pytest.fixture(scope="module")
def carol(chain: MediaproofChain) -> LocalAccount:
    """A third wallet with gas (anvil's other keys belong to the gateway and the observer)."""
    account: LocalAccount = Account.create()
    tx = {"to": account.address, "value": 10**18, "chainId": chain.chain_id}
    transactions.send(chain.w3, ALICE, tx)
    return account


def up(stack: LocalStack) -> str:
    return stack.settings.resolved_upload_url()


def down(stack: LocalStack) -> str:
    return stack.settings.resolved_download_url()


def client(stack: LocalStack, who: LocalAccount) -> UploadClient:
    return UploadClient(up(stack), account=who, notify=lambda _: None)


def create(chain: MediaproofChain, registry: Contract, who: LocalAccount, private: bool = True) -> str:
    name = f"project-{os.urandom(6).hex()}"
    transactions.transact(chain.w3, who, registry.functions.createProject(name, private), chain_id=chain.chain_id)
    return "0x" + bytes(registry.functions.projectIdOf(who.address, name).call()).hex()


def grant(chain: MediaproofChain, registry: Contract, owner: LocalAccount, pid: str, who: str, role: int) -> None:
    call = registry.functions.grant(bytes.fromhex(pid[2:]), who, role)
    transactions.transact(chain.w3, owner, call, chain_id=chain.chain_id)


def commit(chain: MediaproofChain, registry: Contract, who: LocalAccount, pid: str, stored: dict[str, Any]) -> int:
    version = registry.functions.versionOf(bytes.fromhex(pid[2:])).call()
    call = registry.functions.commit(bytes.fromhex(pid[2:]), version, bytes.fromhex(stored["sha256"]), stored["cid"])
    transactions.transact(chain.w3, who, call, chain_id=chain.chain_id)
    return int(version) + 1


def blob(tmp: Path, data: bytes) -> tuple[Path, str]:
    path = tmp / hashlib.sha256(data).hexdigest()[:16]
    path.write_bytes(data)
    return path, hashlib.sha256(data).hexdigest()


def manifest_of(files: dict[str, bytes]) -> ProjectManifest:
    entries = {}
    for path, data in files.items():
        digest = digest_bytes(data)
        entries[path] = FileEntry(digest.sha256, digest.cid, digest.size, 1_700_000_000_000_000_000)
    return ProjectManifest(entries)


def push(stack: LocalStack, who: LocalAccount, pid: str, files: dict[str, bytes], tmp: Path) -> dict[str, Any]:
    """Send what is missing and post the manifest, as a device's sync does (no proofs)."""
    with client(stack, who) as c:
        hashes = [hashlib.sha256(d).hexdigest() for d in files.values()]
        asked = c.missing(pid, hashes)
        for data in files.values():
            path, sha = blob(tmp, data)
            if sha in asked["missing"]:
                c.put_blob(pid, sha, path)
        return c.post_manifest(pid, manifest_of(files).encode().decode(), {})


def refused(answer: httpx.Response, status: int, *fragments: str) -> dict[str, Any]:
    assert answer.status_code == status, answer.text
    body = dict(answer.json())
    assert answer.headers["content-type"].startswith("application/problem+json")
    assert len(body["detail"]) > 20, body
    for fragment in fragments:
        assert fragment in body["detail"], body["detail"]
    return body


def bearer(stack: LocalStack, who: LocalAccount) -> dict[str, str]:
    return {"authorization": f"Bearer {sign_in(up(stack), who)}"}


# --- the happy path ---


def test_store_manifest_commit_download_round_trip(
    stack: LocalStack, chain: MediaproofChain, registry: Contract, tmp_path: Path
) -> None:
    pid = create(chain, registry, ALICE)
    files = {"notes/readme.txt": b"field notes " + os.urandom(32), "scan.bin": os.urandom(300_000)}
    hashes = [hashlib.sha256(d).hexdigest() for d in files.values()]
    with client(stack, ALICE) as alice:
        assert alice.missing(pid, hashes) == {"missing": hashes, "prove": {}}
        for data in files.values():
            path, sha = blob(tmp_path, data)
            put = alice.put_blob(pid, sha, path)
            assert (put["sha256"], put["cid"], put["size"]) == (sha, digest_bytes(data).cid, len(data))
        # Sent once, never asked for again, and no proof needed: this wallet sent them.
        assert alice.missing(pid, hashes) == {"missing": [], "prove": {}}
        manifest = manifest_of(files)
        stored = alice.post_manifest(pid, manifest.encode().decode(), {})
    assert stored["sha256"] == manifest.sha256().hex() and stored["size"] == len(manifest.encode())
    assert stored["cid"] == digest_bytes(manifest.encode()).cid
    assert commit(chain, registry, ALICE, pid, stored) == 1
    head = registry.functions.head(bytes.fromhex(pid[2:])).call()
    assert (bytes(head[3]).hex(), head[4]) == (stored["sha256"], stored["cid"])
    with DownloadClient(down(stack), sign_in(up(stack), ALICE)) as reader:
        assert ProjectManifest.decode(reader.manifest(pid, head[4])) == manifest
        for name, data in files.items():
            dest = tmp_path / "clone" / name
            assert reader.fetch_blob(pid, hashlib.sha256(data).hexdigest(), dest) == len(data)
            assert dest.read_bytes() == data
        assert not [p for p in (tmp_path / "clone").rglob("*.part")]


def test_public_project_is_read_by_anyone_and_blob_ranges_work(
    stack: LocalStack, chain: MediaproofChain, registry: Contract, tmp_path: Path
) -> None:
    pid = create(chain, registry, ALICE, private=False)
    data = os.urandom(50_000)
    stored = push(stack, ALICE, pid, {"a.bin": data}, tmp_path)
    sha = hashlib.sha256(data).hexdigest()
    whole = httpx.get(f"{down(stack)}/projects/{pid}/blobs/{sha}", timeout=30)
    assert whole.status_code == 200 and whole.content == data
    assert whole.headers["etag"] == f'"{sha}"' and whole.headers["content-type"] == "application/octet-stream"
    part = httpx.get(f"{down(stack)}/projects/{pid}/blobs/{sha}", headers={"Range": "bytes=10-19"}, timeout=30)
    assert part.status_code == 206 and part.content == data[10:20]
    assert part.headers["content-range"] == f"bytes 10-19/{len(data)}"
    beyond = httpx.get(f"{down(stack)}/projects/{pid}/blobs/{sha}", headers={"Range": "bytes=60000-"}, timeout=30)
    assert beyond.status_code == 416
    again = httpx.get(f"{down(stack)}/projects/{pid}/blobs/{sha}", headers={"If-None-Match": f'"{sha}"'}, timeout=30)
    assert again.status_code == 304
    manifest = httpx.get(f"{down(stack)}/projects/{pid}/manifests/{stored['cid']}", timeout=30)
    assert manifest.status_code == 200 and hashlib.sha256(manifest.content).hexdigest() == stored["sha256"]
    # Bytes in a public project are readable by anyone: another writer names them without sending or proving.
    other = create(chain, registry, BOB)
    with client(stack, BOB) as bob:
        assert bob.missing(other, [sha]) == {"missing": [], "prove": {}}


# --- de-duplication and possession proofs ---


def test_dedup_across_projects_needs_a_proof_when_private_and_unreadable(
    stack: LocalStack, chain: MediaproofChain, registry: Contract, carol: LocalAccount, tmp_path: Path
) -> None:
    secret, fresh = os.urandom(40_000), os.urandom(1_000)
    alice_pid = create(chain, registry, ALICE)
    commit(chain, registry, ALICE, alice_pid, push(stack, ALICE, alice_pid, {"secret.bin": secret}, tmp_path))
    secret_sha, fresh_sha = hashlib.sha256(secret).hexdigest(), hashlib.sha256(fresh).hexdigest()
    bob_pid = create(chain, registry, BOB)
    with client(stack, BOB) as bob:
        asked = bob.missing(bob_pid, [secret_sha, fresh_sha])
        assert asked["missing"] == [fresh_sha]  # stored bytes are never sent again…
        assert list(asked["prove"]) == [secret_sha]  # …but bytes Bob cannot read must be proven
        path, _ = blob(tmp_path, fresh)
        bob.put_blob(bob_pid, fresh_sha, path)
        text = manifest_of({"mine.bin": fresh, "claimed.bin": secret}).encode().decode()
        # Claiming the hash alone (the classic attack): refused, naming the hash.
        with pytest.raises(Forbidden, match=secret_sha):
            bob.post_manifest(bob_pid, text, {})
        with pytest.raises(Forbidden, match=secret_sha):  # a forged answer
            bob.post_manifest(bob_pid, text, {secret_sha: hashlib.sha256(b"guess").hexdigest()})
        # Carol's nonce, answered correctly, is no answer for Bob.
        carol_pid = create(chain, registry, carol)
        with client(stack, carol) as carol_client:
            carol_nonce = carol_client.missing(carol_pid, [secret_sha])["prove"][secret_sha]
        secret_path, _ = blob(tmp_path, secret)
        with pytest.raises(Forbidden, match=secret_sha):
            bob.post_manifest(bob_pid, text, {secret_sha: possession.answer(carol_nonce, secret_path)})
        # Holding the bytes, Bob answers his own nonce: accepted, and the nonce is spent.
        proof = possession.answer(asked["prove"][secret_sha], secret_path)
        stored = bob.post_manifest(bob_pid, text, {secret_sha: proof})
        assert commit(chain, registry, BOB, bob_pid, stored) == 1
        assert bob.missing(bob_pid, [secret_sha]) == {"missing": [], "prove": {}}  # in his project now
        # Bob's answer, spent, replayed by Carol (who cannot read the bytes): refused.
        with client(stack, carol) as carol_client:
            with pytest.raises(Forbidden, match=secret_sha):
                carol_client.post_manifest(carol_pid, manifest_of({"s": secret}).encode().decode(),
                                           {secret_sha: proof})  # fmt: skip
            # Her own nonce (asked before) answered from the bytes she holds: accepted, once.
            answered = possession.answer(carol_nonce, secret_path)
            carol_client.post_manifest(carol_pid, manifest_of({"s": secret}).encode().decode(), {secret_sha: answered})
    with sqlite3.connect(stack.settings.resolved_gateway_db()) as db:
        spent = db.execute("SELECT nonce FROM possession_nonces WHERE used_at IS NOT NULL").fetchall()
    assert {asked["prove"][secret_sha], carol_nonce} <= {row[0] for row in spent}


def test_manifest_checks_canonical_stored_and_cids(
    stack: LocalStack, chain: MediaproofChain, registry: Contract, tmp_path: Path
) -> None:
    pid = create(chain, registry, ALICE)
    data, absent = os.urandom(2_000), os.urandom(2_000)
    with client(stack, ALICE) as alice:
        path, sha = blob(tmp_path, data)
        alice.put_blob(pid, sha, path)
        canonical = manifest_of({"a": data}).encode().decode()
        with pytest.raises(InputError, match="canonical"):
            alice.post_manifest(pid, canonical.replace(",", ", "), {})
        with pytest.raises(InputError) as not_stored:
            alice.post_manifest(pid, manifest_of({"a": data, "b": absent}).encode().decode(), {})
        assert not_stored.value.status == 409 and hashlib.sha256(absent).hexdigest() in str(not_stored.value)
        digest = digest_bytes(data)
        wrong = ProjectManifest({"a": FileEntry(digest.sha256, digest_bytes(b"x").cid, digest.size, 1)})
        with pytest.raises(InputError, match="CID") as wrong_cid:
            alice.post_manifest(pid, wrong.encode().decode(), {})
        assert wrong_cid.value.status == 422


# --- who may write ---


def test_read_only_grantee_and_stranger_cannot_write(
    stack: LocalStack, chain: MediaproofChain, registry: Contract, carol: LocalAccount, tmp_path: Path
) -> None:
    pid = create(chain, registry, ALICE)
    grant(chain, registry, ALICE, pid, carol.address, READ)
    data = os.urandom(1_000)
    path, sha = blob(tmp_path, data)
    for who in (carol, BOB):  # a read grantee, a stranger
        with client(stack, who) as c:
            with pytest.raises(Forbidden, match="may not write"):
                c.missing(pid, [sha])
            with pytest.raises(Forbidden, match="may not write"):
                c.put_blob(pid, sha, path)
            with pytest.raises(Forbidden, match="may not write"):
                c.post_manifest(pid, manifest_of({"a": data}).encode().decode(), {})
    # A write grantee may (and the bytes it sent are readable for it: no proof).
    grant(chain, registry, ALICE, pid, BOB.address, WRITE)
    stored = push(stack, BOB, pid, {"a": data}, tmp_path)
    assert commit(chain, registry, BOB, pid, stored) == 1


def test_writes_without_session_bad_ids_and_unknown_project(stack: LocalStack, chain: MediaproofChain,
                                                            registry: Contract) -> None:  # fmt: skip
    pid = create(chain, registry, ALICE)
    base = up(stack)
    sha = "ab" * 32
    for method, path, body in (("POST", f"/projects/{pid}/missing", {"sha256": []}),
                               ("PUT", f"/projects/{pid}/blobs/{sha}", None),
                               ("POST", f"/projects/{pid}/manifests", {"manifest": ""})):  # fmt: skip
        refused(httpx.request(method, base + path, json=body, timeout=30), 401, "signed-in wallet")
    auth = bearer(stack, ALICE)
    refused(httpx.post(f"{base}/projects/0x1234/missing", json={"sha256": []}, headers=auth, timeout=30), 422,
            "project id")  # fmt: skip
    refused(httpx.post(f"{base}/projects/{pid}/missing", json={"sha256": ["zz" * 32]}, headers=auth, timeout=30),
            422, "sha256")  # fmt: skip
    refused(httpx.post(f"{base}/projects/{pid}/missing", json={"sha256": "ab"}, headers=auth, timeout=30), 422)
    too_many = {"sha256": [f"{i:064x}" for i in range(10_001)]}
    refused(httpx.post(f"{base}/projects/{pid}/missing", json=too_many, headers=auth, timeout=60), 422, "10000")
    refused(httpx.put(f"{base}/projects/{pid}/blobs/xyz", content=b"x", headers=auth, timeout=30), 422, "sha256")
    unknown = "0x" + "77" * 32
    refused(httpx.post(f"{base}/projects/{unknown}/missing", json={"sha256": []}, headers=auth, timeout=30), 404,
            "no project")  # fmt: skip
    refused(httpx.post(f"{base}/projects/{pid}/manifests", json={"manifest": "{}"}, headers=auth, timeout=30), 422)
    refused(httpx.post(f"{base}/projects/{pid}/manifests", json=[1], headers=auth, timeout=30), 422)


def test_blob_with_wrong_bytes_is_refused_and_nothing_kept(
    stack: LocalStack, chain: MediaproofChain, registry: Contract
) -> None:
    pid = create(chain, registry, ALICE)
    data = os.urandom(5_000)
    claimed = hashlib.sha256(b"something else").hexdigest()
    answer = httpx.put(f"{up(stack)}/projects/{pid}/blobs/{claimed}", content=data, headers=bearer(stack, ALICE),
                       timeout=30)  # fmt: skip
    refused(answer, 422, claimed, "nothing was kept")
    incoming = stack.settings.data_dir / "upload" / "incoming"
    assert not list(incoming.glob("*/upload-*.part"))
    with client(stack, ALICE) as alice:  # neither the claimed nor the real hash is stored
        real = hashlib.sha256(data).hexdigest()
        assert alice.missing(pid, [claimed, real])["missing"] == [claimed, real]


def test_oversized_blob_gets_413_before_its_body_is_read(
    stack: LocalStack, chain: MediaproofChain, registry: Contract
) -> None:
    pid = create(chain, registry, ALICE)
    host, port = up(stack).removeprefix("http://").split(":")
    authorization = bearer(stack, ALICE)["authorization"]
    head = (f"PUT /projects/{pid}/blobs/{'ab' * 32} HTTP/1.1\r\nHost: {host}:{port}\r\n"
            f"Content-Length: {MAX_BYTES + 1}\r\nAuthorization: {authorization}\r\n\r\n")  # fmt: skip
    with socket.create_connection((host, int(port)), timeout=30) as sock:
        sock.sendall(head.encode())  # not one byte of the body: the answer must come anyway
        reply = ""
        while "MEDIAPROOF_MAX_UPLOAD_BYTES" not in reply and (chunk := sock.recv(65536)):
            reply += chunk.decode("latin-1")
    assert reply.startswith("HTTP/1.1 413"), reply[:200]
    assert "MEDIAPROOF_MAX_UPLOAD_BYTES" in reply


# --- garbage collection ---


def placements(stack: LocalStack, sha: str) -> int:
    with sqlite3.connect(stack.settings.resolved_gateway_db()) as db:
        return int(db.execute("SELECT count(*) FROM placements WHERE sha256 = ?", (sha,)).fetchone()[0])


def test_bytes_in_a_project_outlive_the_media_upload_that_stored_them(
    stack: LocalStack, chain: MediaproofChain, registry: Contract, tmp_path: Path
) -> None:
    shared, alone = photo_bytes(71, (320, 240)), photo_bytes(72, (320, 240))
    with client(stack, ALICE) as alice:
        uploads = [alice.upload_bytes(shared)["upload_id"], alice.upload_bytes(alone)["upload_id"]]
    pid = create(chain, registry, ALICE)
    with client(stack, ALICE) as alice:  # stored as media by this wallet: neither sent again nor proven
        assert alice.missing(pid, [hashlib.sha256(shared).hexdigest()]) == {"missing": [], "prove": {}}
    stored = push(stack, ALICE, pid, {"photo.jpg": shared}, tmp_path)
    deadline = time.monotonic() + 60
    for upload_id in uploads:  # both media uploads expire uncommitted (MEDIAPROOF_UPLOAD_TTL)
        while httpx.get(f"{up(stack)}/uploads/{upload_id}", timeout=30).status_code != 404:
            assert time.monotonic() < deadline, "the upload never expired"
            time.sleep(0.2)
    while placements(stack, hashlib.sha256(alone).hexdigest()):  # the sweep ran: the lone photo is unpinned…
        assert time.monotonic() < deadline, "the expired upload's bytes were never released"
        time.sleep(0.2)
    sha = hashlib.sha256(shared).hexdigest()
    assert placements(stack, sha) >= 1 and placements(stack, stored["sha256"]) >= 1  # …the project's bytes stay
    with DownloadClient(down(stack), sign_in(up(stack), ALICE)) as reader:
        assert reader.fetch_blob(pid, sha, tmp_path / "photo.jpg") == len(shared)
        assert reader.manifest(pid, stored["cid"]) == manifest_of({"photo.jpg": shared}).encode()


def test_bytes_a_project_was_told_not_to_send_stay_until_its_manifest_comes(
    stack: LocalStack, chain: MediaproofChain, registry: Contract, tmp_path: Path
) -> None:
    """`missing` tells a wallet not to send bytes of its own uncommitted media upload: they are held for the
    project as if sent then, so the upload expiring before the manifest comes does not take them (it did: the
    manifest met 409 "not stored" for bytes the service had said it had)."""
    held = photo_bytes(73, (320, 240))
    sha = hashlib.sha256(held).hexdigest()
    pid = create(chain, registry, ALICE)
    with client(stack, ALICE) as alice:
        upload_id = alice.upload_bytes(held)["upload_id"]
        deadline = time.monotonic() + 60
        while httpx.get(f"{up(stack)}/uploads/{upload_id}", timeout=30).status_code != 404:
            # asked again and again, as a slow device would: each answer holds the bytes afresh
            assert alice.missing(pid, [sha]) == {"missing": [], "prove": {}}
            assert time.monotonic() < deadline, "the upload never expired"
            time.sleep(0.2)
        assert alice.missing(pid, [sha]) == {"missing": [], "prove": {}}  # its upload is gone; the bytes are not
        stored = alice.post_manifest(pid, manifest_of({"held.jpg": held}).encode().decode(), {})
    assert placements(stack, sha) >= 1
    commit(chain, registry, ALICE, pid, stored)
    with DownloadClient(down(stack), sign_in(up(stack), ALICE)) as reader:
        assert reader.fetch_blob(pid, sha, tmp_path / "held.jpg") == len(held)


# --- who may read ---


def test_private_project_reads_need_a_session_that_may_read(
    stack: LocalStack, chain: MediaproofChain, registry: Contract, carol: LocalAccount, tmp_path: Path
) -> None:
    pid = create(chain, registry, ALICE)
    data = os.urandom(3_000)
    stored = push(stack, ALICE, pid, {"private.bin": data}, tmp_path)
    commit(chain, registry, ALICE, pid, stored)
    sha = hashlib.sha256(data).hexdigest()
    urls = [f"{down(stack)}/projects/{pid}/manifests/{stored['cid']}", f"{down(stack)}/projects/{pid}/blobs/{sha}"]
    for url in urls:
        refused(httpx.get(url, timeout=30), 401, "signed-in wallet")
        refused(httpx.get(url, headers={"authorization": "Bearer forged-token"}, timeout=30), 401)
        refused(httpx.get(url, headers=bearer(stack, carol), timeout=30), 403, carol.address)
    with DownloadClient(down(stack), sign_in(up(stack), carol)) as stranger:
        with pytest.raises(Forbidden):
            stranger.fetch_blob(pid, sha, tmp_path / "stolen.bin")
        assert not list(tmp_path.glob("*stolen*"))
    grant(chain, registry, ALICE, pid, carol.address, READ)
    carol_auth = bearer(stack, carol)
    deadline = time.monotonic() + 20  # the download service keeps chain answers ≤ MEDIAPROOF_DOWNLOAD_RESOLVE_TTL
    while httpx.get(urls[1], headers=carol_auth, timeout=30).status_code != 200:
        assert time.monotonic() < deadline, "the grant never took effect"
        time.sleep(0.2)
    granted = httpx.get(urls[1], headers=carol_auth, timeout=30)
    assert granted.content == data and "private" in granted.headers["cache-control"]
    assert httpx.get(urls[0], headers=carol_auth, timeout=30).status_code == 200
    call = registry.functions.revoke(bytes.fromhex(pid[2:]), carol.address)
    transactions.transact(chain.w3, ALICE, call, chain_id=chain.chain_id)
    deadline = time.monotonic() + 20
    while (status := httpx.get(urls[1], headers=carol_auth, timeout=30).status_code) != 403:
        assert status == 200 and time.monotonic() < deadline, "the revoke never took effect"
        time.sleep(0.2)
    refused(httpx.get(urls[0], headers=carol_auth, timeout=30), 403)


def test_hash_stored_but_not_in_the_project_is_404(
    stack: LocalStack, chain: MediaproofChain, registry: Contract, tmp_path: Path
) -> None:
    pid = create(chain, registry, ALICE, private=False)
    inside, outside = os.urandom(1_000), os.urandom(1_000)
    push(stack, ALICE, pid, {"in": inside}, tmp_path)
    with client(stack, ALICE) as alice:  # stored, by the project's own owner, but never named by its manifests
        path, sha = blob(tmp_path, outside)
        alice.put_blob(pid, sha, path)
    refused(httpx.get(f"{down(stack)}/projects/{pid}/blobs/{sha}", timeout=30), 404, sha)
    with DownloadClient(down(stack)) as anyone, pytest.raises(NotRegistered):
        anyone.fetch_blob(pid, sha, tmp_path / "out.bin")
    refused(httpx.get(f"{down(stack)}/projects/{pid}/manifests/bafyunknown", timeout=30), 404)
    refused(httpx.get(f"{down(stack)}/projects/0x12/blobs/{sha}", timeout=30), 422, "project id")
    refused(httpx.get(f"{down(stack)}/projects/{pid}/blobs/nothex", timeout=30), 422, "sha256")
    refused(httpx.get(f"{down(stack)}/projects/{'0x' + '55' * 32}/blobs/{sha}", timeout=30), 404, "no project")


def test_fetch_blob_refuses_tampered_bytes_and_leaves_dest_alone(tmp_path: Path) -> None:
    """A tampering proxy between the device and the download service: the client's own check catches it."""
    data = os.urandom(1_000)

    class Tampering(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body = data[:-1] + bytes([data[-1] ^ 1])
            self.send_response(200)
            self.send_header("content-length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Tampering)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    dest = tmp_path / "kept.bin"
    dest.write_bytes(b"the device's copy")
    try:
        with (
            DownloadClient(f"http://127.0.0.1:{server.server_address[1]}") as reader,
            pytest.raises(ContentMismatch, match="nothing was written"),
        ):
            reader.fetch_blob("0x" + "11" * 32, hashlib.sha256(data).hexdigest(), dest)
    finally:
        server.shutdown()
        server.server_close()
    assert dest.read_bytes() == b"the device's copy"
    assert [p.name for p in tmp_path.iterdir()] == ["kept.bin"]  # the temp file is gone too
