"""Composing MongoDB update documents."""

from __future__ import annotations

from typing import Any


def merge(*updates: dict[str, Any]) -> dict[str, Any]:
    """Merge update documents operator by operator; a field set twice is a bug."""
    merged: dict[str, dict[str, Any]] = {}
    for update in updates:
        for operator, fields in update.items():
            if not operator.startswith("$"):
                raise ValueError(f"not an update operator: {operator!r}")
            target = merged.setdefault(operator, {})
            clash = target.keys() & fields.keys()
            if clash:
                raise ValueError(f"{operator} sets {sorted(clash)} twice")
            target.update(fields)
    return dict(merged)
