"""One pass over an upload: hash it (sha256 + CID) while the same chunks stream on into IPFS's `add`.

The request body is the add's body: each chunk is hashed on its way through, and httpx reads the next one only when
the node has taken the last, so memory stays at a few chunks whatever the file's size (bench/ipfs_add.py).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass

from mediaproof.content import ContentDigest, ContentHasher
from mediaproof.errors import MediaTooLarge
from mediaproof.ipfs_client import AddedFile, AsyncIpfsClient


@dataclass(frozen=True)
class Ingested:
    """What the bytes hash to by our count, and what IPFS made of the part it was given."""

    digest: ContentDigest  # of every byte received
    added: AddedFile  # of what IPFS was given: at most the claimed size


async def ingest(chunks: AsyncIterator[bytes], ipfs: AsyncIpfsClient, claimed_size: int, max_bytes: int) -> Ingested:
    """Stream `chunks` into an unpinned IPFS add while hashing them; stop feeding IPFS past `claimed_size`.

    Pinning is the caller's decision once the digests are compared with the claim.
    """
    hasher = ContentHasher()
    broken_off: list[Exception] = []

    async def feed() -> AsyncIterator[bytes]:
        received = 0
        try:
            async for chunk in chunks:
                hasher.update(chunk)
                received += len(chunk)
                if received > max_bytes:
                    raise MediaTooLarge(f"the upload is over this cluster's limit of {max_bytes} bytes")
                if received - len(chunk) < claimed_size:
                    # Past the claim there is nothing IPFS should keep; keep hashing only so the answer can say why.
                    yield chunk[: claimed_size - (received - len(chunk))]
        except Exception as exc:
            # Broken off (the uploader hung up) or refused: end the add cleanly with what it has (a truncated file,
            # unpinned, for the caller's garbage collection) and raise once it has answered. Cutting its request
            # instead leaves js-ipfs holding its GC lock for good, and every `repo gc` after it (and every add and
            # pin queued behind that) waits for ever.
            broken_off.append(exc)

    added = await ipfs.add(feed(), pin=False)
    if broken_off:
        raise broken_off[0]
    return Ingested(digest=hasher.finish(), added=added)


async def hash_only(chunks: AsyncIterator[bytes], max_bytes: int) -> ContentDigest:
    """sha256 and CID of an upload whose bytes this cluster already holds (no second add)."""
    hasher = ContentHasher()
    received = 0
    async for chunk in chunks:
        received += len(chunk)
        if received > max_bytes:
            raise MediaTooLarge(f"the upload is over this cluster's limit of {max_bytes} bytes")
        hasher.update(chunk)
    return hasher.finish()
