"""Case fields as the rule file declares them: unknown fields and wrong types are refused."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from services.common.rules import SiteRules
from services.common.rules.schema_workflow import CaseField, FieldType
from services.workflow.domain.commands import Refused

ACTION_KEYS = {"what", "owner", "due"}  # and `done_at` once done: its chasing ends


def validate_fields(rules: SiteRules, values: dict[str, Any]) -> dict[str, Any]:
    """The values, checked against the workflow's field declarations (JSON values only)."""
    declared = {f.id: f for f in rules.workflow.fields}
    problems: list[str] = []
    bad: list[str] = []
    for name, value in values.items():
        spec = declared.get(name)
        problem = f"unknown field (declared: {', '.join(declared)})" if spec is None else None
        if spec is not None and value is not None:
            problem = _check(rules, spec, value)
        if problem:
            problems.append(f"{name}: {problem}")
            bad.append(name)
    if problems:
        raise Refused("invalid_fields", "; ".join(problems), bad)
    return dict(values)


def _check(rules: SiteRules, spec: CaseField, value: Any) -> str | None:
    kind = spec.type
    if kind is FieldType.choice:
        return None if value in (spec.choices or ()) else f"must be one of {spec.choices}"
    if kind is FieldType.number:
        ok = isinstance(value, int | float) and not isinstance(value, bool) and value >= 0
        return None if ok else "must be a non-negative number"
    if kind is FieldType.bool:
        return None if isinstance(value, bool) else "must be true or false"
    if kind is FieldType.date:
        return None if _is_date(value) else "must be an ISO date or time (2025-03-01)"
    if kind is FieldType.department:
        known = {d.id for d in rules.departments}
        return None if value in known else f"must be a department ({', '.join(sorted(known))})"
    if kind is FieldType.list:
        return None if isinstance(value, list) else "must be a list"
    if kind is FieldType.actions:
        return _check_actions(value)
    return None if isinstance(value, str) else "must be text"


def _check_actions(value: Any) -> str | None:
    if not isinstance(value, list):
        return "must be a list of actions {what, owner, due}"
    for i, item in enumerate(value):
        if not isinstance(item, dict) or not ACTION_KEYS <= set(item):
            return f"action {i + 1} needs what, owner and due"
        if not all(isinstance(item[k], str) and item[k] for k in ACTION_KEYS):
            return f"action {i + 1}: what, owner and due must be filled"
        if not _is_date(item["due"]):
            return f"action {i + 1}: due must be an ISO date or time"
        if item.get("done_at") not in (None, "") and not _is_date(item["done_at"]):
            return f"action {i + 1}: done_at (when it was done) must be an ISO date or time"
    return None


def _is_date(value: Any) -> bool:
    if not isinstance(value, str):
        return False
    for parse in (date.fromisoformat, datetime.fromisoformat):
        try:
            parse(value)
        except ValueError:
            continue
        return True
    return False
