"""What the browser needs to reach the chain: chain id, RPC URL, MediaApp's address and its depositOf call, and for
the browser's own proof check (assets/proofcheck.js) the contracts' exported ABI entries it calls and the EIP-712
types of records and receipts.

Read from deployments/<network>.json and mediaproof/abi/*.json; the page gets plain values.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from eth_utils import function_abi_to_4byte_selector, is_address, to_checksum_address

from mediaproof import eip712
from mediaproof.errors import DeploymentError, InputError
from mediaproof.settings import PROJECT_ROOT
from mediaproof.topology import ClusterStatus
from webapp.app_settings import app_settings

ABI_DIR = PROJECT_ROOT / "mediaproof" / "abi"
MEDIA_APP_ABI_FILE = ABI_DIR / "MediaApp.json"
# What the browser's proof check calls or decodes, per contract: entries of the exported ABIs, by name.
PROOF_CHECK_ABI = {
    "MediaApp": ("verifyInclusion", "anchorOf", "proofDetail", "userContract", "topology"),
    "StorageTopology": ("cluster", "receiptLifetime", "replicationFactor", "MAX_CLOCK_SKEW"),
    "UserMedia": ("MediaRegistered",),
}


@dataclass(frozen=True)
class ChainConfig:
    """The local deployment as the web app sees it."""

    chain_id: int
    rpc_url: str
    media_app: str
    deposit_of_selector: str  # 0x + 8 hex digits of depositOf(address)

    @property
    def chain_id_hex(self) -> str:
        return hex(self.chain_id)

    def deposit_of_calldata(self, address: str) -> str:
        """The eth_call data for depositOf(address): the wallet's balance held by MediaApp for its registrations."""
        if not is_address(address):
            raise InputError(f"not an Ethereum address: {address!r}")
        return self.deposit_of_selector + "00" * 12 + address.lower().removeprefix("0x")


def _function_entry(abi: list[dict[str, Any]], abi_file: Path, name: str) -> dict[str, Any]:
    for entry in abi:
        if entry.get("type") == "function" and entry.get("name") == name:
            return entry
    raise DeploymentError(f"{abi_file} has no {name} function: rebuild the ABI files (`make compile`)")


def _selector(entry: dict[str, Any]) -> str:
    return "0x" + function_abi_to_4byte_selector(entry).hex()  # type: ignore[arg-type]


def chain_config_from_files(deployment_file: Path, abi_file: Path, rpc_url: str) -> ChainConfig:
    """Build the config from the deployment and ABI files, with errors that say which file is wrong."""
    try:
        deployment = json.loads(deployment_file.read_text())
    except FileNotFoundError:
        raise DeploymentError(
            f"no deployment at {deployment_file}: start the local system (`make up`) or deploy the contracts"
        ) from None
    except json.JSONDecodeError as exc:
        raise DeploymentError(f"{deployment_file} is not JSON ({exc}): deploy again") from None
    try:
        abi_json = json.loads(abi_file.read_text())
    except (FileNotFoundError, json.JSONDecodeError) as exc:
        raise DeploymentError(f"cannot read the MediaApp ABI at {abi_file} ({exc}): run `make compile`") from None
    abi = abi_json["abi"] if isinstance(abi_json, dict) else abi_json

    media_app = deployment.get("contracts", {}).get("MediaApp")
    chain_id = deployment.get("chain_id")
    if not isinstance(chain_id, int) or not is_address(media_app or ""):
        raise DeploymentError(
            f"{deployment_file} lacks chain_id or contracts.MediaApp (found chain_id={chain_id!r}, "
            f"MediaApp={media_app!r}): deploy again"
        )
    return ChainConfig(
        chain_id=chain_id,
        rpc_url=rpc_url,
        media_app=to_checksum_address(media_app),
        deposit_of_selector=_selector(_function_entry(abi, abi_file, "depositOf")),
    )


@lru_cache(maxsize=4)
def _cached(deployment_file: Path, modified_ns: int, rpc_url: str) -> ChainConfig:
    return chain_config_from_files(deployment_file, MEDIA_APP_ABI_FILE, rpc_url)


def load_chain_config() -> ChainConfig:
    """The config for this process's settings.

    Only successes are cached, keyed by the file's mtime, so a deploy after the app started is picked up.
    """
    settings = app_settings()
    deployment_file = settings.resolved_deployment_file()
    try:
        modified_ns = deployment_file.stat().st_mtime_ns
    except FileNotFoundError:
        modified_ns = 0  # chain_config_from_files reports the missing file
    return _cached(deployment_file, modified_ns, settings.rpc_url)


def _abi_entries(abi_file: Path, names: tuple[str, ...]) -> list[dict[str, Any]]:
    try:
        abi_json = json.loads(abi_file.read_text())
    except (FileNotFoundError, json.JSONDecodeError) as exc:
        raise DeploymentError(f"cannot read the ABI at {abi_file} ({exc}): run `make compile`") from None
    abi = abi_json["abi"] if isinstance(abi_json, dict) else abi_json
    found = {entry.get("name"): entry for entry in abi if entry.get("type") in ("function", "event")}
    missing = [name for name in names if name not in found]
    if missing:
        raise DeploymentError(f"{abi_file} has no {', '.join(missing)}: rebuild the ABI files (`make compile`)")
    return [found[name] for name in names]


@lru_cache(maxsize=4)
def proof_check_abis(abi_dir: Path = ABI_DIR) -> dict[str, list[dict[str, Any]]]:
    """The ABI entries the browser's proof check needs, from the contracts' exported ABIs."""
    return {name: _abi_entries(abi_dir / f"{name}.json", names) for name, names in PROOF_CHECK_ABI.items()}


def proof_check_config(config: ChainConfig, abi_dir: Path = ABI_DIR) -> dict[str, Any]:
    """Everything assets/proofcheck.js takes besides the bundles: where the chain is, which MediaApp this app
    knows (a bundle naming another contract fails), the ABI entries it calls, and the EIP-712 domain name, version
    and types records and receipts are signed under (mediaproof.eip712, the ones the contracts hash), and the
    cluster status names by number (mediaproof.topology, the contract's enum)."""
    return {
        "chainId": config.chain_id,
        "rpcUrl": config.rpc_url,
        "mediaApp": config.media_app,
        "abis": proof_check_abis(abi_dir),
        "domain": {"name": eip712.DOMAIN_NAME, "version": eip712.DOMAIN_VERSION},
        "recordTypes": {"MediaRecord": eip712.MEDIA_RECORD_FIELDS, "MediaVariant": eip712.MEDIA_VARIANT_FIELDS},
        "receiptTypes": {"StorageReceipt": eip712.STORAGE_RECEIPT_FIELDS},
        "clusterStatusNames": [status.label for status in ClusterStatus],
    }


def project_registry_address() -> str:
    """ProjectRegistry's address in this process's deployment file (read on every call: a redeploy is picked up)."""
    deployment_file = app_settings().resolved_deployment_file()
    try:
        address = json.loads(deployment_file.read_text()).get("contracts", {}).get("ProjectRegistry")
    except (FileNotFoundError, json.JSONDecodeError) as exc:
        raise DeploymentError(f"cannot read the deployment at {deployment_file} ({exc}): deploy again") from None
    if not is_address(address or ""):
        raise DeploymentError(f"{deployment_file} names no ProjectRegistry: deploy the contracts again")
    return to_checksum_address(address)
