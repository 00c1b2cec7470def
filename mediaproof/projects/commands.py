"""The project commands of `mediaproof`: project create, clone, sync, status, log, restore, share, unshare.

`status` and `log` work offline (log shows the versions seen at the last sync and says so); the others need the
chain and the services, and change nothing local when those cannot be reached.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import typer

from mediaproof.errors import ChainError, InputError
from mediaproof.settings import Settings

project_app = typer.Typer(add_completion=False, no_args_is_help=True, help="Projects that sync across devices.")

JSON = typer.Option(False, "--json", help="print one JSON object")
RPC = typer.Option(None, "--rpc", help="Ethereum JSON-RPC URL")
DEPLOYMENT = typer.Option(None, "--deployment", help="deployment file (deployments/<network>.json)")
UPLOAD_URL = typer.Option(None, "--upload-url", help="upload service (default MEDIAPROOF_UPLOAD_URL)")
DOWNLOAD_URL = typer.Option(None, "--download-url", help="download service (default MEDIAPROOF_DOWNLOAD_URL)")


def _settings(rpc: str | None, deployment: Path | None) -> Settings:
    from mediaproof.cli import settings_for  # imported late: the cli module registers these commands

    return settings_for(rpc, deployment)


def _emit(data: dict[str, Any], as_json: bool, lines: list[str]) -> None:
    from mediaproof.cli import emit

    emit(data, as_json, lines)


def _say(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def _registry(settings: Settings) -> Any:
    from mediaproof.chain import MediaproofChain
    from mediaproof.projects.registry import ProjectRegistry

    chain = MediaproofChain.from_settings(settings)
    return ProjectRegistry(chain, chain.account(settings.private_key))


@contextmanager
def _syncer(settings: Settings, upload_url: str | None, download_url: str | None) -> Iterator[Any]:
    from mediaproof import faults
    from mediaproof.projects.engine import connected

    faults.arm(settings.sync_test_hold_at)
    with connected(settings, None, upload_url, download_url, notify=_say) as syncer:
        yield syncer


def _linked(workdir: Any, registry: Any) -> None:
    """Refuses a directory linked to a project on another chain or registry than the one configured."""
    project = workdir.project
    if project.chain_id != registry.chain.chain_id or project.registry != registry.contract.address:
        raise InputError(
            f"{workdir.root} belongs to project {project.pid_hex} on chain {project.chain_id} (registry "
            f"{project.registry}), but the configured deployment is chain {registry.chain.chain_id} (registry "
            f"{registry.contract.address}): pass the matching --rpc / --deployment"
        )


def _sync_lines(report: Any) -> list[str]:
    lines = [
        f"project   {report.project}",
        f"version   {report.version}" + (f" (committed, tx {report.tx})" if report.committed else " (no new commit)"),
        f"sent      {report.uploaded_files} files, {report.uploaded_bytes} bytes"
        + (f" ({report.proven_files} proven held instead)" if report.proven_files else ""),
        f"received  {report.downloaded_files} files, {report.downloaded_bytes} bytes; {report.deleted_files} removed",
    ]
    lines += [
        f"conflict  {c['path']}: the other copy is {c['moved_to']} (from {c['author']})" for c in report.conflicts
    ]
    return lines


@project_app.command("create")
def create(
    name: str = typer.Argument(..., help="the project's name (unique per owner)"),
    private: bool = typer.Option(False, "--private", help="only the owner and grantees may read its files"),
    as_json: bool = JSON,
    rpc: str | None = RPC,
    deployment: Path | None = DEPLOYMENT,
) -> None:
    """Create a project on chain; prints its id (clone it into a directory to start syncing)."""
    if not name or not name.strip():
        raise InputError("a project needs a name")
    registry = _registry(_settings(rpc, deployment))
    pid, tx = registry.create(name, private)
    data = {"project": "0x" + pid.hex(), "owner": registry.account.address, "name": name, "private": private,
            "tx": tx, "created": tx is not None}  # fmt: skip
    _emit(
        data,
        as_json,
        [data["project"]] + ([] if tx else ["(it already existed: this wallet has a project of that name)"]),
    )


def clone(
    project: str = typer.Argument(..., help="project id (0x…), OWNER/NAME, or one of your project names"),
    directory: Path = typer.Argument(..., help="a new or empty directory"),
    as_json: bool = JSON,
    rpc: str | None = RPC,
    deployment: Path | None = DEPLOYMENT,
    upload_url: str | None = UPLOAD_URL,
    download_url: str | None = DOWNLOAD_URL,
) -> None:
    """Download every file of a project's head into DIR and link DIR to the project."""
    from mediaproof.projects.workdir import LinkedProject, Workdir

    settings = _settings(rpc, deployment)
    if directory.exists() and (not directory.is_dir() or any(directory.iterdir())):
        raise InputError(f"{directory} exists and is not an empty directory: clone into a new one")
    with _syncer(settings, upload_url, download_url) as syncer:
        pid = syncer.registry.resolve(project)
        head = syncer.registry.head(pid)
        created = not directory.exists()
        workdir = Workdir.create(
            directory,
            LinkedProject(pid, head.owner, project.rpartition("/")[2], syncer.registry.chain.chain_id,
                          syncer.registry.contract.address),
        )  # fmt: skip
        try:
            report = syncer.sync(workdir)
        except BaseException:
            # A clone that failed leaves no half-linked directory behind (the bytes fetched so far go with it).
            import shutil

            shutil.rmtree(directory / ".mediaproof", ignore_errors=True)
            if created:
                shutil.rmtree(directory, ignore_errors=True)
            raise
    _emit({**report.to_json(), "directory": str(directory)}, as_json, _sync_lines(report))


def sync(
    directory: Path = typer.Argument(..., help="a project directory (made by clone)"),
    as_json: bool = JSON,
    rpc: str | None = RPC,
    deployment: Path | None = DEPLOYMENT,
    upload_url: str | None = UPLOAD_URL,
    download_url: str | None = DOWNLOAD_URL,
) -> None:
    """Push this directory's changes and pull the project's in one step (a three-way merge; conflicts keep both)."""
    from mediaproof.projects.workdir import Workdir

    workdir = Workdir.open(directory)
    with _syncer(_settings(rpc, deployment), upload_url, download_url) as syncer:
        _linked(workdir, syncer.registry)
        report = syncer.sync(workdir)
    _emit(report.to_json(), as_json, _sync_lines(report))


def status(
    directory: Path | None = typer.Argument(None, help="a project directory (default: this one, if it is one)"),
    as_json: bool = JSON,
) -> None:
    """What changed here since the last sync (works offline); outside a project, whether every part of the system
    answers."""
    from mediaproof.projects.workdir import Workdir, changes, find_root

    if directory is None:
        root = find_root(Path.cwd())
        if root is None:
            from mediaproof.media_commands import system_status

            system_status(as_json)
            return
        directory = root
    workdir = Workdir.open(directory)
    found = changes(workdir.base(), workdir.scan())
    pending = workdir.journal() is not None
    data = {
        "project": workdir.project.pid_hex,
        "name": workdir.project.name,
        "version": workdir.version,
        "added": list(found.added),
        "modified": list(found.modified),
        "deleted": list(found.deleted),
        "clean": not found and not pending,
        "interrupted_sync": pending,
    }
    lines = [f"project {data['project']} ({data['name']}), synced at version {data['version']}"]
    lines += [f"  added     {p}" for p in found.added] + [f"  modified  {p}" for p in found.modified]
    lines += [f"  deleted   {p}" for p in found.deleted]
    if not found:
        lines.append("  nothing changed since the last sync")
    if pending:
        lines.append("  a sync was interrupted: the next `mediaproof sync` finishes it")
    _emit(data, as_json, lines)


def log(
    directory: Path = typer.Argument(..., help="a project directory"),
    as_json: bool = JSON,
    offline: bool = typer.Option(False, "--offline", help="only the versions seen at the last sync"),
    rpc: str | None = RPC,
    deployment: Path | None = DEPLOYMENT,
) -> None:
    """Every version: who committed it, when, in which transaction (offline: as of the last sync)."""
    from mediaproof.projects.engine import refresh_history
    from mediaproof.projects.workdir import Workdir

    workdir = Workdir.open(directory)
    stale = offline
    history = workdir.history()
    if not offline:
        try:
            registry = _registry(_settings(rpc, deployment))
            _linked(workdir, registry)
            history = refresh_history(registry, workdir)
        except (ChainError, ConnectionError, OSError) as exc:
            _say(f"cannot reach the chain ({exc}); showing the versions seen at the last sync")
            stale = True
    data = {"project": workdir.project.pid_hex, "offline": stale, "versions": [v.to_json() for v in reversed(history)]}
    lines = [
        f"{v.version:>5}  {datetime.fromtimestamp(v.timestamp, UTC):%Y-%m-%d %H:%M:%S}Z  {v.committer}  {v.tx}"
        + ("  <- this directory" if v.version == workdir.version else "")
        for v in reversed(history)
    ] or ["no versions yet"]
    _emit(data, as_json, lines)


def restore(
    directory: Path = typer.Argument(..., help="a project directory"),
    version: int = typer.Option(..., "--version", help="the version to bring back"),
    as_json: bool = JSON,
    rpc: str | None = RPC,
    deployment: Path | None = DEPLOYMENT,
    upload_url: str | None = UPLOAD_URL,
    download_url: str | None = DOWNLOAD_URL,
) -> None:
    """Commit version N again as the newest version (history is kept; unsynced changes here are committed first)."""
    from mediaproof.projects.workdir import Workdir

    workdir = Workdir.open(directory)
    with _syncer(_settings(rpc, deployment), upload_url, download_url) as syncer:
        _linked(workdir, syncer.registry)
        report = syncer.restore(workdir, version)
    _emit({**report.to_json(), "restored": version}, as_json, [f"restored version {version}", *_sync_lines(report)])


def _project_of(spec: str, registry: Any) -> bytes:
    """A project named on the command line, or the project a directory is linked to."""
    from mediaproof.projects.workdir import STATE_DIR, Workdir

    if (Path(spec) / STATE_DIR).is_dir():
        return bytes(Workdir.open(Path(spec)).project.project_id)
    return bytes(registry.resolve(spec))


def share(
    project: str = typer.Argument(..., help="project id, OWNER/NAME, your project's name, or a project directory"),
    with_: str = typer.Option(..., "--with", help="the wallet address to grant"),
    role: str = typer.Option(..., "--role", help="read or write"),
    as_json: bool = JSON,
    rpc: str | None = RPC,
    deployment: Path | None = DEPLOYMENT,
) -> None:
    """Grant a wallet read or write on your project (on chain)."""
    registry = _registry(_settings(rpc, deployment))
    pid = _project_of(project, registry)
    tx = registry.grant(pid, _address(with_), role)
    _emit({"project": "0x" + pid.hex(), "grantee": _address(with_), "role": role, "tx": tx}, as_json,
          [f"{_address(with_)} may now {role} project 0x{pid.hex()} (tx {tx})"])  # fmt: skip


def unshare(
    project: str = typer.Argument(..., help="project id, OWNER/NAME, your project's name, or a project directory"),
    with_: str = typer.Option(..., "--with", help="the wallet address whose grant ends"),
    as_json: bool = JSON,
    rpc: str | None = RPC,
    deployment: Path | None = DEPLOYMENT,
) -> None:
    """Revoke a wallet's grant on your project (on chain; the services refuse it from the next request)."""
    registry = _registry(_settings(rpc, deployment))
    pid = _project_of(project, registry)
    tx = registry.revoke(pid, _address(with_))
    _emit({"project": "0x" + pid.hex(), "grantee": _address(with_), "tx": tx}, as_json,
          [f"{_address(with_)} no longer has access to project 0x{pid.hex()} (tx {tx})"])  # fmt: skip


def _address(text: str) -> str:
    from eth_utils import to_checksum_address

    try:
        return str(to_checksum_address(text))
    except ValueError:
        raise InputError(f"{text!r} is not a wallet address (0x and 40 hex digits)") from None


def register(app: typer.Typer) -> None:
    """Adds the project commands to the `mediaproof` command line."""
    app.add_typer(project_app, name="project")
    for command in (clone, sync, status, log, restore, share, unshare):
        app.command(command.__name__)(command)
