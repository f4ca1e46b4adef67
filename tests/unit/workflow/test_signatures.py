"""Approvals as electronic signatures: the signed transition runs only with a signature of
the person running it, over this case as it stands, with the rule's meaning."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime

import pytest

from services.workflow.domain import signatures
from services.workflow.domain.commands import ExecuteTransition, Refused
from services.workflow.domain.transitions import execute
from tests.unit.workflow.builders import Driver, rules_for, to_review

pytestmark = pytest.mark.unit
MONDAY = datetime(2025, 3, 3, 1, 0, tzinfo=UTC)


def at_approval() -> Driver:
    d = Driver(rules_for("sz"), MONDAY)
    to_review(d)
    d.do("accept_answer")
    assert d.case.stage == "approval"
    return d


def approve(d: Driver, **change: object) -> ExecuteTransition:
    (transition,) = d.rules.transition("approval", "approve")
    signature = d.signature(transition, "zhang")
    assert signature is not None
    signature = dataclasses.replace(signature, **change)  # type: ignore[arg-type]
    return ExecuteTransition(d.case.id, "approve", {}, "zhang", ("management_rep",),
                             signature=signature)  # fmt: skip


def test_a_signed_approval_records_who_signed_what_and_fills_approved_by() -> None:
    d = at_approval()
    signed = signatures.head(d.case)
    decision = execute(d.case, approve(d), d.rules, MONDAY)
    case = decision.case
    assert case.stage == "reply" and case.fields["approved_by"] == "zhang"
    [record] = case.signatures
    assert (record.person_id, record.meaning, record.signed_hash) == ("zhang", "approved", signed)
    whats = [h.what for h in case.history[-2:]]
    assert whats == ["signature", "transition"]  # the chain holds the signature itself


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"person_id": "li"}, "li's, the command zhang's"),
        ({"meaning": "reviewed"}, "needs 'approved'"),
        ({"case_id": "sz:OTHER"}, "for case sz:OTHER"),
        ({"signed_hash": "0" * 64}, "changed since it was signed"),
    ],
)
def test_a_signature_for_something_else_is_refused(change: dict[str, str], message: str) -> None:
    d = at_approval()
    with pytest.raises(Refused, match=message) as refused:
        execute(d.case, approve(d, **change), d.rules, MONDAY)
    assert refused.value.code == "signature_invalid" and refused.value.fields == ["signature"]


def test_an_approval_without_a_signature_is_refused() -> None:
    d = at_approval()
    command = ExecuteTransition(d.case.id, "approve", {"approved_by": "Zhang"}, "zhang",
                                ("management_rep",))  # fmt: skip
    with pytest.raises(Refused, match="re-enter your password") as refused:
        execute(d.case, command, d.rules, MONDAY)
    assert refused.value.code == "signature_required"


def test_the_8d_shows_who_signed_and_when_in_the_sites_language_and_time() -> None:
    from services.workflow.domain import eight_d

    d = at_approval()
    case = execute(d.case, approve(d), d.rules, MONDAY).case
    report = eight_d.report(case, d.rules, "zh")
    d8 = next(x for x in report["disciplines"] if x["id"] == "D8")
    [signed] = [e for e in d8["entries"] if e["id"] == "signatures"]
    assert signed["label"] == "电子签名"
    [text] = signed["value"]
    assert text.startswith("Zhang (zhang), 批准, 批准, ") and "+" not in text  # site-local time
