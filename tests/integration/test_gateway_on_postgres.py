"""The whole local system with the gateway database on a real PostgreSQL server, chosen by settings alone
(MEDIAPROOF_GATEWAY_DSN): an upload is stored, signed, anchored and linked; the download service serves it and its
batch manifest by reading PostgreSQL; the indexer gets its short id from there; no SQLite gateway file is made."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from eth_account import Account

from mediaproof.bundle import parse_bundle
from mediaproof.chain import MediaproofChain
from mediaproof.clients.upload import UploadClient, ensure_wallet
from mediaproof.devstack import LocalStack
from mediaproof.gateway_store import GatewayStore
from mediaproof.settings import ANVIL_TEST_KEYS
from tests.integration.stack import stack_settings, wait_until
from tests.integration.test_upload_service import register
from tests.unit.test_upload_intake import photo_bytes

pytestmark = pytest.mark.integration
ALICE = Account.from_key(ANVIL_TEST_KEYS[0])


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory, postgres) -> Iterator[LocalStack]:  # type: ignore[no-untyped-def]
    settings = stack_settings(tmp_path_factory.mktemp("pg"), clusters=2, replication_factor=2).model_copy(
        update={"gateway_dsn": postgres.database(), "batch_interval": 0.5, "prepare_variant_wait": 10.0}
    )
    running = LocalStack(settings).start()
    yield running
    running.stop()


def test_an_upload_is_linked_served_and_indexed_from_postgresql(stack: LocalStack) -> None:
    settings = stack.settings
    chain = MediaproofChain.from_settings(settings.model_copy(update={"rpc_url": stack.anvil.url}))
    with UploadClient(settings.resolved_upload_url()) as client:
        ensure_wallet(client, chain, ALICE, 10**17)
    data = photo_bytes(31, (1200, 800))
    result = register(stack, data, ALICE, "Quay in fog")
    short_id = result["short_id"]

    gateway = GatewayStore(settings.gateway_dsn, readonly=True)
    linked = gateway.resolve(short_id)
    assert linked is not None and linked.media_id == result["media_id"] and linked.owner == ALICE.address
    assert len(set(gateway.placements(linked.sha256))) == 2  # the upload service's placements, in PostgreSQL

    download = settings.resolved_download_url()
    original = httpx.get(f"{download}/m/{short_id}", timeout=60)
    assert original.status_code == 200 and original.content == data
    # The batch manifest the anchor names: the download service reads it from the batches table in PostgreSQL.
    manifest_cid = parse_bundle(result["proof"]).manifest_cid
    manifest = httpx.get(f"{download}/manifests/{manifest_cid}", timeout=30)
    assert manifest.status_code == 200 and manifest.content == gateway.manifest(manifest_cid)[1]  # type: ignore[index]

    indexer = settings.resolved_indexer_url()
    indexed = wait_until(
        lambda: (r := httpx.get(f"{indexer}/media/{short_id}", timeout=30)).status_code == 200 and r.json(),
        "the indexer to read the short id from PostgreSQL",
    )
    assert indexed["id"] == result["media_id"]
    assert not settings.resolved_gateway_db().exists(), "a gateway store wrote to the SQLite file"
