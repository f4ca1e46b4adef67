"""Extending the current stage's deadline: only with the customer's recorded consent, and
within the rule file's extension policy (how many, how far)."""

from __future__ import annotations

from datetime import datetime

from services.common.rules import SiteRules, due_time
from services.workflow.domain import history
from services.workflow.domain.case import Case, Extension, instant
from services.workflow.domain.commands import ExtendDeadline, Refused
from services.workflow.domain.decisions import Decision
from services.workflow.domain.people import ensure_allowed


def extend(case: Case, command: ExtendDeadline, rules: SiteRules, now: datetime) -> Decision:
    now, new_due = instant(now), instant(command.new_due)
    if case.terminal:
        raise Refused("closed", f"case {case.id} is {case.stage}; nothing to extend")
    if case.due is None:
        raise Refused("extension_refused", f"stage {case.stage!r} has no deadline to extend")
    ensure_allowed(rules, case, rules.stage(case.stage).actors, command.roles, "an extension")
    policy = rules.deadlines.extension
    if (policy.requires_customer_consent or rules.workflow.late_reply_needs_consent) and (
        command.consent is None
    ):
        raise Refused(
            "consent_required",
            "a new due date needs the customer's recorded consent (who agreed, when, how)",
            ["consent"],
        )
    _within_policy(case, rules, new_due)
    new = case.model_copy(deep=True)
    consent = command.consent
    new.extensions.append(
        Extension(
            stage=case.stage,
            visit=case.stage_seq,
            previous_due=case.due,
            new_due=new_due,
            consent_by=consent.given_by if consent else "",
            consent_at=instant(consent.given_at) if consent else now,
            consent_channel=consent.channel if consent else "",
            consent_reference=consent.reference if consent else None,
            requested_by=command.actor,
            reason=command.reason,
            at=now,
        )
    )
    new.due = new.visits[-1].due = new_due
    # A date agreed with the customer is no estimate, whatever the calendar says.
    new.due_provisional = new.visits[-1].provisional = False
    history.record(
        new,
        at=now,
        actor=command.actor,
        roles=command.roles,
        what="extension",
        from_stage=case.stage,
        to_stage=case.stage,
        changes=new.extensions[-1].model_dump(mode="json"),
        reason=command.reason,
        rules_version=rules.rules_version,
    )
    return Decision(new)


def _within_policy(case: Case, rules: SiteRules, new_due: datetime) -> None:
    assert case.due is not None
    policy = rules.deadlines.extension
    earlier = [e for e in case.extensions if e.stage == case.stage]
    if len(earlier) >= policy.max_extensions:
        raise Refused(
            "extension_refused",
            f"stage {case.stage!r} may be extended {policy.max_extensions} time(s); "
            f"it was extended {len(earlier)} time(s)",
        )
    if new_due <= case.due:
        raise Refused("extension_refused", f"the new due date must be after {case.due}")
    original = earlier[0].previous_due if earlier else case.due
    if policy.max_total is not None and new_due > due_time(rules, original, policy.max_total):
        raise Refused(
            "extension_refused",
            f"extensions may add at most {policy.max_total} to the original due {original}",
        )
