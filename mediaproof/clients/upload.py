"""HTTP client of the upload service, and the whole register-a-file flow the CLI runs through it.

The client never signs blindly: the typed data `prepare` returns is checked against the file hashed here (sha256,
CID, size), the title asked for, the signing owner, and MediaApp's domain on this chain before the key signs it; the
sign-in message is checked to be for this service, this wallet (and chain) before the key signs it.

Files over `resumable_above` bytes go through the service's tus endpoint (/files/) in checksummed chunks, and a
broken connection is resumed from the offset the service reports (HEAD), so only the missing bytes are sent again.

With an `account`, the client signs in by itself before its first write (Sign-In with Ethereum: a nonce, the
message signed with EIP-191, a bearer token kept for the session) and again if the session ends. On 429 (or 503
with Retry-After) it waits as long as the service says and tries again, saying so through `notify`.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import sys
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
from eth_account.messages import encode_defunct
from eth_account.signers.local import LocalAccount

from mediaproof import eip712, transactions
from mediaproof.chain import MediaproofChain
from mediaproof.clients import upload_routes
from mediaproof.content import ContentDigest
from mediaproof.errors import (
    ChainError,
    ChecksumMismatch,
    ContentMismatch,
    MediaproofError,
    NotAuthenticated,
    StorageError,
    UploadConflict,
)
from mediaproof.problems import error_from

CHUNK = 1 << 20
REFUSED = "the upload service refused"  # what each of its error answers says first
MAX_RETRY_WAIT = 300  # seconds: a longer Retry-After (a daily quota) is reported, not waited out
MAX_TRIES = 6
TUS = {"Tus-Resumable": "1.0.0"}
HEX = frozenset("0123456789abcdef")
RESUME_TRIES = 8  # broken chunks in a row before a resumable upload gives up (each resumes from the service's offset)


def _stderr(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


class UploadClient:
    def __init__(
        self,
        url: str,
        timeout: float = 120.0,
        account: LocalAccount | None = None,
        chain_id: int | None = None,
        notify: Callable[[str], None] = _stderr,
        sleep: Callable[[float], None] = time.sleep,
        resumable_above: int | None = None,
        chunk_bytes: int = 16 << 20,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.url = url.rstrip("/")
        self.resumable_above = resumable_above  # files bigger than this go by tus (None: never)
        self.chunk_bytes = chunk_bytes
        self._http = httpx.Client(base_url=self.url, timeout=timeout, transport=transport)
        self.account = account
        self.chain_id = chain_id
        self.notify = notify
        self.sleep = sleep
        self.token: str | None = None

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> UploadClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def sign_in(self) -> str:
        """Sign in with the account's key (EIP-4361, EIP-191 signature); the bearer token, kept for later calls."""
        if self.account is None:
            raise NotAuthenticated("writing to the upload service needs a signed-in wallet: give the client a key")
        issued = self._call("POST", upload_routes.NONCE, json={"address": self.account.address}, auth=False)
        message = str(issued.get("message", ""))
        check_sign_in_message(message, self.url, self.account.address, self.chain_id)
        signature = self.account.sign_message(encode_defunct(text=message)).signature
        body = {"message": message, "signature": "0x" + bytes(signature).hex()}
        session = self._call("POST", upload_routes.SESSION, json=body, auth=False)
        self.token = str(session["token"])
        return self.token

    def upload(self, path: Path, progress: Callable[[int], None] | None = None) -> dict[str, Any]:
        """POST the file's bytes, streamed; the service's answer (upload id, sha256, cid, type, size, variants)."""
        size = path.stat().st_size
        return self._call(
            "POST", upload_routes.UPLOADS, body=lambda: _chunks(path, progress), headers={"content-length": str(size)}
        )

    def store(self, path: Path, progress: Callable[[int], None] | None = None) -> dict[str, Any]:
        """Send the file the way its size calls for: one POST, or resumable chunks above `resumable_above`; the
        upload's description either way."""
        if self.resumable_above is not None and path.stat().st_size > self.resumable_above:
            done = self.upload_resumable(path, progress)
            return self.status(str(done.upload_id))
        return self.upload(path, progress)

    def max_upload_bytes(self) -> int | None:
        """The largest file the service takes (its tus Tus-Max-Size), or None if it does not say."""
        response = self._send("OPTIONS", upload_routes.RESUMABLE, headers=TUS)
        value = response.headers.get("tus-max-size", "")
        return int(value) if response.status_code < 400 and value.isdigit() else None

    def create_resumable(self, size: int, metadata: dict[str, str] | None = None) -> str:
        """Start a resumable upload of `size` bytes; its URL (tus Location)."""
        headers = {**TUS, "Upload-Length": str(size)}
        if metadata:
            headers["Upload-Metadata"] = ",".join(
                f"{key} {base64.b64encode(value.encode()).decode()}" for key, value in metadata.items()
            )
        response = self._exchange("POST", upload_routes.RESUMABLE, headers=headers)
        _raise_for(response)
        return str(httpx.URL(self.url + "/").join(response.headers["location"]))

    def resumable_offset(self, location: str) -> int:
        """The bytes the service holds of a resumable upload (tus HEAD)."""
        response = self._exchange("HEAD", location, headers=dict(TUS))
        _raise_for(response)
        return int(response.headers["upload-offset"])

    def upload_resumable(
        self,
        path: Path,
        progress: Callable[[int], None] | None = None,
        *,
        location: str | None = None,
        stop_at: int | None = None,
        metadata: dict[str, str] | None = None,
    ) -> Resumable:
        """Send the file through tus in chunks of `chunk_bytes`, each with its sha256 (Upload-Checksum), from the
        offset the service holds: a new upload, or the one at `location`. A chunk whose connection breaks is
        resumed from the service's offset (HEAD); `stop_at` stops after that many bytes (a deliberate cut, which a
        later call with the same `location` resumes). Only the bytes the service lacks are sent."""
        size = path.stat().st_size
        location = location or self.create_resumable(size, metadata)
        offset = self.resumable_offset(location)
        end = size if stop_at is None else min(size, stop_at)
        resumed_at, sent, broken, upload_id = offset, 0, 0, None
        while offset < end or (offset == size and upload_id is None):
            length = min(self.chunk_bytes, end - offset)
            headers = {
                **TUS,
                "Upload-Offset": str(offset),
                "Content-Type": "application/offset+octet-stream",
                "Content-Length": str(length),
                "Upload-Checksum": "sha256 " + base64.b64encode(_sha256_of(path, offset, length)).decode(),
            }
            body = functools.partial(_chunks, path, progress, offset, length)
            try:
                response = self._exchange("PATCH", location, body=body, headers=headers)
                _raise_for(response)
            except (StorageError, ChecksumMismatch, UploadConflict) as exc:
                broken += 1
                if broken > RESUME_TRIES:
                    raise
                self.sleep(min(10.0, 0.25 * 2 ** (broken - 1)))  # the service may still be letting go of that PATCH
                offset = self.resumable_offset(location)
                self.notify(f"a chunk of the upload broke off ({exc}); resuming at byte {offset} of {size}")
                continue
            broken = 0
            sent += length
            offset = int(response.headers["upload-offset"])
            upload_id = response.headers.get("mediaproof-upload-id")
        return Resumable(location, offset, size, offset - resumed_at, sent, upload_id)

    def upload_bytes(self, data: bytes) -> dict[str, Any]:
        return self._call("POST", upload_routes.UPLOADS, content=data)

    def status(self, upload_id: str) -> dict[str, Any]:
        return self._call("GET", upload_routes.upload(upload_id), auth=False)

    def prepare(
        self, upload_id: str, owner: str, title: str, parent: str | None = None, mode: str = "batched"
    ) -> dict[str, Any]:
        body = {"owner": owner, "title": title, "mode": mode, **({"parent": parent} if parent else {})}
        return self._call("POST", upload_routes.prepare(upload_id), json=body)

    def commit(self, upload_id: str, signature: bytes, send: str = "relayer") -> dict[str, Any]:
        body = {"signature": "0x" + signature.hex(), "send": send}
        return self._call("POST", upload_routes.commit(upload_id), json=body)

    def wallet(self, owner: str) -> dict[str, Any]:
        return self._call("GET", upload_routes.user(owner), auth=False)

    def onboarding(self, owner: str, deposit_wei: int | None = None) -> dict[str, Any]:
        body: dict[str, Any] = {"owner": owner}
        if deposit_wei is not None:
            body["deposit_wei"] = str(deposit_wei)
        return self._call("POST", upload_routes.USERS, json=body)

    # --- social actions (signed by their author: no session needed) ---

    def post_action(self, signed: dict[str, Any], wait: bool = False) -> dict[str, Any]:
        """Send a signed action ({kind, message, signature}); {action_id, kind, author, state}, and with `wait`
        once its batch is anchored, also batch, tx and its proof."""
        body = {k: signed[k] for k in ("kind", "message", "signature")}
        params = {"wait": "true"} if wait else None
        return self._call("POST", upload_routes.ACTIONS, auth=False, json=body, params=params)

    def action(self, action_id: str) -> dict[str, Any]:
        """An accepted action's state, and once anchored its batch, tx and proof (mediaproof-action-proof-v1)."""
        return self._call("GET", upload_routes.action(action_id), auth=False)

    # --- projects (a project id is 0x + 64 hex, or its 32 bytes) ---

    def delete_prepare(self, media_id: str) -> dict[str, Any]:
        return self._call("POST", f"/media/{media_id}/delete/prepare")

    def delete(self, media_id: str, nonce: int, deadline: int, signature: bytes) -> dict[str, Any]:
        body = {"nonce": str(nonce), "deadline": str(deadline), "signature": "0x" + signature.hex()}
        return self._call("POST", f"/media/{media_id}/delete", json=body)

    def missing(self, pid: str | bytes, hashes: Iterable[str]) -> dict[str, Any]:
        """{"missing": [hashes no cluster holds: send them], "prove": {hash: nonce to answer with
        mediaproof.projects.possession.answer}}; hashes this wallet may already read are in neither."""
        return self._call("POST", upload_routes.project_missing(pid), json={"sha256": list(hashes)})

    def put_blob(self, pid: str | bytes, sha256_hex: str, path: Path) -> dict[str, Any]:
        """Stream the file at `path` as the project blob `sha256_hex`; {"sha256", "cid", "size", ...}."""
        size = path.stat().st_size
        return self._call(
            "PUT",
            upload_routes.project_blob(pid, sha256_hex),
            body=lambda: _chunks(path, None),
            headers={"content-length": str(size), "content-type": "application/octet-stream"},
        )

    def post_manifest(self, pid: str | bytes, manifest_text: str, possession: dict[str, str]) -> dict[str, Any]:
        """Store a canonical manifest for the project ({"cid", "sha256", "size"}: what ProjectRegistry.commit
        takes next); `possession` answers the nonces `missing` gave, by hash."""
        body = {"manifest": manifest_text, "possession": possession}
        return self._call("POST", upload_routes.project_manifests(pid), json=body)

    def _call(
        self,
        method: str,
        path: str,
        auth: bool = True,
        body: Callable[[], Iterable[bytes]] | None = None,
        **kwargs: Any,
    ) -> dict[str, Any]:
        """One call's JSON answer; writes (`auth`) carry the session's token, signing in first when there is none
        or it ended. A streamed `body` is made afresh for each try."""
        return _answer(self._exchange(method, path, auth, body, **kwargs))

    def _exchange(
        self,
        method: str,
        path: str,
        auth: bool = True,
        body: Callable[[], Iterable[bytes]] | None = None,
        **kwargs: Any,
    ) -> httpx.Response:
        """One call's answer (signed in, 429/503 waited out, as `_call`), whatever its status."""
        signed_in_now = False
        for attempt in range(1, MAX_TRIES + 1):
            headers = dict(kwargs.pop("headers", None) or {})
            kwargs["headers"] = headers
            if auth and self.account is not None:
                if self.token is None:
                    self.sign_in()
                    signed_in_now = True
                headers["authorization"] = f"Bearer {self.token}"
            if body is not None:
                kwargs["content"] = body()
            response = self._send(method, path, **kwargs)
            if response.status_code == 401 and auth and self.account is not None and not signed_in_now:
                self.token = None  # the session ended (expired, or the service forgot it): sign in once more
                continue
            wait = _retry_after(response)
            if wait is not None and attempt < MAX_TRIES and wait <= MAX_RETRY_WAIT:
                self.notify(
                    f"the upload service is busy or rate-limiting ({_detail(response)}): waiting {wait} s as it "
                    f"asks (Retry-After), then trying again (try {attempt + 1} of {MAX_TRIES})"
                )
                self.sleep(wait)
                continue
            return response
        return response

    def _send(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        try:
            return self._http.request(method, path, **kwargs)
        except httpx.HTTPError as exc:
            raise StorageError(
                f"the upload service at {self.url} does not answer ({exc}): start it with `make up`, "
                "or point MEDIAPROOF_UPLOAD_URL / --upload-url at it"
            ) from exc


def _retry_after(response: httpx.Response) -> int | None:
    """Seconds to wait before trying again, for a 429 or 503 that says (Retry-After in seconds)."""
    if response.status_code not in (429, 503):
        return None
    value = response.headers.get("retry-after", "")
    return max(1, int(value)) if value.isdigit() else None


def _detail(response: httpx.Response) -> str:
    return str(_refusal(response)).removeprefix(f"{REFUSED}: ")


def _refusal(response: httpx.Response) -> MediaproofError:
    return error_from(response.status_code, response.content, response.headers, REFUSED)


def _raise_for(response: httpx.Response) -> None:
    if response.status_code >= 400:
        raise _refusal(response)


def _answer(response: httpx.Response) -> dict[str, Any]:
    if response.status_code < 400:
        return dict(response.json())
    raise _refusal(response)


def check_sign_in_message(message: str, url: str, address: str, chain_id: int | None) -> None:
    """Refuse to sign a sign-in message that is not for the service at `url`, for `address` (and `chain_id`)."""
    lines = message.split("\n")
    domain = urlsplit(url).netloc
    expected_head = f"{domain} wants you to sign in with your Ethereum account:"
    if len(lines) < 2 or lines[0] != expected_head or lines[1] != address:
        raise ContentMismatch(
            f"the upload service at {url} asked to sign in with a message that is not for {domain} and {address}: "
            "nothing was signed (set MEDIAPROOF_UPLOAD_URL to the service's own address)"
        )
    if chain_id is not None and f"Chain ID: {chain_id}" not in lines:
        raise ContentMismatch(f"the sign-in message is not for chain {chain_id}: nothing was signed")


def _chunks(
    path: Path, progress: Callable[[int], None] | None, offset: int = 0, length: int | None = None
) -> Iterable[bytes]:
    """The file's bytes from `offset` (`length` of them, or to its end), read 1 MiB at a time."""
    left = length
    with path.open("rb") as handle:
        handle.seek(offset)
        while chunk := handle.read(CHUNK if left is None else min(CHUNK, left)):
            yield chunk
            if left is not None:
                left -= len(chunk)
            if progress is not None:
                progress(len(chunk))


def _sha256_of(path: Path, offset: int, length: int) -> bytes:
    hasher = hashlib.sha256()
    for chunk in _chunks(path, None, offset, length):
        hasher.update(chunk)
    return hasher.digest()


@dataclass(frozen=True)
class Resumable:
    """Where a resumable upload stands: its URL, the offset the service holds of `size`, the bytes this call sent
    (`resumed_bytes` counts those the service kept; `sent_bytes` also counts chunks sent again after a break), and
    once complete the upload it became (`GET /uploads/<upload_id>`)."""

    location: str
    offset: int
    size: int
    resumed_bytes: int
    sent_bytes: int
    upload_id: str | None


def upload_with_cut(
    url: str, account: LocalAccount, path: Path, cut: float = 0.5, chunk_bytes: int = 16 << 20
) -> tuple[Resumable, Resumable]:
    """A resumable upload stopped after `cut` of the file, then finished by a new client from the service's offset:
    (the first part, the resumed part). bench/sync.py measures the bytes the resumed part had to send."""
    size = path.stat().st_size
    with UploadClient(url, account=account, chunk_bytes=chunk_bytes) as first:
        part = first.upload_resumable(path, stop_at=int(size * cut))
    with UploadClient(url, account=account, chunk_bytes=chunk_bytes) as second:
        rest = second.upload_resumable(path, location=part.location)
    return part, rest


@dataclass(frozen=True)
class Uploaded:
    sha256: str
    cid: str
    media_id: str
    tx: str
    block: int
    short_id: str
    link: str
    mode: str
    batch: int
    proof: dict[str, Any] | None

    def as_dict(self) -> dict[str, Any]:
        return {
            "sha256": self.sha256,
            "cid": self.cid,
            "media_id": self.media_id,
            "tx": self.tx,
            "block": self.block,
            "short_id": self.short_id,
            "link": self.link,
            "mode": self.mode,
            "batch": self.batch,
        }


def ensure_wallet(client: UploadClient, chain: MediaproofChain, account: LocalAccount, deposit_wei: int) -> str:
    """The account's UserMedia; if it has none, send the onboarding transaction the service describes."""
    wallet = client.wallet(account.address)
    if wallet["registered"]:
        return str(wallet["user_contract"])
    if client.account is None or client.account.address != account.address:  # onboarding is the wallet's own write
        with UploadClient(client.url, account=account, chain_id=chain.chain_id, notify=client.notify) as own:
            tx = own.onboarding(account.address, deposit_wei)["transaction"]
    else:
        tx = client.onboarding(account.address, deposit_wei)["transaction"]
    prepared = {"to": tx["to"], "data": tx["data"], "value": int(tx["value"], 16), "chainId": int(tx["chainId"], 16)}
    receipt = transactions.send(chain.w3, account, prepared)
    if receipt["status"] != 1:
        raise ChainError(f"registering wallet {account.address} reverted in block {receipt['blockNumber']}")
    return str(client.wallet(account.address)["user_contract"])


def check_typed_data(
    typed: dict[str, Any], digest: ContentDigest, title: str, owner: str, chain_id: int, media_app: str
) -> None:
    """Refuse to sign a record that is not for these bytes, this title, this owner and MediaApp on this chain."""
    message, domain = typed.get("message", {}), typed.get("domain", {})
    expected = {
        "sha256": "0x" + digest.sha256.hex(),
        "cid": digest.cid,
        "size": str(digest.size),
        "title": title,
        "owner": owner,
    }
    for key, value in expected.items():
        if str(message.get(key)) != value:
            raise ContentMismatch(
                f"the upload service asked to sign a record whose {key} is {message.get(key)!r}, not {value!r}: "
                "nothing was signed"
            )
    if int(domain.get("chainId", -1)) != chain_id or str(domain.get("verifyingContract", "")).lower() != (
        media_app.lower()
    ):
        raise ContentMismatch("the record to sign is not for MediaApp on this chain: nothing was signed")


def delete_media(
    client: UploadClient, chain: MediaproofChain, account: LocalAccount, media_id: bytes
) -> dict[str, Any]:
    """Tombstone one of the account's media: the order is rebuilt here from the nonce and deadline the service
    hands out and signed only if it deletes exactly this media, under MediaApp's domain on this chain."""
    media_hex = eip712.hex32(media_id)
    prepared = client.delete_prepare(media_hex)
    try:
        order = eip712.DeleteMedia(media_id, int(prepared["nonce"]), int(prepared["deadline"]))
    except (KeyError, TypeError, ValueError) as exc:
        raise ContentMismatch(f"the upload service's delete order is malformed ({exc}): nothing was signed") from exc
    typed = eip712.delete_typed_data(order, chain.chain_id, chain.media_app.address)
    offered = prepared.get("typed_data") or {}
    if offered.get("message") != typed["message"] or offered.get("domain") != typed["domain"]:
        raise ContentMismatch("the upload service asked to sign another delete order than this media's: nothing was "
                              "signed")  # fmt: skip
    return client.delete(media_hex, order.nonce, order.deadline, eip712.sign(typed, account.key))


def upload_and_register(
    client: UploadClient,
    chain: MediaproofChain,
    account: LocalAccount,
    path: Path,
    digest: ContentDigest,
    title: str,
    deposit_wei: int,
    progress: Callable[[int], None] | None = None,
    mode: str = "batched",
    anchor_timeout: float = 120.0,
) -> Uploaded:
    """Stream the file through the service, sign its record locally, and have the service prove it: in its next
    batch (the default; no wallet registration needed) or directly (the owner's UserMedia and deposit)."""
    if mode == "direct":
        ensure_wallet(client, chain, account, deposit_wei)
    stored = client.store(path, progress)
    if stored["sha256"] != digest.sha256_hex or stored["cid"] != digest.cid:
        raise ContentMismatch(
            f"the upload service hashed the file to {stored['sha256']} / {stored['cid']}, not "
            f"{digest.sha256_hex} / {digest.cid}: the bytes changed on the way"
        )
    upload_id = stored["upload_id"]
    prepared = client.prepare(upload_id, account.address, title, mode=mode)
    typed = prepared["typed_data"]
    check_typed_data(typed, digest, title, account.address, chain.chain_id, chain.media_app.address)
    done = client.commit(upload_id, eip712.sign(typed, account.key))
    deadline = time.monotonic() + anchor_timeout
    while done.get("state") == "anchoring":  # the batch closes within the service's batch interval
        if time.monotonic() > deadline:
            raise StorageError(f"upload {upload_id} is still waiting for its batch to be anchored; ask again later")
        time.sleep(0.2)
        done = client.status(upload_id)
    return Uploaded(
        sha256=done["sha256"],
        cid=done["cid"],
        media_id=done["media_id"],
        tx=done["tx"],
        block=int(done["block"]),
        short_id=done["short_id"],
        link=done["link"],
        mode=str(done.get("mode", mode)),
        batch=int(done.get("batch", 0)),
        proof=done.get("proof"),
    )
