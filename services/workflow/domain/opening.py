"""Opening a case: for a registered complaint, or for a corrective action a survey raised."""

from __future__ import annotations

from datetime import datetime

from services.common.contracts.cases import CaseEscalated, CaseOpened
from services.common.contracts.complaints import ComplaintRegistered
from services.common.rules import SiteRules, survey_action_due
from services.workflow.domain import clocks, closing, deadlines, history, recurrence, stages
from services.workflow.domain.case import Case, instant
from services.workflow.domain.commands import CorrectiveActionRequest
from services.workflow.domain.decisions import Decision
from services.workflow.domain.people import recipients

SYSTEM = "system:workflow"


def case_id(site: str, number: str) -> str:
    return f"{site}:{number}"


def action_case_id(site: str, action_id: str) -> str:
    return f"{site}:action:{action_id}"


def open_for_complaint(
    registered: ComplaintRegistered,
    rules: SiteRules,
    now: datetime,
    *,
    earlier: list[Case] | None = None,
) -> Decision:
    """The case of a registered complaint; `earlier` are the closed cases it repeats
    (most recent first), found with `recurrence.key_of` in the rules' window.

    An imported complaint is history: it was registered and its case begun at its receipt,
    so its due times count from then; what was over before the import goes to the case
    history (`_past_recorded`), and only what is still ahead is announced."""
    now = instant(now)
    complaint = registered.complaint
    received = instant(complaint.received_at)
    times = {"received": received, "registered": instant(registered.registered_at)}
    if registered.imported:
        times.update({"registered": received, deadlines.IMPORTED: now})
    classification = registered.classification.model_dump(mode="json")
    case = Case(
        id=case_id(complaint.site, registered.number),
        site=complaint.site,
        origin="complaint",
        reference=registered.number,
        customer_id=complaint.customer.id,
        customer_name=complaint.customer.name,
        owner_department=registered.classification.owner_department,
        copy_to=list(registered.classification.copy_to),
        classification={**classification, "rules_version": registered.rules_version},
        complaint=complaint.model_dump(mode="json", exclude={"contact"}),
        stage=rules.workflow.initial,
        customer_deadline=_ms(complaint.customer_deadline),
        event_times=times,
        recurrence_key=recurrence.key_of(rules, registered),
        opened_at=now,
        rules_version=rules.rules_version,
    )
    if registered.imported and registered.closed_at is not None:
        return _opened_closed(case, registered, rules, now)
    if earlier:
        case.repeat, case.repeat_of = True, earlier[0].id
    entered = received if registered.imported else now
    return _opened(case, rules, now, earlier or [], entered=entered)


def open_for_action(
    request: CorrectiveActionRequest, site: str, rules: SiteRules, now: datetime
) -> Decision:
    """A corrective-action case with its owner and due time, at the stage the site's
    workflow names for survey actions (`workflow.entry.survey_action`, else `initial`).
    The due time is the event's; an event without one (raised before the rules gave one)
    is due by the rules from when it was raised."""
    now = instant(now)
    owner = request.owner_department or rules.routing.default_owner
    due, provisional = _ms(request.due), request.due_provisional
    if due is None:
        computed = survey_action_due(rules, request.trigger, request.raised_at or now)
        if computed is not None:
            due, provisional = instant(computed.at), computed.provisional
    entry = rules.workflow.entry.survey_action
    case = Case(
        id=action_case_id(site, request.action_id),
        site=site,
        origin="survey_action",
        reference=f"ACTION-{request.action_id}",
        customer_id=request.customer_id,
        customer_name=request.customer_name,
        owner_department=owner,
        source_facts={
            "trigger": request.trigger,
            "why": request.why,
            "subject": request.subject,
            **_trigger_facts(rules, request.trigger),
            **request.facts,
        },
        stage=entry or rules.workflow.initial,
        case_due=due,
        case_due_provisional=provisional,
        case_due_from=instant(request.raised_at or now),
        opened_at=now,
        rules_version=rules.rules_version,
    )
    if entry is None and due is not None:  # on the complaint procedure: its action list
        action = {"what": request.what, "owner": owner, "due": due.isoformat()}
        case.fields = _action_field(rules, action)
    return _opened(case, rules, now, [])


def _trigger_facts(rules: SiteRules, trigger_id: str) -> dict[str, object]:
    """The trigger's test as it was when the action was raised: its next survey result is
    judged by it, whatever the rules say by then."""
    triggers = rules.survey.triggers if rules.survey is not None else ()
    trigger = next((t for t in triggers if t.id == trigger_id), None)
    return {} if trigger is None else {"kind": trigger.kind, "op": trigger.op}


def _action_field(rules: SiteRules, action: dict[str, str]) -> dict[str, object]:
    names = [f.id for f in rules.workflow.fields if f.type.value == "actions"]
    return {names[0]: [action]} if names else {}


def _opened(
    case: Case,
    rules: SiteRules,
    now: datetime,
    earlier: list[Case],
    *,
    entered: datetime | None = None,
) -> Decision:
    stages.enter(rules, case, case.stage, entered or now)
    history.record(
        case,
        at=now,
        actor=SYSTEM,
        roles=[],
        what="opened",
        to_stage=case.stage,
        changes={"repeat_of": case.repeat_of} if case.repeat else {},
        reason=f"{case.origin} {case.reference}",
        rules_version=rules.rules_version,
    )
    decision = Decision(case, [_opened_fact(case, now)])
    clocks.follow(None, decision, rules, now)
    _past_recorded(case, rules, now)
    escalation = _repeat_escalation(case, rules, now, earlier)
    if escalation is not None:
        decision.facts.append(escalation)
    return decision


def _opened_closed(
    case: Case, registered: ComplaintRegistered, rules: SiteRules, now: datetime
) -> Decision:
    """An imported row that carries its outcome: the case as its history says it ended,
    closed at `closed_at` in the rules' `history_import.closed_stage` (else the first
    terminal stage), with no deadline, clock or escalation to chase, no recurrence acted
    on, and no stage or clock judged on time: how it went before it closed is not known."""
    assert registered.closed_at is not None and registered.closed_outcome is not None
    closed_at = instant(registered.closed_at)
    stages.enter(rules, case, case.stage, case.event_times["received"])
    policy = rules.workflow.history_import
    terminal = next(s.id for s in rules.workflow.stages if s.terminal)
    stages.enter(rules, case, policy.closed_stage if policy else terminal, closed_at)
    for visit in case.visits:
        visit.on_time = None
    closed = closing.closed(case, registered.closed_outcome, rules, closed_at, None)
    history.record(
        case,
        at=now,
        actor=SYSTEM,
        roles=[],
        what="opened_closed",
        to_stage=case.stage,
        changes={"outcome": case.outcome, "closed_at": closed_at.isoformat()},
        reason=f"imported history: {case.origin} {case.reference}, closed {closed_at.isoformat()}",
        rules_version=rules.rules_version,
    )
    return Decision(case, [_opened_fact(case, now), closed])


def _past_recorded(case: Case, rules: SiteRules, now: datetime) -> None:
    """An imported case: one history entry naming each due time missed and escalation
    reached before the import, none of which is announced."""
    past = deadlines.over_at_import(case, rules)
    if not past:
        return
    over = [
        {"kind": r.kind, "stage": r.stage, "rule": r.rule, "at": r.fire_at, "due": r.due}
        for r in past
    ]
    history.record(
        case,
        at=now,
        actor=SYSTEM,
        roles=[],
        what="over_before_import",
        changes={"over": over},
        reason=f"imported; received {case.event_times['received'].isoformat()}",
        rules_version=rules.rules_version,
    )


def _opened_fact(case: Case, now: datetime) -> CaseOpened:
    classification = case.classification or {}
    return CaseOpened(
        case_id=case.id,
        complaint_number=case.complaint_number,
        origin=case.origin,
        customer_id=case.customer_id,
        customer_name=case.customer_name,
        nature=classification.get("nature"),
        category=classification.get("category"),
        severity=classification.get("severity"),
        owner_department=case.owner_department,
        stage=case.stage,
        due=case.due,
        due_provisional=case.due_provisional,
        repeat=case.repeat,
        repeat_of=case.repeat_of,
        opened_at=now,
        rules_version=case.rules_version,
    )


def _repeat_escalation(
    case: Case, rules: SiteRules, now: datetime, earlier: list[Case]
) -> CaseEscalated | None:
    policy = rules.workflow.recurrence
    if policy is None or not recurrence.escalates(policy, len(earlier)):
        return None
    return CaseEscalated(
        case_id=case.id,
        complaint_number=case.complaint_number,
        stage=case.stage,
        reason="recurrence",
        rule=f"recurrence:{policy.action}",
        notify=tuple(policy.notify),
        departments=recipients(rules, case, policy.notify),
        occurrence=len(earlier),
        escalated_at=now,
    )


def _ms(moment: datetime | None) -> datetime | None:
    return instant(moment) if moment is not None else None
