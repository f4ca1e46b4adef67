"""The rules engine: pure functions of (rules, input). No I/O.

Classification semantics: rules are tried in file order. Each output (nature, kind, category,
severity) takes its value from the first matching rule that sets it; tags add up. Evaluation
ends at a matching rule with ``stop: true`` or once all four outputs are decided; what is still
undecided comes from ``classification.default``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from services.common.contracts.complaint import ComplaintSubmission
from services.common.rules import durations
from services.common.rules.durations import DueTime, Duration
from services.common.rules.matcher import evaluate
from services.common.rules.schema import SiteRules
from services.common.rules.schema_complaints import Classification, Outcome
from services.common.rules.schema_survey import Band

_OUTPUTS = ("nature", "kind", "category", "severity")


def classify(rules: SiteRules, complaint: ComplaintSubmission) -> Classification:
    """Classify and route one complaint, with the matched rule and the reasons."""
    classifier = rules.classifier
    facts = classifier.facts(complaint)
    decided: dict[str, Any] = {}
    tags: list[str] = []
    reasons: list[str] = []
    matched: str | None = None
    for position in classifier.candidates(facts):
        compiled = classifier.rules[position]
        why = evaluate(compiled, facts)
        if why is None:
            continue
        rule = compiled.rule
        matched = matched or rule.id
        took = _take(rule.set, decided, tags)
        because = "; ".join(why) or "no conditions"
        reasons.append(f"rule {rule.id!r} ({because}) set {took or 'nothing new'}")
        if rule.stop or len(decided) == len(_OUTPUTS):
            break
    default = rules.classification.default
    for name in _OUTPUTS:
        if name not in decided:
            decided[name] = getattr(default, name)
            if decided[name] is not None:
                reasons.append(f"default {name}={decided[name]}")
    key = (*(decided[name] for name in _OUTPUTS), tuple(tags))
    routed = rules.route_cache.get(key)
    if routed is None:
        routed = rules.route_cache[key] = route(rules, **decided, tags=key[-1])
    owner, copy_to, route_reasons = routed
    reasons.extend(route_reasons)
    return Classification(
        **decided,
        tags=tuple(tags),
        owner_department=owner,
        copy_to=copy_to,
        matched_rule=matched,
        reasons=tuple(reasons),
        rules_version=rules.rules_version,
    )


def _take(outcome: Outcome, decided: dict[str, Any], tags: list[str]) -> str:
    took = []
    for name in _OUTPUTS:
        value = getattr(outcome, name)
        if value is not None and name not in decided:
            decided[name] = value
            took.append(f"{name}={value}")
    new_tags = [t for t in outcome.tags if t not in tags]
    tags.extend(new_tags)
    if new_tags:
        took.append("tags=" + ",".join(new_tags))
    return ", ".join(took)


def route(
    rules: SiteRules,
    nature: str,
    kind: str,
    category: str | None,
    severity: str,
    tags: tuple[str, ...] = (),
) -> tuple[str, tuple[str, ...], list[str]]:
    """(owner department, copy list, reasons) for a classification."""
    owner: str | None = None
    copies: dict[str, None] = {}
    reasons = []
    for rule in rules.routing.rules:
        if not rule.when.matches(nature, kind, category, severity, tags):
            continue
        if owner is None and rule.owner is not None:
            owner = rule.owner
            reasons.append(f"routing rule {rule.id!r} made {owner} the owner")
        if rule.copy_to:
            copies.update(dict.fromkeys(rule.copy_to))
            reasons.append(f"routing rule {rule.id!r} copies {', '.join(rule.copy_to)}")
    if owner is None:
        owner = rules.routing.default_owner
        reasons.append(f"default owner {owner}")
    return owner, tuple(c for c in copies if c != owner), reasons


def due_time(rules: SiteRules, start: datetime, duration: str | Duration) -> datetime:
    """When ``duration`` after ``start`` ends on the site's calendar (aware, UTC)."""
    return durations.due_time(rules.working_calendar, rules.zone, start, duration)


def due(rules: SiteRules, start: datetime, duration: str | Duration) -> DueTime:
    """``due_time`` with its provisional mark (counted through an unpublished year)."""
    return durations.due(rules.working_calendar, rules.zone, start, duration)


def survey_action_due(rules: SiteRules, trigger: str, start: datetime) -> DueTime | None:
    """When a survey action of ``trigger`` raised (or found not effective) at ``start`` is
    due: the trigger's ``due``, else ``survey.action_due``; None when neither is set."""
    duration = rules.survey.action_due_for(trigger) if rules.survey is not None else None
    return None if duration is None else due(rules, start, duration)


def stage_deadlines(
    rules: SiteRules,
    classification: Classification,
    event_times: dict[str, datetime],
    *,
    customer_deadline: datetime | None = None,
) -> dict[str, datetime]:
    """Due time (UTC) of every stage whose deadline rule's start event has happened.

    ``event_times`` maps event names (``received``, ``registered``, ``<stage>.entered``,
    ``<stage>.completed``) to when they happened. Never refused for the calendar: a year
    it does not cover is estimated (see ``stage_due_times`` for the provisional marks).
    """
    times = stage_due_times(rules, classification, event_times, customer_deadline=customer_deadline)
    return {stage: due.at for stage, due in times.items()}


def stage_due_times(
    rules: SiteRules,
    classification: Classification,
    event_times: dict[str, datetime],
    *,
    customer_deadline: datetime | None = None,
) -> dict[str, DueTime]:
    """``stage_deadlines`` with each due time's provisional mark. The customer's own
    deadline, where the rule takes it, is a date the customer gave: never provisional."""
    events = dict(event_times)
    if customer_deadline is not None:
        events.setdefault("customer_deadline", customer_deadline)
    out: dict[str, DueTime] = {}
    for stage in rules.workflow.stages:
        rule = rules.deadline_for(stage.id, classification)
        if rule is None or rule.from_event not in events:
            continue
        computed = due(rules, events[rule.from_event], rule.duration)
        out[stage.id] = with_customer_deadline(computed, customer_deadline, rule.customer_deadline)
    return out


def with_customer_deadline(counted: DueTime, customer: datetime | None, mode: str) -> DueTime:
    """A due time counted from the rules, or the customer's own deadline where the rule
    takes it: `customer` whenever one is set, `earlier` when it comes first, `later` when
    it gives more time (the seeds: "within 2-3 working days, or the customer's deadline").
    A date the customer gave is never provisional."""
    if customer is None or mode == "ignore":
        return counted
    if mode == "customer" or (mode == "earlier" and customer < counted.at):
        return DueTime(customer)
    if mode == "later" and customer > counted.at:
        return DueTime(customer)
    return counted


def score_band(rules: SiteRules, score: float) -> Band:
    """The one band containing ``score`` (bands are checked at load to tile the scale)."""
    return rules.band_for(score)


@dataclass(frozen=True, slots=True)
class TriggerHit:
    trigger: str
    action: str
    owner: str
    subject: str  # "overall", a customer id, a dimension or item id, "response_rate"
    value: float | None


def evaluate_triggers(
    rules: SiteRules,
    *,
    overall_score: float | None = None,
    customer_scores: dict[str, float] | None = None,
    dimension_scores: dict[str, float] | None = None,
    item_scores: dict[str, float] | None = None,
    response_rate: float | None = None,
    suggestions: tuple[str, ...] = (),
) -> list[TriggerHit]:
    """Survey triggers that fire for the given results (rates are fractions 0-1)."""
    survey = rules.survey
    if survey is None:
        return []
    owners = {d.id: d.owner for d in survey.dimensions}
    owners |= {i.id: d.owner for d in survey.dimensions for i in d.items}
    measured: dict[str, dict[str, float]] = {
        "overall_score": {} if overall_score is None else {"overall": overall_score},
        "customer_score": customer_scores or {},
        "dimension_score": dimension_scores or {},
        "item_score": item_scores or {},
        "response_rate": {} if response_rate is None else {"response_rate": response_rate},
    }
    hits = []
    for trig in survey.triggers:
        if trig.kind == "suggestion":
            hits += [TriggerHit(trig.id, trig.action, trig.owner, s, None) for s in suggestions]
            continue
        assert trig.threshold is not None
        for subject, value in measured[trig.kind].items():
            fires = value < trig.threshold if trig.op == "lt" else value <= trig.threshold
            if fires:
                owner = (
                    owners.get(subject, trig.owner)
                    if trig.owner == "dimension_owner"
                    else (trig.owner)
                )
                hits.append(TriggerHit(trig.id, trig.action, owner, subject, value))
    return hits
