"""From a stored upload to a proof: prepare the record the owner signs, commit it (receipts bound to it, then a
batch or a direct registration), and give it its shareable link once its proof is on chain.

The gateway is the sequencer for both paths: the first owner it accepts for some bytes keeps them while their
proof is on its way (another owner gets 409 until it is anchored), and an earlier batched proof is revealed into
MediaApp.proofOf before a direct registration of the same bytes by someone else goes out.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from web3.exceptions import TransactionNotFound

from mediaproof import eip712, faults
from mediaproof.bundle import BatchManifest, ManifestEntry, ProofBundle, parse_manifest, parse_receipt, receipts_of
from mediaproof.content import ContentDigest
from mediaproof.errors import InputError, NotRegistered, SignatureRefused, StorageError, UploadConflict
from mediaproof.upload.batch_store import Entry
from mediaproof.upload.batcher import reveal_batched
from mediaproof.upload.intake import remove_quietly
from mediaproof.upload.ledger import Upload

if TYPE_CHECKING:
    from mediaproof.upload.service import Service

SIGNATURE_LIFETIME = 3600  # seconds a prepared record may wait for its signature and proof
VARIANT_ORDER = ("large", "medium", "small", "poster")
MODES = ("batched", "direct")


def check_parent(service: Service, parent: str) -> None:
    """A parent must be a record this gateway committed: one only prepared (never signed), unknown, or deleted
    would put a dangling link on chain for good."""
    found = service.ledger().by_media_id(parent)
    if found is None or found.state != "committed":
        raise InputError(f"parent {parent} is no media registered through this gateway: give the media id of a "
                         "registered record, or no parent")  # fmt: skip
    if service.store().is_deleted(parent):
        raise InputError(f"parent {parent} was deleted by its owner: a new record may not point at it")


def prepare_record(
    service: Service, upload: Upload, owner: str, title: str, parent: bytes, mode: str
) -> dict[str, Any]:
    """The record for `owner` to sign (EIP-712 under MediaApp's domain), with every variant ready by now."""
    chain = service.chain
    user_contract = service.relay.user_contract(owner) if mode == "direct" else ""
    if parent != eip712.ZERO32:
        check_parent(service, "0x" + parent.hex())
    rows = service.store().renditions_of(upload.sha256)
    variants = tuple(
        eip712.MediaVariant(name, bytes.fromhex(rows[name].sha256), rows[name].cid, rows[name].size)
        for name in VARIANT_ORDER
        if name in rows and rows[name].ready
    )
    record = eip712.MediaRecord(
        owner=owner,
        sha256=bytes.fromhex(upload.sha256),
        cid=upload.cid,
        size=upload.size,
        media_type=upload.media_type,
        title=title,
        nonce=service.batches().next_nonce(owner),
        deadline=int(time.time()) + SIGNATURE_LIFETIME,
        variants=variants,
        parent=parent,
        max_fee=service.relay.fee_cap() if mode == "direct" else 0,
    )
    service.ledger().prepare(upload.upload_id, owner, title, user_contract, {"mode": mode, "message": record.message()})
    typed = eip712.record_typed_data(record, chain.chain_id, chain.media_app.address)
    return {
        "upload_id": upload.upload_id,
        "owner": owner,
        "mode": mode,
        "media_id": "0x" + eip712.digest(typed).hex(),
        "typed_data": typed,
        "variants": [v.name for v in variants],
        "expires_at": record.deadline,
        "max_fee_wei": str(record.max_fee),
    }


def prepared(upload: Upload) -> tuple[eip712.MediaRecord, str]:
    if upload.state not in ("prepared", "anchoring") or upload.record is None or upload.owner is None:
        raise UploadConflict(
            f"upload {upload.upload_id} has not been prepared: POST /uploads/{upload.upload_id}/prepare first"
        )
    return eip712.MediaRecord.from_message(upload.record["message"]), str(upload.record["mode"])


def commit_upload(service: Service, upload: Upload, signature: bytes, send: str) -> dict[str, Any]:
    """Check the owner's signature, claim the bytes, gather R bound receipts, then queue the record for a batch
    (returns with state "anchoring") or register it directly (returns the link)."""
    record, mode = prepared(upload)
    chain = service.chain
    media_id = eip712.media_id(record, chain.chain_id, chain.media_app.address)
    media = "0x" + media_id.hex()
    if not service.reader.owner_signed(record.owner, media_id, signature):
        raise SignatureRefused(
            f"the signature is not {record.owner}'s signature of the prepared record: sign the typed data from "
            "prepare with the owner's wallet"
        )
    if record.deadline <= time.time():
        raise UploadConflict(f"the prepared record expired at {record.deadline}: prepare again and sign anew")
    batches = service.batches()
    first = batches.claim(upload.sha256, record.owner, media, mode, stale_after=SIGNATURE_LIFETIME)
    if first.owner != record.owner and first.state == "pending":
        raise UploadConflict(
            f"these bytes are being proven for {first.owner} right now (their proof is on its way): a later "
            "proof can follow once it is on chain, in a few seconds; try again"
        )
    digest = ContentDigest(record.sha256, record.cid, record.size)
    try:
        receipts = service.placer.receipts(service.store(), digest, record, lambda: bytes_back(service, upload))
    except StorageError:
        batches.drop_claim(media)
        raise
    finally:
        remove_quietly(service.incoming / f"upload-{upload.upload_id}.part")
    if mode == "batched":
        entry = ManifestEntry(record, signature, media_id, receipts_of(receipts))
        batches.add_entry(media, upload.upload_id, upload.sha256, record.owner, entry.to_json())
        service.ledger().anchoring(upload.upload_id, media)
        if service.batcher is not None:
            service.batcher.wake()
        return {"state": "anchoring", "upload_id": upload.upload_id, "media_id": media}
    if first.owner != record.owner and first.kind == "batched" and first.state == "proven":
        reveal_batched(chain, service.relay, batches, first.media_id)
    call = chain.user_media(str(upload.user_contract)).functions.registerMedia(
        record.as_tuple(), signature, [r.as_tuple() for r in receipts]
    )
    # Kept before anything is sent: from here a restart, or a retried commit, looks for it on chain before it
    # sends again (mediaproof.upload.reconcile).
    service.ledger().set_direct(upload.upload_id, media, signature.hex(), [r.to_json() for r in receipts],
                                int(chain.w3.eth.block_number))  # fmt: skip
    if send == "client":
        return {
            "send": "client",
            "media_id": media,
            "transaction": {"from": record.owner, **service.relay.calldata(call, str(upload.user_contract))},
            "clusters": [r.cluster_id for r in receipts],
            "then": f'POST /uploads/{upload.upload_id}/confirm with {{"tx": <hash>}} for the link',
        }
    if service.relay.spendable(record.owner) < record.max_fee:
        batches.drop_claim(media)
        raise UploadConflict(
            f"{record.owner}'s deposit (less any withdrawal asked for) is below the fee cap of {record.max_fee} "
            "wei: add to it (MediaApp.deposit), send the registration yourself (send: client), or use a batch"
        )
    receipt = service.relay.send(call)
    faults.point("direct-sent")
    tx = "0x" + bytes(receipt["transactionHash"]).hex()
    batches.claim_proven(media, int(receipt["blockNumber"]))
    return link_upload(service, service.ledger().get(upload.upload_id), media, tx, int(receipt["blockNumber"]))  # type: ignore[arg-type]


def confirm_upload(service: Service, upload: Upload, tx: str) -> dict[str, Any]:
    if upload.state == "committed":
        return committed_answer(service, upload)
    if upload.media_id is None or not upload.user_contract:
        raise UploadConflict(f"upload {upload.upload_id} was not committed with send=client: commit it first")
    try:
        receipt = service.relay.registered_in(upload.user_contract, tx, upload.media_id)
    except TransactionNotFound:
        raise NotRegistered(f"no mined transaction {tx}: wait for it to be mined and confirm again") from None
    tx_hex = "0x" + bytes(receipt["transactionHash"]).hex()
    service.batches().claim_proven(upload.media_id, int(receipt["blockNumber"]))
    return link_upload(service, upload, upload.media_id, tx_hex, int(receipt["blockNumber"]))


def bytes_back(service: Service, upload: Upload) -> Path:
    """The original's bytes on local disk: the spool's copy, or fetched back from a cluster."""
    spooled = service.spool.path(upload.sha256)
    if spooled.exists():
        return spooled
    target = service.incoming / f"upload-{upload.upload_id}.part"
    return service.placer.fetch_to(service.store(), upload.sha256, target)


def anchored(service: Service, entries: list[Entry], batch: int, tx: str) -> None:
    """The batcher's word that `entries` are anchored: each upload gets its link."""
    ledger = service.ledger()
    for entry in entries:
        upload = ledger.get(entry.upload_id)
        if upload is not None and upload.state != "committed":
            link_upload(service, upload, entry.media_id, tx, batch)


def link_upload(service: Service, upload: Upload, media: str, tx: str, block: int) -> dict[str, Any]:
    """Give a registered upload its short link. Idempotent: a media that has a link keeps it (a crash between the
    link and the upload's commit, or two threads settling the same upload, never make a second one)."""
    assert upload.owner is not None and upload.title is not None
    store = service.store()
    short_id = store.short_id_of(media) or store.link_media(
        service.keygen.next_id(), upload.sha256, upload.owner, upload.title, upload.media_type, upload.size, media
    )
    faults.point("link-added")
    service.ledger().commit(upload.upload_id, media, short_id, tx, block)
    return committed_answer(service, service.ledger().get(upload.upload_id))  # type: ignore[arg-type]


def committed_answer(service: Service, upload: Upload) -> dict[str, Any]:
    answer: dict[str, Any] = {
        "state": "committed",
        "short_id": upload.short_id,
        "link": f"/m/{upload.short_id}",
        "media_id": upload.media_id,
        "tx": upload.tx,
        "block": upload.block,
        "sha256": upload.sha256,
        "cid": upload.cid,
    }
    bundle = proof_bundle(service, upload)
    if bundle is not None:
        answer["mode"] = bundle.kind
        answer["batch"] = bundle.batch
        answer["proof"] = bundle.to_json()
    return answer


def proof_bundle(service: Service, upload: Upload) -> ProofBundle | None:
    """The portable proof of a committed upload, from what the gateway kept (None for uploads from before)."""
    if upload.media_id is None or upload.record is None or upload.tx is None or upload.block is None:
        return None
    chain = service.chain
    entry = service.batches().entry(upload.media_id)
    if entry is not None and entry.root:
        batch = service.batches().batch(entry.root)
        if batch is None or batch.batch is None or entry.leaf_index is None:
            return None
        manifest: BatchManifest = parse_manifest(batch.manifest)
        return manifest.bundle(entry.leaf_index, manifest.tree(), batch.batch, batch.tx or "", batch.manifest_cid)
    direct = upload.record.get("direct")
    if not direct:
        return None
    return ProofBundle(
        kind="direct",
        record=eip712.MediaRecord.from_message(upload.record["message"]),
        owner_signature=bytes.fromhex(direct["signature"]),
        receipts=tuple(parse_receipt(r) for r in direct["receipts"]),
        media_id=bytes.fromhex(upload.media_id[2:]),
        chain_id=chain.chain_id,
        contract=chain.media_app.address,
        topology=chain.topology.address,
        tx=upload.tx,
        block=upload.block,
        user_contract=str(upload.user_contract),
    )
