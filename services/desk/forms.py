"""The actions a person may run on a case now, as forms typed from the rule file, and the
typed values read back from a posted form (each error under its field's id)."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from services.common.rules import SiteRules
from services.common.rules.schema_workflow import CaseField, FieldType, Transition

CASE_OWNER = "case_owner"
Gettext = Callable[[str], str]


@dataclass
class ActionForm:
    action: str
    names: Mapping[str, str] | None
    fields: list[CaseField] = field(default_factory=list)
    # The meaning the actor signs with (approved, rejected, reviewed): the workflow runs
    # this action only with the actor's electronic signature.
    meaning: str | None = None

    @property
    def signed(self) -> bool:
        return self.meaning is not None


def identities(rules: SiteRules, roles: Iterable[str]) -> set[str]:
    held = set(roles)
    return held | {d.id for d in rules.departments if held & set(d.roles)}


def _may(rules: SiteRules, t: Transition, mine: set[str], owner: str) -> bool:
    actors = set(t.actors or rules.stage(t.from_stage).actors)
    return bool(mine & actors) or (CASE_OWNER in actors and owner in mine)


def action_forms(
    rules: SiteRules, case: Mapping[str, Any], roles: Iterable[str]
) -> list[ActionForm]:
    """The transitions out of the case's stage the person's roles allow, one form per
    action (an action with guarded alternatives asks for the guards' fields too)."""
    if case.get("terminal"):
        return []
    mine = identities(rules, roles)
    declared = {f.id: f for f in rules.workflow.fields}
    filled = {k for k, v in (case.get("fields") or {}).items() if v not in (None, "", [])}
    forms: dict[str, ActionForm] = {}
    for t in rules.workflow.transitions:
        if t.from_stage != case["stage"] or not _may(rules, t, mine, case["owner_department"]):
            continue
        form = forms.setdefault(t.action, ActionForm(t.action, t.names))
        if t.signature is not None:
            form.meaning = form.meaning or t.signature.meaning
        wanted = [*t.guard, *t.requires, *rules.stage(t.to).required_fields]
        # The field a signature fills (approved_by) is the signer: never asked for.
        signs = t.signature.fills if t.signature else None
        for name in (n for n in wanted if n != signs):
            spec = declared.get(name)
            if spec and spec not in form.fields and (name in t.guard or name not in filled):
                form.fields.append(spec)
    return list(forms.values())


def read_values(
    specs: Iterable[CaseField], posted: Mapping[str, str], gettext: Gettext
) -> tuple[dict[str, Any], dict[str, str]]:
    """The typed values of the filled fields, and an error message per field id."""
    values: dict[str, Any] = {}
    errors: dict[str, str] = {}
    for spec in specs:
        raw = (posted.get(spec.id) or "").strip()
        if not raw:
            continue
        try:
            values[spec.id] = _typed(spec, raw, gettext)
        except ValueError as exc:
            errors[spec.id] = str(exc)
    return values, errors


def _typed(spec: CaseField, raw: str, gettext: Gettext) -> Any:
    kind = spec.type
    if kind is FieldType.number:
        try:
            number = float(raw)
        except ValueError:
            raise ValueError(gettext("Enter a number, for example 120.")) from None
        if number < 0:
            raise ValueError(gettext("Enter a number of zero or more."))
        return int(number) if number.is_integer() else number
    if kind is FieldType.bool:
        return raw == "yes"
    if kind is FieldType.date:
        try:
            return date.fromisoformat(raw).isoformat()
        except ValueError:
            raise ValueError(gettext("Enter a date, for example 2026-03-01.")) from None
    if kind is FieldType.choice:
        if raw not in (spec.choices or ()):
            raise ValueError(gettext("Choose one of the offered values."))
        return raw
    if kind is FieldType.list:
        return [line.strip() for line in raw.splitlines() if line.strip()]
    if kind is FieldType.actions:
        return [_action(line, gettext) for line in raw.splitlines() if line.strip()]
    return raw


def _action(line: str, gettext: Gettext) -> dict[str, str]:
    parts = [p.strip() for p in line.split("|")]
    if len(parts) != 3 or not all(parts):
        raise ValueError(gettext("One action a line: what | owner | due date (2026-03-01)."))
    try:
        due = date.fromisoformat(parts[2]).isoformat()
    except ValueError:
        raise ValueError(
            gettext("The due date of an action must be a date (2026-03-01).")
        ) from None
    return {"what": parts[0], "owner": parts[1], "due": due}
