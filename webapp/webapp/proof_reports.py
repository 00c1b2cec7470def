"""How the browser's proof check (assets/proofcheck.js) reads on a page: one report per bundle, each check in words,
and the verdict over all of them. Pure: no I/O, no clock.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

from mediaproof.safe_text import printable

ZERO_ADDRESS = "0x" + "00" * 20
TODAYS_SIGNER_NOTE = (
    "This page checks each receipt against the signer and status its cluster has in StorageTopology today; "
    "`mediaproof verify` replays StorageTopology's history and checks the signer the cluster had at the proof's block, "
    "so a key rotated since does not void an old proof there."
)


def utc_seconds(timestamp: int | None) -> str:
    if not timestamp:
        return ""
    return datetime.fromtimestamp(int(timestamp), UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


@dataclass
class CheckLine:
    key: str  # file · chain · contract · media_id · owner_signature · inclusion · receipts · first · format · error
    ok: bool
    info: bool  # says something (first or later) without deciding whether the proof holds
    text: str


@dataclass
class ReceiptLine:
    cluster: str
    issued: str
    signer: str
    cluster_signer: str
    status: str
    ok: bool
    text: str


@dataclass
class ProofReport:
    proven: bool = False
    kind: str = ""
    owner: str = ""
    title: str = ""
    media_id: str = ""
    batch: int = 0
    block: int = 0
    time: str = ""
    tx: str = ""
    first: bool = False
    first_owner: str = ""
    first_block: int = 0
    revealed: bool = False
    summary: str = ""
    checks: list[CheckLine] = field(default_factory=list)
    receipts: list[ReceiptLine] = field(default_factory=list)


def where_proven(kind: str, batch: int, block: int) -> str:
    if kind == "batched":
        return f"in batch {batch} (block {block})"
    return f"directly in block {block}"


def report_from(raw: dict[str, Any]) -> ProofReport:
    """One bundle's report as the browser sent it (plain JSON), typed for the page."""
    kind = str(raw.get("kind") or "")
    batch, block = int(raw.get("batch") or 0), int(raw.get("block") or 0)
    report = ProofReport(
        proven=bool(raw.get("proven")),
        kind=kind,
        owner=str(raw.get("owner") or ""),
        title=printable(str(raw.get("title") or "")),  # the bundle's record, from the chain: escaped
        media_id=str(raw.get("media_id") or ""),
        batch=batch,
        block=block,
        time=utc_seconds(int(raw.get("timestamp") or 0)),
        tx=str(raw.get("tx") or ""),
        first=bool(raw.get("first")),
        first_owner=str(raw.get("first_owner") or ""),
        first_block=int(raw.get("first_block") or 0),
        revealed=bool(raw.get("revealed")),
        checks=[
            CheckLine(str(c.get("key") or ""), bool(c.get("ok")), bool(c.get("info")), str(c.get("text") or ""))
            for c in raw.get("checks") or []
            if isinstance(c, dict)
        ],
        receipts=[
            ReceiptLine(
                cluster=str(r.get("cluster_id", "")),
                issued=str(r.get("issued") or ""),
                signer=str(r.get("signer") or ""),
                cluster_signer=str(r.get("cluster_signer") or ""),
                status=str(r.get("status") or ""),
                ok=bool(r.get("ok")),
                text=str(r.get("text") or ""),
            )
            for r in raw.get("receipts") or []
            if isinstance(r, dict)
        ],
    )
    if block:
        report.summary = f"{kind.capitalize()} proof {where_proven(kind, batch, block)}, {report.time}"
    else:
        report.summary = f"{kind.capitalize() or 'A'} proof that is not on chain"
    return report


def reports_from(answer: dict[str, Any]) -> list[ProofReport]:
    return [report_from(r) for r in answer.get("reports") or [] if isinstance(r, dict)]


def verdict(reports: list[ProofReport], proof_of: dict[str, Any] | None) -> tuple[str, str]:
    """(status, headline) of a file's check: proven · failed (bundles, none holds) · chain_only (no bundle, but
    proofOf names a proof) · not_proven (nobody proved these bytes)."""
    proven = [r for r in reports if r.proven]
    if proven:
        best = proven[0]  # bundles come earliest first
        where = where_proven(best.kind, best.batch, best.block)
        headline = (
            f"Proven: these exact bytes were registered by {best.owner} {where} at {best.time}, and every check "
            "below passed in this browser."
        )
        if not best.first and best.first_owner:
            headline += f" First proven by {best.first_owner} in block {best.first_block}."
        return "proven", headline
    if reports:
        if len(reports) == 1:
            return "failed", "Not proven: the proof bundle given for these bytes failed the checks below."
        return "failed", f"Not proven: none of the {len(reports)} proof bundles for these bytes passed the checks."
    owner = str((proof_of or {}).get("owner") or ZERO_ADDRESS)
    if owner.lower() != ZERO_ADDRESS:
        block = int((proof_of or {}).get("block") or 0)
        return "chain_only", (
            f"MediaApp.proofOf names {owner} (block {block}) as the first proof of these bytes, but no proof bundle "
            "was found, so its receipts and Merkle inclusion could not be checked here: give its bundle file."
        )
    return "not_proven", (
        "Not proven: nobody has proven these exact bytes on this chain. (A copy that differs by even one byte has a "
        "different hash.)"
    )


def bundle_data_url(bundle: dict[str, Any]) -> str:
    """The bundle as a data: URL a link can download: the JSON exactly as the service gave it, indented."""
    return "data:application/json;charset=utf-8," + quote(json.dumps(bundle, indent=2))
