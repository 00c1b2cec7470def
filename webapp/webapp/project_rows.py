"""How the indexer's project rows read on a page: list cards, versions, grants. Pure: no I/O, no clock.

Names come from ProjectRegistry's events, which nobody checked: they are escaped like every title from the chain.
Values are all strings, so a Reflex foreach renders them as they are.
"""

from __future__ import annotations

import re
from typing import Any

from mediaproof.safe_text import printable
from webapp.media_rows import short_address, time_utc

_PROJECT_ID = re.compile(r"^0x[0-9a-fA-F]{64}$")
ROLE_WORDS = {"owner": "owner", "write": "can commit", "read": "can read"}


def is_project_id(value: str) -> bool:
    """0x and 64 hex digits: what ProjectRegistry.projectIdOf(owner, name) gives."""
    return bool(_PROJECT_ID.match(value))


def project_card(row: dict[str, Any]) -> dict[str, str]:
    """One project in a list: its name, owner, the viewer's role, version and when it last changed."""
    owner = str(row.get("owner") or "")
    version = int(row.get("version") or 0)
    return {
        "id": str(row.get("project_id") or ""),
        "name": printable(str(row.get("name") or "(unnamed)")),
        "owner": owner,
        "owner_short": short_address(owner),
        "role": ROLE_WORDS.get(str(row.get("role") or ""), str(row.get("role") or "")),
        "visibility": "private" if row.get("private") else "public",
        "version": f"version {version}" if version else "no commit yet",
        "updated": time_utc(row.get("updated_time") or row.get("created_time")),
        "link": f"/projects/{row.get('project_id')}",
    }


def version_row(row: dict[str, Any]) -> dict[str, str]:
    """One version of a project's history: which, who committed it, when, in which block and transaction."""
    committer = str(row.get("committer") or "")
    return {
        "version": str(row.get("version") or ""),
        "committer": committer,
        "committer_short": short_address(committer),
        "time": time_utc(row.get("time")),
        "block": str(row.get("block") or ""),
        "tx": str(row.get("tx_hash") or ""),
        "manifest_cid": printable(str(row.get("manifest_cid") or "")),
        "manifest_sha256": str(row.get("manifest_sha256") or ""),
    }


def grant_row(row: dict[str, Any]) -> dict[str, str]:
    """A wallet the owner shared the project with, and what it may do."""
    grantee = str(row.get("grantee") or "")
    role = str(row.get("role") or "")
    return {
        "grantee": grantee,
        "grantee_short": short_address(grantee),
        "role": ROLE_WORDS.get(role, role),
        "since": time_utc(row.get("time")),
    }
