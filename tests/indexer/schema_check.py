"""A small JSON Schema (draft 2020-12) checker for the keywords docs/proof-bundle.schema.json uses, so tests validate
against the schema file itself without another dependency (the `jsonschema` package is not in the venv). A keyword
it does not know fails loudly rather than being skipped, so the schema cannot grow past what is checked."""

from __future__ import annotations

import re
from typing import Any

ANNOTATIONS = {"$schema", "$id", "title", "description", "$comment", "examples", "$defs"}
TYPES = {
    "object": lambda v: isinstance(v, dict),
    "array": lambda v: isinstance(v, list),
    "string": lambda v: isinstance(v, str),
    "integer": lambda v: isinstance(v, int) and not isinstance(v, bool),
    "boolean": lambda v: isinstance(v, bool),
    "null": lambda v: v is None,
}


def errors(instance: Any, schema: dict[str, Any], root: dict[str, Any] | None = None, at: str = "$") -> list[str]:
    """Every way `instance` breaks `schema` (empty when it conforms), each naming where."""
    root = root if root is not None else schema
    out: list[str] = []
    for key, value in schema.items():
        if key in ANNOTATIONS or key in ("then", "else"):
            continue
        if key == "$ref":
            if not value.startswith("#/"):
                raise ValueError(f"only local $ref is supported, not {value}")
            target: Any = root
            for part in value[2:].split("/"):
                target = target[part]
            out += errors(instance, target, root, at)
        elif key == "type":
            if not TYPES[value](instance):
                out.append(f"{at}: {instance!r} is not of type {value}")
        elif key == "const":
            if instance != value or type(instance) is not type(value):
                out.append(f"{at}: {instance!r} is not {value!r}")
        elif key == "enum":
            if instance not in value:
                out.append(f"{at}: {instance!r} is not one of {value}")
        elif key == "pattern":
            if isinstance(instance, str) and not re.search(value, instance):
                out.append(f"{at}: {instance!r} does not match {value}")
        elif key in ("minimum", "maximum"):
            if TYPES["integer"](instance) and (instance < value if key == "minimum" else instance > value):
                out.append(f"{at}: {instance} breaks {key} {value}")
        elif key in ("minItems", "maxItems"):
            if isinstance(instance, list) and (len(instance) < value if key == "minItems" else len(instance) > value):
                out.append(f"{at}: {len(instance)} items breaks {key} {value}")
        elif key == "required":
            if isinstance(instance, dict):
                out += [f"{at}: {name!r} is required" for name in value if name not in instance]
        elif key == "properties":
            if isinstance(instance, dict):
                for name, sub in value.items():
                    if name in instance:
                        out += errors(instance[name], sub, root, f"{at}.{name}")
        elif key == "additionalProperties":
            if value is not False:
                raise ValueError("only additionalProperties: false is supported")
            if isinstance(instance, dict):
                known = set(schema.get("properties", {}))
                out += [f"{at}: {name!r} is not allowed" for name in instance if name not in known]
        elif key == "items":
            if isinstance(instance, list):
                for i, item in enumerate(instance):
                    out += errors(item, value, root, f"{at}[{i}]")
        elif key == "allOf":
            for sub in value:
                out += errors(instance, sub, root, at)
        elif key == "anyOf":
            if all(errors(instance, sub, root, at) for sub in value):
                out.append(f"{at}: {instance!r} matches none of anyOf")
        elif key == "if":
            branch = "then" if not errors(instance, value, root, at) else "else"
            if branch in schema:
                out += errors(instance, schema[branch], root, at)
        else:
            raise ValueError(f"schema keyword {key!r} is not supported by this checker")
    return out
