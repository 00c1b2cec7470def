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

from mediaproof.errors import InputError, MediaproofError, MediaTooLarge, NotRegistered
from mediaproof.safe_text import check_title, printable
from mediaproof.settings import Settings

app = typer.Typer(add_completion=False, no_args_is_help=True, help=__doc__)
err = Console(stderr=True)
PROGRESS_THRESHOLD = 4 << 20  # files over 4 MiB get a progress bar
RPC_TIMEOUT = 3.0  # seconds: a wrong --rpc fails fast, with a sentence


def main() -> None:
    try:
        app()
    # Sentences may quote what a service or the chain said: escaped, like every title printed.
    except NotRegistered as exc:
        print(f"not registered: {printable(str(exc))}", file=sys.stderr)  # plain print: rich would wrap it
        sys.exit(1)
    except MediaproofError as exc:
        print(f"error: {printable(str(exc))}", file=sys.stderr)
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


def check_size(path: Path, size: int, limit: int | None, whose: str) -> None:
    """MediaTooLarge naming the file's size and the limit (`whose`: this machine's setting, the service's), if over."""
    if limit is not None and size > limit:
        raise MediaTooLarge(
            f"{path} is {size:,} bytes, over {whose} upload limit of {limit:,} bytes (MEDIAPROOF_MAX_UPLOAD_BYTES): "
            "nothing was hashed or sent; send a smaller file"
        )


def settings_for(rpc: str | None = None, deployment: Path | None = None) -> Settings:
    """The settings, with the command line's --rpc and --deployment over the environment's."""
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
    direct: bool = typer.Option(
        False, "--direct", help="its own transaction (~116k gas, needs a registered wallet) instead of a batch"
    ),
    proof_out: Path | None = typer.Option(None, "--proof-out", help="also write the file's proof bundle here"),
    as_json: bool = typer.Option(False, "--json", help="print one JSON object"),
    rpc: str | None = typer.Option(None, "--rpc", help="Ethereum JSON-RPC URL"),
    deployment: Path | None = typer.Option(None, "--deployment", help="deployment file (deployments/<network>.json)"),
    upload_url: str | None = typer.Option(None, "--upload-url", help="upload service (default MEDIAPROOF_UPLOAD_URL)"),
) -> None:
    """Store a file through the upload service (R clusters), sign its record here, and have it proven on chain."""
    settings = settings_for(rpc, deployment)
    readable_file(path)
    size = path.stat().st_size
    # Before a byte is hashed or sent: a file over the limit would otherwise be read twice, then refused.
    check_size(path, size, settings.max_upload_bytes, "this machine's")
    title = check_title(title)  # refused here, before hashing, with the sentence the upload service would give
    from mediaproof.chain import MediaproofChain  # web3 takes seconds to import: only once the input is sane
    from mediaproof.clients.upload import UploadClient, upload_and_register
    from mediaproof.content import digest_file

    chain = MediaproofChain.from_settings(settings)
    account = chain.account(settings.private_key)
    with (
        UploadClient(
            upload_url or settings.resolved_upload_url(), settings.http_timeout, account, chain.chain_id,
            resumable_above=settings.upload_resumable_above, chunk_bytes=settings.upload_chunk_bytes,
        ) as client,  # signs in with the key by itself, and waits out 429s (saying so on stderr)
    ):  # fmt: skip
        check_size(path, size, client.max_upload_bytes(), "the upload service's")
        with progress_bar("hashing", size, not as_json) as hashed:
            digest = digest_file(path, progress=hashed)
        with progress_bar("uploading", size, not as_json) as sent:
            result = upload_and_register(
                client, chain, account, path, digest, title, settings.user_deposit_wei, sent,
                mode="direct" if direct else "batched",
            )  # fmt: skip
    if proof_out is not None and result.proof is not None:
        proof_out.write_text(json.dumps(result.proof, indent=2) + "\n")
    # The service answers a path; people share the whole URL of the download service (sizes by ?size=).
    link = settings.resolved_download_url() + result.link
    where = f"batch {result.batch}" if result.mode == "batched" else "its own transaction"
    emit(
        {**result.as_dict(), "link": link},
        as_json,
        [
            f"sha256    {result.sha256}",
            f"cid       {result.cid}",
            f"media id  {result.media_id}",
            f"proof     {where}, block {result.block}, tx {result.tx}",
            f"link      {link}  (add ?size=small|medium|large|original)",
        ],
    )


@app.command()
def verify(
    path: Path = typer.Argument(..., help="any file: its bytes are hashed and their proof checked on chain"),
    proof: Path | None = typer.Option(None, "--proof", help="the file's proof bundle (else the indexer is asked)"),
    rpc: str | None = typer.Option(None, "--rpc", help="Ethereum JSON-RPC URL"),
    deployment: Path | None = typer.Option(None, "--deployment", help="deployment file (without --proof)"),
    indexer: str | None = typer.Option(None, "--indexer", help="indexer read API that finds bundles (no --proof)"),
    as_json: bool = typer.Option(False, "--json", help="print one JSON object"),
) -> None:
    """Prove who registered these exact bytes and when, with nothing but the file, its proof and an RPC endpoint.
    Exit 0 proven, 1 not proven or never registered, 2 any other error."""
    settings = settings_for(rpc, deployment)
    readable_file(path)
    from mediaproof.content import digest_file

    bundle = _read_bundle(proof) if proof is not None else None
    with progress_bar("hashing", path.stat().st_size, not as_json) as hashed:
        digest = digest_file(path, progress=hashed)
    report = _verify(settings, digest, bundle, indexer)
    if not report.proven and not report.problems:
        report.problems.append("not proven")
    emit(report.as_dict(), as_json, _report_lines(report))
    if not report.proven:
        raise typer.Exit(1)


def _read_bundle(path: Path) -> Any:
    from mediaproof.bundle import parse_bundle
    from mediaproof.errors import ProofError

    try:
        data = json.loads(path.read_text())
    except OSError as exc:
        raise InputError(f"cannot read the proof bundle {path}: {exc.strerror or exc}") from exc
    except ValueError as exc:
        raise ProofError(f"{path} is not JSON: {exc}") from exc
    return parse_bundle(data)


def _verify(settings: Settings, digest: Any, bundle: Any, indexer: str | None) -> Any:
    from mediaproof.bundle import parse_bundle
    from mediaproof.chain import connect
    from mediaproof.deployment import read_deployment
    from mediaproof.proof_source import fetch_bundles, pick_bundle
    from mediaproof.verify import ChainReader, verify_bundle, verify_from_chain

    if bundle is not None:
        w3 = connect(settings.rpc_url, timeout=RPC_TIMEOUT)
        return verify_bundle(ChainReader(w3, bundle.contract, bundle.topology), bundle, digest)
    path = settings.resolved_deployment_file()
    read_deployment(path)  # a missing or malformed file is reported before any node is asked
    w3 = connect(settings.rpc_url, timeout=RPC_TIMEOUT)
    chain_deployment = read_deployment(path, expected_chain_id=int(w3.eth.chain_id))
    reader = ChainReader(w3, chain_deployment.media_app, chain_deployment.storage_topology)
    try:
        found = fetch_bundles(indexer or settings.resolved_indexer_url(), digest.sha256_hex)
    except MediaproofError:
        found = []  # no indexer: the chain alone still knows revealed and direct proofs
    if found:
        return verify_bundle(reader, parse_bundle(pick_bundle(found, None, digest.sha256_hex)), digest)
    return verify_from_chain(reader, digest)


def _report_lines(report: Any) -> list[str]:
    if not report.proven:
        return [f"NOT proven: {printable(problem)}" for problem in report.problems]
    where = f"batch {report.batch}" if report.kind == "batched" else "a direct registration"
    lines = [
        f"proven: {report.owner} held these bytes by {report.time} (block {report.block}, {where}, tx {report.tx})"
    ]
    if report.first:
        lines.append("first     the earliest proof of these bytes known on chain")
    else:
        first = report.first_proof or {}
        lines.append(f"first     NO: first proven by {first.get('owner')} in block {first.get('block')}")
    lines += [
        f"title     {printable(report.title)}",
        f"sha256    {report.sha256}",
        f"media id  {report.media_id}" + ("  (deleted by its owner; the proof stays)" if report.deleted else ""),
    ]
    for r in report.receipts:
        state = "valid" if r.signature_valid and r.active_when_signed and r.in_lifetime else "INVALID"
        lines.append(f"receipt   cluster {r.cluster_id} ({r.status_then} then) signer {r.signer}: {state}")
    return lines


@app.command()
def proof(
    target: str = typer.Argument(..., help="a file, or the sha256 (64 hex digits) of its bytes"),
    out: Path = typer.Option(..., "-o", "--out", help="where to write the proof bundle (JSON)"),
    owner: str | None = typer.Option(None, "--owner", help="the bundle of this owner's proof (default: earliest)"),
    indexer: str | None = typer.Option(None, "--indexer", help="indexer read API URL"),
    as_json: bool = typer.Option(False, "--json", help="print one JSON object"),
) -> None:
    """Write a file's portable proof bundle, from the indexer (an untrusted source: `verify --proof` checks it)."""
    from mediaproof.proof_source import fetch_bundles, pick_bundle

    settings = Settings(indexer_url=indexer) if indexer else Settings()
    sha_hex = _sha256_of(target)
    bundle = pick_bundle(fetch_bundles(settings.resolved_indexer_url(), sha_hex), owner, sha_hex)
    out.write_text(json.dumps(bundle, indent=2) + "\n")
    summary = {"sha256": sha_hex, "out": str(out), "kind": bundle.get("kind"), "batch": bundle.get("batch"),
               "owner": bundle.get("owner")}  # fmt: skip
    line = f"wrote the {bundle.get('kind')} proof of {sha_hex} by {bundle.get('owner')} to {out}"
    emit(summary, as_json, [printable(line)])  # kind and owner are the indexer's word: escaped like a title


def _sha256_of(target: str) -> str:
    text = target.lower().removeprefix("0x")
    if len(text) == 64 and all(c in "0123456789abcdef" for c in text) and not Path(target).exists():
        return text
    from mediaproof.content import digest_file

    return digest_file(readable_file(Path(target))).sha256_hex


@app.command()
def search(
    query: str = typer.Argument(..., help="words of a title; the last one may be unfinished"),
    limit: int = typer.Option(20, "--limit", min=1, max=100, help="results to show"),
    offset: int = typer.Option(0, "--offset", min=0, help="results to skip (paging)"),
    as_json: bool = typer.Option(False, "--json", help="print one JSON object"),
    indexer: str | None = typer.Option(None, "--indexer", help="indexer read API URL"),
) -> None:
    """Find media by title through the indexer (BM25 ranking, prefix matching for the word being typed)."""
    from mediaproof.clients.indexer import search as search_titles

    settings = Settings(indexer_url=indexer) if indexer else Settings()
    if not query.strip():
        raise InputError("the search query is empty: give at least one word")
    results = search_titles(settings.resolved_indexer_url(), query, limit=limit, offset=offset)
    # Titles come from the chain through the indexer: escaped, so none can rewrite the terminal.
    lines = [printable(f"{r['title']}  ·  {r['owner']}  ·  block {r['block']}  ·  {r['id']}") for r in results]
    emit({"query": query, "results": results}, as_json, lines or [f"nothing titled like {query!r}"])


def _viewer(settings: Settings) -> str:
    """The CLI's own account address: MEDIAPROOF_PRIVATE_KEY's, or anvil's key 0 on a local deployment."""
    from mediaproof.chain import signing_account
    from mediaproof.deployment import read_deployment

    chain_id = None if settings.private_key else read_deployment(settings.resolved_deployment_file()).chain_id
    return str(signing_account(settings.private_key, chain_id or 0, "MEDIAPROOF_PRIVATE_KEY", anvil_index=0).address)


def _media_line(r: dict[str, Any]) -> str:
    return printable(f"{r['title']}  ·  {r['owner']}  ·  {r['likes']} likes, {r['comments']} comments  ·  "
                     f"block {r['block']}  ·  {r['id']}")  # fmt: skip


@app.command()
def feed(
    viewer: str | None = typer.Option(None, "--viewer", help="whose feed (default: this CLI's account)"),
    order: str = typer.Option("relevant", "--order", help="relevant (likes, comments, views, recency) or latest"),
    limit: int = typer.Option(20, "--limit", min=1, max=100, help="media to show"),
    offset: int = typer.Option(0, "--offset", min=0, help="media to skip (paging)"),
    as_json: bool = typer.Option(False, "--json", help="print one JSON object"),
    indexer: str | None = typer.Option(None, "--indexer", help="indexer read API URL"),
) -> None:
    """The news feed: media of the wallets you follow, most relevant or newest first."""
    from mediaproof.clients.indexer import feed as fetch_feed

    settings = Settings(indexer_url=indexer) if indexer else Settings()
    if order not in ("relevant", "latest"):
        raise InputError(f"--order {order!r}: one of relevant, latest")
    answer = fetch_feed(settings.resolved_indexer_url(), viewer or _viewer(settings), order, limit, offset)
    lines = [_media_line(r) for r in answer["results"]]
    emit(answer, as_json, lines or [f"nothing in {answer['viewer']}'s feed: follow someone who posts"])


def _follows(which: str, address: str, limit: int, offset: int, as_json: bool, indexer: str | None) -> None:
    from mediaproof.clients.indexer import follows

    settings = Settings(indexer_url=indexer) if indexer else Settings()
    answer = follows(settings.resolved_indexer_url(), address, which, limit, offset)
    head = f"{answer['address']}: {answer['followers']} followers, following {answer['following']}"
    emit(answer, as_json, [head, *(f"{r['address']}  ·  since block {r['block']}" for r in answer["results"])])


@app.command()
def followers(
    address: str = typer.Argument(..., help="the wallet"),
    limit: int = typer.Option(20, "--limit", min=1, max=100),
    offset: int = typer.Option(0, "--offset", min=0),
    as_json: bool = typer.Option(False, "--json", help="print one JSON object"),
    indexer: str | None = typer.Option(None, "--indexer", help="indexer read API URL"),
) -> None:
    """Who follows a wallet, most recent first."""
    _follows("followers", address, limit, offset, as_json, indexer)


@app.command()
def following(
    address: str = typer.Argument(..., help="the wallet"),
    limit: int = typer.Option(20, "--limit", min=1, max=100),
    offset: int = typer.Option(0, "--offset", min=0),
    as_json: bool = typer.Option(False, "--json", help="print one JSON object"),
    indexer: str | None = typer.Option(None, "--indexer", help="indexer read API URL"),
) -> None:
    """Whom a wallet follows, most recent first."""
    _follows("following", address, limit, offset, as_json, indexer)


def _register_project_commands() -> None:
    from mediaproof.projects.commands import register

    register(app)


_register_project_commands()
from mediaproof.social_cli import register as register_social_commands  # noqa: E402 (needs `app`, above)

register_social_commands(app)

if __name__ == "__main__":
    main()
