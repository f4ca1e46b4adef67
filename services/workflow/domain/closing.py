"""Closing (with or without a nonconformity) and reopening."""

from __future__ import annotations

from datetime import datetime

from services.common.contracts.cases import CaseClosed, CaseReopened
from services.common.rules import SiteRules, schema_workflow
from services.common.rules.schema_workflow import Transition
from services.workflow.domain import stages
from services.workflow.domain.case import Case

CORRECTED = schema_workflow.CORRECTED  # the corrective-action path, not a non-quality outcome


def close(case: Case, transition: Transition, rules: SiteRules, now: datetime) -> CaseClosed:
    return closed(case, transition.outcome or CORRECTED, rules, now, stages.on_time(case))


def closed(
    case: Case, outcome: str, rules: SiteRules, at: datetime, on_time: bool | None
) -> CaseClosed:
    """`case` closed at `at` with `outcome` (a non-quality outcome closes without a
    nonconformity); also an imported case closed in its history."""
    outcomes = {o.id: o for o in rules.workflow.outcomes}
    spec = outcomes.get(outcome)
    case.outcome = outcome
    case.nonconformity = spec is None or not spec.closes_without_nonconformity
    case.closed_at = at
    case.on_time = on_time
    classification = case.classification or {}
    return CaseClosed(
        case_id=case.id,
        complaint_number=case.complaint_number,
        customer_id=case.customer_id or "",
        customer_name=case.customer_name or "",
        nature=classification.get("nature") or case.origin,
        category=classification.get("category"),
        outcome=outcome,
        nonconformity=case.nonconformity,
        repeat=case.repeat,
        closed_at=at,
        on_time=case.on_time,
        owner_department=case.owner_department,
        stage=case.stage,
        review_rounds=case.review_rounds,
        opened_at=case.opened_at,
        rules_version=rules.rules_version,
    )


def reopen(
    case: Case,
    from_stage: str,
    reason: str,
    now: datetime,
    *,
    by_case: Case | None = None,
) -> CaseReopened:
    case.closed_at = None
    case.outcome = None
    case.nonconformity = None
    case.on_time = None
    case.reopen_count += 1
    return CaseReopened(
        case_id=case.id,
        complaint_number=case.complaint_number,
        from_stage=from_stage,
        to_stage=case.stage,
        reason=reason,
        by_case_id=by_case.id if by_case else None,
        by_complaint_number=by_case.complaint_number if by_case else None,
        reopened_at=now,
    )
