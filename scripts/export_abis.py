"""Exports compiled ABIs and creation bytecode to mediaproof/abi/ (committed; read by mediaproof.deployment).

Run after changing a contract: `ape run export_abis` (compiles first) or `python scripts/export_abis.py`.
"""

from __future__ import annotations

from pathlib import Path

from mediaproof.deployment import export_artifacts

PROJECT_ROOT = Path(__file__).resolve().parent.parent


def main() -> None:
    try:
        from ape import project

        project.load_contracts()  # compiles what changed, so the manifest is current
    except ImportError:
        pass
    for path in export_artifacts(PROJECT_ROOT / ".build" / "__local__.json"):
        print(f"wrote {path.relative_to(PROJECT_ROOT)}")


if __name__ == "__main__":
    main()
