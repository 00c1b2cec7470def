"""The gateway's side of social actions (follow, like, comment; mediaproof.social): which signed actions it accepts
into a batch, and what it answers about one. Run on worker threads (chain and indexer calls, the database).

An action is accepted when it is well formed and within the rules, issued within MAX_CLOCK_SKEW of this clock,
signed by its author (ECDSA, or EIP-1271 for a contract wallet: the verifier's own check, ChainReader.owner_signed),
about media the indexer knows and that is not deleted, and — for an edit or delete — about a comment this gateway
accepted from the same author on the same media. No sign-in session is needed: the signature authenticates the
author, and the gateway only relays what the author signed (it cannot alter an action without changing its id).
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from mediaproof import eip712, social
from mediaproof.bundle import parse_manifest
from mediaproof.clients import ServiceUnavailable
from mediaproof.clients.indexer import media as indexed_media
from mediaproof.errors import (
    Deleted,
    Forbidden,
    InputError,
    MediaproofError,
    NotReady,
    NotRegistered,
    SignatureRefused,
    UploadConflict,
)
from mediaproof.problems import status_of
from mediaproof.upload.sessions import parse_signature_hex

if TYPE_CHECKING:
    from mediaproof.upload.service import Service


def parse_signature(value: Any) -> bytes:
    return parse_signature_hex(
        value, InputError, "signature must be the 0x-hex signature of the action's typed data (eth_signTypedData_v4)"
    )


def parse_action_id(value: str) -> str:
    text = value.lower()
    if len(text) == 66 and text.startswith("0x") and all(c in "0123456789abcdef" for c in text[2:]):
        return text
    raise InputError(f"{value!r} is not an action id (0x and 64 hex digits: the action's EIP-712 digest)")


def check_issued_at(action: social.Action, now: float) -> None:
    skew = action.issued_at - now
    if abs(skew) > social.MAX_CLOCK_SKEW:
        when = "ahead of" if skew > 0 else "behind"
        raise InputError(f"issuedAt is {abs(int(skew))} s {when} this gateway's clock, more than the "
                         f"{social.MAX_CLOCK_SKEW} s allowed: sign the action again with the current time")  # fmt: skip


def accept_action(service: Service, body: dict[str, Any], client: str) -> dict[str, Any]:
    """Check and keep one action (see the module's doc); its {action_id, kind, author, state}. Nothing is stored
    unless every check passed."""
    service.quotas.take_action("address", client)
    action = social.parse_action(body.get("kind"), body.get("message"))
    social.check_rules(action)
    signature = parse_signature(body.get("signature"))
    check_issued_at(action, time.time())
    chain = service.chain
    id_ = social.action_id(action, chain.chain_id, chain.media_app.address)
    action_id = eip712.hex32(id_)
    store = service.batches()
    if store.action(action_id) is not None:
        raise UploadConflict(f"action {action_id} was already accepted (a replay): it is in its batch once")
    if not service.reader.owner_signed(action.author, id_, signature):
        raise SignatureRefused(f"the signature is not {action.author}'s over this {action.kind} (neither its key's "
                               "nor, for a contract wallet, EIP-1271 isValidSignature's): sign it with the author's "
                               "wallet")  # fmt: skip
    service.quotas.take_action("wallet", action.author)
    if isinstance(action, social.Like | social.Comment):
        retraction = (isinstance(action, social.Like) and not action.like) or (
            isinstance(action, social.Comment) and action.deleted
        )
        check_media(service, eip712.hex32(action.media_id), live=not retraction)
    if isinstance(action, social.Comment) and not action.is_new:
        check_replaced(service, action)
    signed = social.SignedAction(action, signature, id_)
    if not store.add_action(action_id, action.author, action.kind, signed.to_json()):
        raise UploadConflict(f"action {action_id} was already accepted (a replay): it is in its batch once")
    if service.batcher is not None:
        service.batcher.wake()
    return {"action_id": action_id, "kind": action.kind, "author": action.author, "state": "pending"}


def check_media(service: Service, media_id: str, live: bool) -> None:
    """The media must be indexed, and unless `live` is False (an unlike, a comment's delete), not deleted."""
    try:
        record = indexed_media(service.settings.resolved_indexer_url(), media_id, service.settings.http_timeout)
    except Deleted:
        if live:
            raise
        return
    except NotRegistered:
        raise NotRegistered(f"no media {media_id} is indexed: like or comment on media that exists (a media id "
                            "is its record's EIP-712 digest; a new upload is indexed once its batch is anchored)"
                            ) from None  # fmt: skip
    except (ServiceUnavailable, NotReady) as exc:
        raise NotReady(f"the indexer cannot say whether media {media_id} exists ({exc}): try again shortly") from None
    except MediaproofError as exc:
        if status_of(exc) >= 500:
            raise NotReady(f"the indexer failed to say whether media {media_id} exists: try again shortly") from None
        raise
    if live and record.get("deleted"):
        raise Deleted(f"media {media_id} was deleted by its owner: it takes no more likes or comments")


def check_replaced(service: Service, action: social.Comment) -> None:
    """An edit or delete names a comment this gateway accepted, by the same author, on the same media."""
    replaces = eip712.hex32(action.replaces)
    original = service.batches().action(replaces)
    message = original.action.get("message", {}) if original is not None else {}
    if original is None or original.kind != "Comment" or message.get("replaces") != eip712.hex32(eip712.ZERO32):
        raise NotRegistered(f"no comment {replaces} was accepted here: an edit or delete names the comment's "
                            "first id (the id its new comment got)")  # fmt: skip
    if original.author.lower() != action.author.lower():
        raise Forbidden(f"comment {replaces} is {original.author}'s: only its author edits or deletes it")
    if str(message.get("mediaId", "")).lower() != eip712.hex32(action.media_id):
        raise NotRegistered(f"comment {replaces} is on media {message.get('mediaId')}, not on "
                            f"{eip712.hex32(action.media_id)}")  # fmt: skip


def describe_action(service: Service, action_id: str) -> dict[str, Any]:
    """{action_id, kind, author, state}, and once anchored batch, tx, manifest_cid and proof (the ActionBundle)."""
    entry = service.batches().action(parse_action_id(action_id))
    if entry is None:
        raise NotRegistered(f"no action {action_id} was accepted by this gateway")
    answer: dict[str, Any] = {"action_id": entry.action_id, "kind": entry.kind, "author": entry.author,
                              "state": entry.state}  # fmt: skip
    batch = service.batches().batch(entry.root) if entry.root else None
    if entry.state != "anchored" or batch is None or batch.batch is None or entry.leaf_index is None:
        return answer
    manifest = parse_manifest(batch.manifest)
    index = entry.leaf_index - len(manifest.entries)
    bundle = manifest.action_bundle(index, manifest.tree(), batch.batch, batch.tx or "", batch.manifest_cid)
    return {**answer, "batch": batch.batch, "tx": batch.tx, "manifest_cid": batch.manifest_cid,
            "proof": bundle.to_json()}  # fmt: skip
