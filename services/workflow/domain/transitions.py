"""Running a transition: every check from the rule file, then the new stage and facts.

Checks, in order: the action exists in the current stage (wrong_stage), the fields are
declared and typed (invalid_fields), a guard holds (guard_false), the caller holds an actor
role (not_allowed), required fields are filled (missing_fields).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from services.common.contracts.cases import CaseStageChanged
from services.common.rules import SiteRules, guard_holds
from services.common.rules.schema_workflow import Transition
from services.workflow.domain import (
    action_items,
    clocks,
    closing,
    history,
    loops,
    signatures,
    stages,
)
from services.workflow.domain.case import Case, instant
from services.workflow.domain.commands import ExecuteTransition, RecordFields, Refused
from services.workflow.domain.decisions import Decision
from services.workflow.domain.fields import validate_fields
from services.workflow.domain.people import ensure_allowed


def execute(case: Case, command: ExecuteTransition, rules: SiteRules, now: datetime) -> Decision:
    now = instant(now)
    values = {**case.fields, **validate_fields(rules, command.fields)}
    transition = choose(rules, case, command.action, values)
    ensure_allowed(
        rules, case, rules.actors_for(transition), command.roles, f"action {command.action!r}"
    )
    signature = signatures.checked(case, transition, command)
    values |= signatures.filled(transition, signature)
    missing = rules.missing_fields(transition, values)
    if missing:
        raise Refused(
            "missing_fields",
            f"action {command.action!r} needs the fields {', '.join(missing)}",
            missing,
        )
    return apply(case, transition, rules, now, values=values, command=command)


def choose(rules: SiteRules, case: Case, action: str, values: dict[str, Any]) -> Transition:
    candidates = rules.transition(case.stage, action)
    if not candidates:
        possible = sorted({t.action for t in rules.transitions_from(case.stage)})
        raise Refused(
            "wrong_stage",
            f"action {action!r} is not possible in stage {case.stage!r} "
            f"(possible here: {', '.join(possible) or 'none'})",
        )
    for transition in candidates:
        if guard_holds(transition.guard, values):
            return transition
    guards = " or ".join(_describe(t.guard) for t in candidates)
    raise Refused(
        "guard_false",
        f"action {action!r} in stage {case.stage!r} needs {guards}",
        sorted({name for t in candidates for name in t.guard}),
    )


def _describe(guard: dict[str, Any]) -> str:
    return ", ".join(f"{name}={test}" for name, test in guard.items()) or "no condition"


def apply(
    case: Case,
    transition: Transition,
    rules: SiteRules,
    now: datetime,
    *,
    values: dict[str, Any],
    command: ExecuteTransition,
) -> Decision:
    new = case.model_copy(deep=True)
    new.fields = values
    decision = Decision(new)
    changed = {k: v for k, v in command.fields.items() if case.fields.get(k) != v}
    if transition.review_loop:
        loops.send_back(decision, transition, rules, command, now)
    loops.record_verification(new, transition, rules, command.actor, now)
    origin = case.stage
    if command.signature is not None and transition.signature is not None:
        signatures.record(
            new, transition, command.signature, origin, rules.rules_version, command.roles, now
        )
    stages.enter(rules, new, transition.to, now)
    history.record(
        new,
        at=now,
        actor=command.actor,
        roles=command.roles,
        what="transition",
        action=transition.action,
        from_stage=origin,
        to_stage=new.stage,
        changes=changed,
        reason=command.reason,
        rules_version=rules.rules_version,
    )
    decision.facts.insert(0, _stage_changed(new, transition, origin, command, rules, now))
    if new.terminal and not rules.stage(origin).terminal:
        decision.facts.append(closing.close(new, transition, rules, now))
    if transition.reopen:
        decision.facts.append(closing.reopen(new, origin, command.reason or "reopened", now))
    decision.facts += action_items.assigned(case, new, rules, actor=command.actor, now=now)
    clocks.follow(case, decision, rules, now)
    return decision


def _stage_changed(
    case: Case,
    transition: Transition,
    origin: str,
    command: ExecuteTransition,
    rules: SiteRules,
    now: datetime,
) -> CaseStageChanged:
    return CaseStageChanged(
        case_id=case.id,
        complaint_number=case.complaint_number,
        action=transition.action,
        from_stage=origin,
        to_stage=case.stage,
        actor=command.actor,
        reason=command.reason,
        review_round=case.review_rounds,
        due=case.due,
        due_provisional=case.due_provisional,
        changed_at=now,
        rules_version=rules.rules_version,
    )


def record_fields(case: Case, command: RecordFields, rules: SiteRules, now: datetime) -> Decision:
    """Fill fields without moving: allowed to the current stage's actors."""
    now = instant(now)
    if case.terminal:
        raise Refused("closed", f"case {case.id} is {case.stage}; reopen it to change it")
    values = validate_fields(rules, command.fields)
    ensure_allowed(rules, case, rules.stage(case.stage).actors, command.roles, "recording fields")
    new = case.model_copy(deep=True)
    new.fields.update(values)
    history.record(
        new,
        at=now,
        actor=command.actor,
        roles=command.roles,
        what="fields",
        from_stage=case.stage,
        to_stage=case.stage,
        changes=values,
        reason=command.reason,
        rules_version=rules.rules_version,
    )
    decision = Decision(new)
    decision.facts += action_items.assigned(case, new, rules, actor=command.actor, now=now)
    clocks.follow(case, decision, rules, now)
    return decision
