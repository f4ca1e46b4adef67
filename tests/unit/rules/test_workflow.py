"""The workflow section drives cases as data: stages, guarded transitions, review loop,
verification gate, non-quality outcomes, recurrence, escalation."""

from __future__ import annotations

import pytest

from services.common.rules import SiteRules, classify
from tests.unit.rules.factories import complaint

pytestmark = pytest.mark.unit

# domain.md section 5, step -> stages that carry it.
PROCEDURE = {
    "receive and register": ["register", "acknowledge"],
    "investigate, samples, returned goods": ["investigate", "returned_goods_analysis"],
    "responsibility branches": ["customer_explanation", "negotiate", "supplier_action"],
    "containment": ["containment"],
    "root cause": ["root_cause"],
    "CAPA": ["corrective_action"],
    "review loop": ["review"],
    "approval": ["approval"],
    "reply": ["reply"],
    "implement and verify": ["implementation", "verify_internal", "verify_customer"],
    "standardise": ["standardise"],
    "close and archive": ["closed", "archived"],
}


@pytest.fixture
def rules(site_rules: dict[str, SiteRules]) -> SiteRules:
    return site_rules["default.yaml"]


@pytest.mark.parametrize("step", PROCEDURE)
def test_every_procedure_step_has_stages_in_every_example(
    site_rules: dict[str, SiteRules], step: str
) -> None:
    for site in site_rules.values():
        for stage_id in PROCEDURE[step]:
            stage = site.stage(stage_id)
            assert {"zh", "en"} <= set(stage.names)


def test_responsibility_branches_by_guard(rules: SiteRules) -> None:
    targets = {
        value: [
            t.to
            for t in rules.allowed_transitions("investigate", {"responsibility": value})
            if t.action == "determine_responsibility"
        ]
        for value in ("customer", "supplier", "company")
    }
    assert targets == {
        "customer": ["customer_explanation"],
        "supplier": ["supplier_action"],
        "company": ["containment"],
    }
    (to_containment,) = [
        t
        for t in rules.transition("investigate", "determine_responsibility")
        if t.to == "containment"
    ]
    assert rules.missing_fields(to_containment, {}) == ["responsibility"]


def test_containment_quantities_are_required_before_root_cause(rules: SiteRules) -> None:
    (t,) = rules.transition("containment", "contained")
    assert rules.missing_fields(t, {"contained_stock_qty": 10}) == [
        "contained_wip_qty",
        "contained_customer_qty",
    ]
    assert rules.stage("containment").eight_d == ("D3",)


def test_review_loop_needs_rejection_reason(rules: SiteRules) -> None:
    (reject,) = rules.transition("review", "reject_answer")
    assert reject.review_loop and reject.to == "root_cause"
    assert reject.requires == ("rejection_reason",)
    assert rules.workflow.review_loop is not None
    assert rules.workflow.review_loop.max_rounds == 3


def test_approval_by_management_rep_or_gm(rules: SiteRules) -> None:
    (approve,) = rules.transition("approval", "approve")
    assert rules.actors_for(approve) == ("management_rep", "general_manager")


def test_verification_internal_then_customer_ng_back_to_root_cause(rules: SiteRules) -> None:
    gate = rules.workflow.verification_gate
    assert gate is not None and gate.stages == ("verify_internal", "verify_customer")
    ok = rules.allowed_transitions("verify_internal", {"verification_result": "ok"})
    ng = rules.allowed_transitions("verify_customer", {"verification_result": "ng"})
    assert [t.to for t in ok] == ["verify_customer"]
    assert [t.to for t in ng] == [gate.ng_back_to]


def test_non_quality_outcomes_close_without_nonconformity(rules: SiteRules) -> None:
    outcomes = {t.outcome: t.to for t in rules.workflow.transitions if t.outcome}
    assert outcomes == {"explanation": "closed", "credit_note": "closed", "replacement": "closed"}
    credit = [o for o in rules.workflow.outcomes if o.id == "credit_note"][0]
    assert credit.closes_without_nonconformity and credit.finance_booking


def test_recurrence_reopens_and_escalates(rules: SiteRules) -> None:
    rec = rules.workflow.recurrence
    assert rec is not None
    assert rec.window_months == 12 and rec.action == "reopen"
    assert [t.to for t in rules.transitions_from("closed") if t.reopen] == [rec.reopen_stage]
    assert rec.notify == ("management_rep",)


def test_deadline_and_escalation_lookups(rules: SiteRules) -> None:
    serious = classify(rules, complaint(site="demo", customer_severity="serious"))
    general = classify(rules, complaint(site="demo"))
    assert rules.deadline_for("reply", serious).id == "serious"  # type: ignore[union-attr]
    assert rules.deadline_for("reply", general).id == "general"  # type: ignore[union-attr]
    assert rules.deadline_for("archived", general) is None
    events = [e.event for e in rules.escalations_for("reply")]
    assert events == ["near", "missed"]


def test_lookup_of_unknown_stage_says_so(rules: SiteRules) -> None:
    with pytest.raises(KeyError, match="no stage 'nowhere'"):
        rules.stage("nowhere")


def test_every_example_opens_survey_actions_on_the_action_procedure(
    site_rules: dict[str, SiteRules],
) -> None:
    for site in site_rules.values():
        w = site.workflow
        assert w.entry.survey_action == "action_assign" and w.initial == "register"
        check = w.survey_verification
        assert check is not None and check.stage == "action_verify"
        assert [t.to for t in site.transition("action_verify", check.effective)] == [
            "action_closed"
        ]
        assert [t.to for t in site.transition("action_verify", check.not_effective)] == [
            "action_act"
        ]
        if site.survey is not None:  # each surveyed site says how long an action has
            assert site.survey.action_due is not None
