"""The reads the indexer's API serves about media, proofs, batches, owners and clusters (projects: project_reads.py)."""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from indexer.database import Database


class ApiReads(Database):
    _MEDIA_COLS = (
        "id, short_id, kind, batch, owner, user_contract, sha256, cid, title, media_type, size, parent, time, block, "
        "tx_hash, deleted"
    )

    def media_by_positions(self, positions: list[int]) -> list[dict[str, Any]]:
        """Media rows in the order of `positions` (search hits)."""
        if not positions:
            return []
        marks = ", ".join("?" * len(positions))
        rows = self._dicts(f"SELECT pos, {self._MEDIA_COLS} FROM media WHERE pos IN ({marks})", list(positions))
        by_pos = {r.pop("pos"): r for r in rows}
        return [by_pos[p] for p in positions if p in by_pos]

    def first_media_id(self, sha256: str) -> str | None:
        """The media id of the first proof of these bytes (earliest block, then earliest log, then batch entry)."""
        row = self.cursor().execute("SELECT id FROM media WHERE sha256 = ? ORDER BY pos LIMIT 1", [sha256]).fetchone()
        return row[0] if row else None

    def first_proofs(self, sha256s: Iterable[str]) -> dict[str, dict[str, Any]]:
        """The first proof of each of these bytes (as media_detail's `first_registration`: owner, media_id, block,
        short_id), by sha256; one query for a page of rows."""
        keys = sorted(set(sha256s))
        if not keys:
            return {}
        # one index lookup of every record of these bytes (a materialized CTE keeps DuckDB's index scan), the
        # earliest kept: a page's bytes have few records, and a second lookup by pos cost as much as the first
        rows = self._dicts(
            "WITH f AS MATERIALIZED (SELECT sha256, owner, id AS media_id, block, short_id, pos FROM media "
            f"WHERE sha256 IN ({', '.join('?' * len(keys))})) SELECT sha256, owner, media_id, block, short_id FROM f "
            "QUALIFY row_number() OVER (PARTITION BY sha256 ORDER BY pos) = 1",
            keys,
        )
        return {r.pop("sha256"): r for r in rows}

    def media_detail(self, media_id: str) -> dict[str, Any] | None:
        """One media record by its media id (its own registration, never another record of the same bytes), with
        its variants, receipts, and the first proof of its bytes."""
        rows = self._dicts(
            f"SELECT pos, log_index, {self._MEDIA_COLS}, signature_check FROM media WHERE id = ? ORDER BY pos LIMIT 1",
            [media_id],
        )
        if not rows:
            return None
        media = rows[0]
        pos, log_index = media.pop("pos"), media.pop("log_index")
        where = [media["id"], media["block"], media["tx_hash"]]
        media["variants"] = self._dicts(
            "SELECT name, sha256, cid, size FROM variants WHERE media_id = ? AND block = ? AND tx_hash = ? "
            "ORDER BY log_index, idx",
            where,
        )
        media["receipts"] = self._receipts(*where)
        first = self._dicts(
            "SELECT pos, owner, id AS media_id, block, short_id FROM media WHERE sha256 = ? ORDER BY pos LIMIT 1",
            [media["sha256"]],
        )[0]
        media["is_first_proof"] = first.pop("pos") == pos
        media["first_registration"] = first
        media["manifest_cid"] = None
        media["revealed"] = None
        if media["kind"] == "batched":
            batch = self._dicts(
                "SELECT manifest_cid FROM batches WHERE block = ? AND log_index = ?", [media["block"], log_index]
            )
            media["manifest_cid"] = batch[0]["manifest_cid"] if batch else None
            media["revealed"] = bool(
                self._dicts("SELECT 1 AS x FROM proofs WHERE media_id = ? AND batch = ?", [media["id"], media["batch"]])
            )
        return media

    def _receipts(self, media_id: str, block: int, tx_hash: str) -> list[dict[str, Any]]:
        return self._dicts(
            "SELECT cluster_id, issued_at, signature FROM receipts WHERE media_id = ? AND block = ? AND tx_hash = ? "
            "ORDER BY log_index, idx",
            [media_id, block, tx_hash],
        )

    _PROOF_COLS = (
        "m.pos, m.id, m.kind, m.batch, m.owner, m.user_contract, m.sha256, m.block, m.tx_hash, m.tree_index, m.leaf, "
        "m.receipts_hash, m.record, m.owner_signature, m.signature_check, b.manifest_cid, b.tree"
    )

    def proof_sources(self, *, sha256: str | None = None, media_id: str | None = None) -> list[dict[str, Any]]:
        """What the proof bundles of some bytes (every record of them, earliest first) or of one media id are made
        from: each media row's proof columns, its receipts, and for a batched one its batch's tree."""
        if (sha256 is None) == (media_id is None):
            raise ValueError("give sha256 or media_id")
        column, key = ("sha256", sha256) if sha256 is not None else ("id", media_id)
        rows = self._dicts(
            f"SELECT {self._PROOF_COLS} FROM media m LEFT JOIN batches b "
            "ON m.kind = 'batched' AND b.block = m.block AND b.log_index = m.log_index "
            f"WHERE m.{column} = ? ORDER BY m.pos" + (" LIMIT 1" if media_id is not None else ""),
            [key],
        )
        for row in rows:
            row["receipts"] = self._receipts(row["id"], row["block"], row["tx_hash"])
        return rows

    def deployment_identity(self) -> dict[str, Any] | None:
        """The chain and contracts this database follows (what bind_deployment stored); None before the follower
        bound one."""
        row = self.cursor().execute("SELECT value FROM meta WHERE key = 'deployment'").fetchone()
        return dict(json.loads(row[0])) if row else None

    def transaction(self, tx_hash: str) -> dict[str, Any] | None:
        """What one transaction registered: the batches it anchored and every media record it carried (a batch's
        entries or a direct registration), in chain order; None when the indexer knows no record from it."""
        batches = self._dicts(
            "SELECT block AS batch, root, sequencer, manifest_cid, status, declared, indexed, time, block "
            "FROM batches WHERE tx_hash = ? ORDER BY log_index",
            [tx_hash],
        )
        media = self._dicts(f"SELECT {self._MEDIA_COLS} FROM media WHERE tx_hash = ? ORDER BY pos", [tx_hash])
        if not batches and not media:
            return None
        first = (batches or media)[0]
        return {"tx": tx_hash, "block": first["block"], "time": first["time"], "batches": batches, "media": media}

    def batches_in_block(self, block: int) -> list[dict[str, Any]]:
        """The batches anchored in one block (a batch's number is its block): anchor, manifest, how it was read."""
        rows = self._dicts(
            "SELECT block AS batch, root, sequencer, manifest_cid, manifest_cid_hex, status, problem, declared, "
            "indexed, rejected, declared_actions, indexed_actions, rejected_actions, time, block, tx_hash "
            "FROM batches WHERE block = ? ORDER BY log_index",
            [block],
        )
        for row in rows:
            row["rejected"] = json.loads(row["rejected"])
            row["rejected_actions"] = json.loads(row["rejected_actions"] or "[]")
        return rows

    def user_profile(self, address: str, limit: int, offset: int) -> dict[str, Any] | None:
        """An owner (by wallet or UserMedia address) and their media, newest first; also an owner who has only
        batched media (they need no UserMedia)."""
        users = self._dicts(
            "SELECT owner, user_contract, deposit::VARCHAR AS deposit, time, block FROM users "
            "WHERE owner = ? OR user_contract = ?",
            [address, address],
        )
        if users:
            user = users[0]
        elif self._dicts("SELECT 1 AS x FROM media WHERE owner = ? LIMIT 1", [address]) or self._dicts(
            "SELECT 1 AS x FROM user_social WHERE address = ?", [address]
        ):  # a wallet that only follows or is followed has a profile too
            user = {"owner": address, "user_contract": None, "deposit": None, "time": None, "block": None}
        else:
            return None
        balance = self._dicts(
            "SELECT balance::VARCHAR AS balance FROM deposits WHERE owner = ? AND balance IS NOT NULL "
            "ORDER BY block DESC, log_index DESC LIMIT 1",
            [user["owner"]],
        )
        user["deposit_balance"] = balance[0]["balance"] if balance else user["deposit"]
        user["media_count"] = self._dicts(
            "SELECT count(*) AS n FROM media WHERE owner = ? AND NOT deleted", [user["owner"]]
        )[0]["n"]
        user["media"] = self._dicts(
            f"SELECT {self._MEDIA_COLS} FROM media WHERE owner = ? AND NOT deleted ORDER BY pos DESC LIMIT ? OFFSET ?",
            [user["owner"], limit, offset],
        )
        return user

    def recent_media(self, limit: int, offset: int) -> list[dict[str, Any]]:
        return self._dicts(
            f"SELECT {self._MEDIA_COLS} FROM media WHERE NOT deleted ORDER BY pos DESC LIMIT ? OFFSET ?",
            [limit, offset],
        )

    def cluster_list(self) -> list[dict[str, Any]]:
        return self._dicts(
            """
            SELECT c.cluster_id, c.signer, c.weight, c.endpoint, c.status, c.registered_time,
                   count(DISTINCT m.id) AS objects
            FROM clusters c
            LEFT JOIN receipts r ON r.cluster_id = c.cluster_id
            LEFT JOIN media m ON m.id = r.media_id AND NOT m.deleted
            GROUP BY ALL ORDER BY c.cluster_id
            """
        )

    def media_analytics(self, media_id: str) -> dict[str, Any]:
        """Views of a media (through its short links) per UTC day and per size asked for."""
        where = "counted AND short_id IN (SELECT short_id FROM short_links WHERE media_id = ?)"
        per_day = self._dicts(
            f"SELECT day::VARCHAR AS day, count(*) AS views FROM media_views WHERE {where} GROUP BY ALL ORDER BY day",
            [media_id],
        )
        per_size = self._dicts(
            f"SELECT size, count(*) AS views FROM media_views WHERE {where} GROUP BY ALL ORDER BY size", [media_id]
        )
        return {
            "media_id": media_id,
            "views": sum(d["views"] for d in per_day),
            "per_day": per_day,
            "per_size": per_size,
        }

    def media_id_of_short_id(self, short_id: str) -> str | None:
        row = self.cursor().execute("SELECT media_id FROM short_links WHERE short_id = ?", [short_id]).fetchone()
        return row[0] if row else None

    def media_exists(self, media_id: str) -> bool:
        return bool(self._dicts("SELECT 1 AS x FROM media WHERE id = ?", [media_id]))
