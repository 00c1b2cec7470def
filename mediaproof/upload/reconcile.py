"""Registrations that reached the chain without their link get it, found on the chain itself.

A process killed at the wrong moment leaves a registration on chain (the owner's deposit charged, the proof there)
and no short link: between a relayed `registerMedia` being mined and the link being written, or between a batch's
anchor and its entries' links. Retrying the commit cannot help by sending again — the record's nonce is spent
(`UserMediaNonceUsed`) — so before anything is sent again, and at every start, each such upload is looked up:

- direct: the `MediaRegistered` event of its media id in the owner's UserMedia (whoever sent it: the gateway, or
  the wallet itself with `send: "client"`); the receipts the chain accepted become the bundle's;
- batched: its batch entry. A batch still `built` is settled from `MediaApp.anchorOf(root)` by the batcher; one
  marked anchored (the chain said so) links every entry not linked yet.

Linking is idempotent (mediaproof.upload.registration.link_upload): however often this runs, one media gets one
short id.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from web3.types import EventData

from mediaproof import eip712
from mediaproof.bundle import receipts_of
from mediaproof.errors import MediaproofError
from mediaproof.upload.ledger import Upload
from mediaproof.upload.registration import link_upload

if TYPE_CHECKING:
    from mediaproof.upload.service import Service

logger = logging.getLogger(__name__)


def settle(service: Service, upload: Upload) -> Upload:
    """Link `upload` if its registration is on chain (or its batch anchored); the upload as it is afterwards."""
    if upload.state == "committed" or upload.record is None or upload.owner is None:
        return upload
    if upload.record.get("mode") == "direct":
        _settle_direct(service, upload)
    else:
        _settle_batched(service, upload)
    return service.ledger().get(upload.upload_id) or upload


def reconcile(service: Service) -> int:
    """Settle every upload that may have reached the chain unlinked; how many got their link. A failure (the RPC
    node away) leaves that upload for the next pass."""
    linked = 0
    for upload in service.ledger().unlinked():
        try:
            if settle(service, upload).state == "committed":
                linked += 1
                logger.warning("upload %s was on chain without a link: linked as media %s", upload.upload_id,
                               upload.media_id)  # fmt: skip
        except MediaproofError as exc:
            logger.warning("could not reconcile upload %s yet: %s", upload.upload_id, exc)
    return linked


def direct_registration(service: Service, upload: Upload) -> EventData | None:
    """The MediaRegistered event of the upload's media id in its owner's UserMedia, if it was mined."""
    assert upload.record is not None and upload.media_id is not None
    direct = upload.record.get("direct") or {}
    from_block = int(direct.get("from_block", service.chain.deployment.block))
    user_media = service.chain.user_media(str(upload.user_contract))
    logs = user_media.events.MediaRegistered.get_logs(
        argument_filters={"mediaId": bytes.fromhex(upload.media_id[2:])}, from_block=from_block
    )
    return logs[0] if logs else None


def _settle_direct(service: Service, upload: Upload) -> None:
    if upload.media_id is None or not upload.user_contract or upload.record is None:
        return  # never sent: nothing can be on chain
    event = direct_registration(service, upload)
    if event is None:
        return
    tx = "0x" + bytes(event["transactionHash"]).hex()
    block = int(event["blockNumber"])
    # The bundle must carry the receipts the chain accepted (a retry may have gathered others before it learnt
    # that the first send had landed).
    direct: dict[str, Any] = upload.record.get("direct") or {}
    receipts = [
        {"cluster_id": r.cluster_id, "issued_at": r.issued_at, "signature": "0x" + r.signature.hex()}
        for r in receipts_of(event["args"]["receipts"])
    ]
    ledger = service.ledger()
    ledger.set_direct(upload.upload_id, upload.media_id, str(direct.get("signature", "")), receipts,
                      int(direct.get("from_block", block)))  # fmt: skip
    service.batches().claim_proven(upload.media_id, block)
    link_upload(service, ledger.get(upload.upload_id), upload.media_id, tx, block)  # type: ignore[arg-type]


def _settle_batched(service: Service, upload: Upload) -> None:
    assert upload.record is not None
    chain = service.chain
    record = eip712.MediaRecord.from_message(upload.record["message"])
    media = upload.media_id or "0x" + eip712.media_id(record, chain.chain_id, chain.media_app.address).hex()
    batches = service.batches()
    entry = batches.entry(media)
    if entry is None or entry.upload_id != upload.upload_id:
        return  # never entered a batch: the commit did not get that far
    if upload.state != "anchoring":
        service.ledger().anchoring(upload.upload_id, media)  # killed between the entry and this mark
    batch = batches.batch(entry.root) if entry.root else None
    if batch is not None and batch.state == "anchored" and batch.batch is not None:
        link_upload(service, service.ledger().get(upload.upload_id), media, batch.tx or "", batch.batch)  # type: ignore[arg-type]
