"""ProjectRegistry on chain, as the CLI uses it: create, commit (compare-and-swap), grant and revoke from the
wallet's own key, and the reads a sync needs (the head, every version's commit from its event)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from eth_account.signers.local import LocalAccount
from eth_utils import to_checksum_address

from mediaproof.abis import load_abi
from mediaproof.chain import MediaproofChain
from mediaproof.errors import ContractRefused, InputError, StaleVersion
from mediaproof.project_access import ProjectAccess, ProjectHead, parse_pid
from mediaproof.sync.project import ROLES, project_id


@dataclass(frozen=True)
class Version:
    """One commit, from its ProjectCommitted event."""

    version: int
    manifest_sha256: str  # hex
    manifest_cid: str
    committer: str
    block: int
    timestamp: int
    tx: str

    def to_json(self) -> dict[str, Any]:
        return {
            "version": self.version,
            "manifest_sha256": self.manifest_sha256,
            "manifest_cid": self.manifest_cid,
            "committer": self.committer,
            "block": self.block,
            "timestamp": self.timestamp,
            "tx": self.tx,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Version:
        return cls(**{name: data[name] for name in cls.__dataclass_fields__})


def parse_project_id(text: str) -> bytes:
    """A project id given as 0x and 64 hex digits; InputError otherwise."""
    return bytes.fromhex(parse_pid(text)[2:])


class ProjectRegistry:
    def __init__(self, chain: MediaproofChain, account: LocalAccount | None = None) -> None:
        self.chain = chain
        self.account = account
        self.contract = chain.w3.eth.contract(
            address=chain.deployment.project_registry, abi=load_abi("ProjectRegistry")
        )
        self.access = ProjectAccess(chain.w3, chain.deployment.project_registry)  # the one reader of heads

    def resolve(self, spec: str) -> bytes:
        """A project id from `0x<64 hex>`, `0x<owner>/<name>`, or a bare name (this wallet's project)."""
        if spec.startswith("0x") and "/" not in spec:
            return parse_project_id(spec)
        owner, slash, name = spec.rpartition("/")
        if not slash:
            if self.account is None:
                raise InputError(f"{spec!r}: give a project id, or OWNER/NAME")
            owner = self.account.address
        try:
            owner = to_checksum_address(owner)
        except ValueError:
            raise InputError(f"{owner!r} in {spec!r} is not a wallet address") from None
        if not name:
            raise InputError(f"{spec!r} names no project")
        return project_id(owner, name)

    def _sender(self) -> LocalAccount:
        if self.account is None:
            raise InputError("this needs a wallet key (MEDIAPROOF_PRIVATE_KEY)")
        return self.account

    def create(self, name: str, private: bool) -> tuple[bytes, str | None]:
        """Creates the project; (id, tx hash), or (id, None) when this wallet already has a project of that name
        (a retried create never makes a second one)."""
        pid = project_id(self._sender().address, name)
        try:
            receipt = self.chain.transact(self._sender(), self.contract.functions.createProject(name, private))
        except ContractRefused as exc:
            if exc.error == "ProjectAlreadyExists":
                return pid, None
            raise
        return pid, "0x" + bytes(receipt["transactionHash"]).hex()

    def head(self, pid: bytes) -> ProjectHead:
        """The project's head, asked afresh; NotRegistered when there is no such project."""
        return self.access.head("0x" + pid.hex())

    def commit(self, pid: bytes, expected: int, manifest_sha256: bytes, manifest_cid: str) -> str:
        """Moves the head from version `expected` to this manifest; StaleVersion if someone else moved it first."""
        call = self.contract.functions.commit(pid, expected, manifest_sha256, manifest_cid)
        try:
            receipt = self.chain.transact(self._sender(), call)
        except ContractRefused as exc:
            if exc.error == "ProjectStaleVersion":
                raise StaleVersion(exc.reason) from exc
            raise
        return "0x" + bytes(receipt["transactionHash"]).hex()

    def grant(self, pid: bytes, grantee: str, role: str) -> str:
        if role not in ROLES:
            raise InputError(f"role {role!r} is not read or write")
        call = self.contract.functions.grant(pid, to_checksum_address(grantee), ROLES[role])
        return "0x" + bytes(self.chain.transact(self._sender(), call)["transactionHash"]).hex()

    def revoke(self, pid: bytes, grantee: str) -> str:
        call = self.contract.functions.revoke(pid, to_checksum_address(grantee))
        return "0x" + bytes(self.chain.transact(self._sender(), call)["transactionHash"]).hex()

    def versions(self, pid: bytes, after: int = 0, from_block: int | None = None) -> list[Version]:
        """Every commit with a version above `after`, oldest first, from the chain's ProjectCommitted events."""
        start = self.chain.deployment.block if from_block is None else from_block
        logs = self.contract.events.ProjectCommitted.get_logs(
            argument_filters={"projectId": pid}, from_block=start, to_block="latest"
        )
        found = []
        timestamps: dict[int, int] = {}
        for log in logs:
            args = log["args"]
            if int(args["version"]) <= after:
                continue
            block = int(log["blockNumber"])
            if block not in timestamps:
                timestamps[block] = int(self.chain.w3.eth.get_block(block)["timestamp"])
            found.append(
                Version(
                    version=int(args["version"]),
                    manifest_sha256=bytes(args["manifestSha256"]).hex(),
                    manifest_cid=str(args["manifestCid"]),
                    committer=to_checksum_address(args["committer"]),
                    block=block,
                    timestamp=timestamps[block],
                    tx="0x" + bytes(log["transactionHash"]).hex(),
                )
            )
        return sorted(found, key=lambda v: v.version)
