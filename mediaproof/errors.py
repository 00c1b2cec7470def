"""Every error Mediaproof raises on purpose. Messages say what was wrong and what to do next.

MediaproofError
├── InputError (ValueError)            bad file, path, parameter
│   ├── MediaTooLarge
│   ├── SignatureRefused               a signature that is not the owner's, or a valid one by a key not allowed
│   ├── NotAuthenticated               a request without valid credentials (a gateway signature, a session)
│   └── UploadConflict                 a step taken out of order (commit before prepare)
├── NotRegistered (LookupError)        those bytes (or that id) were never registered
├── ChainError (ConnectionError)       no node at the RPC URL, wrong chain, transaction reverted
│   └── DeploymentError                missing or mismatched deployments/<network>.json
├── StorageError (ConnectionError)     a storage cluster or IPFS node failed or answered wrongly
│   ├── ContentMismatch                bytes do not hash to what was claimed
│   └── NotPinned                      a cluster holds the object's record but IPFS no longer has it pinned
├── Busy                               at its limit for now (the decode budget): try again after retry_after s
├── ReceiptError (ValueError)          a storage receipt is forged, for other bytes, or from an inactive cluster
└── ProofError (ValueError)            a proof bundle is malformed or does not check out against the chain
"""

from __future__ import annotations


class MediaproofError(Exception):
    """Root of every error Mediaproof raises on purpose."""


class InputError(MediaproofError, ValueError):
    """The caller gave something unusable (a path, a file, a parameter)."""


class MediaTooLarge(InputError):
    """The file is over the configured size limit."""


class SignatureRefused(InputError):
    """A signature that does not come from the owner of the record, or a valid signature by a key that may not make
    the request, e.g. one StorageTopology does not list as a gateway (the services answer 403)."""


class NotAuthenticated(InputError):
    """A request that needs credentials came without valid ones (the services answer 401)."""


class UploadConflict(InputError):
    """An upload step taken out of order, e.g. commit before prepare (the upload service answers 409)."""


class NotRegistered(MediaproofError, LookupError):
    """Nobody registered those bytes, or no media has that id."""


class ChainError(MediaproofError, ConnectionError):
    """The Ethereum node is unreachable, on another chain, or rejected a transaction."""


class DeploymentError(ChainError):
    """The deployment file is missing or describes another chain."""


class StorageError(MediaproofError, ConnectionError):
    """A storage cluster or its IPFS node failed or answered wrongly."""


class ContentMismatch(StorageError):
    """Bytes do not hash to the sha256 or CID that was claimed for them."""


class NotPinned(StorageError):
    """A storage cluster holds an object's record, but its IPFS node no longer has the object pinned (409)."""


class Busy(MediaproofError):
    """The service is at a limit it keeps to stay up (e.g. the decode budget), and its queue is full or the wait was
    too long: nothing is wrong with the request, send it again after `retry_after` seconds (503 + Retry-After)."""

    def __init__(self, message: str, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class ReceiptError(MediaproofError, ValueError):
    """A storage receipt does not check out."""


class ProofError(MediaproofError, ValueError):
    """A proof bundle is malformed, or does not check out against the chain."""
