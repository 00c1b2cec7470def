"""Each outside resource has one way in: these tests grep the tree so a second opener cannot creep back."""

from __future__ import annotations

import ast
import re
import subprocess
import sys
from pathlib import Path

from mediaproof.settings import PROJECT_ROOT


def test_sqlite3_connect_only_in_the_one_opener() -> None:
    allowed = PROJECT_ROOT / "mediaproof" / "sqlite_db.py"
    offenders = [
        str(path.relative_to(PROJECT_ROOT))
        for package in ("mediaproof", "indexer")
        for path in sorted((PROJECT_ROOT / package).rglob("*.py"))
        if path != allowed and "sqlite3.connect" in path.read_text()
    ]
    assert offenders == [], f"open SQLite through mediaproof.sqlite_db.connect, not sqlite3.connect: {offenders}"


def test_the_gateway_database_has_one_way_in() -> None:
    # PostgreSQL only through gateway_db; and no gateway store opens SQLite but through it (the storage cluster's
    # own metadata keeps its SQLite opener: it is no gateway store).
    gateway_db = PROJECT_ROOT / "mediaproof" / "gateway_db.py"
    sources = [
        path
        for package in ("mediaproof", "indexer")
        for path in sorted((PROJECT_ROOT / package).rglob("*.py"))
        if path != gateway_db
    ]
    drivers = [
        str(p.relative_to(PROJECT_ROOT))
        for p in sources
        if re.search(r"^\s*(import|from) psycopg", p.read_text(), re.M)
    ]
    assert drivers == [], f"reach PostgreSQL through mediaproof.gateway_db, not psycopg: {drivers}"
    storage = PROJECT_ROOT / "mediaproof" / "storage"
    openers = [
        str(p.relative_to(PROJECT_ROOT))
        for p in sources
        if "sqlite_db" in p.read_text() and storage not in p.parents and p.name != "sqlite_db.py"
    ]
    assert openers == [], f"a gateway store opens its database through mediaproof.gateway_db: {openers}"


def _imports_within(package: str) -> dict[str, set[str]]:
    """Module → the modules of `package` it imports (type-only imports too: a cycle there is still a cycle)."""
    root = PROJECT_ROOT / package.replace(".", "/")
    graph: dict[str, set[str]] = {}
    for path in sorted(root.glob("*.py")):
        name = f"{package}.{path.stem}"
        graph[name] = set()
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.module:
                targets = [node.module] + [f"{node.module}.{alias.name}" for alias in node.names]
            elif isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            else:
                continue
            graph[name] |= {t for t in targets if t.startswith(package + ".") and t != name}
    return {module: {t for t in targets if t in graph} for module, targets in graph.items()}


def test_download_package_has_no_import_cycle() -> None:
    graph = _imports_within("mediaproof.download")
    assert "mediaproof.download.rsgi" in graph["mediaproof.download.app"], "the check no longer sees app's imports"

    def reaches(start: str, goal: str, seen: set[str]) -> bool:
        return any(t == goal or (t not in seen and reaches(t, goal, seen | {t})) for t in graph[start])

    cycles = sorted(m for m in graph if reaches(m, m, set()))
    assert cycles == [], f"modules importing each other (move shared types into their own module): {cycles}"


def _code_strings(path: Path) -> list[str]:
    """The string literals of a module's code (f-strings' literal parts too), without its docstrings."""
    tree = ast.parse(path.read_text())
    docstrings = {
        id(node.body[0].value)
        for node in ast.walk(tree)
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef)
        and node.body
        and isinstance(node.body[0], ast.Expr)
        and isinstance(node.body[0].value, ast.Constant)
    }
    return [
        node.value
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docstrings
    ]


def test_web_app_reaches_the_upload_and_download_services_only_through_their_clients() -> None:
    # Their paths are spelled in mediaproof/clients/ (upload_routes, download) and nowhere in the web app's Python.
    service_path = re.compile(r"^/(auth|uploads|users|files)\b|/(manifests|blobs|missing)\b")
    webapp = PROJECT_ROOT / "webapp" / "webapp"
    offenders = [
        f"{path.relative_to(PROJECT_ROOT)}: {text!r}"
        for path in sorted(webapp.rglob("*.py"))
        for text in _code_strings(path)
        if service_path.search(text)
    ]
    assert offenders == [], f"call the service through mediaproof.clients, not by its paths: {offenders}"
    services = (webapp / "services.py").read_text()
    assert "AsyncUploadClient" in services and "AsyncDownloadClient" in services, "the check no longer sees the clients"


def test_web_app_clients_import_no_chain_library() -> None:
    # The web app's environment (.venv-web) has no Ape; its clients must not pull web3 or Ape in at import time.
    script = (
        "import sys, mediaproof.clients.upload_async, mediaproof.clients.download, mediaproof.clients.indexer\n"
        "print(sorted({m.split('.')[0] for m in sys.modules} & {'ape', 'web3', 'eth_account', 'fastapi'}))"
    )
    loaded = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True).stdout
    assert loaded.strip() == "[]", f"the web app's clients import {loaded.strip()}"


def test_web_app_builds_its_settings_in_one_place() -> None:
    """Settings are read once per process (webapp/app_settings.py), not built again on every event."""
    allowed = PROJECT_ROOT / "webapp" / "webapp" / "app_settings.py"
    offenders = [
        str(path.relative_to(PROJECT_ROOT))
        for path in sorted((PROJECT_ROOT / "webapp" / "webapp").rglob("*.py"))
        if path != allowed and re.search(r"\bSettings\(", path.read_text())
    ]
    assert offenders == [], f"read the web app's settings through webapp.app_settings.app_settings(): {offenders}"


def test_no_symbolic_link_is_committed() -> None:
    """A link committed from one machine points at that machine's paths (a web app vendor directory linked into a
    work tree once broke a fresh machine's set-up): generated directories are made by the Makefile, never linked."""
    listed = subprocess.run(["git", "ls-files", "-s"], cwd=PROJECT_ROOT, capture_output=True, text=True, check=True)
    links = [line.split("\t", 1)[1] for line in listed.stdout.splitlines() if line.startswith("120000 ")]
    assert links == [], f"symbolic links are committed: {links}"
