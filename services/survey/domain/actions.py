"""Results that need an action (`survey.action_required`), with what and why, and
whether the previous campaign's actions worked.

When each trigger kind is evaluated:
- on every answer: `item_score`, `dimension_score` (that response) and `suggestion`
  (each suggestion gets its own action);
- when a campaign closes: `overall_score` (the campaign), `customer_score` (each
  customer's score over its contacts) and `response_rate`.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime

from services.common.contracts.surveys import ActionEffect, SurveyActionRequired
from services.common.rules import SiteRules, TriggerHit, evaluate_triggers, survey_action_due

ACTIONS_NAMESPACE = uuid.UUID("6f1f3c1e-58a4-4a39-9d0c-5b1e64a8e2a7")
ANSWER_KINDS = ("item_score", "dimension_score", "suggestion")
CLOSE_KINDS = ("overall_score", "customer_score", "response_rate")


@dataclass(frozen=True)
class Measures:
    """What was measured; rates are fractions (0-1) as in the rule file."""

    overall: float | None = None
    customers: Mapping[str, float] = field(default_factory=dict)
    dimensions: Mapping[str, float] = field(default_factory=dict)
    items: Mapping[str, float] = field(default_factory=dict)
    response_rate: float | None = None
    suggestions: tuple[str, ...] = ()


@dataclass(frozen=True)
class Context:
    campaign_id: str | None
    scope: str  # what the actions are about: an invitation id or "close"
    raised_at: datetime
    customer_id: str | None = None
    customer_name: str | None = None
    customer_names: Mapping[str, str] = field(default_factory=dict)


def _name(names: Mapping[str, str]) -> str:
    return names.get("en") or next(iter(names.values()))


def _labels(rules: SiteRules) -> dict[str, str]:
    assert rules.survey is not None
    labels = {}
    for d in rules.survey.dimensions:
        labels[d.id] = f"dimension '{_name(d.names)}'"
        for i in d.items:
            labels[i.id] = f"item '{_name(i.names)}' ({_name(d.names)})"
    return labels


def owner_department(rules: SiteRules, owner: str) -> str | None:
    """A trigger's owner may be a department or a role: the department that holds it."""
    if any(d.id == owner for d in rules.departments):
        return owner
    holders = rules.departments_with_role(owner)
    return holders[0].id if holders else None


def _describe(rules: SiteRules, hit: TriggerHit, ctx: Context) -> tuple[str, str, float | None]:
    trigger = next(t for t in rules.survey.triggers if t.id == hit.trigger)  # type: ignore[union-attr]
    action = hit.action.replace("_", " ")
    if trigger.kind == "suggestion":
        return (
            f"{action.capitalize()} for the customer's suggestion: {hit.subject}",
            f"every customer suggestion gets an owner (trigger '{trigger.id}')",
            None,
        )
    relation = "below" if trigger.op == "lt" else "at or below"
    threshold = trigger.threshold
    value = hit.value
    if trigger.kind == "response_rate":
        subject = "response rate (%)"
        value = None if value is None else round(value * 100, 2)
        threshold = None if threshold is None else round(threshold * 100, 2)
    elif trigger.kind == "customer_score":
        subject = f"score of customer {ctx.customer_names.get(hit.subject, hit.subject)}"
    elif trigger.kind == "overall_score":
        subject = "overall campaign score"
    else:
        subject = _labels(rules).get(hit.subject, hit.subject)
    what = f"{action.capitalize()}: {subject} is {value:g}"
    why = f"{subject} {value:g} is {relation} {threshold:g} (trigger '{trigger.id}')"
    return what, why, threshold


def raise_actions(
    rules: SiteRules, ctx: Context, measures: Measures, kinds: tuple[str, ...]
) -> list[tuple[SurveyActionRequired, TriggerHit]]:
    hits = evaluate_triggers(
        rules,
        overall_score=measures.overall if "overall_score" in kinds else None,
        customer_scores=dict(measures.customers) if "customer_score" in kinds else None,
        dimension_scores=dict(measures.dimensions) if "dimension_score" in kinds else None,
        item_scores=dict(measures.items) if "item_score" in kinds else None,
        response_rate=measures.response_rate if "response_rate" in kinds else None,
        suggestions=measures.suggestions if "suggestion" in kinds else (),
    )
    raised = []
    for n, hit in enumerate(hits):
        what, why, threshold = _describe(rules, hit, ctx)
        per_customer = hit.subject in measures.customers and "customer_score" in kinds
        customer_id = hit.subject if per_customer else ctx.customer_id
        key = f"{ctx.campaign_id}|{ctx.scope}|{hit.trigger}|{hit.subject}|{n}"
        score = hit.value
        if hit.subject == "response_rate" and score is not None:
            score = round(score * 100, 2)
        due = survey_action_due(rules, hit.trigger, ctx.raised_at)
        action = SurveyActionRequired(
            action_id=str(uuid.uuid5(ACTIONS_NAMESPACE, key)),
            campaign_id=ctx.campaign_id,
            customer_id=customer_id,
            customer_name=ctx.customer_names.get(customer_id or "", ctx.customer_name),
            trigger=hit.trigger,
            what=what,
            why=why,
            score=score,
            threshold=threshold,
            owner_department=owner_department(rules, hit.owner),
            due=None if due is None else due.at,
            due_provisional=due is not None and due.provisional,
            raised_at=ctx.raised_at,
            subject=hit.subject,
        )
        raised.append((action, hit))
    return raised


@dataclass(frozen=True)
class RaisedAction:
    """What the next campaign needs to know about an action raised before."""

    action_id: str
    trigger: str
    subject: str
    customer_id: str | None
    value: float | None


@dataclass(frozen=True)
class Results:
    """A closing campaign's measures, per campaign and per customer."""

    campaign: Measures
    customer_items: Mapping[str, Mapping[str, float]] = field(default_factory=dict)
    customer_dimensions: Mapping[str, Mapping[str, float]] = field(default_factory=dict)


def _current(kind: str, action: RaisedAction, results: Results) -> float | None:
    c = results.campaign
    if kind == "overall_score":
        return c.overall
    if kind == "response_rate":
        return c.response_rate
    if kind == "customer_score":
        return c.customers.get(action.subject)
    by_customer = results.customer_items if kind == "item_score" else results.customer_dimensions
    if action.customer_id is not None:
        return by_customer.get(action.customer_id, {}).get(action.subject)
    return (c.items if kind == "item_score" else c.dimensions).get(action.subject)


def effectiveness(
    rules: SiteRules, previous: list[RaisedAction], results: Results
) -> list[ActionEffect]:
    """Did the previous campaign's actions work? Effective when the same measure no longer
    fires its trigger; unknown (None) when it was not measured again or for suggestions."""
    assert rules.survey is not None
    triggers = {t.id: t for t in rules.survey.triggers}
    effects = []
    for action in previous:
        trigger = triggers.get(action.trigger)
        if trigger is None or trigger.kind == "suggestion" or trigger.threshold is None:
            after, effective = None, None
        else:
            after = _current(trigger.kind, action, results)
            if after is None:
                effective = None
            else:
                fires = (
                    after < trigger.threshold if trigger.op == "lt" else after <= trigger.threshold
                )
                effective = not fires
        effects.append(
            ActionEffect(
                action_id=action.action_id,
                trigger=action.trigger,
                subject=action.subject,
                before=action.value,
                after=after,
                effective=effective,
            )
        )
    return effects
