"""The whole local system on one machine: anvil, IPFS nodes, storage clusters (and the services as they land).

`LocalStack(settings).start()` brings everything up in order — chain, deployment (once), IPFS nodes, clusters —
and `stop()` takes it down in reverse. State lives under settings.data_dir, so the next start finds the same chain,
files and proofs. `make up` runs `run_until_interrupted`, which also supervises: a part that crashes is restarted
with back-off (mediaproof.supervision) and logged to data_dir/supervisor.log. The integration tests drive
`LocalStack` directly.
A port of 0 in the settings means a free one: `stack.settings` holds the ports taken, and a restart reuses them.
"""

from __future__ import annotations

import functools
import logging
import signal
import socket
import sys
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from pathlib import Path

from eth_account import Account
from eth_account.signers.local import LocalAccount

from mediaproof.anvil import AnvilNode
from mediaproof.chain import MediaproofChain, connect, gateway_account
from mediaproof.deployment import (
    DEFAULT_CLUSTER_WEIGHT,
    ClusterEntry,
    ClusterSpec,
    Deployment,
    deploy,
    read_deployment,
    with_project_registry,
    write_deployment,
)
from mediaproof.errors import DeploymentError, MediaproofError
from mediaproof.ipfs_node import IpfsNode, node_from_settings
from mediaproof.ports import port_of, reserve_port
from mediaproof.processes import ManagedProcess, http_ok, port_open
from mediaproof.settings import ANVIL_TEST_KEYS, PROJECT_ROOT, Settings
from mediaproof.storage.keys import load_or_create_signer
from mediaproof.storage.launch import cluster_process
from mediaproof.supervision import Supervised, Supervisor

logger = logging.getLogger(__name__)
SUPERVISOR_LOG = "supervisor.log"  # under data_dir: every exit and restart of a part, one line each


@dataclass
class ClusterParts:
    cluster_id: int
    endpoint: str
    signer: str
    ipfs: IpfsNode
    listener: socket.socket  # bound before the deployment names the endpoint; the service inherits it
    service: ManagedProcess | None = None


class LocalStack:
    """Everything `make up` runs, built from one Settings object."""

    def __init__(self, settings: Settings, with_webapp: bool = False, supervise: bool = False) -> None:
        self.settings = settings
        self.with_webapp = with_webapp
        self.supervise = supervise  # `make up`: restart what crashes; tests that kill parts on purpose leave it off
        self.supervisor: Supervisor | None = None
        self.deployment_file: Path = settings.resolved_deployment_file()
        self.anvil = AnvilNode(
            settings.anvil_port, settings.data_dir / "anvil", settings.data_dir / "anvil" / "state.json"
        )
        self.clusters: list[ClusterParts] = []
        self._cluster_ports: list[int] = []  # as the chain knows them, for restarts
        self.deployment: Deployment | None = None
        self.uploads: list[ManagedProcess | None] = []  # settings.upload_processes of them, on one socket
        self._upload_socket: socket.socket | None = None  # kept while several run: each (re)start serves on a copy
        self.download: ManagedProcess | None = None
        self.observer: ManagedProcess | None = None
        self.jobs: ManagedProcess | None = None  # variants and repairs; none when MEDIAPROOF_VARIANT_WORKERS is 0
        self.indexer: ManagedProcess | None = None
        self.webapp: ManagedProcess | None = None

    @property
    def upload(self) -> ManagedProcess | None:
        """The (first) upload process."""
        return self.uploads[0] if self.uploads else None

    @upload.setter
    def upload(self, process: ManagedProcess | None) -> None:
        if process is None:
            self.uploads = []
        elif self.uploads:
            self.uploads[0] = process
        else:
            self.uploads = [process]

    def start(self) -> LocalStack:
        try:
            self._start()
        except BaseException:
            self.stop()
            raise
        return self

    def _start(self) -> None:
        s = self.settings
        if s.anvil_port and _still_bound(s.anvil_port):
            raise MediaproofError(f"port {s.anvil_port} is taken: stop what listens there or set MEDIAPROOF_ANVIL_PORT")
        self.anvil.start()
        s = self.settings = s.model_copy(update={"anvil_port": self.anvil.port, "rpc_url": self.anvil.url})
        for index, listener in enumerate(self._cluster_listeners()):
            data_dir = s.data_dir / "clusters" / str(index + 1)
            self.clusters.append(
                ClusterParts(
                    cluster_id=0,
                    endpoint=f"http://127.0.0.1:{port_of(listener)}",
                    signer=load_or_create_signer(data_dir),
                    ipfs=node_from_settings(s, index),
                    listener=listener,
                )
            )
        self.deployment = self._deployment()
        by_signer = {c.signer: c.id for c in self.deployment.clusters}
        for parts in self.clusters:
            parts.cluster_id = by_signer[parts.signer]
        # Ports fixed before anything starts: the upload service asks the indexer about media (social actions).
        indexer_listener = self._listen("indexer_port")
        upload_listener = self._listen("upload_port")

        # Parts start side by side where nothing orders them: each start mostly waits for its own process to
        # import and answer. The upload and download services reach the clusters only when a request needs them
        # (their endpoints are on chain already), so they start while the IPFS nodes boot.
        def clusters_then_their_workers() -> None:
            _side_by_side([functools.partial(self._start_cluster, index) for index in range(len(self.clusters))])
            # After the clusters answer: the observer marks one that does not as down, and a queued job that met a
            # node still booting would spend one of its attempts.
            _side_by_side([self._start_observer, self._start_jobs])

        def download_then_indexer() -> None:
            self._start_download()
            self._start_indexer(indexer_listener)  # after the download service: it reads batch manifests there

        _side_by_side([clusters_then_their_workers, lambda: self._start_upload(upload_listener), download_then_indexer])
        if self.with_webapp:
            self._start_webapp()
        if self.supervise:
            self.supervisor = Supervisor(self._supervised(), self._log_supervision).start()

    def _start_cluster(self, index: int) -> None:
        self.clusters[index].ipfs.start()
        self._start_cluster_service(index)

    def _start_cluster_service(self, index: int) -> None:
        """Cluster `index`'s HTTP service on its listener (bound anew for a restart: the chain knows the port)."""
        parts = self.clusters[index]
        if parts.listener.fileno() == -1:
            parts.listener = reserve_port(self._cluster_ports[index])
        assert self.deployment is not None
        parts.service = cluster_process(
            cluster_id=parts.cluster_id,
            port=self._cluster_ports[index],
            ipfs_api=parts.ipfs.api_multiaddr,
            data_dir=self.settings.data_dir / "clusters" / str(index + 1),
            chain_id=self.deployment.chain_id,
            topology=self.deployment.storage_topology,
            rpc_url=self.anvil.url,
            media_app=self.deployment.media_app,
            listener=parts.listener,
        ).start()

    def _start_indexer(self, listener: socket.socket | None = None) -> None:
        self.indexer = self._indexer_process(listener or self._listen("indexer_port")).start()

    def _start_webapp(self) -> None:
        self.webapp = self._webapp_process().start()

    # --- supervision (`make up`) ---

    def _supervised(self) -> list[Supervised]:
        """Every part that may be restarted on its own: services and IPFS nodes. Not anvil: the others hold its
        chain, and a chain restarted from its last state file may have lost blocks they already acted on."""
        parts = [*self._upload_slots()]
        parts += [
            self._service("download service", "download", self._start_download),
            self._service("indexer", "indexer", self._start_indexer),
            self._service("observer", "observer", self._start_observer),
        ]
        if self.jobs is not None:
            parts.append(self._service("jobs worker", "jobs", self._start_jobs))
        if self.with_webapp:
            parts.append(self._service("web app", "webapp", self._start_webapp))
        for index, cluster in enumerate(self.clusters):
            parts.append(self._ipfs_node(index, cluster))
            parts.append(self._cluster_service(index, cluster))
        return parts

    def _upload_slots(self) -> list[Supervised]:
        if len(self.uploads) == 1:
            return [self._service("upload service", "upload", self._start_upload)]

        def slot_of(slot: int) -> Supervised:
            def restart() -> None:
                old = self.uploads[slot]
                if old is not None:
                    old.reap()
                self._start_upload_slot(slot)

            def process() -> ManagedProcess | None:
                return self.uploads[slot]

            return Supervised(
                f"upload service {slot + 1}", lambda: _alive(process()), lambda: _code(process()), restart
            )

        return [slot_of(slot) for slot in range(len(self.uploads))]

    def _service(self, name: str, attribute: str, start: Callable[[], None]) -> Supervised:
        def process() -> ManagedProcess | None:
            found: ManagedProcess | None = getattr(self, attribute)
            return found

        def restart() -> None:
            old = process()
            if old is not None:
                old.reap()
            start()

        return Supervised(name, lambda: _alive(process()), lambda: _code(process()), restart)

    def _ipfs_node(self, index: int, cluster: ClusterParts) -> Supervised:
        def restart() -> None:
            cluster.ipfs.stop(grace=2.0)  # what is left of its process group
            cluster.ipfs.start()

        name = f"IPFS node of cluster {cluster.cluster_id}"
        return Supervised(name, lambda: cluster.ipfs.running, lambda: cluster.ipfs.exit_code, restart)

    def _cluster_service(self, index: int, cluster: ClusterParts) -> Supervised:
        def restart() -> None:
            if cluster.service is not None:
                cluster.service.reap()
            self._start_cluster_service(index)

        name = f"storage cluster {cluster.cluster_id}"
        return Supervised(name, lambda: _alive(cluster.service), lambda: _code(cluster.service), restart)

    def _log_supervision(self, line: str) -> None:
        stamped = f"{time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime())} {line}"
        logger.warning("%s", line)
        with open(self.settings.data_dir / SUPERVISOR_LOG, "a") as log:
            log.write(stamped + "\n")

    def _start_download(self) -> None:
        """The download service (mediaproof/download): reads the gateway database and the clusters."""
        from mediaproof.download.launch import download_process

        self.download = download_process(self.settings, rpc_url=self.anvil.url).start()
        self.settings = self.settings.model_copy(update={"download_port": self.download.ports[0]})

    def _start_observer(self) -> None:
        """The observer (mediaproof/observer), its key approved by the deployer on this local chain."""
        from mediaproof.observer.launch import observer_process

        self.observer = observer_process(self.settings, rpc_url=self.anvil.url).start()

    def _start_jobs(self) -> None:
        """The jobs worker (mediaproof/jobs): makes the variants the upload processes queue and the repair copies
        the observer queues."""
        from mediaproof.jobs.launch import jobs_process

        if self.settings.variant_workers > 0:
            self.jobs = jobs_process(self.settings, rpc_url=self.anvil.url).start()

    def _start_upload(self, listener: socket.socket | None = None) -> None:
        """The upload service (mediaproof/upload); its gateway key was approved when the chain was deployed or
        reconciled."""
        from mediaproof.upload.launch import upload_process

        listener = listener or self._listen("upload_port")
        count = self.settings.upload_processes
        if count == 1:
            self.uploads = [upload_process(self.settings, rpc_url=self.anvil.url, listener=listener).start()]
            return
        # Every process accepts from the same listening socket (the kernel gives each connection to one of them);
        # one batcher leads and the gateway key sends one transaction at a time among them (mediaproof.upload).
        self._upload_socket = listener
        self.uploads = [None] * count
        for slot in range(count):
            self._start_upload_slot(slot)

    def _start_upload_slot(self, slot: int) -> None:
        from mediaproof.upload.launch import upload_process

        assert self._upload_socket is not None
        listener = self._upload_socket.dup()
        self.uploads[slot] = upload_process(self.settings, rpc_url=self.anvil.url, listener=listener, slot=slot).start()

    def _listen(self, field: str) -> socket.socket:
        """A socket bound to the port settings.<field> names, or to a free one when that is 0 (then written back,
        so what starts later and a restart use it), for the service that serves on it."""
        listener = reserve_port(getattr(self.settings, field))
        self.settings = self.settings.model_copy(update={field: port_of(listener)})
        return listener

    def _cluster_listeners(self) -> list[socket.socket]:
        """Sockets bound to the clusters' ports before the deployment names their endpoints: cluster_base_port + i,
        or free ones when that is 0, kept for restarts (the chain knows them)."""
        s = self.settings
        if not self._cluster_ports:
            base = s.cluster_base_port
            self._cluster_ports = [base + i if base else 0 for i in range(s.cluster_count)]
        listeners: list[socket.socket] = []
        try:
            for port in self._cluster_ports:
                listeners.append(reserve_port(port))
        except BaseException:
            for listener in listeners:
                listener.close()
            raise
        self._cluster_ports = [port_of(listener) for listener in listeners]
        return listeners

    def _webapp_process(self) -> ManagedProcess:
        """The Reflex web app, from its own environment (.venv-web, made by `make web-install`)."""
        s = self.settings
        script = PROJECT_ROOT / "tooling" / "web" / "serve.sh"
        env = {**s.as_env(), "MEDIAPROOF_RPC_URL": self.anvil.url}
        url = f"http://127.0.0.1:{s.webapp_port}/ping"
        # The first production build of the front end takes ~30 s on these machines.
        return ManagedProcess("web app", ["bash", str(script), str(s.webapp_port)], s.data_dir / "webapp.log",
                              lambda: http_ok(url), env=env, ready_timeout=300)  # fmt: skip

    def _indexer_process(self, listener: socket.socket) -> ManagedProcess:
        s = self.settings
        url = f"http://127.0.0.1:{port_of(listener)}"
        argv = [sys.executable, "-m", "indexer", "--rpc", self.anvil.url, "--deployment", str(self.deployment_file),
                "--db", str(s.resolved_indexer_db()), "--port", str(port_of(listener)), "--fd", str(listener.fileno()),
                "--download-url", s.resolved_download_url()]  # fmt: skip
        # A DSN (it may hold a password) reaches the indexer through its environment, never its argv.
        env = {"MEDIAPROOF_GATEWAY_DSN": s.gateway_dsn} if s.gateway_dsn else None
        if not s.gateway_dsn:
            argv += ["--gateway-db", str(s.resolved_gateway_db())]
        # Building the title index from DuckDB at start takes a while on a big database: be patient.
        return ManagedProcess("indexer", argv, s.data_dir / "indexer.log", lambda: http_ok(url + "/health"),
                              env=env, ready_timeout=180, sockets=[listener])  # fmt: skip

    def _deployment(self) -> Deployment:
        """The existing deployment while the chain still has it (clusters added or R changed since are brought up
        to date on chain, so earlier proofs stay valid); a new deployment only for a new chain."""
        w3 = connect(self.anvil.url)
        admin = Account.from_key(ANVIL_TEST_KEYS[0])
        if self.deployment_file.exists():
            try:
                existing = read_deployment(self.deployment_file, expected_chain_id=int(w3.eth.chain_id))
            except DeploymentError:
                existing = None
            if existing is not None and w3.eth.get_code(existing.media_app):
                return self._reconcile(existing, admin)
        gateway, observer = self._service_accounts(int(w3.eth.chain_id))
        fresh = deploy(
            w3,
            admin,
            network=self.settings.network,
            clusters=[ClusterSpec(c.signer, c.endpoint) for c in self.clusters],
            replication_factor=self.settings.replication_factor,
            relayers=[gateway],
            sequencers=[gateway],
            # The observer lists what each cluster holds for its repair sweeps: clusters list only to gateways.
            gateways=[gateway, observer],
            observers=[observer],
        )
        write_deployment(self.deployment_file, fresh)
        return fresh

    def _reconcile(self, existing: Deployment, admin: LocalAccount) -> Deployment:
        chain = MediaproofChain(connect(self.anvil.url), existing)
        topology = chain.topology.functions
        known = {c.signer for c in existing.clusters}
        entries = list(existing.clusters)
        for parts in self.clusters:
            if parts.signer not in known:
                receipt = chain.transact(
                    admin, topology.registerCluster(parts.signer, DEFAULT_CLUSTER_WEIGHT, parts.endpoint)
                )
                (event,) = chain.topology.events.ClusterRegistered().process_receipt(receipt)
                entries.append(ClusterEntry(int(event["args"]["clusterId"]), parts.signer, parts.endpoint))
        if topology.replicationFactor().call() != self.settings.replication_factor:
            chain.transact(admin, topology.setReplicationFactor(self.settings.replication_factor))
        # A chain deployed by an older checkout, or with other keys: approve the roles this stack's keys need.
        gateway, observer = self._service_accounts(chain.chain_id)
        app = chain.media_app.functions
        roles = [
            (app.isRelayer, app.setRelayer, gateway),
            (app.isSequencer, app.setSequencer, gateway),
            (topology.isGateway, topology.setGateway, gateway),
            (topology.isGateway, topology.setGateway, observer),
            (topology.isObserver, topology.setObserver, observer),
        ]
        for approved, approve, account in roles:
            if not approved(account).call():
                chain.transact(admin, approve(account, True))
        # A deployment from before projects existed gets its ProjectRegistry (nothing else changes).
        updated = with_project_registry(chain.w3, admin, replace(existing, clusters=tuple(entries)))
        if updated == existing:
            return existing
        write_deployment(self.deployment_file, updated)
        return updated

    def _service_accounts(self, chain_id: int) -> tuple[str, str]:
        """Addresses of the gateway key (relayer, sequencer, signer of cluster requests) and the observer key."""
        from mediaproof.observer.service import observer_account

        return gateway_account(self.settings, chain_id).address, observer_account(self.settings, chain_id).address

    def stop(self) -> None:
        if self.supervisor is not None:
            self.supervisor.stop()  # first: nothing may be started again while the rest goes down
            self.supervisor = None
        if self.webapp is not None:
            self.webapp.stop()
            self.webapp = None
        for service in (self.observer, self.download, self.jobs):
            if service is not None:
                service.stop()
        self.observer = self.download = self.jobs = None
        for upload in self.uploads:
            if upload is not None:
                upload.stop()
        self.uploads = []
        if self._upload_socket is not None:
            self._upload_socket.close()
            self._upload_socket = None
        if self.indexer is not None:
            self.indexer.stop()
            self.indexer = None
        for parts in reversed(self.clusters):
            if parts.service is not None:
                parts.service.stop()
            parts.listener.close()  # still ours if the service never started
            parts.ipfs.stop()
        self.clusters.clear()
        self.anvil.stop()  # SIGTERM: anvil writes its state file on the way out

    def describe(self) -> list[tuple[str, str]]:
        rows = [(f"anvil (chain id {self.deployment.chain_id if self.deployment else '?'})", self.anvil.url)]
        if self.deployment is not None:
            rows.append(("deployment", str(self.deployment_file)))
            rows.append(("MediaApp", self.deployment.media_app))
            rows.append(("StorageTopology", self.deployment.storage_topology))
        if self.webapp is not None:
            rows.append(("web app", f"http://127.0.0.1:{self.settings.webapp_port}"))
        if self.indexer is not None:
            rows.append(("indexer read API (search, feed, profiles)", self.settings.resolved_indexer_url()))
        if self.upload is not None:
            processes = f" ({len(self.uploads)} processes)" if len(self.uploads) > 1 else ""
            rows.append((f"upload service{processes}", f"http://127.0.0.1:{self.settings.upload_port}"))
        if self.download is not None:
            rows.append(("download service (/m/<short id>)", f"http://127.0.0.1:{self.settings.download_port}"))
        if self.observer is not None:
            rows.append(("observer (health, repair)", str(self.settings.data_dir / "observer.log")))
        if self.jobs is not None:
            rows.append(("jobs worker (variants, repairs)", str(self.settings.data_dir / "jobs.log")))
        for parts in self.clusters:
            rows.append((f"storage cluster {parts.cluster_id} (signer {parts.signer})", parts.endpoint))
            rows.append(("  its IPFS node (RPC API)", parts.ipfs.api_url))
        return rows


def _alive(process: ManagedProcess | None) -> bool:
    return process is not None and process.running


def _code(process: ManagedProcess | None) -> int | None:
    return None if process is None else process.exit_code


def _side_by_side(starts: list[Callable[[], None]]) -> None:
    """Run each start in its own thread and wait for all of them, so that whatever did start is recorded on the
    stack (and stopped by `stop()`) before the first failure is raised."""
    with ThreadPoolExecutor(max_workers=max(1, len(starts)), thread_name_prefix="start") as pool:
        futures = [pool.submit(start) for start in starts]
    for future in futures:
        future.result()


def _still_bound(port: int, wait: float = 10.0) -> bool:
    """True when something keeps listening on `port` for `wait` seconds (a node we just stopped may take a moment)."""
    deadline = time.monotonic() + wait
    while port_open(port):
        if time.monotonic() > deadline:
            return True
        time.sleep(0.2)
    return False


def run_until_interrupted(settings: Settings) -> None:
    """`make up`: start everything, print where each part listens, stop it all on Ctrl-C or SIGTERM."""
    stack = LocalStack(settings, with_webapp=True, supervise=True)
    stopping = threading.Event()
    # Set explicitly: a shell that starts `make up` in the background leaves SIGINT ignored otherwise.
    for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, lambda *_: stopping.set())
    try:
        print("starting Mediaproof locally …", flush=True)
        stack.start()
        width = max(len(name) for name, _ in stack.describe())
        for name, where in stack.describe():
            print(f"  {name.ljust(width)}  {where}")
        print("ready. Ctrl-C stops everything.", flush=True)
        while not stopping.wait(0.5):
            pass
    finally:
        print("stopping …", file=sys.stderr, flush=True)
        stack.stop()
