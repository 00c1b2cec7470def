"""The clients' social and analytics calls refuse what would put another path in the URL, before any request; a
service that does not answer is a ServiceUnavailable."""

from __future__ import annotations

import asyncio

import pytest

from mediaproof.clients import ServiceUnavailable
from mediaproof.clients.indexer import IndexerClient
from mediaproof.clients.upload_async import AsyncUploadClient
from mediaproof.errors import InputError

NOWHERE = "http://127.0.0.1:9"  # discard port: nothing answers
ADDRESS = "0x" + "ab" * 20


@pytest.mark.parametrize(
    "call",
    [
        lambda c: c.followers("../media"),
        lambda c: c.following(ADDRESS + "/x"),
        lambda c: c.comments("0x1234"),
        lambda c: c.comments("../../clusters"),
        lambda c: c.feed("not-an-address"),
        lambda c: c.feed(ADDRESS, order="popular"),
        lambda c: c.analytics("../clusters"),
        lambda c: c.analytics("Hb1?x=1"),
        lambda c: c.first_proof("ab" * 31),
        lambda c: c.first_proof("../" + "ab" * 31),
    ],
)
def test_indexer_social_reads_refuse_bad_keys_before_asking(call) -> None:
    with pytest.raises(InputError):
        asyncio.run(call(IndexerClient(NOWHERE, timeout=1)))


def test_unanswered_reads_and_actions_are_service_unavailable() -> None:
    with pytest.raises(ServiceUnavailable):
        asyncio.run(IndexerClient(NOWHERE, timeout=1).followers(ADDRESS))
    with pytest.raises(ServiceUnavailable):
        asyncio.run(AsyncUploadClient(NOWHERE, timeout=1).post_action("Like", {}, "0x"))
