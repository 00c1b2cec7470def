"""`mediaproof`: the command line for people, devices and scripts (up, upload, verify, …).

Every failure Mediaproof expects prints one sentence on stderr, not a traceback. Exit codes: 0 done,
1 the bytes were never registered (verify), 2 anything else that went wrong.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import typer
from rich.console import Console
from rich.progress import BarColumn, DownloadColumn, Progress, TransferSpeedColumn

from mediaproof.errors import InputError, MediaproofError, NotRegistered
from mediaproof.settings import Settings

app = typer.Typer(add_completion=False, no_args_is_help=True, help=__doc__)
err = Console(stderr=True)
PROGRESS_THRESHOLD = 4 << 20  # files over 4 MiB get a progress bar


def main() -> None:
    try:
        app()
    except NotRegistered as exc:
        print(f"not registered: {exc}", file=sys.stderr)  # plain print: rich would wrap the sentence
        sys.exit(1)
    except MediaproofError as exc:
        print(f"error: {exc}", file=sys.stderr)
        sys.exit(2)


def readable_file(path: Path) -> Path:
    """`path` if it is a non-empty readable file; otherwise an InputError saying what is wrong with it."""
    if not path.exists():
        raise InputError(f"no file at {path}")
    if path.is_dir():
        raise InputError(f"{path} is a directory: give the path of a file")
    try:
        with path.open("rb") as handle:
            first = handle.read(1)
    except OSError as exc:
        raise InputError(f"cannot read {path}: {exc.strerror or exc}") from exc
    if not first:
        raise InputError(f"{path} is empty (0 bytes): there is nothing to register")
    return path


@contextmanager
def progress_bar(label: str, total: int, enabled: bool) -> Iterator[Callable[[int], None] | None]:
    """A byte-progress callback drawn on stderr, or None when the file is small or output is for machines."""
    if not enabled or total < PROGRESS_THRESHOLD:
        yield None
        return
    with Progress(
        "[progress.description]{task.description}",
        BarColumn(),
        DownloadColumn(),
        TransferSpeedColumn(),
        console=err,
        transient=True,
    ) as bar:
        task = bar.add_task(label, total=total)
        yield lambda n: bar.advance(task, n)


def emit(data: dict[str, Any], as_json: bool, lines: list[str]) -> None:
    if as_json:
        print(json.dumps(data))
    else:
        for line in lines:
            print(line)  # plain print: hashes and addresses must never be wrapped mid-value


def _settings(rpc: str | None = None, deployment: Path | None = None) -> Settings:
    overrides: dict[str, Any] = {}
    if rpc:
        overrides["rpc_url"] = rpc
    if deployment:
        overrides["deployment_file"] = deployment
    return Settings(**overrides)


@app.command()
def up() -> None:
    """Start the whole local system (anvil, IPFS nodes, storage clusters, services) until Ctrl-C."""
    from mediaproof.devstack import run_until_interrupted

    run_until_interrupted(Settings())


@app.command()
def upload(
    path: Path = typer.Argument(..., help="the photo or video to register"),
    title: str = typer.Option(..., "--title", help="title shown and searched"),
    as_json: bool = typer.Option(False, "--json", help="print one JSON object"),
    rpc: str | None = typer.Option(None, "--rpc", help="Ethereum JSON-RPC URL"),
    deployment: Path | None = typer.Option(None, "--deployment", help="deployment file (deployments/<network>.json)"),
    upload_url: str | None = typer.Option(None, "--upload-url", help="upload service (default MEDIAPROOF_UPLOAD_URL)"),
) -> None:
    """Store a file through the upload service (R clusters), sign its record here, and have it registered on chain."""
    settings = _settings(rpc, deployment)
    readable_file(path)
    if not title.strip():
        raise InputError("--title is empty: give the media a title")
    from mediaproof.chain import MediaproofChain  # web3 takes seconds to import: only once the input is sane
    from mediaproof.content import digest_file
    from mediaproof.upload.client import UploadClient, upload_and_register

    chain = MediaproofChain.from_settings(settings)
    account = chain.account(settings.private_key)
    size = path.stat().st_size
    with progress_bar("hashing", size, not as_json) as hashed:
        digest = digest_file(path, progress=hashed)
    with (
        UploadClient(upload_url or settings.resolved_upload_url(), settings.http_timeout) as client,
        progress_bar("uploading", size, not as_json) as sent,
    ):
        result = upload_and_register(
            client, chain, account, path, digest, title.strip(), settings.user_deposit_wei, sent
        )
    # The service answers a path; people share the whole URL of the download service (sizes by ?size=).
    link = settings.resolved_download_url() + result.link
    emit(
        {**result.as_dict(), "link": link},
        as_json,
        [
            f"sha256    {result.sha256}",
            f"cid       {result.cid}",
            f"media id  {result.media_id}",
            f"tx        {result.tx}",
            f"block     {result.block}",
            f"link      {link}  (add ?size=small|medium|large|original)",
            f"clusters  {', '.join(str(c) for c in result.clusters)}",
        ],
    )


@app.command()
def verify(
    path: Path = typer.Argument(..., help="any file: its bytes are hashed and looked up on chain"),
    rpc: str | None = typer.Option(None, "--rpc", help="Ethereum JSON-RPC URL"),
    deployment: Path | None = typer.Option(None, "--deployment", help="deployment file (deployments/<network>.json)"),
    as_json: bool = typer.Option(False, "--json", help="print one JSON object"),
) -> None:
    """Prove who registered these exact bytes and when, asking only the chain. Exit 1 when nobody did."""
    settings = _settings(rpc, deployment)
    readable_file(path)
    from mediaproof.chain import MediaproofChain
    from mediaproof.content import digest_file
    from mediaproof.verify import verify_digest

    chain = MediaproofChain.from_settings(settings)
    with progress_bar("hashing", path.stat().st_size, not as_json) as hashed:
        digest = digest_file(path, progress=hashed)
    report = verify_digest(chain, digest)
    lines = [
        f"proven: registered by {report.owner} at {report.time} (block {report.block}, tx {report.tx})",
        f"title     {report.title}" + (f"  [{report.rendition}]" if report.rendition != "original" else ""),
        f"sha256    {report.sha256}",
        f"cid       {report.cid}",
        f"media id  {report.media_id}" + ("  (deleted by its owner; the proof stays)" if report.deleted else ""),
    ]
    for r in report.receipts:
        state = "signature valid" if r.signature_valid else "SIGNATURE INVALID"
        lines.append(f"receipt   cluster {r.cluster_id} ({r.cluster_status}) signer {r.signer}: {state}")
    emit(report.as_dict(), as_json, lines)


@app.command()
def search(
    query: str = typer.Argument(..., help="words of a title; the last one may be unfinished"),
    limit: int = typer.Option(20, "--limit", min=1, max=100, help="results to show"),
    offset: int = typer.Option(0, "--offset", min=0, help="results to skip (paging)"),
    as_json: bool = typer.Option(False, "--json", help="print one JSON object"),
    indexer: str | None = typer.Option(None, "--indexer", help="indexer read API URL"),
) -> None:
    """Find media by title through the indexer (BM25 ranking, prefix matching for the word being typed)."""
    from indexer.client import search as search_titles

    settings = Settings(indexer_url=indexer) if indexer else Settings()
    if not query.strip():
        raise InputError("the search query is empty: give at least one word")
    results = search_titles(settings.resolved_indexer_url(), query, limit=limit, offset=offset)
    lines = [f"{r['title']}  ·  {r['owner']}  ·  block {r['block']}  ·  {r['id']}" for r in results]
    emit({"query": query, "results": results}, as_json, lines or [f"nothing titled like {query!r}"])


if __name__ == "__main__":
    main()
