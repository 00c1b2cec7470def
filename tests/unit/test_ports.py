"""Port allocation is race-free: a port taken by someone else between our pick and the child's bind makes the launcher
start the child again on a fresh port, and a server of someone else's on that port is never taken for ours."""

from __future__ import annotations

import http.server
import sys
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

from mediaproof import processes
from mediaproof.anvil import ANVIL_BIN, AnvilNode
from mediaproof.ports import PortInUse, free_port, port_of, reserve_port
from mediaproof.processes import ManagedProcess, http_ok

# A child that binds the port it is given and answers every GET with its pid.
CHILD = """
import http.server, os, sys
class Pid(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        body = str(os.getpid()).encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
http.server.HTTPServer(("127.0.0.1", int(sys.argv[1])), Pid).serve_forever()
"""


class Answer200(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def squatter() -> Iterator[int]:
    """Someone else's HTTP server on a port, answering 200 to anything: what a launcher's readiness check would
    accept if it only asked the port."""
    server = http.server.HTTPServer(("127.0.0.1", 0), Answer200)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield int(server.server_address[1])
    finally:
        server.shutdown()
        server.server_close()


def picker_returning_first(taken: int) -> tuple[Callable[[], int], list[int]]:
    """A free_port whose first answer is `taken` (as if someone bound it right after we picked it)."""
    picked: list[int] = []

    def pick() -> int:
        picked.append(taken if not picked else free_port())
        return picked[-1]

    return pick, picked


def pid_server(tmp_path: Path, port: int = 0) -> ManagedProcess:
    def use(ports: list[int]) -> None:
        process.argv = [sys.executable, "-c", CHILD, str(ports[0])]

    process = ManagedProcess(
        "pid server",
        [],
        tmp_path / "pid.log",
        lambda: http_ok(f"http://127.0.0.1:{process.ports[0]}/"),
        ready_timeout=30,
        ports=[port],
        on_ports=use,
    )
    return process


def test_a_child_whose_picked_port_was_taken_comes_up_on_another(
    squatter: int, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    pick, picked = picker_returning_first(squatter)
    monkeypatch.setattr(processes, "free_port", pick)
    process = pid_server(tmp_path).start()
    try:
        assert picked[0] == squatter and len(picked) == 2
        assert process.ports == [picked[1]]
        # the server on the new port is our child, not the squatter that answered the first readiness checks
        assert process.proc is not None
        assert httpx.get(f"http://127.0.0.1:{process.ports[0]}/").text == str(process.proc.pid)
        assert b"Address already in use" in (tmp_path / "pid.log").read_bytes()  # the first try said why
    finally:
        process.stop()


def test_a_port_asked_for_by_number_is_never_swapped(squatter: int, tmp_path: Path) -> None:
    with pytest.raises(PortInUse):
        pid_server(tmp_path, port=squatter).start()


def test_anvil_on_a_taken_port_starts_again_and_serves_its_own_chain(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def use(ports: list[int]) -> None:  # someone else's node, told apart by its chain id
        other.argv = [str(ANVIL_BIN), "--host", "127.0.0.1", "--port", str(ports[0]), "--chain-id", "4242"]

    other = ManagedProcess("other anvil", [], tmp_path / "other.log", lambda: True, ports=[0], on_ports=use)
    other.start()  # ready once it listens
    try:
        pick, picked = picker_returning_first(other.ports[0])
        monkeypatch.setattr(processes, "free_port", pick)
        ours = AnvilNode(0, tmp_path / "ours").start()
        try:
            assert picked[0] == other.ports[0] and ours.port == picked[1] != other.ports[0]
            body = {"jsonrpc": "2.0", "id": 1, "method": "eth_chainId", "params": []}
            assert httpx.post(ours.url, json=body).json()["result"] == hex(31337)
            ours.stop()
            ours.start()  # a restart comes back on the same port: its clients know that one
            assert ours.port == picked[1] and len(picked) == 2
        finally:
            ours.stop()
    finally:
        other.stop()


def test_a_reserved_port_cannot_be_taken_and_a_taken_one_cannot_be_reserved() -> None:
    with reserve_port() as held:
        with pytest.raises(PortInUse):
            reserve_port(port_of(held))
        assert processes.port_open(port_of(held))  # connections wait for the child that will serve it
