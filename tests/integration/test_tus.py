"""Resumable uploads (tus 1.0.0 at /files/) on a real stack (anvil, a js-ipfs daemon, a storage cluster, the upload
service), driven by a third-party client (PyPI `tuspy`) as well as our own: a finished upload is a normal upload, a
cut upload resumes with only the missing bytes, memory stays flat for a big one, and every attack on someone
else's upload, the offsets, checksums, sizes, metadata and protocol version gets a clear 4xx and loses nothing.
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
import os
import socket
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import imageio_ffmpeg
import pytest
from eth_account import Account
from tusclient import client as tus_client

from mediaproof import eip712
from mediaproof.chain import MediaproofChain
from mediaproof.clients.upload import UploadClient, upload_with_cut
from mediaproof.devstack import LocalStack
from mediaproof.settings import ANVIL_TEST_KEYS
from mediaproof.upload.memory import memory_of
from tests.integration.auth import auth
from tests.integration.stack import cli_env, stack_settings
from tests.unit.test_upload_intake import photo_bytes

pytestmark = pytest.mark.integration
ALICE = Account.from_key(ANVIL_TEST_KEYS[0])
BOB = Account.from_key(ANVIL_TEST_KEYS[1])
TUS = {"Tus-Resumable": "1.0.0"}
MiB = 1 << 20
LIMIT = 300 * MiB  # the stack's MEDIAPROOF_MAX_UPLOAD_BYTES
BIG = 200 * MiB  # the flat-memory upload
MEMORY_BOUND = 160 * MiB  # generous: the service's RSS may grow by at most this while it takes BIG bytes


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalStack]:
    settings = stack_settings(tmp_path_factory.mktemp("tus")).model_copy(
        update={"batch_interval": 0.5, "max_upload_bytes": LIMIT, "upload_sweep_interval": 0.5}
    )
    running = LocalStack(settings).start()
    yield running
    running.stop()


def url(stack: LocalStack) -> str:
    return stack.settings.resolved_upload_url()


def files(stack: LocalStack) -> str:
    return url(stack) + "/files/"


def partials(stack: LocalStack) -> list[Path]:
    return sorted((stack.settings.data_dir / "upload" / "tus").glob("*.part"))


def headers(stack: LocalStack, who: Any, **extra: str) -> dict[str, str]:
    return {**TUS, **auth(url(stack), who), **{k.replace("_", "-"): v for k, v in extra.items()}}


def create(stack: LocalStack, who: Any, length: int, **extra: str) -> str:
    answer = httpx.post(files(stack), headers=headers(stack, who, Upload_Length=str(length), **extra), timeout=60)
    assert answer.status_code == 201, answer.text
    assert answer.headers["tus-resumable"] == "1.0.0" and "upload-expires" in answer.headers
    return str(answer.headers["location"])


def patch(stack: LocalStack, who: Any, location: str, offset: int, data: bytes, **extra: str) -> httpx.Response:
    sent = headers(stack, who, Upload_Offset=str(offset), Content_Type="application/offset+octet-stream", **extra)
    return httpx.patch(location, content=data, headers=sent, timeout=120)


def head(stack: LocalStack, who: Any, location: str) -> httpx.Response:
    return httpx.head(location, headers=headers(stack, who), timeout=60)


def refused(answer: httpx.Response, status: int, *fragments: str) -> None:
    assert answer.status_code == status, (answer.status_code, answer.text)
    assert answer.headers["tus-resumable"] == "1.0.0"
    if answer.request.method != "HEAD":
        body = answer.json()
        assert body["status"] == status and len(body["detail"]) > 20, body
        for fragment in fragments:
            assert fragment in body["detail"], body["detail"]


def b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


def clip(tmp_path: Path, seconds: float = 6.0) -> Path:
    """A real MP4 of about a megabyte a second (the noise does not compress), made in well under a second."""
    out = tmp_path / "clip.mp4"
    subprocess.run(
        [imageio_ffmpeg.get_ffmpeg_exe(), "-hide_banner", "-loglevel", "error", "-y", "-f", "lavfi",
         "-i", f"testsrc=duration={seconds}:size=320x240:rate=25", "-vf", "noise=alls=40:allf=t", "-c:v", "libx264",
         "-preset", "ultrafast", "-pix_fmt", "yuv420p",
         "-movflags", "+faststart", str(out)],
        check=True, timeout=120,
    )  # fmt: skip
    return out


class CountingFile(io.BufferedReader):
    """The file tuspy reads its chunks from, counting the bytes it reads (what it sends)."""

    def __init__(self, path: Path) -> None:
        super().__init__(io.FileIO(str(path), "rb"))
        self.read_bytes = 0

    def read(self, size: int | None = -1) -> bytes:
        data = super().read(size)
        self.read_bytes += len(data)
        return data


def tuspy(stack: LocalStack, who: Any) -> tus_client.TusClient:
    return tus_client.TusClient(files(stack), headers=auth(url(stack), who))


def final_upload_id(uploader: Any) -> str:
    return str(uploader.request.response_headers["mediaproof-upload-id"])


# --- a third-party client ---


def test_tuspy_upload_of_a_jpeg_ends_as_a_normal_upload_and_registers(stack: LocalStack, tmp_path: Path) -> None:
    photo = tmp_path / "photo.jpg"
    photo.write_bytes(photo_bytes(301, (1600, 1200)))
    uploader = tuspy(stack, ALICE).uploader(
        str(photo), chunk_size=64 << 10, metadata={"filename": "photo.jpg"}, upload_checksum=True
    )  # tuspy's checksum is sha1
    uploader.upload()
    upload_id = final_upload_id(uploader)
    described = httpx.get(url(stack) + f"/uploads/{upload_id}", timeout=30).json()
    assert described["sha256"] == hashlib.sha256(photo.read_bytes()).hexdigest()
    assert described["media_type"] == "image/jpeg" and described["size"] == photo.stat().st_size
    assert (described["width"], described["height"]) == (1600, 1200)
    assert not partials(stack), "the partial file is gone once the upload is admitted"
    after = head(stack, ALICE, uploader.url)
    assert after.status_code == 200 and after.headers["upload-offset"] == str(photo.stat().st_size)
    assert after.headers["mediaproof-upload-id"] == upload_id and after.headers["cache-control"] == "no-store"
    # It is an upload like any POST /uploads: its owner prepares and commits it, and it is proven.
    chain = MediaproofChain.from_settings(stack.settings)
    with UploadClient(url(stack), account=ALICE, chain_id=chain.chain_id) as client:
        prepared = client.prepare(upload_id, ALICE.address, "Sent resumably")
        done = client.commit(upload_id, eip712.sign(prepared["typed_data"], ALICE.key))
        while done.get("state") == "anchoring":
            time.sleep(0.2)
            done = client.status(upload_id)
    assert done["short_id"] and done["media_id"].startswith("0x")


def test_tuspy_upload_cut_at_half_resumes_with_only_the_rest(stack: LocalStack, tmp_path: Path) -> None:
    video = clip(tmp_path)
    size = video.stat().st_size
    chunk = max(16 << 10, size // 16)
    first_file = CountingFile(video)
    first = tuspy(stack, BOB).uploader(file_stream=first_file, chunk_size=chunk, upload_checksum=True)
    first.upload(stop_at=size // 2)  # the client stops after half its chunks
    held = int(head(stack, BOB, first.url).headers["upload-offset"])
    assert size // 2 <= held < size // 2 + chunk
    second_file = CountingFile(video)
    second = tuspy(stack, BOB).uploader(file_stream=second_file, chunk_size=chunk, url=first.url)
    assert second.offset == held  # a new client asked the service (HEAD) where to go on
    second.upload()
    assert second_file.read_bytes == size - held, "only the missing bytes were sent again"
    assert first_file.read_bytes + second_file.read_bytes == size
    described = httpx.get(url(stack) + f"/uploads/{final_upload_id(second)}", timeout=30).json()
    assert described["sha256"] == hashlib.sha256(video.read_bytes()).hexdigest()
    assert described["media_type"] == "video/mp4" and described["duration"] > 5


def test_our_client_resumes_after_a_cut_from_the_services_offset(stack: LocalStack, tmp_path: Path) -> None:
    video = clip(tmp_path, 4.0)
    size = video.stat().st_size
    part, rest = upload_with_cut(url(stack), ALICE, video, 0.5, chunk_bytes=256 << 10)
    assert part.upload_id is None and part.offset >= size // 2 and part.sent_bytes == part.offset
    assert rest.upload_id is not None and rest.resumed_bytes == size - part.offset
    described = httpx.get(url(stack) + f"/uploads/{rest.upload_id}", timeout=30).json()
    assert described["sha256"] == hashlib.sha256(video.read_bytes()).hexdigest()


class BreakingTransport(httpx.HTTPTransport):
    """Breaks the connection of the `nth` PATCH after `after` bytes of its body, as a dropped network would."""

    def __init__(self, nth: int, after: int) -> None:
        super().__init__()
        self.nth, self.after, self.patches = nth, after, 0

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        if request.method == "PATCH":
            self.patches += 1
            if self.patches == self.nth:
                request.stream = CutStream(request.stream, self.after)  # type: ignore[arg-type]
        return super().handle_request(request)


class CutStream(httpx.SyncByteStream):
    def __init__(self, inner: Any, after: int) -> None:
        self.inner, self.after = inner, after

    def __iter__(self) -> Iterator[bytes]:
        sent = 0
        for piece in self.inner:
            if sent + len(piece) >= self.after:
                yield piece[: self.after - sent]
                raise httpx.WriteError("the connection broke (a test's cut)")
            sent += len(piece)
            yield piece


def test_our_client_resumes_a_broken_connection_from_the_services_offset(stack: LocalStack, tmp_path: Path) -> None:
    video = clip(tmp_path, 4.0)
    size, chunk = video.stat().st_size, 256 << 10
    said: list[str] = []
    transport = BreakingTransport(nth=3, after=chunk // 2)  # the third chunk breaks off half-way
    with UploadClient(url(stack), account=ALICE, chunk_bytes=chunk, transport=transport, notify=said.append) as client:
        done = client.upload_resumable(video)
    assert said and f"resuming at byte {2 * chunk} of {size}" in said[0], said  # the broken chunk was discarded
    assert done.upload_id is not None and done.offset == size
    described = httpx.get(url(stack) + f"/uploads/{done.upload_id}", timeout=30).json()
    assert described["sha256"] == hashlib.sha256(video.read_bytes()).hexdigest()


def test_cli_sends_a_file_over_the_threshold_resumably(stack: LocalStack, tmp_path: Path) -> None:
    video = clip(tmp_path, 3.0)
    env = cli_env(
        stack.settings.model_copy(update={"upload_resumable_above": 1000, "upload_chunk_bytes": 64 << 10}),
        ANVIL_TEST_KEYS[1],
    )
    done = subprocess.run(
        [sys.executable, "-m", "mediaproof.cli", "upload", str(video), "--title", "Resumed clip", "--json"],
        env=env, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert result["sha256"] == hashlib.sha256(video.read_bytes()).hexdigest() and result["short_id"]
    with sqlite3.connect(stack.settings.resolved_gateway_db(), timeout=30) as db:
        came_by_tus = db.execute(
            "SELECT count(*) FROM tus_uploads t JOIN uploads u ON u.upload_id = t.upload_id WHERE u.sha256 = ?",
            (result["sha256"],),
        ).fetchone()[0]
    assert came_by_tus == 1


def test_a_200_mb_upload_keeps_the_services_memory_flat(stack: LocalStack, tmp_path: Path) -> None:
    """A real MP4 followed by a 200 MB `free` box (valid MP4, any player skips it): received in 16 MiB chunks,
    hashed again from disk at the end, checked, stored, while the service's RSS stays within a generous bound."""
    video = clip(tmp_path, 1.0)
    big = tmp_path / "big.mp4"
    with big.open("wb") as out:
        out.write(video.read_bytes())
        padding = BIG - 8
        out.write(padding.to_bytes(4, "big") + b"free")
        block = os.urandom(MiB)  # incompressible, so no layer can hold it cheaply
        for _ in range(padding // MiB):
            out.write(block)
        out.write(block[: padding % MiB])
    assert stack.upload is not None and stack.upload.proc is not None
    pid = stack.upload.proc.pid
    before = memory_of(pid)["VmRSS"]
    peak = [before]
    stop = threading.Event()

    def watch() -> None:
        while not stop.is_set():
            peak[0] = max(peak[0], memory_of(pid)["VmRSS"])
            time.sleep(0.05)

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    try:
        with UploadClient(url(stack), account=ALICE, chunk_bytes=16 * MiB, timeout=600) as client:
            done = client.upload_resumable(big)
    finally:
        stop.set()
        watcher.join()
    print(f"\n{BIG / MiB:.0f} MB resumable upload: service RSS {before / MiB:.0f} → peak {peak[0] / MiB:.0f} MiB")
    assert peak[0] - before < MEMORY_BOUND, f"RSS grew by {(peak[0] - before) / MiB:.0f} MiB"
    assert done.upload_id is not None and done.sent_bytes == big.stat().st_size
    described = httpx.get(url(stack) + f"/uploads/{done.upload_id}", timeout=30).json()
    assert described["size"] == big.stat().st_size and described["media_type"] == "video/mp4"


# --- the protocol's own answers ---


def test_options_describes_the_protocol_and_the_limit(stack: LocalStack) -> None:
    answer = httpx.options(files(stack), timeout=30)
    assert answer.status_code == 204
    assert answer.headers["tus-version"] == "1.0.0" and answer.headers["tus-resumable"] == "1.0.0"
    assert set(answer.headers["tus-extension"].split(",")) == {
        "creation", "creation-with-upload", "termination", "checksum", "expiration",
    }  # fmt: skip
    assert "sha256" in answer.headers["tus-checksum-algorithm"].split(",")
    assert answer.headers["tus-max-size"] == str(LIMIT)


def test_creation_with_upload_takes_the_first_chunk_with_the_post(stack: LocalStack) -> None:
    data = photo_bytes(302, (320, 240))
    answer = httpx.post(
        files(stack), content=data[:1000],
        headers=headers(stack, ALICE, Upload_Length=str(len(data)), Content_Type="application/offset+octet-stream"),
    )  # fmt: skip
    assert answer.status_code == 201 and answer.headers["upload-offset"] == "1000"
    done = patch(stack, ALICE, answer.headers["location"], 1000, data[1000:])
    assert done.status_code == 204 and done.headers["upload-offset"] == str(len(data))
    assert done.headers["mediaproof-upload-id"]


def test_termination_removes_the_upload_and_its_bytes(stack: LocalStack) -> None:
    location = create(stack, ALICE, 5000)
    assert patch(stack, ALICE, location, 0, b"x" * 2000).status_code == 204
    assert any(p.stat().st_size == 2000 for p in partials(stack))
    gone = httpx.delete(location, headers=headers(stack, ALICE), timeout=30)
    assert gone.status_code == 204 and gone.headers["tus-resumable"] == "1.0.0"
    refused(head(stack, ALICE, location), 404)
    assert not any(p.name.startswith(location.rsplit("/", 1)[1]) for p in partials(stack))


# --- attacks ---


def test_another_wallet_cannot_see_write_or_delete_an_upload(stack: LocalStack) -> None:
    location = create(stack, ALICE, 5000)
    assert patch(stack, ALICE, location, 0, b"a" * 1000).status_code == 204
    refused(head(stack, BOB, location), 404)  # as if it did not exist: never revealed
    refused(patch(stack, BOB, location, 1000, b"b" * 1000), 404, "no resumable upload")
    refused(httpx.delete(location, headers=headers(stack, BOB), timeout=30), 404)
    mine = head(stack, ALICE, location)
    assert mine.status_code == 200 and mine.headers["upload-offset"] == "1000"  # nothing lost


def test_every_call_needs_a_session(stack: LocalStack) -> None:
    location = create(stack, ALICE, 5000)
    calls = [
        httpx.post(files(stack), headers={**TUS, "Upload-Length": "100"}),
        httpx.head(location, headers=TUS),
        httpx.patch(location, content=b"x", headers={**TUS, "Upload-Offset": "0",
                                                      "Content-Type": "application/offset+octet-stream"}),
        httpx.delete(location, headers=TUS),
        httpx.patch(location, content=b"x", headers={**TUS, "Upload-Offset": "0", "Authorization": "Bearer forged",
                                                      "Content-Type": "application/offset+octet-stream"}),
    ]  # fmt: skip
    for answer in calls:
        refused(answer, 401)
    assert head(stack, ALICE, location).headers["upload-offset"] == "0"


def test_a_wrong_offset_is_409_and_changes_nothing(stack: LocalStack) -> None:
    location = create(stack, ALICE, 5000)
    assert patch(stack, ALICE, location, 0, b"a" * 1000).status_code == 204
    refused(patch(stack, ALICE, location, 500, b"b" * 1000), 409, "Upload-Offset is 500", "1000")
    refused(patch(stack, ALICE, location, 3000, b"b" * 1000), 409)
    assert head(stack, ALICE, location).headers["upload-offset"] == "1000"


def test_a_bad_checksum_is_460_and_the_chunk_is_discarded(stack: LocalStack) -> None:
    location = create(stack, ALICE, 5000)
    wrong = base64.b64encode(hashlib.sha256(b"something else").digest()).decode()
    refused(patch(stack, ALICE, location, 0, b"a" * 3000, Upload_Checksum=f"sha256 {wrong}"), 460, "discarded")
    assert head(stack, ALICE, location).headers["upload-offset"] == "0"
    right = base64.b64encode(hashlib.sha256(b"a" * 3000).digest()).decode()
    assert patch(stack, ALICE, location, 0, b"a" * 3000, Upload_Checksum=f"sha256 {right}").status_code == 204
    assert head(stack, ALICE, location).headers["upload-offset"] == "3000"
    refused(patch(stack, ALICE, location, 3000, b"b", Upload_Checksum="md5 AAAA"), 422, "md5")
    refused(patch(stack, ALICE, location, 3000, b"b", Upload_Checksum="sha256 !!notbase64"), 422, "base64")


def read_answer(sock: socket.socket) -> str:
    """One whole HTTP answer (head and its Content-Length of body), however the packets fall."""
    raw = b""
    while b"\r\n\r\n" not in raw:
        raw += sock.recv(65536) or b"\r\n\r\n"
    head, _, body = raw.partition(b"\r\n\r\n")
    length = next(
        (int(line.split(b":")[1]) for line in head.lower().split(b"\r\n") if line.startswith(b"content-length:")), 0
    )
    while len(body) < length and (more := sock.recv(65536)):
        body += more
    return (head + b"\r\n\r\n" + body).decode("latin-1")


def test_an_upload_length_over_the_limit_is_413_before_any_body_is_read(stack: LocalStack) -> None:
    # A body is announced (creation-with-upload) but none is sent: the answer comes without waiting for it.
    host, port = url(stack).removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=30) as sock:
        sock.sendall(
            (f"POST /files/ HTTP/1.1\r\nHost: {host}:{port}\r\nTus-Resumable: 1.0.0\r\n"
             f"Authorization: {auth(url(stack), ALICE)['authorization']}\r\nUpload-Length: {LIMIT + 1}\r\n"
             f"Content-Type: application/offset+octet-stream\r\nContent-Length: {LIMIT + 1}\r\n\r\n").encode()
        )  # fmt: skip
        answer = read_answer(sock)
    assert answer.startswith("HTTP/1.1 413"), answer[:200]
    assert "tus-resumable: 1.0.0" in answer.lower() and "upload limit" in answer
    refused(httpx.post(files(stack), headers=headers(stack, ALICE, Upload_Length="1" + "0" * 30)), 422)
    refused(httpx.post(files(stack), headers=headers(stack, ALICE)), 422, "Upload-Length is required")
    refused(httpx.post(files(stack), headers=headers(stack, ALICE, Upload_Length="0")), 422, "empty")


@pytest.mark.parametrize(
    "metadata",
    ["filename !!!notbase64", "filename aGk=,filename aGk=", "file name aGk=", "filename aGk= extra",
     "filename /w==", f"project {b64('0x12')},sha256 {b64('ab' * 32)}", f"sha256 {b64('not hex')}", ",", "x" * 5000],
)  # fmt: skip
def test_malformed_metadata_is_422(stack: LocalStack, metadata: str) -> None:
    before = len(partials(stack))
    refused(httpx.post(files(stack), headers=headers(stack, ALICE, Upload_Length="100", Upload_Metadata=metadata)), 422)
    assert len(partials(stack)) == before, "nothing was created"


def test_a_patch_beyond_upload_length_is_refused_and_loses_nothing(stack: LocalStack) -> None:
    location = create(stack, ALICE, 2000)
    assert patch(stack, ALICE, location, 0, b"a" * 1500).status_code == 204
    refused(patch(stack, ALICE, location, 1500, b"b" * 1000), 413, "beyond Upload-Length")

    def chunked() -> Iterator[bytes]:  # no Content-Length: refused as the bytes pass the end
        yield b"c" * 400
        yield b"d" * 400

    sent = headers(stack, ALICE, Upload_Offset="1500", Content_Type="application/offset+octet-stream")
    refused(httpx.patch(location, content=chunked(), headers=sent, timeout=60), 413, "beyond Upload-Length")
    assert head(stack, ALICE, location).headers["upload-offset"] == "1500"


def test_a_wrong_tus_version_is_412_and_a_wrong_content_type_415(stack: LocalStack) -> None:
    location = create(stack, ALICE, 2000)
    for version in ("0.2.2", None):
        sent = {**auth(url(stack), ALICE), **({"Tus-Resumable": version} if version else {})}
        answer = httpx.post(files(stack), headers={**sent, "Upload-Length": "10"})
        refused(answer, 412, "1.0.0")
        assert answer.headers["tus-version"] == "1.0.0"
    sent = headers(stack, ALICE, Upload_Offset="0", Content_Type="application/octet-stream")
    refused(httpx.patch(location, content=b"x" * 10, headers=sent), 415, "offset+octet-stream")
    assert head(stack, ALICE, location).headers["upload-offset"] == "0"


def test_a_finished_upload_whose_content_is_refused_leaves_nothing(stack: LocalStack) -> None:
    location = create(stack, ALICE, 3000)
    refused(patch(stack, ALICE, location, 0, os.urandom(3000)), 422, "not a photo or video")
    refused(head(stack, ALICE, location), 404)
    assert not any(p.name.startswith(location.rsplit("/", 1)[1]) for p in partials(stack))


def test_an_expired_upload_is_410_and_the_sweep_removes_its_bytes(stack: LocalStack) -> None:
    location = create(stack, ALICE, 5000)
    assert patch(stack, ALICE, location, 0, b"a" * 1000).status_code == 204
    tus_id = location.rsplit("/", 1)[1]
    with sqlite3.connect(stack.settings.resolved_gateway_db(), timeout=30) as db:
        db.execute("UPDATE tus_uploads SET expires_at = ? WHERE tus_id = ?", (time.time() - 1, tus_id))
    # Until the sweep comes (every 0.5 s here) the upload answers 410; then it is gone altogether (404).
    seen = set()
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        answer = patch(stack, ALICE, location, 1000, b"b")
        seen.add(answer.status_code)
        if answer.status_code == 404:
            break
        refused(answer, 410, "expired")
        time.sleep(0.05)
    assert 404 in seen
    assert not (stack.settings.data_dir / "upload" / "tus" / f"{tus_id}.part").exists()


def test_a_project_upload_names_a_project_that_exists_before_a_byte_is_taken(stack: LocalStack) -> None:
    """Project files go by tus too (tests/integration/test_project_sync.py sends and resumes one, and refuses a
    stranger); here: a project that does not exist is 404 at creation, and malformed project metadata 422."""
    metadata = f"project {b64('0x' + '12' * 32)},sha256 {b64('ab' * 32)}"
    refused(httpx.post(files(stack), headers=headers(stack, ALICE, Upload_Length="100", Upload_Metadata=metadata)),
            404, "no project")  # fmt: skip
    malformed = f"project {b64('0x12')},sha256 {b64('ab' * 32)}"
    refused(httpx.post(files(stack), headers=headers(stack, ALICE, Upload_Length="100", Upload_Metadata=malformed)),
            422, "project id")  # fmt: skip


# --- the CLI ---


def test_cli_refuses_a_file_over_the_limit_before_hashing_or_sending(stack: LocalStack, tmp_path: Path) -> None:
    huge = tmp_path / "huge.mp4"
    with huge.open("wb") as out:  # sparse: 1.2 × the limit, costs no disk
        out.write(b"\0\0\0\x18ftypmp42")
        out.truncate(int(LIMIT * 1.2))
    env = {**cli_env(stack.settings.model_copy(update={"max_upload_bytes": 1 << 40}), ANVIL_TEST_KEYS[0])}
    done = subprocess.run(
        [sys.executable, "-m", "mediaproof.cli", "upload", str(huge), "--title", "Too big"],
        env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert done.returncode == 2, done.stderr
    assert f"{huge.stat().st_size:,} bytes" in done.stderr and f"{LIMIT:,} bytes" in done.stderr
    assert "upload service's" in done.stderr and "hashing" not in done.stderr
