"""The browser's proof check names cluster statuses from the one source (mediaproof.topology.ClusterStatus, the
contract's enum), handed to it in its config, rather than from a list of its own."""

from __future__ import annotations

import json
from pathlib import Path

from webapp.deployment import MEDIA_APP_ABI_FILE, chain_config_from_files, proof_check_config

from mediaproof.settings import PROJECT_ROOT
from mediaproof.topology import ClusterStatus

PROOFCHECK_JS = PROJECT_ROOT / "webapp" / "assets" / "proofcheck.js"


def test_proof_check_config_names_cluster_statuses_as_the_contract_numbers_them(tmp_path: Path) -> None:
    path = tmp_path / "deployment.json"
    path.write_text(json.dumps({"chain_id": 31337, "contracts": {"MediaApp": "0x" + "11" * 20}}))
    config = proof_check_config(chain_config_from_files(path, MEDIA_APP_ABI_FILE, "http://127.0.0.1:8545"))
    names = config["clusterStatusNames"]
    assert names == ["None", "Active", "Draining", "Down"]
    assert all(names[status] == status.label for status in ClusterStatus)


def test_proofcheck_js_keeps_no_status_list_of_its_own() -> None:
    source = PROOFCHECK_JS.read_text()
    assert "config.clusterStatusNames[" in source
    # "Active" stays (the one status a receipt's cluster must have); a name only a list would hold must not.
    assert '"Draining"' not in source and '"Down"' not in source
