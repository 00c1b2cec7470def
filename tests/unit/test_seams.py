"""Each outside resource has one way in: these tests grep the tree so a second opener cannot creep back."""

from __future__ import annotations

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
