"""The back-off of `make up`'s supervisor (pure), and the supervisor restarting a real process it watches."""

from __future__ import annotations

import os
import signal
import sys
import time
from pathlib import Path

from mediaproof.processes import ManagedProcess
from mediaproof.supervision import MAX_DELAY, Supervised, Supervisor, restart_delay


def test_restart_delay_doubles_from_half_a_second_up_to_its_cap() -> None:
    assert [restart_delay(n) for n in range(1, 6)] == [0.5, 1.0, 2.0, 4.0, 8.0]
    assert restart_delay(40) == MAX_DELAY
    assert restart_delay(0) == 0.5


def test_supervisor_restarts_a_killed_process_and_logs_it(tmp_path: Path) -> None:
    def sleeper() -> ManagedProcess:
        argv = [sys.executable, "-c", "import time; print('up', flush=True); time.sleep(600)"]
        return ManagedProcess("sleeper", argv, tmp_path / "sleeper.log", lambda: True).start()

    current = [sleeper()]
    lines: list[str] = []

    def restart() -> None:
        current[0].reap()
        current[0] = sleeper()

    part = Supervised("sleeper", lambda: current[0].running, lambda: current[0].exit_code, restart)
    supervisor = Supervisor([part], lines.append).start()
    try:
        first = current[0]
        assert first.proc is not None
        os.kill(first.proc.pid, signal.SIGKILL)
        deadline = time.monotonic() + 20
        while supervisor.restarts != ["sleeper"]:
            assert time.monotonic() < deadline, lines
            time.sleep(0.1)
        assert current[0] is not first and current[0].running
        assert lines[0] == "sleeper exited (code -9): restarting in 0.5 s (crash 1 in a row)"
        assert lines[1] == "sleeper restarted"
    finally:
        supervisor.stop()
        current[0].stop()
