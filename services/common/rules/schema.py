"""The whole site rule file (``SiteRules``) and its site, people and calendar sections.

``SiteRules`` also offers the look-ups the services need: ``stage``, ``transitions_from``,
``allowed_transitions``, ``deadline_for``, ``band_for``, ``department``, ``calendar``.
"""

from __future__ import annotations

import operator
from datetime import date
from functools import cached_property
from typing import Any
from zoneinfo import ZoneInfo

from pydantic import Field, PrivateAttr, field_validator

from services.common.rules.calendar import WorkingCalendar, published_through
from services.common.rules.matcher import CompiledClassifier
from services.common.rules.schema_base import Frozen, Id, Names
from services.common.rules.schema_clocks import Clock
from services.common.rules.schema_complaints import (
    Classification,
    ClassificationSection,
    DeadlineRule,
    DeadlinesSection,
    EscalationRule,
    RoutingSection,
)
from services.common.rules.schema_notifications import Notifications
from services.common.rules.schema_survey import Band, Survey
from services.common.rules.schema_workflow import GuardTest, GuardValue, Stage, Transition, Workflow

WEEKDAYS = {"mon": 0, "tue": 1, "wed": 2, "thu": 3, "fri": 4, "sat": 5, "sun": 6}


class Site(Frozen):
    id: Id
    names: Names
    timezone: str
    languages: tuple[str, ...] = Field(min_length=1)
    number_format: str

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (KeyError, ValueError):
            raise ValueError(
                f"unknown timezone {value!r} (use an IANA name such as Asia/Shanghai)"
            ) from None
        return value

    @field_validator("number_format")
    @classmethod
    def _formats(cls, value: str) -> str:
        try:
            value.format(year=2025, month=1, seq=1, site="x")
        except (KeyError, IndexError, ValueError) as exc:
            raise ValueError(
                f"number_format may use {{year}}, {{month}}, {{seq}} and {{site}} only ({exc})"
            ) from None
        if "{seq" not in value:
            raise ValueError("number_format must contain {seq} (for example {seq:06d})")
        return value


class Role(Frozen):
    id: Id
    names: Names


class Department(Frozen):
    id: Id
    names: Names
    roles: tuple[Id, ...] = ()


class DatedDay(Frozen):
    date: date
    name: str | None = None


class CalendarSpec(Frozen):
    country: str = Field(min_length=2, max_length=3)
    subdivision: str | None = None
    weekend: tuple[str, ...] | None = None  # default: the country's weekend
    first_year: int = Field(default=2020, ge=1950, le=2200)
    last_year: int | None = Field(default=None, ge=1950, le=2200)  # default: last published
    allow_uncovered_years: bool = False
    extra_holidays: tuple[DatedDay, ...] = ()
    extra_working_days: tuple[DatedDay, ...] = ()

    @field_validator("weekend")
    @classmethod
    def _weekday_names(cls, value: tuple[str, ...] | None) -> tuple[str, ...] | None:
        bad = [d for d in value or () if d not in WEEKDAYS]
        if bad:
            raise ValueError(f"weekend days are {', '.join(WEEKDAYS)}; not {', '.join(bad)}")
        return value


class SiteRules(Frozen):
    version: str = Field(min_length=1)
    site: Site
    roles: tuple[Role, ...] = ()
    departments: tuple[Department, ...] = Field(min_length=1)
    calendar: CalendarSpec
    classification: ClassificationSection
    routing: RoutingSection
    deadlines: DeadlinesSection = DeadlinesSection()
    escalation: tuple[EscalationRule, ...] = ()
    workflow: Workflow
    clocks: tuple[Clock, ...] = ()  # case-wide deadlines from an event to another
    survey: Survey | None = None
    notifications: Notifications | None = None  # who each trigger tells (notify)

    _content_hash: str = PrivateAttr(default="unhashed")
    _source: str = PrivateAttr(default="<memory>")

    @cached_property
    def classifier(self) -> CompiledClassifier:
        """The classification rules compiled for matching (built once, on first use)."""
        return CompiledClassifier(self.classification.rules)

    @cached_property
    def route_cache(self) -> dict[tuple[Any, ...], tuple[str, tuple[str, ...], list[str]]]:
        """Routing depends only on the classification: computed once per distinct one."""
        return {}

    # --- identity -------------------------------------------------------------------------
    @property
    def rules_version(self) -> str:
        """Declared version plus content hash: recorded on everything decided under these rules."""
        return f"{self.version}+{self._content_hash}"

    @property
    def source(self) -> str:
        return self._source

    # --- time -----------------------------------------------------------------------------
    @cached_property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.site.timezone)

    @cached_property
    def working_calendar(self) -> WorkingCalendar:
        spec = self.calendar
        return WorkingCalendar(
            country=spec.country,
            subdivision=spec.subdivision,
            weekend=None if spec.weekend is None else [WEEKDAYS[d] for d in spec.weekend],
            extra_holidays=[d.date for d in spec.extra_holidays],
            extra_working_days=[d.date for d in spec.extra_working_days],
            first_year=spec.first_year,
            last_year=spec.last_year or published_through(spec.country),
            allow_uncovered_years=spec.allow_uncovered_years,
        )

    # --- people ---------------------------------------------------------------------------
    def department(self, department_id: str) -> Department:
        found: Department = _by_id(self.departments, department_id, "department")
        return found

    def departments_with_role(self, role: str) -> tuple[Department, ...]:
        return tuple(d for d in self.departments if role in d.roles)

    # --- workflow -------------------------------------------------------------------------
    def stage(self, stage_id: str) -> Stage:
        found: Stage = _by_id(self.workflow.stages, stage_id, "stage")
        return found

    def transitions_from(self, stage_id: str) -> tuple[Transition, ...]:
        return tuple(t for t in self.workflow.transitions if t.from_stage == stage_id)

    def transition(self, stage_id: str, action: str) -> tuple[Transition, ...]:
        """Transitions for ``action`` out of ``stage_id`` (several when guards pick the target)."""
        return tuple(t for t in self.transitions_from(stage_id) if t.action == action)

    def allowed_transitions(
        self, stage_id: str, case_fields: dict[str, Any]
    ) -> tuple[Transition, ...]:
        """Transitions out of ``stage_id`` whose guard holds on ``case_fields``."""
        return tuple(
            t for t in self.transitions_from(stage_id) if guard_holds(t.guard, case_fields)
        )

    def actors_for(self, transition: Transition) -> tuple[str, ...]:
        return transition.actors or self.stage(transition.from_stage).actors

    def missing_fields(self, transition: Transition, case_fields: dict[str, Any]) -> list[str]:
        """Fields the action needs that are still empty (its own and the target stage's)."""
        needed = (*transition.requires, *self.stage(transition.to).required_fields)
        return [f for f in dict.fromkeys(needed) if case_fields.get(f) in (None, "", [], ())]

    # --- deadlines ------------------------------------------------------------------------
    def deadline_for(self, stage_id: str, classification: Classification) -> DeadlineRule | None:
        """The first deadline rule for ``stage_id`` that matches the classification."""
        for rule in self.deadlines.rules:
            if rule.stage == stage_id and classification.is_matched_by(rule.when):
                return rule
        return None

    def escalations_for(self, stage_id: str) -> tuple[EscalationRule, ...]:
        return tuple(e for e in self.escalation if e.stages is None or stage_id in e.stages)

    # --- surveys --------------------------------------------------------------------------
    def band_for(self, score: float) -> Band:
        if self.survey is None:
            raise LookupError(f"site {self.site.id!r} has no survey section")
        for band in self.survey.bands:
            if band.contains(score):
                return band
        raise ValueError(
            f"score {score} is outside the scale {self.survey.scale.min}-{self.survey.scale.max}"
        )


def guard_holds(guard: dict[str, GuardValue], case_fields: dict[str, Any]) -> bool:
    return all(_test_holds(test, case_fields.get(name)) for name, test in guard.items())


def _test_holds(test: GuardValue, value: Any) -> bool:
    if not isinstance(test, GuardTest):
        return bool(value == test)
    if test.present is not None and (value not in (None, "", [], ())) != test.present:
        return False
    if test.eq is not None and value != test.eq:
        return False
    if test.ne is not None and value == test.ne:
        return False
    if test.in_ is not None and value not in test.in_:
        return False
    if test.not_in is not None and value in test.not_in:
        return False
    number = float(value) if isinstance(value, int | float) else None
    for limit, holds in (
        (test.gte, operator.ge),
        (test.gt, operator.gt),
        (test.lte, operator.le),
        (test.lt, operator.lt),
    ):
        if limit is not None and (number is None or not holds(number, limit)):
            return False
    return True


def _by_id(items: Any, item_id: str, what: str) -> Any:
    for item in items:
        if item.id == item_id:
            return item
    raise KeyError(f"no {what} {item_id!r}")
