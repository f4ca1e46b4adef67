"""Registered complaints and a command driver for workflow domain tests."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from services.common.clock import ManualClock
from services.common.contracts.complaint import ComplaintSubmission
from services.common.contracts.complaints import ClassificationRecord, ComplaintRegistered
from services.common.contracts.envelope import Contract
from services.common.rules import SiteRules, classify, load_rules
from services.workflow.domain import signatures
from services.workflow.domain.case import Case
from services.workflow.domain.commands import ExecuteTransition, Signature
from services.workflow.domain.opening import open_for_complaint
from services.workflow.domain.transitions import execute

RULES = Path(__file__).resolve().parents[3] / "rules"
FILES = {"sz": "abc-company.yaml", "nb": "qds-company.yaml", "wx": "bands-company.yaml",
         "demo": "default.yaml"}


def rules_for(site: str) -> SiteRules:
    return load_rules(RULES / FILES[site])


def registered(
    rules: SiteRules, at: datetime, number: str = "N-1", **overrides: Any
) -> ComplaintRegistered:
    body: dict[str, Any] = {
        "site": rules.site.id,
        "channel": "email",
        "customer": {"id": "C-100", "name": "Acme Auto Parts"},
        "products": [{"model": "BX-200", "spec": "M6x20", "quantity": 10000}],
        "description": "Cracked housings found at incoming inspection (defect)",
        "defect_quantity": 120,
        "received_at": at.isoformat(),
    }
    body.update(overrides)
    submission = ComplaintSubmission.model_validate(body)
    c = classify(rules, submission)
    return ComplaintRegistered(
        number=number,
        sequence=1,
        complaint=submission,
        classification=ClassificationRecord(
            nature=c.nature, kind=c.kind, category=c.category, severity=c.severity,
            tags=c.tags, owner_department=c.owner_department, copy_to=c.copy_to,
            matched_rule=c.matched_rule, reasons=c.reasons,
        ),
        rules_version=c.rules_version,
        source="test",
        registered_at=at,
    )


class Driver:
    """Runs commands against one case, moving a manual clock, collecting the facts."""

    def __init__(self, rules: SiteRules, start: datetime, **complaint: Any) -> None:
        self.rules = rules
        self.clock = ManualClock(start)
        decision = open_for_complaint(registered(rules, start, **complaint), rules, start)
        self.case: Case = decision.case
        self.facts: list[Contract] = list(decision.facts)

    def do(self, action: str, *, after: timedelta = timedelta(hours=1),
           roles: tuple[str, ...] | None = None, reason: str | None = None,
           **fields: Any) -> Case:
        self.clock.advance(after)
        transition = self.rules.transition(self.case.stage, action)
        who = roles or ((self.rules.actors_for(transition[0])[0],) if transition else ("x",))
        command = ExecuteTransition(
            self.case.id, action, fields, "tester", who, reason,
            signature=self.signature(transition[0], "tester") if transition else None,
        )
        decision = execute(self.case, command, self.rules, self.clock.now())
        self.case = decision.case
        self.facts += decision.facts
        return self.case

    def signature(self, transition: Any, person: str) -> Signature | None:
        """What the desk would give `person` signing the case now, if the step is signed."""
        if transition.signature is None:
            return None
        return Signature(
            person_id=person, name=person.title(), meaning=transition.signature.meaning,
            case_id=self.case.id, signed_hash=signatures.head(self.case),
            signed_at=self.clock.now(), token_id=uuid.uuid4().hex,
        )  # fmt: skip

    def types(self) -> list[str]:
        return [type(f).__name__ for f in self.facts]


ACTIONS = [{"what": "add crack test", "owner": "quality", "due": "2025-03-20"}]
CONTAINED = {"contained_stock_qty": 500, "contained_wip_qty": 120, "contained_customer_qty": 40}


def to_review(d: Driver) -> None:
    """register -> ... -> review, on the company's-responsibility path."""
    d.do("register")
    d.do("acknowledge", team=["Li (QA)", "Wang (PE)"])
    d.do("determine_responsibility", responsibility="company")
    d.do("contained", **CONTAINED)
    d.do("cause_found", main_cause="mould wear", secondary_causes=["no wear check"])
    d.do("submit_answer", actions=ACTIONS)


def review_to_close(d: Driver) -> None:
    d.do("accept_answer")
    d.do("approve", approved_by="Zhang (MR)")
    d.do("reply_sent", reply_format="eight_d", reply_sent_at="2025-03-06")
    d.do("implemented", implemented_at="2025-03-08")
    d.do("record_verification", verification_result="ok")
    d.do("record_customer_verification", verification_result="ok")
    d.do("close_case", standards_revised=["WI-12 rev C", "PFMEA rev 4"])
