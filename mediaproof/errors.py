"""Every error Mediaproof raises on purpose. Messages say what was wrong and what to do next.

MediaproofError
├── InputError (ValueError)            bad file, path, parameter
│   ├── MediaTooLarge
│   ├── SignatureRefused               a signature that is not the owner's, or a valid one by a key not allowed
│   ├── NotAuthenticated               a request without valid credentials (a gateway signature, a session)
│   ├── Forbidden                      a signed-in wallet asking for what is not its own, or a foreign web origin
│   ├── ClientTooSlow                  a request body that stopped arriving (the idle timeout)
│   ├── UploadConflict                 a step taken out of order (commit before prepare), a tus offset not the upload's
│   ├── UnsupportedMediaType           a request body of a content type the endpoint does not take (415)
│   ├── PreconditionFailed             a protocol version the service does not speak (tus: Tus-Resumable, 412)
│   ├── ChecksumMismatch               a tus chunk whose Upload-Checksum does not match its bytes (460)
│   ├── RangeNotSatisfiable            a Range header outside the file
│   ├── NotFound                       a path no route of the service serves
│   └── MethodNotAllowed               a method the path does not take
├── RateLimited                        over a rate limit or quota: try again after `retry_after` seconds
│   └── Overloaded                     the service holds as many open uploads as it takes: try again shortly
│       └── Busy                       at its decode budget for now: try again after retry_after s
├── NotRegistered (LookupError)        those bytes (or that id) were never registered
│   ├── Deleted                        they were, and their owner deleted them
│   └── UploadExpired                  a resumable upload left unfinished past its Upload-Expires (410)
├── ChainError (ConnectionError)       no node at the RPC URL, wrong chain, transaction reverted
│   ├── DeploymentError                missing or mismatched deployments/<network>.json
│   └── ContractRefused                a contract's custom error (`revert`), by name: the call, not the node, is wrong
├── StorageError (ConnectionError)     a storage cluster or IPFS node failed or answered wrongly
│   ├── ContentMismatch                bytes do not hash to what was claimed
│   ├── Stranded                       no cluster a repair may copy from holds the blob's bytes any more
│   └── NotPinned                      a cluster holds the object's record but IPFS no longer has it pinned
├── NotReady (ConnectionError)         a service that is up but cannot answer yet (the indexer before its first block)
├── ReceiptError (ValueError)          a storage receipt is forged, for other bytes, or from an inactive cluster
└── ProofError (ValueError)            a proof bundle is malformed or does not check out against the chain

The services answer each of these as RFC 9457 problem+json with its kind in `error` (mediaproof.problems holds the
one table from kind to HTTP status, and the one decoder every client uses to raise the same class again).
"""

from __future__ import annotations


class MediaproofError(Exception):
    """Root of every error Mediaproof raises on purpose."""

    status: int | None = None  # the HTTP status of the error answer a client read it from; None when raised here


class InputError(MediaproofError, ValueError):
    """The caller gave something unusable (a path, a file, a parameter)."""


class MediaTooLarge(InputError):
    """The file is over the configured size limit."""


class SignatureRefused(InputError):
    """A signature that does not come from the owner of the record, or a valid signature by a key that may not make
    the request, e.g. one StorageTopology does not list as a gateway (the services answer 403)."""


class NotAuthenticated(InputError):
    """A request that needs credentials came without valid ones (the services answer 401)."""


class Forbidden(InputError):
    """A signed-in wallet asking to act on another wallet's upload or media, or a write from a web origin that is
    not allowed (the upload service answers 403)."""


class ClientTooSlow(InputError):
    """A request body that stopped arriving for longer than the idle timeout (the upload service answers 408)."""


class RangeNotSatisfiable(InputError):
    """A `Range` header that asks for no bytes of the file, or bytes beyond its end (416)."""


class NotFound(InputError):
    """A path that no route of the service serves (404): check the link's shape, not the media."""


class MethodNotAllowed(InputError):
    """A method the path does not take (405); `allow` lists those it does, for the `Allow` header."""

    def __init__(self, message: str, allow: str = "") -> None:
        super().__init__(message)
        self.allow = allow


class RateLimited(MediaproofError):
    """Over a rate limit or quota (429); `retry_after` is how many seconds until the request may succeed."""

    def __init__(self, message: str, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = max(1, int(retry_after))


class Overloaded(RateLimited):
    """The service holds as many open uploads as it takes (503, with `retry_after`)."""


class UploadConflict(InputError):
    """An upload step taken out of order, e.g. commit before prepare (the upload service answers 409)."""


class UnsupportedMediaType(InputError):
    """A request body of a content type the endpoint does not take, e.g. a tus PATCH that is not
    `application/offset+octet-stream` (415)."""


class PreconditionFailed(InputError):
    """A request for a protocol version the service does not speak: a tus request whose `Tus-Resumable` is not
    1.0.0 (412, with the versions it does speak in `Tus-Version`)."""


class ChecksumMismatch(InputError):
    """A tus chunk whose bytes do not hash to its `Upload-Checksum` (460, tus's checksum extension): the chunk is
    discarded and the upload's offset stays where it was, so the client sends it again."""


class NotRegistered(MediaproofError, LookupError):
    """Nobody registered those bytes, or no media has that id."""


class Deleted(NotRegistered):
    """Media its owner deleted: it was registered, and is served no more (410)."""


class UploadExpired(NotRegistered):
    """A resumable upload left unfinished past its `Upload-Expires` (410): its bytes are gone, start it again."""


class ChainError(MediaproofError, ConnectionError):
    """The Ethereum node is unreachable, on another chain, or rejected a transaction."""


class DeploymentError(ChainError):
    """The deployment file is missing or describes another chain."""


class ContractRefused(ChainError):
    """A call the contract refused with one of its custom errors (`UserMediaNonceUsed(nonce=7)`); `error` is the
    error's name, so a service can answer for the caller's mistake (a replayed order: 409) rather than a 502."""

    def __init__(self, reason: str) -> None:
        super().__init__(f"the contract refused: {reason}")
        self.reason = reason
        self.error = reason.partition("(")[0]


class StaleVersion(ContractRefused):
    """A project commit named a version that is no longer the head (`ProjectStaleVersion(current)`): pull, merge and
    commit again on top of `current`."""

    @property
    def current(self) -> int | None:
        """The head's version the contract named (`ProjectStaleVersion(current=7)`), None if the text lacks it."""
        _, _, rest = self.reason.partition("current=")
        digits = rest.split(")")[0].split(",")[0].strip()
        return int(digits) if digits.isdigit() else None


class StorageError(MediaproofError, ConnectionError):
    """A storage cluster or its IPFS node failed or answered wrongly."""


class ContentMismatch(StorageError):
    """Bytes do not hash to the sha256 or CID that was claimed for them."""


class Stranded(StorageError):
    """A repair copy has no source left: none of the clusters it may copy from holds the bytes. Retrying cannot help;
    the observer's next sweep queues a new copy from whatever clusters hold the blob then."""


class NotPinned(StorageError):
    """A storage cluster holds an object's record, but its IPFS node no longer has the object pinned (409)."""


class Busy(Overloaded):
    """At a limit the service keeps to stay up (the decode budget), with its queue full or the wait too long: nothing
    is wrong with the request, send it again after `retry_after` seconds (503 + Retry-After, like Overloaded)."""


class NotReady(MediaproofError, ConnectionError):
    """A service that is running but cannot answer yet, e.g. the indexer before it follows a deployment (503):
    ask again shortly."""


class ReceiptError(MediaproofError, ValueError):
    """A storage receipt does not check out."""


class ProofError(MediaproofError, ValueError):
    """A proof bundle is malformed, or does not check out against the chain."""
