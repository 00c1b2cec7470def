"""Portable proof bundles (`mediaproof-proof-v1`, docs/proofs.md; JSON Schema docs/proof-bundle.schema.json) made
from what the store keeps about one media row.

Pure. A batched bundle's Merkle path is walked in its batch's stored tree (OpenZeppelin layout: node i's children
are 2i+1 and 2i+2) and checked to lead from the leaf to the anchored root before it is handed out.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from mediaproof import merkle

FORMAT = "mediaproof-proof-v1"


def merkle_path(tree: Sequence[bytes], tree_index: int) -> list[bytes]:
    """Sibling hashes from the node at `tree_index` up to (not including) the root."""
    if not 0 <= tree_index < len(tree):
        raise ValueError(f"tree index {tree_index} is outside a tree of {len(tree)} nodes")
    path = []
    index = tree_index
    while index > 0:
        path.append(tree[index + 1 if index % 2 == 1 else index - 1])
        index = (index - 1) // 2
    return path


def _receipts_hash(receipts: list[dict[str, Any]]) -> str:
    """What a leaf commits to about a registration's receipts (the store keeps it for batched media only)."""
    tuples = [(int(r["cluster_id"]), int(r["issued_at"]), bytes.fromhex(r["signature"][2:])) for r in receipts]
    return "0x" + merkle.receipts_hash(tuples).hex()


def bundle(source: dict[str, Any], identity: dict[str, Any]) -> dict[str, Any]:
    """The bundle of one media row as `Store.proof_sources` gives it; `identity` names the chain and contracts."""
    batched = source["kind"] == "batched"
    out: dict[str, Any] = {
        "format": FORMAT,
        "kind": source["kind"],
        "sha256": source["sha256"],
        "owner": source["owner"],
        "media_id": source["id"],
        "leaf": source["leaf"],
        "proof": [],
        "batch": int(source["batch"]) if batched else 0,
        "chain_id": int(identity["chain_id"]),
        "contract": identity["media_app"],
        "tx": source["tx_hash"],
        "block": int(source["block"]),
        "topology": identity["topology"],
        "record": json.loads(source["record"]) if source["record"] else None,
        "owner_signature": source["owner_signature"],
        "receipts": [
            {"cluster_id": int(r["cluster_id"]), "issued_at": int(r["issued_at"]), "signature": r["signature"]}
            for r in source["receipts"]
        ],
        "receipts_hash": source["receipts_hash"] or _receipts_hash(source["receipts"]),
    }
    if batched:
        tree = [bytes.fromhex(node[2:]) for node in source["tree"]]
        leaf = bytes.fromhex(source["leaf"][2:])
        path = merkle_path(tree, int(source["tree_index"]))
        if tree[source["tree_index"]] != leaf or merkle.process_proof(leaf, path) != tree[0]:
            raise ValueError(f"the stored tree of batch {source['batch']} does not hold the leaf {source['leaf']}")
        out["proof"] = ["0x" + node.hex() for node in path]
        out["manifest_cid"] = source["manifest_cid"]
    else:
        out["user_contract"] = source["user_contract"]
    return out
