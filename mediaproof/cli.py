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
from typing import Any, NoReturn

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
        _fail(1, "not registered", exc)
    except MediaproofError as exc:
        _fail(2, "error", exc)


def _fail(code: int, label: str, exc: Exception) -> NoReturn:
    """The sentence on stderr; with --json also one object on stdout, so a script reading stdout always gets
    JSON, whatever went wrong."""
    print(f"{label}: {printable(str(exc))}", file=sys.stderr)  # plain print: rich would wrap it
    if "--json" in sys.argv[1:]:
        print(json.dumps({"ok": False, "error": str(exc), "kind": type(exc).__name__, "exit_code": code}))
    sys.exit(code)


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
    paths: list[Path] = typer.Argument(..., help="photos or videos, or directories of them, to register"),
    title: str | None = typer.Option(None, "--title", help="title shown and searched (default: the file's name)"),
    direct: bool = typer.Option(
        False, "--direct", help="its own transaction (~116k gas, needs a registered wallet) instead of a batch"
    ),
    proof_out: Path | None = typer.Option(None, "--proof-out", help="also write the file's proof bundle here"),
    as_json: bool = typer.Option(False, "--json", help="print one JSON object"),
    rpc: str | None = typer.Option(None, "--rpc", help="Ethereum JSON-RPC URL"),
    deployment: Path | None = typer.Option(None, "--deployment", help="deployment file (deployments/<network>.json)"),
    upload_url: str | None = typer.Option(None, "--upload-url", help="upload service (default MEDIAPROOF_UPLOAD_URL)"),
) -> None:
    """Store files through the upload service (R clusters), sign each record here, and have them proven on chain.
    Several files or a directory: each is sent in turn; one that fails is reported and the others go on (exit 2)."""
    settings = settings_for(rpc, deployment)
    files = upload_targets(paths)
    if len(files) > 1 and (title is not None or proof_out is not None):
        raise InputError("--title and --proof-out name one file: give one path, or let each title be its file's name")
    # Before a byte is hashed or sent: a file over the limit would otherwise be read twice, then refused.
    sizes = {path: path.stat().st_size for path in files}
    for path, size in sizes.items():
        check_size(path, size, settings.max_upload_bytes, "this machine's")
    titles = {path: check_title(title if title is not None else path.name) for path in files}
    from mediaproof.chain import MediaproofChain  # web3 takes seconds to import: only once the input is sane
    from mediaproof.clients.upload import UploadClient

    chain = MediaproofChain.from_settings(settings)
    account = chain.account(settings.private_key)
    results: list[dict[str, Any]] = []
    failed: list[dict[str, str]] = []
    with UploadClient(
        upload_url or settings.resolved_upload_url(), settings.http_timeout, account, chain.chain_id,
        resumable_above=settings.upload_resumable_above, chunk_bytes=settings.upload_chunk_bytes,
    ) as client:  # fmt: skip  # signs in with the key by itself, and waits out 429s (saying so on stderr)
        service_limit = client.max_upload_bytes()
        for path in files:
            try:
                check_size(path, sizes[path], service_limit, "the upload service's")
                results.append(_upload_one(settings, client, chain, account, path, titles[path], direct, as_json))
            except MediaproofError as exc:
                if len(files) == 1:
                    raise
                failed.append({"path": str(path), "error": str(exc)})
                err.print(f"failed    {printable(str(path))}: {printable(str(exc))}", markup=False, highlight=False)
    if proof_out is not None and results and results[0].get("proof") is not None:
        proof_out.write_text(json.dumps(results[0]["proof"], indent=2) + "\n")
    for result in results:
        result.pop("proof", None)
    if len(files) == 1:
        emit(results[0], as_json, _upload_lines(results[0]))
        return
    lines = [line for r in results for line in (f"{r['path']}", *("  " + x for x in _upload_lines(r)))]
    lines.append(f"{len(results)} uploaded, {len(failed)} failed")
    emit({"uploaded": results, "failed": failed}, as_json, lines)
    if failed:
        raise typer.Exit(2)


def upload_targets(paths: list[Path]) -> list[Path]:
    """The files to send: each path given, and every non-hidden file under a directory, in name order."""
    files: list[Path] = []
    for path in paths:
        if path.is_dir():
            inside = sorted(p for p in path.rglob("*") if p.is_file() and not any(
                part.startswith(".") for part in p.relative_to(path).parts))  # fmt: skip
            if not inside:
                raise InputError(f"{path} has no files to upload")
            files.extend(inside)
        else:
            files.append(readable_file(path))
    for path in files:
        readable_file(path)
    return list(dict.fromkeys(files))


def _upload_one(
    settings: Settings, client: Any, chain: Any, account: Any, path: Path, title: str, direct: bool, quiet: bool
) -> dict[str, Any]:
    from mediaproof.clients.upload import upload_and_register
    from mediaproof.content import digest_file

    size = path.stat().st_size
    with progress_bar("hashing", size, not quiet) as hashed:
        digest = digest_file(path, progress=hashed)
    with progress_bar("uploading", size, not quiet) as sent:
        result = upload_and_register(
            client, chain, account, path, digest, title, settings.user_deposit_wei, sent,
            mode="direct" if direct else "batched",
        )  # fmt: skip
    # People share the web app's page of the media (its proof beside it); the file itself is the download link.
    return {
        **result.as_dict(),
        "path": str(path),
        "title": title,
        "page": f"{settings.resolved_webapp_url()}/m/{result.short_id}",
        "link": settings.resolved_download_url() + result.link,
        "proof": result.proof,
    }


def _upload_lines(result: dict[str, Any]) -> list[str]:
    where = f"batch {result['batch']}" if result["mode"] == "batched" else "its own transaction"
    return [
        f"sha256    {result['sha256']}",
        f"media id  {result['media_id']}",
        f"proof     {where}, block {result['block']}, tx {result['tx']}",
        f"page      {result['page']}",
        f"file      {result['link']}  (add ?size=small|medium|large)",
    ]


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
    # The link people share is the web app's page of the media (its short id); a record without one shows its id.
    page = settings.resolved_webapp_url() + "/m/"
    lines = [printable(f"{r['title']}  ·  {r['owner']}  ·  block {r['block']}  ·  "
                       f"{page + str(r['short_id']) if r.get('short_id') else r['id']}") for r in results]  # fmt: skip
    emit({"query": query, "results": results}, as_json, lines or [f"nothing titled like {query!r}"])


def _register_commands() -> None:
    from mediaproof import media_commands, social_cli
    from mediaproof.projects import commands as project_commands

    media_commands.register(app)
    project_commands.register(app)
    social_cli.register(app)


_register_commands()

if __name__ == "__main__":
    main()
