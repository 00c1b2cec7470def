"""A project's manifests and files on the download service, served only as its manifests name them.

GET|HEAD /projects/<pid>/manifests/<cid>   → the manifest's bytes, if a manifest of that project has that CID
GET|HEAD /projects/<pid>/blobs/<sha256>    → the bytes (ETag, Range like /m/), if a manifest put them in the project

A public project (ProjectRegistry head: isPrivate false) is served to anyone. A private one only with
`Authorization: Bearer <token>` of a session the upload service issued (mediaproof.session_reader) whose wallet
ProjectRegistry lets read it (the owner or a grantee): 401 without a valid session, 403 for any other wallet. The
chain's answers are kept at most MEDIAPROOF_DOWNLOAD_RESOLVE_TTL seconds, so a revoke takes effect within that.
Access is checked before membership, so a stranger learns nothing of what a private project holds.
"""

from __future__ import annotations

from dataclasses import dataclass

import anyio.to_thread

from mediaproof import gateway_db
from mediaproof.chain import connect
from mediaproof.deployment import read_deployment
from mediaproof.download.answers import IMMUTABLE, UnknownRoute
from mediaproof.errors import Forbidden, NotAuthenticated, NotRegistered
from mediaproof.gateway_store import GatewayStore, Rendition
from mediaproof.project_access import ProjectAccess, parse_pid, parse_sha
from mediaproof.project_store import ProjectStore, StoredManifest
from mediaproof.session_reader import bearer_token, session_wallet
from mediaproof.settings import Settings

PREFIX = "/projects/"
PRIVATE = b"private, no-cache"  # a reader revoked later must not go on reading from a shared cache
BLOB_TYPE = "application/octet-stream"


@dataclass(frozen=True)
class ProjectRead:
    """What a project route asks for, once the request may read the project."""

    pid: str
    kind: str  # "manifests" | "blobs"
    name: str  # the manifest's CID or the blob's sha256
    caching: bytes


class ProjectReads:
    """Access and lookups of the project routes for one download app; handles opened on first use."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._access: ProjectAccess | None = None
        self._store: ProjectStore | None = None
        self._sessions: gateway_db.GatewayDatabase | None = None

    def close(self) -> None:
        if self._store is not None:
            self._store.close()
        if self._sessions is not None:
            self._sessions.close()

    async def admit(self, path: str, authorization: bytes | None) -> ProjectRead:
        """The read `path` asks for, if this request may make it: UnknownRoute or NotRegistered (404), InputError
        (422) for a malformed id, NotAuthenticated (401) or Forbidden (403) for a private project."""
        parts = path[len(PREFIX) :].split("/")
        if len(parts) != 3 or parts[1] not in ("manifests", "blobs"):
            raise UnknownRoute(f"nothing is served at {path[:120]}: project reads look like "
                               "/projects/<pid>/manifests/<cid> or /projects/<pid>/blobs/<sha256>")  # fmt: skip
        pid = parse_pid(parts[0])
        name = parse_sha(parts[2]) if parts[1] == "blobs" else parts[2]
        access = await anyio.to_thread.run_sync(self._project_access)
        head = await anyio.to_thread.run_sync(access.head, pid)
        if not head.is_private:
            return ProjectRead(pid, parts[1], name, IMMUTABLE)
        header = authorization.decode("latin-1") if authorization is not None else None
        token = bearer_token(header, needs=f"reading the private project {pid}")
        wallet, _ = session_wallet(self._session_db, token)
        if not await anyio.to_thread.run_sync(access.can_read, pid, wallet):
            raise Forbidden(f"{wallet} (signed in) may not read the private project {pid}: its owner must grant it")
        return ProjectRead(pid, parts[1], name, PRIVATE)

    def manifest(self, read: ProjectRead) -> StoredManifest:
        store = self._project_store()
        found = store.manifest(read.pid, read.name) if store is not None else None
        if found is None:
            raise NotRegistered(f"project {read.pid} has no manifest {read.name[:80]!r}")
        return found

    def blob(self, read: ProjectRead, gateway: GatewayStore | None) -> Rendition:
        """The blob as a rendition the /m/ read path can serve; NotRegistered unless a manifest put it in the
        project (a hash stored for any other reason is never served here)."""
        store = self._project_store()
        if store is None or not store.in_project(read.pid, read.name):
            raise NotRegistered(f"project {read.pid} has no file with sha256 {read.name}")
        found = store.stored_object(read.name)
        named = (found.cid, found.size) if found is not None else gateway.named(read.name) if gateway else None
        if named is None:
            raise NotRegistered(f"the bytes of sha256 {read.name} are not stored any more")
        return Rendition("original", read.name, named[0], named[1], BLOB_TYPE, None, None, True)

    # --- handles, opened on first use ---

    def _project_access(self) -> ProjectAccess:
        if self._access is None:
            deployment = read_deployment(self.settings.resolved_deployment_file())
            w3 = connect(self.settings.rpc_url, self.settings.http_timeout)
            self._access = ProjectAccess(w3, deployment.project_registry, ttl=self.settings.download_resolve_ttl)
        return self._access

    def _project_store(self) -> ProjectStore | None:
        if self._store is None:
            target = self.settings.resolved_gateway_store()
            if not gateway_db.exists(target):
                return None  # no upload service has run: no project holds anything
            self._store = ProjectStore(target, readonly=True)
        return self._store

    def _session_db(self) -> gateway_db.GatewayDatabase:
        if self._sessions is None:
            target = self.settings.resolved_gateway_store()
            if not gateway_db.exists(target):
                raise NotAuthenticated("no session exists yet: sign in at the upload service first")
            self._sessions = gateway_db.connect(target, readonly=True)
        return self._sessions
