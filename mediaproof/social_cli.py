"""The social commands of `mediaproof`: follow, unfollow, like, unlike, comment, and verify-action.

Each action is signed here with the CLI's key (MEDIAPROOF_PRIVATE_KEY, EIP-712 under MediaApp's domain) and sent to
the upload service, which batches it with media; `--wait` waits for its batch's anchor and prints the batch, the
transaction and the action's proof. `verify-action` checks such a proof with nothing but an RPC endpoint.
"""

from __future__ import annotations

import json
import secrets
import time
from pathlib import Path
from typing import Any

import typer

from mediaproof.errors import InputError, ProofError
from mediaproof.safe_text import printable
from mediaproof.settings import Settings

JSON = typer.Option(False, "--json", help="print one JSON object")
WAIT = typer.Option(False, "--wait", help="wait for the batch's anchor and print batch, tx and proof")
RPC = typer.Option(None, "--rpc", help="Ethereum JSON-RPC URL")
DEPLOYMENT = typer.Option(None, "--deployment", help="deployment file (deployments/<network>.json)")
UPLOAD_URL = typer.Option(None, "--upload-url", help="upload service (default MEDIAPROOF_UPLOAD_URL)")
INDEXER = typer.Option(None, "--indexer", help="indexer read API that resolves short ids")
MEDIA = typer.Argument(..., help="a media id (0x + 64 hex), a short id, or its /m/ link")


def _settings(rpc: str | None, deployment: Path | None, indexer: str | None = None) -> Settings:
    from mediaproof.cli import settings_for  # imported late: the cli module registers these commands

    settings = settings_for(rpc, deployment)
    return settings.model_copy(update={"indexer_url": indexer}) if indexer else settings


def _bytes32(value: str, what: str) -> bytes:
    text = value.lower()
    if len(text) == 66 and text.startswith("0x") and all(c in "0123456789abcdef" for c in text[2:]):
        return bytes.fromhex(text[2:])
    raise InputError(f"{value!r} is not {what}")


def _media_id(settings: Settings, key: str) -> bytes:
    """A media id as given, or the id the indexer has for a short id or a /m/ link (media_commands.media_key: the
    one reading of what people paste)."""
    from mediaproof.media_commands import media_key

    key = media_key(key)
    if key.startswith("0x"):
        return _bytes32(key, "a media id (0x and 64 hex digits)")
    from mediaproof.clients.indexer import media

    found = str(media(settings.resolved_indexer_url(), key, settings.http_timeout).get("id", ""))
    if not (len(found) == 66 and found.startswith("0x")):
        raise InputError(f"the indexer has no media id for {key!r}")
    return bytes.fromhex(found[2:])


def _address(value: str) -> str:
    from eth_utils import is_address, to_checksum_address

    if not is_address(value):
        raise InputError(f"{value!r} is not an address (0x and 40 hex digits)")
    return str(to_checksum_address(value))


def _send(settings: Settings, build: Any, upload_url: str | None, wait: bool, as_json: bool) -> None:
    """Sign the action `build(author, issued_at, nonce)` makes with the CLI's key, send it, print the answer."""
    from mediaproof import social
    from mediaproof.chain import MediaproofChain
    from mediaproof.clients.upload import UploadClient

    chain = MediaproofChain.from_settings(settings)
    account = chain.account(settings.private_key)
    action = build(account.address, int(time.time()), secrets.token_bytes(32))
    social.check_rules(action)  # the sentence the service would answer, before anything is signed or sent
    signature = social.sign(action, chain.chain_id, chain.media_app.address, account.key)
    signed = social.SignedAction(action, signature, social.action_id(action, chain.chain_id, chain.media_app.address))
    with UploadClient(upload_url or settings.resolved_upload_url(), settings.http_timeout) as client:
        answer = client.post_action(signed.to_json(), wait=wait)
    lines = [f"action id  {answer['action_id']}", f"kind       {answer['kind']}", f"state      {answer['state']}"]
    if answer.get("state") == "anchored":
        lines.append(f"proof      batch {answer['batch']}, tx {answer['tx']}")
    from mediaproof.cli import emit

    emit(answer, as_json, lines)


def follow(
    address: str = typer.Argument(..., help="the wallet to follow"),
    wait: bool = WAIT, as_json: bool = JSON, rpc: str | None = RPC, deployment: Path | None = DEPLOYMENT,
    upload_url: str | None = UPLOAD_URL,
) -> None:  # fmt: skip
    """Follow a wallet (a signed Follow, batched and anchored like media)."""
    _follow(address, True, wait, as_json, rpc, deployment, upload_url)


def unfollow(
    address: str = typer.Argument(..., help="the wallet to stop following"),
    wait: bool = WAIT, as_json: bool = JSON, rpc: str | None = RPC, deployment: Path | None = DEPLOYMENT,
    upload_url: str | None = UPLOAD_URL,
) -> None:  # fmt: skip
    """Stop following a wallet (a signed Follow with follow = false)."""
    _follow(address, False, wait, as_json, rpc, deployment, upload_url)


def _follow(address: str, on: bool, wait: bool, as_json: bool, rpc: str | None, deployment: Path | None,
            upload_url: str | None) -> None:  # fmt: skip
    from mediaproof import social

    subject = _address(address)
    _send(_settings(rpc, deployment), lambda author, at, nonce: social.Follow(author, subject, on, at, nonce),
          upload_url, wait, as_json)  # fmt: skip


def like(
    media: str = MEDIA, wait: bool = WAIT, as_json: bool = JSON, rpc: str | None = RPC,
    deployment: Path | None = DEPLOYMENT, upload_url: str | None = UPLOAD_URL, indexer: str | None = INDEXER,
) -> None:  # fmt: skip
    """Like a media (a signed Like)."""
    _like(media, True, wait, as_json, rpc, deployment, upload_url, indexer)


def unlike(
    media: str = MEDIA, wait: bool = WAIT, as_json: bool = JSON, rpc: str | None = RPC,
    deployment: Path | None = DEPLOYMENT, upload_url: str | None = UPLOAD_URL, indexer: str | None = INDEXER,
) -> None:  # fmt: skip
    """Take a like back (a signed Like with like = false)."""
    _like(media, False, wait, as_json, rpc, deployment, upload_url, indexer)


def _like(media: str, on: bool, wait: bool, as_json: bool, rpc: str | None, deployment: Path | None,
          upload_url: str | None, indexer: str | None) -> None:  # fmt: skip
    from mediaproof import social

    settings = _settings(rpc, deployment, indexer)
    media_id = _media_id(settings, media)
    _send(settings, lambda author, at, nonce: social.Like(author, media_id, on, at, nonce), upload_url, wait,
          as_json)  # fmt: skip


def comment(
    media: str = MEDIA,
    text: str | None = typer.Argument(None, help="the comment (new, or the edited text with --edit)"),
    edit: str | None = typer.Option(None, "--edit", help="edit your comment with this id (its first action id)"),
    delete: str | None = typer.Option(None, "--delete", help="delete your comment with this id"),
    wait: bool = WAIT, as_json: bool = JSON, rpc: str | None = RPC, deployment: Path | None = DEPLOYMENT,
    upload_url: str | None = UPLOAD_URL, indexer: str | None = INDEXER,
) -> None:  # fmt: skip
    """Comment on a media, edit your comment (--edit ID "text") or delete it (--delete ID)."""
    from mediaproof import eip712, social

    if edit and delete:
        raise InputError("give --edit or --delete, not both")
    if delete and text:
        raise InputError("a delete carries no text: leave the text out with --delete")
    if not delete and not text:
        raise InputError('write the comment: mediaproof comment MEDIA "text"')
    replaces = eip712.ZERO32
    if edit or delete:
        replaces = _bytes32(str(edit or delete), "a comment id (0x and 64 hex digits: its first action id)")
    settings = _settings(rpc, deployment, indexer)
    media_id = _media_id(settings, media)
    _send(settings, lambda author, at, nonce: social.Comment(author, media_id, text or "", at, nonce, replaces,
                                                             bool(delete)),
          upload_url, wait, as_json)  # fmt: skip


def verify_action(
    target: str = typer.Argument(..., help="an action id (its proof is fetched from the upload service) or a file"),
    rpc: str | None = RPC,
    upload_url: str | None = UPLOAD_URL,
    as_json: bool = JSON,
) -> None:
    """Prove that an action's author signed it and MediaApp anchored it, with nothing but its proof and an RPC
    endpoint. Exit 0 proven, 1 not proven (or not anchored yet), 2 any other error."""
    from mediaproof.bundle import parse_action_bundle
    from mediaproof.chain import connect
    from mediaproof.cli import RPC_TIMEOUT, emit
    from mediaproof.verify import ChainReader, verify_action_bundle

    settings = _settings(rpc, None)
    path = Path(target)
    if path.is_file():
        try:
            data = json.loads(path.read_text())
        except OSError as exc:
            raise InputError(f"cannot read the action proof {path}: {exc.strerror or exc}") from exc
        except ValueError as exc:
            raise ProofError(f"{path} is not JSON: {exc}") from exc
    else:
        from mediaproof.clients.upload import UploadClient

        with UploadClient(upload_url or settings.resolved_upload_url(), settings.http_timeout) as client:
            answer = client.action(target)
        if "proof" not in answer:
            emit(answer, as_json, [f"NOT proven: action {target} is {answer.get('state')}, not anchored yet"])
            raise typer.Exit(1)
        data = answer["proof"]
    bundle = parse_action_bundle(data)
    w3 = connect(settings.rpc_url, timeout=RPC_TIMEOUT)
    report = verify_action_bundle(ChainReader(w3, bundle.contract), bundle)
    if report.proven:
        lines = [f"proven: {report.author} signed this {report.kind}, anchored by {report.time} "
                 f"(batch {report.batch}, tx {report.tx})", f"action id  {report.action_id}"]  # fmt: skip
        lines += [printable(f"{k:<10} {v}") for k, v in report.message.items()]  # a comment's text is anyone's
    else:
        lines = [f"NOT proven: {printable(problem)}" for problem in report.problems]
    emit(report.as_dict(), as_json, lines)
    if not report.proven:
        raise typer.Exit(1)


def _viewer(settings: Settings) -> str:
    """The CLI's own account address: MEDIAPROOF_PRIVATE_KEY's, or anvil's key 0 on a local deployment."""
    from mediaproof.chain import signing_account
    from mediaproof.deployment import read_deployment

    chain_id = None if settings.private_key else read_deployment(settings.resolved_deployment_file()).chain_id
    return str(signing_account(settings.private_key, chain_id or 0, "MEDIAPROOF_PRIVATE_KEY", anvil_index=0).address)


def _media_line(r: dict[str, Any]) -> str:
    return printable(f"{r['title']}  ·  {r['owner']}  ·  {r['likes']} likes, {r['comments']} comments  ·  "
                     f"block {r['block']}  ·  {r['id']}")  # fmt: skip


def feed(
    viewer: str | None = typer.Option(None, "--viewer", help="whose feed (default: this CLI's account)"),
    order: str = typer.Option("relevant", "--order", help="relevant (likes, comments, views, recency) or latest"),
    limit: int = typer.Option(20, "--limit", min=1, max=100, help="media to show"),
    offset: int = typer.Option(0, "--offset", min=0, help="media to skip (paging)"),
    as_json: bool = typer.Option(False, "--json", help="print one JSON object"),
    indexer: str | None = typer.Option(None, "--indexer", help="indexer read API URL"),
) -> None:
    """The news feed: media of the wallets you follow, most relevant or newest first."""
    from mediaproof.cli import emit
    from mediaproof.clients.indexer import feed as fetch_feed

    settings = Settings(indexer_url=indexer) if indexer else Settings()
    if order not in ("relevant", "latest"):
        raise InputError(f"--order {order!r}: one of relevant, latest")
    answer = fetch_feed(settings.resolved_indexer_url(), viewer or _viewer(settings), order, limit, offset)
    lines = [_media_line(r) for r in answer["results"]]
    emit(answer, as_json, lines or [f"nothing in {answer['viewer']}'s feed: follow someone who posts"])


def _follows(which: str, address: str, limit: int, offset: int, as_json: bool, indexer: str | None) -> None:
    from mediaproof.cli import emit
    from mediaproof.clients.indexer import follows

    settings = Settings(indexer_url=indexer) if indexer else Settings()
    answer = follows(settings.resolved_indexer_url(), address, which, limit, offset)
    head = f"{answer['address']}: {answer['followers']} followers, following {answer['following']}"
    emit(answer, as_json, [head, *(f"{r['address']}  ·  since block {r['block']}" for r in answer["results"])])


def followers(
    address: str = typer.Argument(..., help="the wallet"),
    limit: int = typer.Option(20, "--limit", min=1, max=100),
    offset: int = typer.Option(0, "--offset", min=0),
    as_json: bool = typer.Option(False, "--json", help="print one JSON object"),
    indexer: str | None = typer.Option(None, "--indexer", help="indexer read API URL"),
) -> None:
    """Who follows a wallet, most recent first."""
    _follows("followers", address, limit, offset, as_json, indexer)


def following(
    address: str = typer.Argument(..., help="the wallet"),
    limit: int = typer.Option(20, "--limit", min=1, max=100),
    offset: int = typer.Option(0, "--offset", min=0),
    as_json: bool = typer.Option(False, "--json", help="print one JSON object"),
    indexer: str | None = typer.Option(None, "--indexer", help="indexer read API URL"),
) -> None:
    """Whom a wallet follows, most recent first."""
    _follows("following", address, limit, offset, as_json, indexer)


def register(app: typer.Typer) -> None:
    for command in (follow, unfollow, like, unlike, comment, feed, followers, following):
        app.command()(command)
    app.command("verify-action")(verify_action)
