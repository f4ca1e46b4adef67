"""JSON Schema of every event envelope, exported to docs/events/ and checked in CI."""

from __future__ import annotations

import json
from pathlib import Path

from services.common.contracts.envelope import Envelope
from services.common.contracts.registry import EventSpec, specs


def schema_of(spec: EventSpec) -> dict[str, object]:
    schema = Envelope[spec.model].model_json_schema()  # type: ignore[name-defined]
    schema["title"] = f"{spec.event_type} v{spec.version}"
    schema["description"] = spec.description
    schema["$id"] = spec.dataschema
    properties = schema["properties"]
    assert isinstance(properties, dict)
    properties["type"] = {"const": spec.event_type, "type": "string"}
    properties["dataschema"] = {"const": spec.dataschema, "type": "string"}
    return schema


ASYNCAPI = "asyncapi.yaml"


def _files() -> dict[str, str]:
    from services.common.asyncapi import to_yaml  # FastStream only when needed

    files = {
        f"{spec.event_type}.v{spec.version}.json": json.dumps(
            schema_of(spec), indent=2, sort_keys=True
        )
        + "\n"
        for spec in specs()
    }
    files[ASYNCAPI] = to_yaml()
    return files


def event_files() -> dict[str, str]:
    return _files()


def export(out: Path, files: dict[str, str] | None = None) -> list[Path]:
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for name, text in (files if files is not None else _files()).items():
        path = out / name
        path.write_text(text, encoding="utf-8")
        written.append(path)
    return written


def check(out: Path, files: dict[str, str] | None = None) -> list[str]:
    """Differences between the code's contracts and the committed files."""
    expected = files if files is not None else _files()
    problems = []
    for name, text in expected.items():
        path = out / name
        if not path.exists():
            problems.append(f"{path}: missing (run: qloop contracts export)")
        elif path.read_text(encoding="utf-8") != text:
            problems.append(f"{path}: differs from the code (run: qloop contracts export)")
    for path in sorted([*out.glob("*.json"), *out.glob("*.yaml")]) if out.exists() else []:
        if path.name not in expected:
            problems.append(f"{path}: not produced by the code any more")
    return problems
