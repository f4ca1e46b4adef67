"""The words of the reports and the dashboard in the reader's language: column and figure
names from reporting's catalogue, the rule file's names for stages, departments, dimensions
and sites, contract codes (nature, category, trigger, status) in words, times in the site's
time zone. The JSON reports keep their keys and codes: only what people read is said.

Which language: `?lang=` if the site speaks it, else the browser's Accept-Language, else
the site's first language (the HQ roll-up: any site's).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import datetime
from pathlib import Path
from typing import Any

from services.common.i18n import N_, Speaker, choose, from_header
from services.common.rulebook import Rulebook
from services.common.rules import SiteRules

LOCALE_DIR = Path(__file__).with_name("locale")
HQ = "*"

HEADERS = {
    "site": N_("Site"), "number": N_("Number"), "received_at": N_("Received at"),
    "customer": N_("Customer"), "customer_id": N_("Customer number"), "product": N_("Product"),
    "nature": N_("Nature"), "category": N_("Category"), "department": N_("Department"),
    "repeat": N_("Repeat"), "stage": N_("Stage"), "status": N_("Status"),
    "overdue": N_("Overdue"), "acknowledged_on_time": N_("Acknowledged on time"),
    "eight_d_on_time": N_("8D on time"), "closed_on_time": N_("Closed on time"),
    "improvement_effect": N_("Improvement effect"), "satisfaction": N_("Satisfaction"),
    "satisfaction_source": N_("Satisfaction from"), "action_id": N_("Action"),
    "trigger": N_("Trigger"), "what": N_("What"), "raised_at": N_("Raised at"),
    "before": N_("Before"), "after": N_("After"), "effective": N_("Effective"),
    "value": N_("Value"), "received": N_("Received"), "month": N_("Month"),
    "index": N_("Satisfaction index"), "previous_year": N_("Previous year"),
    "change": N_("Change"), "open": N_("Open"), "figure": N_("Figure"),
    "KPI": N_("KPI"), "target": N_("Target"), "actual": N_("Actual"), "met": N_("Met"),
    "target from": N_("Target from"), "closed": N_("Closed"),
    "repeat_rate": N_("Repeat rate %"), "answered_share": N_("Answered %"),
    "claims": N_("Claims"), "claim_amounts": N_("Claim amounts"),
    "satisfaction_index": N_("Satisfaction index"), "response_rate": N_("Survey response rate %"),
    "bands": N_("Bands"), "on_time_delivery": N_("On-time delivery %"),
    "lots_due": N_("Lots due"), "lots_late": N_("Lots late"),
    "acknowledgement": N_("On-time acknowledgement %"),
    "investigation": N_("On-time investigation %"), "eight_d": N_("On-time 8D reply %"),
    "closure": N_("On-time closure %"), "answered": N_("Answered %"),
    "delivery": N_("On-time delivery %"),
}  # fmt: skip
TITLES = {
    "KPIs": N_("KPIs"), "Feedback of the month": N_("Feedback of the month"),
    "Survey actions": N_("Survey actions"), "Against targets": N_("Against targets"),
    "Months": N_("Months"), "KPIs of the year": N_("KPIs of the year"),
    "Satisfaction": N_("Satisfaction"), "Satisfaction trend": N_("Satisfaction trend"),
    "Satisfaction by customer": N_("Satisfaction by customer"),
    "Repeated complaints": N_("Repeated complaints"),
    "Open cases by stage": N_("Open cases by stage"),
    "Monthly summary": N_("Monthly summary"), "Yearly summary": N_("Yearly summary"),
    "Management review": N_("Management review"), "all sites (HQ)": N_("all sites (HQ)"),
    "By %(dimension)s": N_("By %(dimension)s"),
}  # fmt: skip
CODES = {
    "quality": N_("Quality"), "delivery": N_("Delivery"), "service": N_("Service"),
    "appeal": N_("Appeal"), "claim": N_("Claim"), "non_quality": N_("Non-quality complaint"),
    "a": N_("Category a"), "b": N_("Category b"), "c": N_("Category c"), "d": N_("Category d"),
    "open": N_("open"), "closed": N_("closed"), "low_score": N_("Low score"),
    "low_item": N_("Low item score"), "suggestion": N_("Suggestion"),
    "explanation": N_("Explained to the customer"), "credit_note": N_("Credit note"),
    "replacement": N_("Replacement"), "decline": N_("Score declined"),
}  # fmt: skip
DIMENSIONS = {
    "nature": N_("nature"), "category": N_("category"), "department": N_("department"),
    "customer": N_("customer"), "product": N_("product"), "channel": N_("channel"),
    "tag": N_("tag"), "kind": N_("kind"), "severity": N_("severity"),
}  # fmt: skip
# The charts' own texts (domain/svg.py), said through `say`.
CHART_TEXTS = (N_("target %(value)s"), N_("no data in this period"))
# Where a target comes from (reporting/settings.py), and the dashboard's tiles.
SOURCES = (N_("rule file"), N_("reporting settings"))
TILES = {
    "received": N_("Complaints received"), "open": N_("Open"), "overdue": N_("Overdue"),
    "acknowledgement": N_("On-time acknowledgement 24 h"),
    "investigation": N_("On-time investigation 48 h"), "eight_d": N_("On-time 8D reply"),
    "closure": N_("On-time closure"), "answered": N_("Answered"),
    "repeat_rate": N_("Repeat rate"), "satisfaction": N_("Satisfaction index"),
    "response_rate": N_("Survey response rate"), "delivery": N_("On-time delivery"),
}  # fmt: skip
ON_TIME = re.compile(r"^on_time_(\w+) %$")
TIME_KEYS = {"received_at", "raised_at"}


class Words:
    """One reader's words for one report scope (a site, or every site for HQ)."""

    def __init__(self, speaker: Speaker, rules: dict[str, SiteRules], zone: str) -> None:
        self.speaker, self.rules, self.zone = speaker, rules, zone
        self.say = speaker.gettext

    @classmethod
    def english(cls) -> Words:
        """Plain English, UTC, no rule names (reports rendered outside a request)."""
        return cls(Speaker("en", LOCALE_DIR), {}, "UTC")

    @property
    def language(self) -> str:
        return self.speaker.language

    def title(self, text: str, **values: Any) -> str:
        return self.say(TITLES.get(text, text)) % values if values else self.say(text)

    def tile(self, kpi: str) -> str:
        return self.say(TILES.get(kpi, kpi))

    def header(self, key: str) -> str:
        on_time = ON_TIME.match(key)
        if on_time:
            return self.header(on_time.group(1))
        if key.startswith("dimension "):
            return self.dimension(key.removeprefix("dimension "))
        if key.startswith("band ") and key.endswith(" %"):
            return self.say("Band %(band)s %%") % {"band": key[5:-2]}
        return self.say(HEADERS.get(key, key))

    def site(self, site: str) -> str:
        if site == HQ:
            return self.say("all sites (HQ)")
        rules = self.rules.get(site)
        return self.speaker.name(rules.site.names, site) if rules else site

    def _named(self, kind: str, thing: str) -> str:
        for rules in self.rules.values():
            pool: Iterable[Any] = {
                "stage": rules.workflow.stages,
                "department": rules.departments,
                "dimension": rules.survey.dimensions if rules.survey else (),
            }[kind]
            found = next((x for x in pool if x.id == thing), None)
            if found is not None and getattr(found, "names", None):
                return self.speaker.name(found.names, thing)
        return self.say(CODES.get(thing, thing))

    def code(self, value: str) -> str:
        """A contract code (nature, category, trigger, outcome) in words; else as it is."""
        return self.say(CODES.get(value, value))

    def stage(self, stage: str) -> str:
        return self._named("stage", stage)

    def department(self, department: str) -> str:
        return self._named("department", department)

    def dimension(self, dimension: str) -> str:
        return self._named("dimension", dimension)

    def by(self, dimension: str) -> str:
        """A breakdown table's title: 'By department'."""
        return self.say("By %(dimension)s") % {
            "dimension": self.say(DIMENSIONS.get(dimension, dimension))
        }

    def value(self, key: str, value: Any, dimension: str | None = None) -> Any:
        """A cell as its reader reads it (numbers stay numbers for the spreadsheet)."""
        if value is None:
            return ""
        if isinstance(value, bool):
            return self.say("yes") if value else self.say("no")
        if key in TIME_KEYS or isinstance(value, datetime):
            return self.speaker.when(value, self.zone)
        if key == "stage":
            return self.stage(str(value))
        if key == "department" or (key == "value" and dimension == "department"):
            return self.department(str(value))
        if key == "site":
            return self.site(str(value))
        if key == "improvement_effect":
            return self.effect(str(value))
        if key in ("nature", "category", "status", "trigger") or (
            key == "value" and dimension in ("nature", "category", "kind", "severity")
        ):
            return self.say(CODES.get(str(value), str(value)))
        return value

    def effect(self, text: str) -> str:
        """reports.improvement_effect's English, said again in the reader's words."""
        if text.startswith("recurred"):
            return self.say("recurred: actions not effective, re-examined")
        if text.startswith("in progress (") and text.endswith(")"):
            return self.say("in progress (%(stage)s)") % {"stage": self.stage(text[13:-1])}
        if text.startswith("corrective action verified"):
            return self.say("corrective action verified and standardised")
        if text.startswith("closed: "):
            outcome = text.removeprefix("closed: ")
            said = self.say(CODES.get(outcome, outcome))
            return self.say("closed: %(outcome)s") % {"outcome": said}
        return text


def words_for(
    rulebook: Rulebook, site: str, lang: str | None, accept_language: str | None
) -> Words:
    """The reader's words for a report of `site` (`*`: every site)."""
    sites = list(rulebook.sites) if site == HQ else [site] if site in rulebook.sites else []
    rules = {s: rulebook.for_site(s) for s in sites}
    offered = [language for r in rules.values() for language in r.site.languages]
    language = choose(offered, lang, *from_header(accept_language))
    zone = rules[site].site.timezone if site in rules else "UTC"
    return Words(Speaker(language, LOCALE_DIR), rules, zone)
