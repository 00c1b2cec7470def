"""Deleting a media: the DeleteMedia order its owner signs, then the tombstone sent to the owner's UserMedia and
its bytes released unless something else needs them (mediaproof.upload.garbage)."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from mediaproof import eip712
from mediaproof.errors import (
    ContractRefused,
    InputError,
    MediaproofError,
    NotRegistered,
    SignatureRefused,
    UploadConflict,
)
from mediaproof.upload.access import require_owner
from mediaproof.upload.garbage import release
from mediaproof.upload.ledger import Upload
from mediaproof.upload.registration import SIGNATURE_LIFETIME

if TYPE_CHECKING:
    from mediaproof.upload.service import Service


def prepare_delete(service: Service, media: str, wallet: str) -> dict[str, Any]:
    upload = committed_upload(service, media)
    require_owner(upload.owner, wallet, f"media {media}")
    assert upload.owner is not None
    service.relay.user_contract(upload.owner)  # tombstones live in the owner's UserMedia: it must have one
    order = eip712.DeleteMedia(
        bytes.fromhex(media[2:]), service.batches().next_nonce(upload.owner), int(time.time()) + SIGNATURE_LIFETIME
    )
    typed = eip712.delete_typed_data(order, service.chain.chain_id, service.chain.media_app.address)
    return {
        "media_id": media,
        "owner": upload.owner,
        "nonce": str(order.nonce),
        "deadline": order.deadline,
        "typed_data": typed,
    }


def committed_upload(service: Service, media: str) -> Upload:
    upload = service.ledger().by_media_id(media)
    if upload is None or upload.state != "committed":
        raise NotRegistered(f"no media {media} was registered through this upload service")
    return upload


def delete_media(
    service: Service, media: str, nonce: int, deadline: int, signature: bytes, wallet: str
) -> dict[str, Any]:
    upload = committed_upload(service, media)
    require_owner(upload.owner, wallet, f"media {media}")
    assert upload.owner is not None
    user_contract = service.relay.user_contract(upload.owner)
    if service.chain.user_media(user_contract).functions.isDeleted(bytes.fromhex(media[2:])).call():
        raise UploadConflict(f"media {media} is already deleted (its tombstone is on chain); nothing to do")
    order = eip712.DeleteMedia(bytes.fromhex(media[2:]), nonce, deadline)
    typed = eip712.delete_typed_data(order, service.chain.chain_id, service.chain.media_app.address)
    try:
        signer = eip712.recover(typed, signature)
    except Exception:
        raise SignatureRefused("the delete signature does not recover to any address") from None
    if signer != upload.owner:
        raise SignatureRefused(f"the delete order was signed by {signer}, not by the owner {upload.owner}")
    try:
        receipt = service.relay.send(service.relay.delete_call(user_contract, order, signature))
    except ContractRefused as refused:
        raise _delete_refusal(media, nonce, refused) from None
    service.store().mark_deleted(media)
    # Bytes another record or another wallet's upload not yet committed relies on stay (de-duplication).
    unpinned = release(service, upload.sha256)
    return {
        "media_id": media,
        "deleted": True,
        "tx": "0x" + bytes(receipt["transactionHash"]).hex(),
        "block": int(receipt["blockNumber"]),
        "unpinned": unpinned,
    }


def _delete_refusal(media: str, nonce: int, refused: ContractRefused) -> MediaproofError:
    """The caller's error behind a refused delete order (a replay is a 409, not the chain failing: 502)."""
    if refused.error == "UserMediaNonceUsed":
        return UploadConflict(f"the delete order's nonce {nonce} was spent before (a replayed order): ask "
                              f"/media/{media}/delete/prepare for a fresh order and sign that")  # fmt: skip
    if refused.error == "UserMediaAlreadyDeleted":
        return UploadConflict(f"media {media} is already deleted (its tombstone is on chain); nothing to do")
    if refused.error == "UserMediaSignatureExpired":
        return InputError(f"the delete order's deadline has passed ({refused.reason}): prepare and sign a new one")
    if refused.error == "UserMediaBadOwnerSignature":
        return SignatureRefused(f"the delete order's signature is not the owner's ({refused.reason})")
    return refused
