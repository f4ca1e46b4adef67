"""Returned goods and claims: disposition (rework then re-inspection, concession, scrap),
quantities, claimed amount and agreed compensation."""

from __future__ import annotations

from datetime import datetime

from pydantic import ValidationError

from services.common.rules import SiteRules
from services.workflow.domain import history
from services.workflow.domain.case import Case, Disposition, instant
from services.workflow.domain.commands import RecordDisposition, Refused
from services.workflow.domain.decisions import Decision
from services.workflow.domain.people import ensure_allowed


def record_disposition(
    case: Case, command: RecordDisposition, rules: SiteRules, now: datetime
) -> Decision:
    now = instant(now)
    if case.terminal:
        raise Refused("closed", f"case {case.id} is {case.stage}; reopen it to change it")
    ensure_allowed(rules, case, rules.stage(case.stage).actors, command.roles, "a disposition")
    try:
        record = Disposition(
            disposition=command.disposition,
            quantity=command.quantity,
            reinspection=command.reinspection,
            claimed_amount=command.claimed_amount,
            agreed_compensation=command.agreed_compensation,
            currency=command.currency,
            note=command.note,
            by=command.actor,
            at=now,
        )
    except ValidationError as exc:
        problems = [f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors()]
        raise Refused("invalid_fields", "; ".join(problems)) from None
    if record.disposition != "rework" and record.reinspection is not None:
        raise Refused("invalid_fields", "re-inspection applies to reworked parts only")
    new = case.model_copy(deep=True)
    new.dispositions.append(record)
    history.record(
        new,
        at=now,
        actor=command.actor,
        roles=command.roles,
        what="disposition",
        from_stage=case.stage,
        to_stage=case.stage,
        changes=record.model_dump(mode="json", exclude={"by", "at"}),
        rules_version=rules.rules_version,
    )
    return Decision(new)
