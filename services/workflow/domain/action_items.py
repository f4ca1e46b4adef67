"""The CAPA action items of a case (fields of type `actions`: `{what, owner, due}`) chased
like deadlines until each is recorded done (`done_at`).

An item is known by its field and a digest of what, owner and due, so recording the list
again (with an item added, or one marked done) keeps the other items' records, and a
changed due date is a new item. A due *date* means the end of that day in the site's time
zone; a time without an offset is the site's local time. Records are chased by the site's
escalation rules that name no stage, from the entry into the current stage (an item
recorded late announces its miss, not its approach).

An item is *assigned* (`case.action_assigned`) when a command records it with a what and
owner its field did not hold before: a new due date or `done_at` is no new assignment.
"""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

from services.common.contracts.cases import CaseActionAssigned
from services.common.contracts.envelope import Contract
from services.common.rules import SiteRules
from services.common.rules.schema_complaints import EscalationRule
from services.common.rules.schema_workflow import FieldType
from services.workflow.domain.case import Case, instant
from services.workflow.domain.people import recipients

SCOPE = "action:"
DONE = "done_at"
ASSIGNED_NAMESPACE = uuid.UUID("3c5e2f0a-7b1d-4e8a-9f62-1d0b7c4a5e93")


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


def assigned(
    before: Case, after: Case, rules: SiteRules, *, actor: str, now: datetime
) -> list[CaseActionAssigned]:
    """The action items `after` holds that `before` did not (by field, what and owner), in
    the order written; recorded done already or without a due time: none."""
    facts = []
    for spec in rules.workflow.fields:
        if spec.type is not FieldType.actions:
            continue
        held = {_assignment(i) for i in before.fields.get(spec.id) or [] if isinstance(i, dict)}
        for item in after.fields.get(spec.id) or []:
            due = due_of(rules, item.get("due")) if isinstance(item, dict) else None
            if due is None or item.get(DONE) or _assignment(item) in held:
                continue
            held.add(_assignment(item))
            facts.append(_assigned(spec.id, item, due, before, after, rules, actor, now))
    return facts


def _assignment(item: dict[str, Any]) -> tuple[str, str]:
    return str(item.get("what")), str(item.get("owner"))


def _assigned(
    field: str,
    item: dict[str, Any],
    due: datetime,
    before: Case,
    after: Case,
    rules: SiteRules,
    actor: str,
    now: datetime,
) -> CaseActionAssigned:
    token = token_of(field, item)
    named = fact_fields(ActionItem(field, item["what"], item["owner"], due, token), after, rules)
    return CaseActionAssigned(
        case_id=after.id,
        complaint_number=after.complaint_number,
        field=field,
        action=item["what"],
        action_owner=item["owner"],
        due=due,
        stage=before.stage,
        owner_department=after.owner_department,
        acting_departments=named["acting_departments"],
        actor=actor,
        assigned_at=now,
        rules_version=rules.rules_version,
    )


def assigned_event_id(fact: Contract) -> uuid.UUID | None:
    """The event id of an assignment, the same for every command that records the item (a
    redelivered command cannot announce it twice); None: any other fact's id is random."""
    if not isinstance(fact, CaseActionAssigned):
        return None
    key = f"{fact.case_id}|{fact.field}|{fact.action}|{fact.action_owner}"
    return uuid.uuid5(ASSIGNED_NAMESPACE, key)
