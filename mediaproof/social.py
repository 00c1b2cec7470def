"""Social actions (follow, like, comment) as EIP-712 messages their authors sign, and their place in a batch.

Pure. An action is signed by its author's wallet under MediaApp's domain (name "Mediaproof", version "1"), so
its EIP-712 digest is its id, exactly as a media record's digest is its media id. The gateway accepts it and puts
it in the same Merkle batch as media; its leaf uses the batch leaf encoding (bytes32, address, bytes32, bytes32)
with the values (0, author, action id, ACTION_MARK): `MediaApp.verifyInclusion` proves it like any leaf, and no
action leaf can be revealed as a file (its "receipts hash" is a constant no list of receipts hashes to, and its
media id is a digest of another EIP-712 type than MediaRecord).

Comments: a new comment has `replaces` = 0; an edit or a delete names the comment it changes by its first id
(`replaces` = the original comment's action id); a delete carries `deleted` = true and empty text. Follows and
likes carry their state (`follow`, `like`), so unfollow and unlike are the same types with false.

Every action carries `issuedAt` (unix seconds; the gateway refuses one far from its clock) and a random 32-byte
`nonce`, so two likes of the same media are two different messages and a replayed message has an id seen before.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from eth_account import Account
from eth_account.messages import encode_typed_data
from eth_utils import is_address, keccak, to_checksum_address

from mediaproof import eip712, merkle
from mediaproof.errors import InputError
from mediaproof.safe_text import BIDI_CONTROLS, describe

# The receipts-hash slot of an action's leaf: marks the leaf as an action, never a file's receipts.
ACTION_MARK = bytes(keccak(b"mediaproof.social-action.v1"))
MAX_COMMENT_BYTES = 2000
MAX_COMMENT_LINES = 50
# How far an action's issuedAt may be from the gateway's clock (seconds): bounds how long a signed but unsent
# action stays acceptable.
MAX_CLOCK_SKEW = 600

FOLLOW_FIELDS = [
    {"name": "author", "type": "address"},
    {"name": "subject", "type": "address"},
    {"name": "follow", "type": "bool"},
    {"name": "issuedAt", "type": "uint64"},
    {"name": "nonce", "type": "bytes32"},
]
LIKE_FIELDS = [
    {"name": "author", "type": "address"},
    {"name": "mediaId", "type": "bytes32"},
    {"name": "like", "type": "bool"},
    {"name": "issuedAt", "type": "uint64"},
    {"name": "nonce", "type": "bytes32"},
]
COMMENT_FIELDS = [
    {"name": "author", "type": "address"},
    {"name": "mediaId", "type": "bytes32"},
    {"name": "replaces", "type": "bytes32"},
    {"name": "text", "type": "string"},
    {"name": "deleted", "type": "bool"},
    {"name": "issuedAt", "type": "uint64"},
    {"name": "nonce", "type": "bytes32"},
]
KINDS = ("Follow", "Like", "Comment")


@dataclass(frozen=True)
class Follow:
    author: str
    subject: str
    follow: bool
    issued_at: int
    nonce: bytes

    kind = "Follow"

    def message(self) -> dict[str, Any]:
        return {"author": _checksum(self.author), "subject": _checksum(self.subject), "follow": self.follow,
                "issuedAt": str(self.issued_at), "nonce": eip712.hex32(self.nonce)}  # fmt: skip


@dataclass(frozen=True)
class Like:
    author: str
    media_id: bytes
    like: bool
    issued_at: int
    nonce: bytes

    kind = "Like"

    def message(self) -> dict[str, Any]:
        return {"author": _checksum(self.author), "mediaId": eip712.hex32(self.media_id), "like": self.like,
                "issuedAt": str(self.issued_at), "nonce": eip712.hex32(self.nonce)}  # fmt: skip


@dataclass(frozen=True)
class Comment:
    author: str
    media_id: bytes
    text: str
    issued_at: int
    nonce: bytes
    replaces: bytes = eip712.ZERO32
    deleted: bool = False

    kind = "Comment"

    @property
    def is_new(self) -> bool:
        return self.replaces == eip712.ZERO32

    def message(self) -> dict[str, Any]:
        return {"author": _checksum(self.author), "mediaId": eip712.hex32(self.media_id),
                "replaces": eip712.hex32(self.replaces), "text": self.text, "deleted": self.deleted,
                "issuedAt": str(self.issued_at), "nonce": eip712.hex32(self.nonce)}  # fmt: skip


Action = Follow | Like | Comment
_FIELDS = {"Follow": FOLLOW_FIELDS, "Like": LIKE_FIELDS, "Comment": COMMENT_FIELDS}


def typed_data(action: Action, chain_id: int, media_app: str) -> dict[str, Any]:
    """What the author's wallet signs (`eth_signTypedData_v4`)."""
    return {
        "types": {"EIP712Domain": eip712.DOMAIN_FIELDS, action.kind: _FIELDS[action.kind]},
        "primaryType": action.kind,
        "domain": eip712.domain(chain_id, media_app),
        "message": action.message(),
    }


def action_id(action: Action, chain_id: int, media_app: str) -> bytes:
    """The action's EIP-712 digest: its id everywhere (gateway, manifest, indexer, proofs)."""
    return eip712.digest(typed_data(action, chain_id, media_app))


def sign(action: Action, chain_id: int, media_app: str, private_key: str | bytes) -> bytes:
    return eip712.sign(typed_data(action, chain_id, media_app), private_key)


def recover(action: Action, chain_id: int, media_app: str, signature: bytes) -> str:
    """The EOA that signed; whether it is the author (or the author is a contract wallet that accepts it under
    EIP-1271) is the caller's check."""
    return str(Account.recover_message(encode_typed_data(full_message=typed_data(action, chain_id, media_app)),
                                       signature=signature))  # fmt: skip


def leaf_values(author: str, id_: bytes) -> tuple[Any, ...]:
    """The action's values in the batch tree (merkle.BATCH_LEAF_ENCODING)."""
    return merkle.batch_leaf_values(eip712.ZERO32, _checksum(author), id_, ACTION_MARK)


def leaf(author: str, id_: bytes) -> bytes:
    return merkle.leaf_hash(merkle.BATCH_LEAF_ENCODING, leaf_values(author, id_))


def parse_action(kind: Any, message: Any) -> Action:
    """An action from its kind and typed-data message (untrusted JSON): exact fields, each of its type; the rules
    (`check_rules`) and the signature are checked separately. InputError says what was wrong."""
    if kind not in KINDS:
        raise InputError(f"kind {kind!r} is not an action: one of {', '.join(KINDS)}")
    if not isinstance(message, Mapping):
        raise InputError("message is not an object")
    names = [f["name"] for f in _FIELDS[kind]]
    extra = sorted(set(message) - set(names))
    missing = [n for n in names if n not in message]
    if missing or extra:
        raise InputError(f"a {kind} message has exactly the fields {', '.join(names)}"
                         + (f"; missing {', '.join(missing)}" if missing else "")
                         + (f"; unknown {', '.join(extra)}" if extra else ""))  # fmt: skip
    author = _address(message["author"], "author")
    issued_at = _uint(message["issuedAt"], 64, "issuedAt")
    nonce = _bytes32(message["nonce"], "nonce")
    if kind == "Follow":
        return Follow(author, _address(message["subject"], "subject"), _bool(message["follow"], "follow"),
                      issued_at, nonce)  # fmt: skip
    if kind == "Like":
        return Like(author, _bytes32(message["mediaId"], "mediaId"), _bool(message["like"], "like"), issued_at, nonce)
    text = message["text"]
    if not isinstance(text, str):
        raise InputError("text is not a string")
    return Comment(author, _bytes32(message["mediaId"], "mediaId"), text, issued_at, nonce,
                   _bytes32(message["replaces"], "replaces"), _bool(message["deleted"], "deleted"))  # fmt: skip


def check_rules(action: Action) -> None:
    """What no signature can make acceptable: following yourself, an empty, oversized or control-character
    comment, a delete with text or a delete of nothing."""
    if isinstance(action, Follow) and action.author.lower() == action.subject.lower():
        raise InputError("you cannot follow yourself")
    if isinstance(action, Comment):
        if action.deleted:
            if action.is_new:
                raise InputError("a comment delete must name the comment it deletes (replaces)")
            if action.text:
                raise InputError("a comment delete carries no text")
        else:
            check_comment_text(action.text)


def check_comment_text(text: str) -> None:
    """A comment is lines of text: no control characters other than line feeds, no bidirectional controls."""
    if not text.strip():
        raise InputError("the comment is empty: write something")
    if len(text.encode()) > MAX_COMMENT_BYTES:
        raise InputError(f"the comment is {len(text.encode())} bytes, over {MAX_COMMENT_BYTES}: shorten it")
    if text.count("\n") >= MAX_COMMENT_LINES:
        raise InputError(f"the comment has over {MAX_COMMENT_LINES} lines: shorten it")
    refused: dict[str, None] = {}
    for c in text:
        if c != "\n" and (c in BIDI_CONTROLS or unicodedata.category(c) in {"Cc", "Cs", "Zl", "Zp"}):
            refused.setdefault(c)
    if refused:
        chars = list(refused)
        raise InputError(f"the comment carries {describe(chars[:5])}{' …' if len(chars) > 5 else ''}: only text "
                         "and line breaks, no control characters or bidirectional formatting")  # fmt: skip


@dataclass(frozen=True)
class SignedAction:
    """An action as a batch manifest carries it: the message, its author's signature and its id."""

    action: Action
    signature: bytes
    action_id: bytes

    @property
    def kind(self) -> str:
        return self.action.kind

    @property
    def author(self) -> str:
        return self.action.author

    @property
    def leaf_values(self) -> tuple[Any, ...]:
        return leaf_values(self.action.author, self.action_id)

    def to_json(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "message": self.action.message(),
            "signature": "0x" + self.signature.hex(),
            "action_id": eip712.hex32(self.action_id),
        }


def parse_signed_action(data: Any) -> SignedAction:
    """One action of a batch manifest (shape only: that its id is its digest under the manifest's domain and its
    signature is its author's are the reader's checks, as for media entries)."""
    if not isinstance(data, Mapping):
        raise InputError("the action is not an object")
    signature = data.get("signature")
    if not isinstance(signature, str) or not signature.startswith("0x"):
        raise InputError("signature is not 0x-hex")
    try:
        raw_signature = bytes.fromhex(signature[2:])
    except ValueError as exc:
        raise InputError("signature is not 0x-hex") from exc
    return SignedAction(parse_action(data.get("kind"), data.get("message")), raw_signature,
                        _bytes32(data.get("action_id"), "action_id"))  # fmt: skip


def _checksum(address: str) -> str:
    return str(to_checksum_address(address))


def _address(value: Any, what: str) -> str:
    if not isinstance(value, str) or not is_address(value):
        raise InputError(f"{what} {value!r} is not an address")
    return _checksum(value)


def _bytes32(value: Any, what: str) -> bytes:
    if not isinstance(value, str) or not value.startswith("0x") or len(value) != 66:
        raise InputError(f"{what} is not 0x and 64 hex digits")
    try:
        return bytes.fromhex(value[2:])
    except ValueError as exc:
        raise InputError(f"{what} is not 0x and 64 hex digits") from exc


def _bool(value: Any, what: str) -> bool:
    if not isinstance(value, bool):
        raise InputError(f"{what} is not true or false")
    return value


def _uint(value: Any, bits: int, what: str) -> int:
    """A decimal string (as eip712 writes integers) or a JSON integer, 0 <= value < 2**bits."""
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise InputError(f"{what} is not an integer")
    if isinstance(value, str) and not (value.isascii() and value.isdigit()):
        raise InputError(f"{what} {value!r} is not a decimal integer")
    number = int(value)
    if not 0 <= number < 1 << bits:
        raise InputError(f"{what} is out of range")
    return number
