"""A js-ipfs daemon whose gateway port was taken before it bound it: the daemon logs EADDRINUSE and lives on with
its API answering, so only its log tells. The launcher starts it again on fresh ports."""

from __future__ import annotations

from pathlib import Path

import pytest

from mediaproof import processes
from mediaproof.ipfs_node import IpfsNode
from mediaproof.ports import free_port, listening_ports, port_of, reserve_port

pytestmark = pytest.mark.integration


def test_daemon_whose_gateway_port_was_taken_comes_up_on_fresh_ports(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with reserve_port() as taken:
        picks = [free_port(), free_port(), port_of(taken)]  # API, swarm, then a gateway someone else holds

        def pick() -> int:
            return picks.pop(0) if picks else free_port()

        monkeypatch.setattr(processes, "free_port", pick)
        node = IpfsNode(tmp_path / "repo", api_port=0, swarm_port=0, gateway_port=0).start()
        try:
            assert node.ports.gateway != port_of(taken)
            assert node.pid is not None and listening_ports(node.pid) >= {
                node.ports.api,
                node.ports.swarm,
                node.ports.gateway,
            }
            with node.client(timeout=30) as client:
                assert client.id()["ID"]
            assert b"EADDRINUSE" in node.log_path.read_bytes()  # the first try, on the taken gateway port
        finally:
            node.stop()
