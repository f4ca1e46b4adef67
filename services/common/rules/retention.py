"""Records retention from a site's rule file (`workflow.records_retention_*`), as pure
functions: how many years a record is kept, and whether it is due for purging.

A record names its products (model or spec) where it has any. Under
`records_retention_basis: service_life` it is kept for the longest service life among its
products' families (the site default for products no family names) plus
`records_retention_years`. A record without products (a survey campaign, an invitation) is
kept for the longest retention the site can give any record: purging too late is lawful,
purging too early is not.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from fnmatch import fnmatchcase

from services.common.rules.schema_workflow import Workflow


def service_life_years(workflow: Workflow, products: Iterable[str]) -> int | None:
    """The longest service life of these products, or None when the site keeps records a
    fixed time after closure."""
    life = workflow.service_life
    if workflow.records_retention_basis != "service_life" or life is None:
        return None
    names = [p for p in products if p]
    if not names:
        return max([life.years, *(f.service_life_years for f in life.families)])
    years = []
    for name in names:
        family = next(
            (f for f in life.families if any(fnmatchcase(name, pat) for pat in f.products)),
            None,
        )
        years.append(family.service_life_years if family else life.years)
    return max(years)


def retention_years(workflow: Workflow, products: Iterable[str] = ()) -> int:
    """Years a record about these products is kept after its reference time."""
    life = service_life_years(workflow, products)
    return workflow.records_retention_years + (life or 0)


def shortest_retention_years(workflow: Workflow) -> int:
    """The fewest years any record of the site is kept: records younger than this need not
    be looked at when purging."""
    life = workflow.service_life
    if workflow.records_retention_basis != "service_life" or life is None:
        return workflow.records_retention_years
    lives = [life.years, *(f.service_life_years for f in life.families)]
    return workflow.records_retention_years + min(lives)


def years_before(moment: datetime, years: int) -> datetime:
    """The same calendar instant `years` earlier (29 February becomes 28 February)."""
    try:
        return moment.replace(year=moment.year - years)
    except ValueError:
        return moment.replace(year=moment.year - years, day=28)


def expired(reference: datetime, years: int, now: datetime) -> bool:
    """True once a record whose retention counts from `reference` has been kept `years`."""
    return reference <= years_before(now, years)
