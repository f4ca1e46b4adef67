"""The CAPA action items of a case (fields of type `actions`: `{what, owner, due}`) chased
like deadlines until each is recorded done (`done_at`).

An item is known by its field and a digest of what, owner and due, so recording the list
again (with an item added, or one marked done) keeps the other items' records, and a
changed due date is a new item. A due *date* means the end of that day in the site's time
zone; a time without an offset is the site's local time. Records are chased by the site's
escalation rules that name no stage, from the entry into the current stage (an item
recorded late announces its miss, not its approach).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

from services.common.rules import SiteRules
from services.common.rules.schema_complaints import EscalationRule
from services.common.rules.schema_workflow import FieldType
from services.workflow.domain.case import Case, instant
from services.workflow.domain.people import recipients

SCOPE = "action:"
DONE = "done_at"


@dataclass(frozen=True)
class ActionItem:
    field: str
    what: str
    owner: str
    due: datetime
    token: str  # `action:<field>.<digest of what, owner and due as written>`

    @property
    def scope(self) -> str:
        """What the item's records and events name as their `stage`."""
        return f"{SCOPE}{self.field}"


def open_items(case: Case, rules: SiteRules) -> list[ActionItem]:
    """The case's action items not yet recorded done (none once the case is closed)."""
    if case.terminal:
        return []
    found = []
    for spec in rules.workflow.fields:
        if spec.type is not FieldType.actions:
            continue
        for item in case.fields.get(spec.id) or []:
            due = due_of(rules, item.get("due")) if isinstance(item, dict) else None
            if due is not None and not item.get(DONE):
                token = token_of(spec.id, item)
                found.append(ActionItem(spec.id, item["what"], item["owner"], due, token))
    return found


def token_of(field: str, item: dict[str, Any]) -> str:
    written = f"{item.get('what')}|{item.get('owner')}|{item.get('due')}"
    return f"{SCOPE}{field}.{hashlib.sha256(written.encode()).hexdigest()[:12]}"


def is_open(case: Case, deadline_token: str) -> bool:
    """Whether the item a record was planned for is still on the case and not done (read
    from the fields alone: the record names its field)."""
    field = deadline_token[len(SCOPE) :].rpartition(".")[0]
    items = case.fields.get(field)
    return not case.terminal and any(
        isinstance(i, dict) and not i.get(DONE) and token_of(field, i) == deadline_token
        for i in items or []
    )


def due_of(rules: SiteRules, text: Any) -> datetime | None:
    """An item's due time (UTC): the end of a due date, or a due time, in the site's zone."""
    if not isinstance(text, str):
        return None
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return None
    if len(text) <= len("2025-03-20"):  # a date: due by the end of that day
        end = datetime.combine(date.fromisoformat(text) + timedelta(days=1), time(0))
        moment = end.replace(tzinfo=rules.zone)
    elif moment.tzinfo is None:
        moment = moment.replace(tzinfo=rules.zone)
    return instant(moment)


def is_item(deadline_token: str) -> bool:
    return deadline_token.startswith(SCOPE)


def item_of(case: Case, rules: SiteRules, deadline_token: str) -> ActionItem | None:
    return next((i for i in open_items(case, rules) if i.token == deadline_token), None)


def since(case: Case) -> datetime:
    return case.visits[-1].entered_at if case.visits else case.opened_at


def escalations(rules: SiteRules) -> tuple[EscalationRule, ...]:
    return tuple(e for e in rules.escalation if e.stages is None)


def fact_fields(item: ActionItem, case: Case, rules: SiteRules) -> dict[str, Any]:
    """What an item's approaching/missed facts add: the action and who must act (its owner,
    when the owner is a department or role of the site)."""
    known = {d.id for d in rules.departments} | {r.id for r in rules.roles}
    acting = recipients(rules, case, [item.owner]) if item.owner in known else ()
    return {"action": item.what, "action_owner": item.owner, "acting_departments": acting}
