"""What the /upload page shows of the upload service's answers: the record `prepare` asks the wallet to sign, and
the proven result a commit answers. Pure: no I/O."""

from __future__ import annotations

from typing import Any

from webapp.media_rows import ether, human_size, short_address, time_utc
from webapp.proof_reports import bundle_data_url, where_proven


def record_to_show(prepared: dict[str, Any], mode_asked: str) -> dict[str, str]:
    """The rows of the record to sign, from prepare's answer (its typed data, mode, owner and fee)."""
    typed = prepared["typed_data"]
    message = typed["message"]
    mode = str(prepared.get("mode") or mode_asked)
    fee = int(prepared.get("max_fee_wei") or 0)
    return {
        "title": str(message["title"]),
        "media_type": str(message["mediaType"]),
        "size": human_size(int(message["size"])),
        "sha256": str(message["sha256"]),
        "cid": str(message["cid"]),
        "variants": ", ".join(v["name"] for v in message["variants"]) or "none yet (only the original)",
        "mode": mode,
        "how": (
            "Batched: anchored with other files in the next batch, within seconds. Costs you nothing."
            if mode == "batched"
            else f"Direct: its own transaction, sent for you; a fee of at most {ether(fee)} from your deposit."
        ),
        "chain": str(typed["domain"]["chainId"]),
        "expires": time_utc(int(message["deadline"])),
        "owner": str(prepared["owner"]),
        "owner_short": short_address(str(prepared["owner"])),
    }


def result_to_show(done: dict[str, Any], mode_asked: str) -> dict[str, str]:
    """The proven result, from a commit's (or a later status's) answer: link, transaction, block, batch, proof."""
    mode = str(done.get("mode") or mode_asked)
    batch, block = int(done.get("batch") or 0), int(done.get("block") or 0)
    bundle = done.get("proof") if isinstance(done.get("proof"), dict) else {}
    return {
        "short_id": str(done["short_id"]),
        "link": str(done["link"]),
        "tx": str(done["tx"]),
        "block": str(block),
        "batch": str(batch),
        "mode": mode,
        "proven": f"Proven {where_proven(mode, batch, block)}.",
        "media_id": str(done["media_id"]),
        "proof_url": bundle_data_url(bundle) if bundle else "",
        "proof_name": f"{done['short_id']}.proof.json",
    }
