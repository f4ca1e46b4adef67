"""Recurrence: a new complaint matching a closed case (keys and window from the rules)."""

from __future__ import annotations

from datetime import datetime

from services.common.contracts.cases import CaseStageChanged
from services.common.contracts.complaints import ComplaintRegistered
from services.common.rules import SiteRules
from services.common.rules.schema_workflow import Recurrence, RecurrenceKey
from services.workflow.domain import clocks, closing, history, stages
from services.workflow.domain.case import Case, instant
from services.workflow.domain.decisions import Decision

SYSTEM = "system:recurrence"


def key_of(rules: SiteRules, registered: ComplaintRegistered) -> str | None:
    """`customer=C-1|product_model=BX-200|category=a`; None when a key has no value."""
    policy = rules.workflow.recurrence
    if policy is None:
        return None
    parts = []
    for key in policy.match_keys:
        value = _value(key, registered)
        if not value:
            return None
        parts.append(f"{key.value}={value}")
    return "|".join(parts)


def _value(key: RecurrenceKey, registered: ComplaintRegistered) -> str | None:
    complaint, c = registered.complaint, registered.classification
    if key is RecurrenceKey.customer:
        return complaint.customer.id
    if key is RecurrenceKey.product_model:
        return ",".join(sorted({p.model for p in complaint.products if p.model}))
    if key is RecurrenceKey.product_spec:
        return ",".join(sorted({p.spec for p in complaint.products if p.spec}))
    if key is RecurrenceKey.tags:
        return ",".join(sorted(c.tags))
    value = getattr(c, key.value)
    return str(value) if value is not None else None


def window_start(rules: SiteRules, moment: datetime) -> datetime | None:
    """The earliest closing time a matching case may have (calendar months back)."""
    policy = rules.workflow.recurrence
    if policy is None:
        return None
    months = moment.year * 12 + moment.month - 1 - policy.window_months
    year, month = divmod(months, 12)
    day = min(moment.day, 28)
    return moment.replace(year=year, month=month + 1, day=day)


def escalates(policy: Recurrence, earlier: int) -> bool:
    """Escalate when the action says so, or when the kind repeats `escalate_after` times."""
    if earlier == 0:
        return False
    return policy.action == "escalate" or earlier >= policy.escalate_after


def link_repeat(old: Case, new_case: Case, rules: SiteRules, now: datetime) -> Decision:
    """Link the earlier case to its repeat and, if the rules say reopen, reopen it."""
    now = instant(now)
    case = old.model_copy(deep=True)
    decision = Decision(case)
    if new_case.id not in case.repeats:
        case.repeats.append(new_case.id)
    policy = rules.workflow.recurrence
    reopen = next((t for t in rules.transitions_from(case.stage) if t.reopen), None)
    origin = case.stage
    if policy is not None and policy.action == "reopen" and reopen is not None:
        stages.enter(rules, case, policy.reopen_stage or reopen.to, now)
        decision.facts.append(_stage_changed(case, reopen.action, origin, rules, now))
        decision.facts.append(closing.reopen(case, origin, "recurrence", now, by_case=new_case))
    history.record(
        case,
        at=now,
        actor=SYSTEM,
        roles=[],
        what="reopened" if decision.facts else "repeat_linked",
        action=reopen.action if decision.facts and reopen else None,
        from_stage=origin,
        to_stage=case.stage,
        changes={"repeat": new_case.id},
        reason=f"complaint {new_case.complaint_number} repeats this case",
        rules_version=rules.rules_version,
    )
    clocks.follow(old, decision, rules, now)
    return decision


def _stage_changed(
    case: Case, action: str, origin: str, rules: SiteRules, now: datetime
) -> CaseStageChanged:
    return CaseStageChanged(
        case_id=case.id,
        complaint_number=case.complaint_number,
        action=action,
        from_stage=origin,
        to_stage=case.stage,
        actor=SYSTEM,
        reason="recurrence",
        review_round=case.review_rounds,
        due=case.due,
        due_provisional=case.due_provisional,
        changed_at=now,
        rules_version=rules.rules_version,
    )
