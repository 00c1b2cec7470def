"""The media commands beside `upload`: `get` (download a media by its link, checked against its hash), `delete`
(tombstone your own), `clusters` (where media is stored), and `status` of the whole system (the project `status`
when run in a project directory)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import httpx
import typer

from mediaproof.errors import ContentMismatch, InputError, NotRegistered
from mediaproof.safe_text import printable
from mediaproof.settings import Settings

JSON = typer.Option(False, "--json", help="print one JSON object")
SIZES = ("original", "small", "medium", "large", "poster")
_MEDIA_ID = re.compile(r"^0x[0-9a-fA-F]{64}$")
_SHORT_ID = re.compile(r"^[0-9A-Za-z]{1,64}$")
HEALTH_TIMEOUT = 3.0


def media_key(text: str) -> str:
    """A media id, or a short id (also inside a link: `…/m/<short id>?size=…`)."""
    text = text.strip()
    link = re.search(r"/m/([0-9A-Za-z]{1,64})(?:[/?#]|$)", text)
    key = link.group(1) if link else text
    if not (_MEDIA_ID.match(key) or _SHORT_ID.match(key)):
        raise InputError(f"{text!r} is not a media id (0x and 64 hex digits), a short id or a /m/ link")
    return key


def get(
    media: str = typer.Argument(..., help="short id, media id, or link (…/m/<short id>)"),
    output: Path | None = typer.Option(None, "-o", "--output", help="file or directory to save into (default: here)"),
    size: str = typer.Option("original", "--size", help="original, small, medium, large or poster (video)"),
    as_json: bool = JSON,
) -> None:
    """Download a media under its own name, and check its bytes: the original against the sha256 proven on chain."""
    from mediaproof.cli import emit
    from mediaproof.clients.download import DownloadClient
    from mediaproof.clients.indexer import media as media_record

    if size not in SIZES:
        raise InputError(f"size {size!r} is not one of {', '.join(SIZES)}")
    settings = Settings()
    record = media_record(settings.resolved_indexer_url(), media_key(media))
    if record.get("deleted"):
        raise NotRegistered(f"media {media} was deleted by its owner")
    short_id = record.get("short_id")
    if not short_id:
        raise NotRegistered(f"media {media} has no link on this download service")
    directory, dest = (output, None) if output is not None and output.is_dir() else (Path.cwd(), output)
    with DownloadClient(settings.resolved_download_url(), timeout=settings.http_timeout) as client:
        path, written, sha256_hex = client.fetch_media(str(short_id), size, dest, directory)
    if size == "original" and sha256_hex != str(record["sha256"]).removeprefix("0x").lower():
        path.unlink(missing_ok=True)
        raise ContentMismatch(f"the download service's original of {media} is not the bytes proven on chain: removed")
    data = {"path": str(path), "bytes": written, "sha256": sha256_hex, "size": size, "media_id": record["id"],
            "short_id": short_id, "title": record.get("title")}  # fmt: skip
    emit(data, as_json, [f"saved     {printable(str(path))} ({written:,} bytes, sha256 {sha256_hex})"])


def delete(
    media: str = typer.Argument(..., help="media id, short id or link of one of your media"),
    as_json: bool = JSON,
) -> None:
    """Tombstone one of your media (its proof stays on chain; its bytes are unpinned and no longer served)."""
    from mediaproof.chain import MediaproofChain
    from mediaproof.cli import emit
    from mediaproof.clients.indexer import media as media_record
    from mediaproof.clients.upload import UploadClient, delete_media, ensure_wallet

    settings = Settings()
    record = media_record(settings.resolved_indexer_url(), media_key(media))
    if record.get("deleted"):
        raise InputError(f"media {media} is deleted already")
    chain = MediaproofChain.from_settings(settings)
    account = chain.account(settings.private_key)
    if str(record.get("owner", "")).lower() != account.address.lower():
        raise InputError(f"media {media} belongs to {record.get('owner')}, not to {account.address}: only its owner "
                         "may delete it")  # fmt: skip
    with UploadClient(settings.resolved_upload_url(), settings.http_timeout, account, chain.chain_id) as client:
        ensure_wallet(client, chain, account, settings.user_deposit_wei)  # tombstones live in the owner's UserMedia
        done = delete_media(client, chain, account, bytes.fromhex(str(record["id"])[2:]))
    emit({"media_id": record["id"], **done}, as_json, [f"deleted   {record['id']} (tx {done.get('tx')})"])


def clusters(as_json: bool = JSON) -> None:
    """The storage clusters: id, status, weight, endpoint and how many media each holds."""
    from mediaproof.cli import emit
    from mediaproof.clients.indexer import cluster_list

    found = cluster_list(Settings().resolved_indexer_url())
    lines = [f"{'id':>3}  {'status':<9} {'weight':>6} {'media':>6}  endpoint"]
    lines += [
        printable(f"{c['cluster_id']:>3}  {c['status']:<9} {c['weight']:>6} {c['objects']:>6}  {c['endpoint']}")
        for c in found
    ]
    emit({"clusters": found}, as_json, lines if found else ["no storage cluster is registered"])


def system_status(as_json: bool) -> None:
    """Whether each part answers (chain, upload, download, indexer) and how far the indexer has read; exit 2 when
    one does not."""
    from mediaproof.cli import emit

    settings = Settings()
    parts: dict[str, dict[str, Any]] = {
        "chain": _rpc(settings.rpc_url),
        "upload": _health(settings.resolved_upload_url()),
        "download": _health(settings.resolved_download_url()),
        "indexer": _health(settings.resolved_indexer_url()),
    }
    chain_block = parts["chain"].get("block")
    indexed = parts["indexer"].get("answer", {}).get("block")
    if chain_block is not None and indexed is not None:
        parts["indexer"]["behind"] = max(0, int(chain_block) - int(indexed))
    healthy = all(p["ok"] for p in parts.values())
    lines = []
    for name, part in parts.items():
        detail = part.get("error") or (f"block {part['block']}" if "block" in part else part["url"])
        if "behind" in part:
            detail += f", {part['behind']} blocks behind the chain"
        lines.append(printable(f"{name:<9} {'up' if part['ok'] else 'DOWN':<5} {detail}"))
    emit({"ok": healthy, **parts}, as_json, lines)
    if not healthy:
        raise typer.Exit(2)


def _health(url: str) -> dict[str, Any]:
    try:
        reply = httpx.get(url + "/health", timeout=HEALTH_TIMEOUT)
    except httpx.HTTPError as exc:
        return {"ok": False, "url": url, "error": f"{url} does not answer ({type(exc).__name__})"}
    answer = reply.json() if reply.headers.get("content-type", "").startswith("application/json") else {}
    return {"ok": reply.status_code == 200, "url": url, "status": reply.status_code, "answer": answer}


def _rpc(url: str) -> dict[str, Any]:
    body = {"jsonrpc": "2.0", "id": 1, "method": "eth_blockNumber", "params": []}
    try:
        reply = httpx.post(url, json=body, timeout=HEALTH_TIMEOUT)
        block = int(reply.json()["result"], 16)
    except (httpx.HTTPError, ValueError, KeyError, TypeError) as exc:
        return {"ok": False, "url": url, "error": f"no Ethereum node answers at {url} ({type(exc).__name__})"}
    return {"ok": True, "url": url, "block": block}


def register(app: typer.Typer) -> None:
    app.command()(get)
    app.command()(delete)
    app.command()(clusters)
