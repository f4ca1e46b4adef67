"""How far a site's published working-day calendar reaches, for operators to see it coming.

Working-day due times beyond the covered years are estimates (calendar.py). Operators are
told ahead: `qloop rules check` warns when a site's coverage ends within `WARN_AHEAD`, and
every service exports the end as `qloop_calendar_coverage_end_timestamp_seconds{site}`
(deploy/prometheus/alerts.yml alerts on it). A site with `allow_uncovered_years` takes the
estimates as final and is not warned about.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from services.common.rules.schema import SiteRules

WARN_AHEAD = timedelta(days=60)


def coverage_end(rules: SiteRules) -> datetime | None:
    """When the site's published calendar stops covering (None: estimates are accepted)."""
    calendar = rules.working_calendar
    if calendar.allow_uncovered_years:
        return None
    return calendar.coverage_end(rules.zone)


def coverage_warnings(rules: SiteRules, now: datetime) -> list[str]:
    end = coverage_end(rules)
    if end is None or end - now > WARN_AHEAD:
        return []
    calendar = rules.working_calendar
    days = max((end - now).days, 0)
    when = "has ended" if end <= now else f"ends in {days} days"
    return [
        f"site {rules.site.id}: the {calendar.country} working-day calendar covers "
        f"{calendar.first_year}-{calendar.last_year} and {when} ({end.date()}); working-day "
        f"due times in {calendar.last_year + 1} are provisional until the year's holidays and "
        "make-up days are known: update the holidays package, or write them into "
        "calendar.extra_holidays / calendar.extra_working_days and raise calendar.last_year"
    ]
