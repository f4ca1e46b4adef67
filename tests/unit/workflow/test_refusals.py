"""Refused commands say why: wrong stage, invalid or missing fields, role, guard; the
history is a hash chain that shows tampering; extensions need consent."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from services.common.contracts.cases import CaseEscalated
from services.workflow.domain.commands import (
    CustomerConsent,
    ExtendDeadline,
    RecordDisposition,
    RecordFields,
    Refused,
)
from services.workflow.domain.extensions import extend
from services.workflow.domain.history import first_broken
from services.workflow.domain.people import identities
from services.workflow.domain.returns import record_disposition
from services.workflow.domain.transitions import record_fields
from tests.unit.workflow.builders import Driver, rules_for, to_review

pytestmark = pytest.mark.unit
MONDAY = datetime(2025, 3, 3, 1, 0, tzinfo=UTC)


def _refusal(d: Driver, action: str, **kwargs: object) -> Refused:
    with pytest.raises(Refused) as caught:
        d.do(action, **kwargs)  # type: ignore[arg-type]
    return caught.value


def test_each_refusal_names_its_reason() -> None:
    d = Driver(rules_for("sz"), MONDAY)
    wrong = _refusal(d, "approve")
    assert wrong.code == "wrong_stage" and "possible here: register" in wrong.reason
    d.do("register")
    missing = _refusal(d, "acknowledge")
    assert missing.code == "missing_fields" and missing.fields == ["team"]
    d.do("acknowledge", team=["QA"])
    guard = _refusal(d, "determine_responsibility")
    assert guard.code == "guard_false" and "responsibility=customer" in guard.reason
    invalid = _refusal(d, "determine_responsibility", responsibility="weather")
    assert invalid.code == "invalid_fields" and invalid.fields == ["responsibility"]
    unknown = _refusal(d, "determine_responsibility", colour="red")
    assert unknown.code == "invalid_fields"
    role = _refusal(d, "determine_responsibility", roles=("finance",), responsibility="company")
    assert role.code == "not_allowed" and "quality" in role.reason
    assert d.case.stage == "investigate"


def test_roles_give_their_departments_identity_but_not_other_roles() -> None:
    rules = rules_for("sz")
    assert identities(rules, ["quality"]) == {"quality"}
    assert identities(rules, ["customer_service"]) == {"customer_service"}  # the department
    assert "complaint_owner" not in identities(rules, ["customer_service"])


def test_actions_need_owner_and_due() -> None:
    d = Driver(rules_for("demo"), MONDAY)
    to_review(d)
    d.do("reject_answer", rejection_reason="no evidence")
    d.do("cause_found")
    bad = _refusal(d, "submit_answer", actions=[{"what": "retrain"}])
    assert bad.code == "invalid_fields" and "owner" in bad.reason


def test_review_loop_beyond_max_rounds_escalates() -> None:
    d = Driver(rules_for("sz"), MONDAY)
    to_review(d)
    for round_ in range(4):
        d.do("reject_answer", rejection_reason=f"round {round_}")
        d.do("cause_found")
        d.do("submit_answer")
    escalations = [f for f in d.facts if isinstance(f, CaseEscalated)]
    assert d.case.review_rounds == 4 and len(d.case.rejections) == 4
    assert [e.reason for e in escalations] == ["review_loop_exceeded"]
    assert "management" in escalations[0].departments


def test_history_chain_detects_tampering() -> None:
    d = Driver(rules_for("sz"), MONDAY)
    to_review(d)
    assert first_broken(d.case.history) is None
    forged = d.case.model_copy(deep=True)
    forged.history[2] = forged.history[2].model_copy(update={"actor": "someone else"})
    assert first_broken(forged.history) == 2
    del forged.history[1]
    assert first_broken(forged.history) == 1


def test_extension_needs_consent_and_stays_within_policy() -> None:
    d = Driver(rules_for("sz"), MONDAY)
    d.do("register")
    assert d.case.due is not None
    due, roles = d.case.due, ("complaint_owner",)
    now = d.clock.now()
    no_consent = ExtendDeadline(d.case.id, due + timedelta(days=1), None, "kim", roles)
    with pytest.raises(Refused) as caught:
        extend(d.case, no_consent, d.rules, now)
    assert caught.value.code == "consent_required"
    consent = CustomerConsent("Mr. Chen (Acme SQE)", now, "email", "mail of 3 March")
    too_far = ExtendDeadline(d.case.id, due + timedelta(days=30), consent, "kim", roles)
    with pytest.raises(Refused) as caught:
        extend(d.case, too_far, d.rules, now)
    assert "at most 5 working days" in caught.value.reason
    ok = extend(d.case, ExtendDeadline(d.case.id, due + timedelta(days=1), consent, "kim", roles),
                d.rules, now)
    assert ok.case.due == due + timedelta(days=1) and ok.case.deadline_token.endswith("e1")
    again = ExtendDeadline(d.case.id, due + timedelta(days=2), consent, "kim", roles)
    with pytest.raises(Refused) as caught:
        extend(ok.case, again, d.rules, now)
    assert caught.value.code == "extension_refused"


def test_returns_disposition_and_fields_are_recorded_in_history() -> None:
    d = Driver(rules_for("sz"), MONDAY)
    d.do("register")
    d.do("acknowledge", team=["QA"])
    now = d.clock.now()
    command = RecordDisposition(d.case.id, "rework", 300, "qa-lee", ("quality",),
                                reinspection="ok", claimed_amount=5000.0,
                                agreed_compensation=3200.0, currency="CNY")
    case = record_disposition(d.case, command, d.rules, now).case
    assert case.dispositions[0].agreed_compensation == 3200.0
    bad = RecordDisposition(d.case.id, "scrap", 10, "qa-lee", ("quality",), reinspection="ok")
    with pytest.raises(Refused):
        record_disposition(case, bad, d.rules, now)
    filled = record_fields(case, RecordFields(case.id, {"returned_goods": True}, "qa-lee",
                                              ("quality",)), d.rules, now).case
    assert filled.fields["returned_goods"] is True
    assert [h.what for h in filled.history][-2:] == ["disposition", "fields"]
