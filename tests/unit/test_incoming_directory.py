"""Each upload process receives bodies in a directory of its own: a starting process sweeps what killed ones left
and never what a live one is receiving."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from mediaproof.upload.intake import IncomingDirectory

_CLAIM_AND_HOLD = """
import sys, time
from pathlib import Path
from mediaproof.upload.intake import IncomingDirectory
mine = IncomingDirectory.claim(Path(sys.argv[1]))
(mine.path / "upload-abc.part").write_bytes(b"half a body")
print(mine.path, flush=True)
time.sleep(600)
"""


def holder(root: Path) -> tuple[subprocess.Popen[str], Path]:
    process = subprocess.Popen([sys.executable, "-c", _CLAIM_AND_HOLD, str(root)], stdout=subprocess.PIPE, text=True)
    assert process.stdout is not None
    return process, Path(process.stdout.readline().strip())


def test_a_starting_process_sweeps_only_what_killed_processes_were_receiving(tmp_path: Path) -> None:
    root = tmp_path / "incoming"
    live, live_dir = holder(root)
    dead, dead_dir = holder(root)
    try:
        dead.kill()
        dead.wait()
        (root / "upload-old.part").write_bytes(b"from the one-directory layout")
        mine = IncomingDirectory.claim(root)
        assert (live_dir / "upload-abc.part").read_bytes() == b"half a body"  # a live process keeps its body
        assert not dead_dir.exists() and not (root / f"{dead_dir.name}.lock").exists()
        assert not (root / "upload-old.part").exists()
        assert mine.path.is_dir() and mine.path not in (live_dir, dead_dir)
    finally:
        for process in (live, dead):
            process.kill()
            process.wait()
