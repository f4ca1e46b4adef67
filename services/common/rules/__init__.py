"""Site rule files: every company's complaint/8D/survey procedure as configuration.

Public API
----------
``load_rules(path) -> SiteRules``
    Read, include, validate and check a YAML rule file. Raises ``RuleFileErrors`` (a list of
    ``RuleError``; ``str(err)`` is ``FILE:LINE:COLUMN: path: message``).
``classify(rules, complaint) -> Classification``
    Nature, kind, category, severity, tags, owner department, copy list, matched rule, reasons
    and ``rules_version`` for a ``ComplaintSubmission``.
``route(rules, nature, kind, category, severity, tags) -> (owner, copy_to, reasons)``
``due_time(rules, start, duration) -> datetime``
    ``duration`` is ``"N minutes|hours|days"`` (elapsed) or ``"N working days"`` (site calendar).
``stage_deadlines(rules, classification, event_times, *, customer_deadline=None)``
    Stage id -> due time (UTC) for every stage whose start event is known.
``stage_due_times(...)`` / ``due(rules, start, duration) -> DueTime``
    The same with each due time's ``provisional`` mark: counted through a year the site's
    calendar does not cover yet (computed all the same, never refused).
``survey_action_due(rules, trigger, start) -> DueTime | None``
    When a survey action is due (the trigger's ``due``, else ``survey.action_due``).
``score_band(rules, score) -> Band`` and ``evaluate_triggers(rules, *, overall_score=...,
customer_scores=..., dimension_scores=..., item_scores=..., response_rate=...,
suggestions=...) -> list[TriggerHit]``
``WorkingCalendar``: ``is_working_day``, ``next_working_day``, ``add_working_days``.

``SiteRules`` also answers ``stage(id)``, ``transitions_from(stage)``, ``transition(stage,
action)``, ``allowed_transitions(stage, case_fields)``, ``missing_fields(transition, fields)``,
``actors_for(transition)``, ``deadline_for(stage, classification)``, ``escalations_for(stage)``,
``band_for(score)``, ``department(id)``, ``departments_with_role(role)``, ``rules_version``.
"""

from services.common.rules.calendar import WorkingCalendar
from services.common.rules.durations import DueTime, Duration, parse_duration
from services.common.rules.engine import (
    TriggerHit,
    classify,
    due,
    due_time,
    evaluate_triggers,
    route,
    score_band,
    stage_deadlines,
    stage_due_times,
    survey_action_due,
)
from services.common.rules.errors import (
    CalendarCoverageError,
    DurationError,
    RuleError,
    RuleFileErrors,
)
from services.common.rules.loader import load_rules
from services.common.rules.schema import SiteRules, guard_holds
from services.common.rules.schema_complaints import Classification
from services.common.rules.schema_survey import Band

__all__ = [
    "Band",
    "CalendarCoverageError",
    "Classification",
    "DueTime",
    "Duration",
    "DurationError",
    "RuleError",
    "RuleFileErrors",
    "SiteRules",
    "TriggerHit",
    "WorkingCalendar",
    "classify",
    "due",
    "due_time",
    "evaluate_triggers",
    "guard_holds",
    "load_rules",
    "parse_duration",
    "route",
    "score_band",
    "stage_deadlines",
    "stage_due_times",
    "survey_action_due",
]
