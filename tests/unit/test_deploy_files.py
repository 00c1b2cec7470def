"""deploy/ keeps pace with the code: every unit and Procfile line starts a module that exists and takes the flags
given, every MEDIAPROOF_ variable the example environment sets is a setting (or one the storage unit reads), and
the README lists exactly the Kubo RPC calls the IPFS client makes."""

from __future__ import annotations

import asyncio
import importlib.util
import re
import subprocess
import sys

import httpx
import pytest

from mediaproof.ipfs_client import AsyncIpfsClient
from mediaproof.settings import PROJECT_ROOT, Settings

DEPLOY = PROJECT_ROOT / "deploy"
UNIT_ONLY = {"MEDIAPROOF_CHAIN_ID", "MEDIAPROOF_TOPOLOGY", "MEDIAPROOF_MEDIA_APP"}  # mediaproof-storage@ reads these


def _commands() -> list[str]:
    lines = [line.split(":", 1)[1] for line in (DEPLOY / "Procfile").read_text().splitlines()
             if line and not line.startswith("#")]  # fmt: skip
    for unit in sorted((DEPLOY / "systemd").glob("*.service")):
        lines += re.findall(r"^ExecStart=(.*)$", unit.read_text(), re.MULTILINE)
    return lines


@pytest.mark.parametrize("command", _commands())
def test_each_command_runs_a_module_with_flags_it_takes(command: str) -> None:
    module = re.search(r"python -m ([\w.]+)", command)
    assert module, command
    assert importlib.util.find_spec(module.group(1) + ".__main__"), f"{module.group(1)} has no __main__"
    flags = re.findall(r"(?<=\s)(--[a-z-]+)", command.split(module.group(1), 1)[1])
    if flags:
        help_text = subprocess.run([sys.executable, "-m", module.group(1), "--help"], capture_output=True,
                                   text=True, cwd=PROJECT_ROOT, timeout=120).stdout  # fmt: skip
        for flag in flags:
            assert flag in help_text, f"`{module.group(1)}` takes no {flag}"


def test_example_environment_sets_only_real_settings() -> None:
    known = {f"MEDIAPROOF_{name.upper()}" for name in Settings.model_fields} | UNIT_ONLY
    names = re.findall(r"^(MEDIAPROOF_\w+)=", (DEPLOY / "mediaproof.env.example").read_text(), re.MULTILINE)
    assert names and set(names) <= known, set(names) - known


def test_deploy_readme_lists_exactly_the_kubo_rpc_calls_the_client_makes() -> None:
    # Every method of the client, run over httpx's mock transport: the RPC paths it really sends.
    sent: set[str] = set()
    cid = "bafkreihdwdcefgh4dqkjv67uzcmw7ojee6xedzdetojuzjevtenxquvyku"

    def answer(request: httpx.Request) -> httpx.Response:
        sent.add(request.url.path.removeprefix("/api/v0/"))
        assert request.method == "POST"
        return httpx.Response(200, json={"Hash": cid, "Size": 1, "Keys": {}, "Ref": cid, "ID": "x"})

    async def every_call() -> None:
        async with AsyncIpfsClient("/ip4/127.0.0.1/tcp/5001", transport=httpx.MockTransport(answer)) as ipfs:
            await ipfs.id()
            await ipfs.add(b"x", pin=False)
            await (await ipfs.cat(cid, 0, 1)).aclose()
            await ipfs.pin_add(cid)
            await ipfs.pin_rm(cid)
            await ipfs.pin_ls()
            await ipfs.is_pinned(cid)
            await ipfs.refs(cid)
            await ipfs.local_blocks()
            await ipfs.repo_gc()
            await ipfs.block_rm([cid])

    asyncio.run(every_call())
    text = (DEPLOY / "README.md").read_text()
    section = text[text.index("## Kubo RPC calls") :].split("\n## ", 1)[0]
    listed = set(re.findall(r"^\| `([a-z/]+)` \|", section, re.MULTILINE))
    assert listed == sent - {"refs/local"}, "deploy/README.md's table of Kubo RPC calls is out of date"
    assert "`refs/local`" in section  # the one call only the tests make, said so beside the table
    assert {name for name in dir(AsyncIpfsClient) if not name.startswith("_")} == {
        "id", "add", "cat", "pin_add", "pin_rm", "pin_ls", "is_pinned", "refs", "local_blocks", "repo_gc",
        "block_rm", "close",
    }, "a new client method: call it above so its RPC path is checked against the README"  # fmt: skip
