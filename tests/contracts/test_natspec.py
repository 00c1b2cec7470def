"""Every error and event is documented where it is declared, as STYLE.md asks: the compiler's userdoc gives each a
`@notice` (an error's says "Thrown when …") and its devdoc a `@param` for every field. Implementations declare none
of their own, so the interfaces are the one place to read them."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

CONTRACTS = Path(__file__).resolve().parents[2] / "contracts"
INTERFACES = sorted(path.stem for path in (CONTRACTS / "interfaces").glob("I*.sol"))
DECLARATION = re.compile(r"^\s*(error|event)\s+(\w+)", re.MULTILINE)


def _documented(contract_type, kind: str) -> list[tuple[str, list[str], dict, dict]]:
    """(name, field names, userdoc entry, devdoc entry) of each error or event in the ABI. The docs are keyed by
    signature; our names are never overloaded, so the name finds the entry."""
    items = [item for item in contract_type.abi if item.type == kind]
    names = [item.name for item in items]
    assert len(names) == len(set(names)), f"overloaded {kind}s in {contract_type.name}"
    section = f"{kind}s"
    user = {key.split("(")[0]: value for key, value in (contract_type.userdoc or {}).get(section, {}).items()}
    dev = {key.split("(")[0]: value for key, value in (contract_type.devdoc or {}).get(section, {}).items()}
    out = []
    for item in items:
        # An error's doc is a list (errors may be overloaded); an event's is one entry.
        user_doc, dev_doc = user.get(item.name, {}), dev.get(item.name, {})
        user_doc = user_doc[0] if isinstance(user_doc, list) else user_doc
        dev_doc = dev_doc[0] if isinstance(dev_doc, list) else dev_doc
        out.append((item.name, [field.name for field in item.inputs], user_doc, dev_doc))
    return out


@pytest.mark.parametrize("interface", INTERFACES)
def test_interface_errors_documented(project, interface):
    errors = _documented(getattr(project, interface).contract_type, "error")
    assert errors, f"{interface} declares no errors"
    for name, fields, user_doc, dev_doc in errors:
        assert user_doc.get("notice", "").startswith("Thrown when "), f"{interface}.{name}: @notice Thrown when …"
        assert sorted(dev_doc.get("params", {})) == sorted(fields), f"{interface}.{name}: one @param per field"


@pytest.mark.parametrize("interface", INTERFACES)
def test_interface_events_documented(project, interface):
    events = _documented(getattr(project, interface).contract_type, "event")
    assert events, f"{interface} declares no events"
    for name, fields, user_doc, dev_doc in events:
        assert user_doc.get("notice"), f"{interface}.{name}: @notice"
        assert sorted(dev_doc.get("params", {})) == sorted(fields), f"{interface}.{name}: one @param per field"


def test_errors_and_events_declared_only_in_interfaces():
    outside = {
        f"{path.relative_to(CONTRACTS)}: {kind} {name}"
        for path in CONTRACTS.rglob("*.sol")
        if path.parent.name != "interfaces"
        for kind, name in DECLARATION.findall(path.read_text())
    }
    assert not outside
