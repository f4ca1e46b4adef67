"""The review loop (send-backs for re-analysis, counted) and the verification gate
(internal then customer; NG goes back). Per-round fields (the rejection reason, the
verification result) are moved into the case's records, so each round asks for its own."""

from __future__ import annotations

from datetime import datetime

from services.common.contracts.cases import CaseEscalated
from services.common.rules import SiteRules
from services.common.rules.schema_workflow import Transition
from services.workflow.domain.case import Case, Rejection, Verification
from services.workflow.domain.commands import ExecuteTransition, Refused
from services.workflow.domain.decisions import Decision
from services.workflow.domain.people import recipients


def send_back(
    decision: Decision,
    transition: Transition,
    rules: SiteRules,
    command: ExecuteTransition,
    now: datetime,
) -> None:
    case = decision.case
    loop = rules.workflow.review_loop
    rounds = case.review_rounds + 1
    if loop is not None and rounds > loop.max_rounds and loop.on_exceeded == "block":
        raise Refused(
            "review_loop_exceeded",
            f"the answer was sent back {loop.max_rounds} times already; the rules block more",
        )
    reason = " / ".join(str(case.fields.get(f)) for f in transition.requires) or command.reason
    case.rejections.append(
        Rejection(
            stage=case.stage,
            back_to=transition.to,
            round=rounds,
            reason=reason,
            by=command.actor,
            at=now,
        )
    )
    case.review_rounds = rounds
    for name in transition.requires:
        case.fields.pop(name, None)
    if loop is not None and rounds > loop.max_rounds:
        decision.facts.append(
            CaseEscalated(
                case_id=case.id,
                complaint_number=case.complaint_number,
                stage=case.stage,
                reason="review_loop_exceeded",
                notify=tuple(loop.notify),
                departments=recipients(rules, case, loop.notify),
                occurrence=rounds - loop.max_rounds - 1,
                escalated_at=now,
            )
        )


def record_verification(
    case: Case, transition: Transition, rules: SiteRules, actor: str, now: datetime
) -> None:
    gate = rules.workflow.verification_gate
    if gate is None or case.stage not in gate.stages:
        return
    result = case.fields.pop(gate.result_field, None)
    if result is None:
        return
    ng_reason = " / ".join(str(case.fields.pop(f, "")) for f in transition.requires) or None
    case.verifications.append(
        Verification(stage=case.stage, result=str(result), ng_reason=ng_reason, by=actor, at=now)
    )
