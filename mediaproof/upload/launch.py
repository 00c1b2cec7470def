"""Start the upload service as its own process (for `make up`, the tests and the benchmarks)."""

from __future__ import annotations

import sys

import httpx
from eth_account import Account

from mediaproof.deployment import Deployment
from mediaproof.processes import ManagedProcess
from mediaproof.settings import ANVIL_TEST_KEYS, Settings

LOG_FILE = "upload.log"


def upload_process(settings: Settings, rpc_url: str | None = None, ready_timeout: float = 60.0) -> ManagedProcess:
    """A not yet started upload service (`.start()` returns once /health answers); log in data_dir/upload/."""
    env = settings.as_env()
    if rpc_url:
        env["MEDIAPROOF_RPC_URL"] = rpc_url
    url = f"http://127.0.0.1:{settings.upload_port}"

    def ready() -> bool:
        return httpx.get(f"{url}/health", timeout=2.0).status_code == 200

    return ManagedProcess(
        name="upload service",
        argv=[sys.executable, "-m", "mediaproof.upload"],
        log_path=settings.data_dir / "upload" / LOG_FILE,
        ready=ready,
        env=env,
        ready_timeout=ready_timeout,
    )


def approve_gateway(rpc_url: str, deployment: Deployment, settings: Settings) -> str:
    """On a local chain, have the deployer (anvil key 0, the contracts' admin) approve the upload service's gateway
    key as relayer and sequencer in MediaApp and as a gateway the storage clusters serve."""
    from mediaproof.chain import MediaproofChain, connect, gateway_account

    chain = MediaproofChain(connect(rpc_url), deployment)
    gateway = gateway_account(settings, chain.chain_id).address
    admin = Account.from_key(ANVIL_TEST_KEYS[0])
    app, topology = chain.media_app.functions, chain.topology.functions
    for approved, approve in (
        (app.isRelayer, app.setRelayer),
        (app.isSequencer, app.setSequencer),
        (topology.isGateway, topology.setGateway),
    ):
        if not approved(gateway).call():
            chain.transact(admin, approve(gateway, True))
    return gateway
