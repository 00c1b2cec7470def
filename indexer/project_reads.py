"""The reads the indexer's API serves about projects: one project with its head and grants, its versions, and
an address's projects."""

from __future__ import annotations

from typing import Any

from indexer.database import Database


class ProjectReads(Database):
    # A project as lists show it: who owns it, its name, privacy, and its head (the newest version; 0 before the
    # first commit). The contract bumps the version by one per commit, so the newest version is the highest.
    _PROJECT_SELECT = (
        "SELECT p.project_id, p.owner, p.name, p.private, coalesce(v.version, 0) AS version, "
        "v.manifest_sha256, v.manifest_cid, v.committer, v.time AS updated_time, v.block AS updated_block, "
        "v.tx_hash AS updated_tx_hash, p.time AS created_time, "
        "p.block AS created_block, p.tx_hash AS created_tx_hash FROM projects p "
        "LEFT JOIN (SELECT * FROM project_versions QUALIFY row_number() OVER "
        "(PARTITION BY project_id ORDER BY version DESC, block DESC, log_index DESC) = 1) v USING (project_id) "
    )

    def project(self, project_id: str) -> dict[str, Any] | None:
        """One project with its head and its grantees' current roles; None if no ProjectCreated names it."""
        rows = self._dicts(self._PROJECT_SELECT + "WHERE p.project_id = ? ORDER BY p.block LIMIT 1", [project_id])
        if not rows:
            return None
        found = rows[0]
        head = {k.removeprefix("updated_"): found.pop(k) for k in (
            "manifest_sha256", "manifest_cid", "committer", "updated_time", "updated_block", "updated_tx_hash"
        )}  # fmt: skip
        found["head"] = None if found["version"] == 0 else head
        found["grants"] = self._dicts(
            "SELECT grantee, role, time, block, tx_hash FROM project_grants WHERE project_id = ? "
            "ORDER BY block, grantee",
            [project_id],
        )
        return found

    def project_versions(self, project_id: str, limit: int, offset: int) -> list[dict[str, Any]]:
        """A project's versions, newest first."""
        return self._dicts(
            "SELECT version, committer, time, block, tx_hash, manifest_cid, manifest_sha256 FROM project_versions "
            "WHERE project_id = ? ORDER BY version DESC, block DESC, log_index DESC LIMIT ? OFFSET ?",
            [project_id, limit, offset],
        )

    def projects_of(self, address: str, limit: int, offset: int) -> dict[str, list[dict[str, Any]]]:
        """The projects `address` owns (role "owner") and those shared with it (its current role), newest first."""
        owned = self._dicts(
            f"SELECT * FROM ({self._PROJECT_SELECT} WHERE p.owner = ?) "
            "ORDER BY created_block DESC, project_id LIMIT ? OFFSET ?",
            [address, limit, offset],
        )
        shared = self._dicts(
            f"SELECT q.*, g.role FROM ({self._PROJECT_SELECT}) q JOIN project_grants g USING (project_id) "
            "WHERE g.grantee = ? ORDER BY g.block DESC, q.project_id LIMIT ? OFFSET ?",
            [address, limit, offset],
        )
        for row in owned:
            row["role"] = "owner"
        return {"owned": owned, "shared": shared}
