"""The one typed settings object. Only this module reads the environment (MEDIAPROOF_* variables).

Build it once at each entry point (`Settings()`) and pass it down; nothing else calls os.environ.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

PROJECT_ROOT = Path(__file__).resolve().parent.parent

# anvil's first public test key (the well-known mnemonic "test test ... junk"). Used only on local chains
# (chain id 31337): on any other chain a key must be given explicitly.
ANVIL_TEST_KEYS = (
    "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80",
    "0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d",
    "0x5de4111afa1a4b94908f83103eb1f1706367c2e68ca870fc3fb9a804cdab365a",
    "0x7c852118294e51e653712a81e05800f419141751be58f605c371e15141b007a6",
)
LOCAL_CHAIN_ID = 31337


class Settings(BaseSettings):
    """Every knob of Mediaproof. Each field is read from `MEDIAPROOF_<NAME>`; the README lists them all."""

    model_config = SettingsConfigDict(env_prefix="MEDIAPROOF_", extra="ignore")

    data_dir: Path = Field(PROJECT_ROOT / ".data", description="where local state lives: chain, IPFS repos, keys")
    rpc_url: str = Field("http://127.0.0.1:8545", description="Ethereum JSON-RPC endpoint")
    network: str = Field("local", description="deployment name: reads deployments/<network>.json")
    deployment_file: Path | None = Field(None, description="explicit deployment file (overrides network)")
    private_key: str | None = Field(None, description="key that signs and sends; anvil's key 0 on a local chain")
    anvil_port: int = Field(8545, description="port of the local anvil node started by `make up`")
    cluster_count: int = Field(3, ge=1, le=16, description="storage clusters `make up` starts")
    replication_factor: int = Field(2, ge=1, le=16, description="receipts required per registration (R)")
    cluster_base_port: int = Field(8601, description="storage cluster i listens on base + i")
    ipfs_base_port: int = Field(5101, description="IPFS node i: API on base + 10*i, swarm and gateway next to it")
    user_deposit_wei: int = Field(10**17, description="deposit sent when the CLI registers a new wallet")
    max_upload_bytes: int = Field(1 << 30, description="largest file accepted")
    http_timeout: float = Field(120.0, description="seconds to wait on a storage cluster or RPC call")
    gateway_db: Path | None = Field(None, description="gateway database (short ids, renditions, placements)")
    gateway_dsn: str = Field(
        "",
        pattern=r"^$|^postgres(ql)?://",
        description="postgresql://… : the gateway database on PostgreSQL instead of the SQLite file (empty: SQLite)",
    )
    keygen_lease_size: int = Field(10_000, ge=1, le=10_000_000, description="short ids a process leases at once")
    upload_port: int = Field(8700, description="upload service port")
    upload_processes: int = Field(
        1, ge=1, le=64, description="upload service processes `mediaproof up` starts, sharing its port and database"
    )
    upload_url: str | None = Field(None, description="upload service the CLI talks to (default: local upload_port)")
    gateway_key: str | None = Field(
        None,
        description="the gateway's key: relays, anchors batches, signs requests to clusters; anvil's key 2 locally",
    )
    batch_max_files: int = Field(1024, ge=1, le=65536, description="files after which a proof batch closes")
    batch_interval: float = Field(2.0, gt=0, description="seconds after which a non-empty proof batch closes")
    receipt_lifetime: int = Field(3600, ge=60, description="seconds a storage receipt stays valid (at deploy)")
    withdrawal_delay: int = Field(2 * 86400, ge=0, description="seconds from a withdrawal request to its payout")
    variant_workers: int = Field(
        1,
        ge=0,
        le=16,
        description="jobs (variants, repair copies) the jobs worker runs at once (0: `mediaproof up` starts no worker)",
    )
    variant_max_attempts: int = Field(5, ge=1, description="tries of a variant job before it is marked failed")
    repair_max_attempts: int = Field(
        5, ge=1, description="tries of a repair copy (target or source down) before the job is marked failed"
    )
    jobs_stalled_after: float = Field(
        30.0, gt=0, description="seconds a jobs worker may go silent before its running jobs are queued again (PG)"
    )
    prepare_variant_wait: float = Field(5.0, ge=0, description="seconds `prepare` waits for variants to be ready")
    decode_bounds: bool = Field(
        True, description="bound image decoding by the decode budget (false: unbounded, the baseline of bench/abuse.py)"
    )
    decode_budget_bytes: int = Field(
        512 << 20,
        ge=16 << 20,
        description="decoded pixels (estimated from headers) an upload or jobs process holds at once",
    )
    decode_slots: int = Field(2, ge=1, le=64, description="images decoded at once (one more for small ones)")
    decode_queue: int = Field(32, ge=0, description="uploads waiting for the decode budget before more get 503")
    decode_wait: float = Field(60.0, gt=0, description="seconds an upload waits for the decode budget before 503")
    memory_trim: bool = Field(True, description="hand freed memory back to the OS after big decodes (glibc)")
    download_port: int = Field(8701, description="download service port")
    download_url: str | None = Field(None, description="download service as browsers reach it (default: local port)")
    indexer_port: int = Field(8702, description="indexer read API port")
    indexer_url: str | None = Field(None, description="indexer read API the CLI asks (default: local indexer_port)")
    indexer_db: Path | None = Field(None, description="the indexer's DuckDB file")
    indexer_confirmations: int = Field(0, ge=0, description="blocks the indexer waits before applying one")
    webapp_port: int = Field(3000, description="web app port")
    # The badge embed snippet is pasted into other people's pages: it must name an indexer their readers' browsers
    # reach, which differs from indexer_url where the web app talks to an internal indexer.
    public_indexer_url: str | None = Field(
        None,
        pattern=r"^https?://[^\s\"'<>]+$",  # it becomes an <img src> in a snippet others paste: http(s) only
        description="indexer as browsers reach it, for the badge embed snippet (default: indexer_url)",
    )
    webapp_url: str | None = Field(None, description="web app as people reach it, for the links the CLI prints")
    explorer_url: str = Field(
        "",
        pattern=r"^(https?://[^\s\"'<>]+)?$",  # http(s) only: it becomes a link's href (never javascript:)
        description="block explorer the web app links hashes to (<url>/tx/<hash>, <url>/address/<a>); empty: none",
    )
    upload_cors_origins: str | None = Field(
        None,
        description="comma-separated browser origins that may call the upload service (default: the local web app)",
    )
    upload_session_lifetime: int = Field(
        12 * 3600, ge=60, description="seconds a sign-in session (bearer token) of the upload service lasts"
    )
    upload_nonce_lifetime: int = Field(300, ge=10, description="seconds a sign-in nonce (and its message) is good")
    upload_nonces_per_minute: int = Field(30, ge=1, description="sign-in nonces one client address may ask for")
    upload_actions_per_minute: int = Field(
        120, ge=1, description="social actions (follow, like, comment) per minute, per wallet and per client address"
    )
    upload_rate_per_minute: int = Field(60, ge=1, description="uploads per minute, per wallet and per client address")
    upload_project_files_per_minute: int = Field(
        1200, ge=1, description="project files sent per minute, per wallet and per client address (a sync's burst)"
    )
    upload_bytes_per_day: int = Field(20 << 30, ge=1, description="bytes uploaded per day, per wallet and per address")
    upload_concurrent: int = Field(8, ge=1, description="uploads in flight at once, per wallet and per address")
    upload_max_open: int = Field(64, ge=1, description="uploads one upload-service process receives at once")
    upload_trusted_proxies: str = Field(
        "", description="comma-separated proxy addresses whose X-Forwarded-For names the client (default: none)"
    )
    upload_idle_timeout: float = Field(30.0, gt=0, description="seconds an upload body may stall before it is cut off")
    upload_sweep_interval: float = Field(
        60.0, gt=0, description="seconds between the upload service's sweeps (unlinked registrations, expired uploads)"
    )
    upload_ttl: float = Field(
        24 * 3600.0,
        gt=0,
        description="seconds an upload may wait for its commit; then it is removed and its bytes unpinned if unused",
    )
    upload_resumable_above: int = Field(
        8 << 20,
        ge=0,
        description="`mediaproof upload`, `mediaproof sync` and the web app send files over this many bytes resumably "
        "(tus, /files/)",
    )
    upload_chunk_bytes: int = Field(
        16 << 20, ge=64 << 10, description="bytes per chunk (PATCH) of a resumable upload the CLI or the web app sends"
    )
    upload_test_hold_at: str = Field(
        "", description="tests only: comma-separated crash points where the upload service stops and waits to be killed"
    )
    jobs_test_hold_at: str = Field(
        "", description="tests only: comma-separated crash points where the jobs worker stops and waits to be killed"
    )
    jobs_test_fail_tries: int = Field(
        0,
        ge=0,
        description="tests only: the first tries of every variant and repair job fail as a cluster outage would",
    )
    sync_test_hold_at: str = Field(
        "", description="tests only: comma-separated crash points where `mediaproof sync` stops and waits to be killed"
    )
    observer_interval: float = Field(2.0, gt=0, description="seconds between the observer's health checks")
    observer_failures: int = Field(3, ge=1, description="failed checks in a row before a cluster is marked Down")
    observer_key: str | None = Field(None, description="key the observer marks clusters with; anvil's key 3 locally")
    observer_check_timeout: float = Field(3.0, gt=0, description="seconds one health check of a cluster may take")
    observer_repair_interval: float = Field(30.0, gt=0, description="seconds between full replication sweeps")
    download_processes: int = Field(
        1, ge=1, le=64, description="download service processes: the HTTP server's workers, sharing its port"
    )
    download_cache_bytes: int = Field(256 << 20, ge=0, description="memory for the download service's object cache")
    download_cache_object_bytes: int = Field(4 << 20, ge=0, description="largest object the download cache keeps")
    download_resolve_ttl: float = Field(2.0, ge=0, description="seconds a resolved short id is reused")
    download_topology_refresh: float = Field(5.0, gt=0, description="seconds between topology reads from chain")
    download_view_queue: int = Field(100_000, ge=1, description="views held in memory before new ones are dropped")
    download_views_retention: float = Field(
        7 * 86400.0, gt=0, description="seconds a view record is kept in the gateway store (the indexer must read it)"
    )

    def resolved_indexer_db(self) -> Path:
        return self.indexer_db or self.data_dir / "indexer.duckdb"

    def resolved_indexer_url(self) -> str:
        return (self.indexer_url or f"http://127.0.0.1:{self.indexer_port}").rstrip("/")

    def resolved_public_indexer_url(self) -> str:
        return (self.public_indexer_url or self.resolved_indexer_url()).rstrip("/")

    def resolved_download_url(self) -> str:
        return (self.download_url or f"http://127.0.0.1:{self.download_port}").rstrip("/")

    def resolved_webapp_url(self) -> str:
        return (self.webapp_url or f"http://127.0.0.1:{self.webapp_port}").rstrip("/")

    def resolved_gateway_db(self) -> Path:
        return self.gateway_db or self.data_dir / "gateway.db"

    def resolved_gateway_store(self) -> Path | str:
        """Where the gateway stores (mediaproof.gateway_db) keep their data: the PostgreSQL DSN when set, else the
        SQLite file."""
        return self.gateway_dsn or self.resolved_gateway_db()

    def resolved_upload_url(self) -> str:
        return (self.upload_url or f"http://127.0.0.1:{self.upload_port}").rstrip("/")

    def resolved_upload_cors_origins(self) -> list[str]:
        """Origins whose pages may send files straight to the upload service; "" allows none."""
        if self.upload_cors_origins is None:
            return [f"http://127.0.0.1:{self.webapp_port}", f"http://localhost:{self.webapp_port}"]
        return [origin.strip().rstrip("/") for origin in self.upload_cors_origins.split(",") if origin.strip()]

    def as_env(self) -> dict[str, str]:
        """These settings as the MEDIAPROOF_* variables that rebuild them in a child process."""
        return {f"MEDIAPROOF_{name.upper()}": str(v) for name, v in self.model_dump().items() if v is not None}

    def resolved_deployment_file(self) -> Path:
        return self.deployment_file or PROJECT_ROOT / "deployments" / f"{self.network}.json"
