"""Charts (SVG rendered on the server) and the per-site HTML dashboard.

`{site}` is a site id or `*` (HQ); role `read` and the site's scope as for the reports.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import Query, Request
from fastapi.responses import HTMLResponse, Response
from markupsafe import Markup

from services.common.http import guarded_router
from services.reporting import render
from services.reporting.api import LangQuery, Reader, ReportsDep, SitePath, scope_of
from services.reporting.domain import charts, kpis
from services.reporting.domain.periods import MONTH, month_of, trailing_months
from services.reporting.domain.targets import headline
from services.reporting.reports import Reports, Scope
from services.reporting.sites import RuleSites
from services.reporting.words import Words, words_for

router = guarded_router(tags=["dashboard"])
Chart = Literal["satisfaction", "dimensions", "customers", "on-time", "pareto"]
MonthQuery = Annotated[str | None, Query(pattern=MONTH.pattern)]


def _month(request: Request, reports: Reports, scope: Scope, month: str | None) -> str:
    if month:
        return month
    site = scope.sites[0] if scope.sites else ""
    now = request.app.state.ctx.clock.now()
    return month_of(now, RuleSites(reports.rulebook).zone(site))


def drawn_charts(
    data: dict[str, Any], targets: dict[str, float], words: Words | None = None
) -> dict[str, str]:
    w = words or Words.english()
    return {
        "satisfaction": charts.satisfaction_trend(
            data["all"], targets.get("satisfaction"), say=w.say
        ),
        "dimensions": charts.dimension_trend(data["all"], say=w.say, name=w.dimension),
        "customers": charts.customer_trend(data["customer"], say=w.say),
        "on-time": charts.on_time_trend(data["all"], targets.get("closure"), say=w.say),
        "pareto": charts.defect_pareto(data["defect_types"], say=w.say, name=w.code),
    }


@router.get("/charts/{site}/{chart}.svg", summary="One chart, 12 months ending with `month`")
async def chart(
    request: Request,
    site: SitePath,
    chart: Chart,
    reports: ReportsDep,
    key: Reader,
    month: MonthQuery = None,
    lang: LangQuery = None,
) -> Response:
    scope = scope_of(key, site)
    w = words_for(reports.rulebook, site, lang, request.headers.get("accept-language"))
    chosen = _month(request, reports, scope, month)
    data = await reports.trends(scope, trailing_months(chosen, 12))
    drawn = drawn_charts(data, {t.kpi: t.target for t in reports.targets(scope)}, w)
    return Response(drawn[chart], media_type="image/svg+xml")


def latest(months: dict[str, Any]) -> dict[str, tuple[float, str]]:
    """The last measured survey figures (surveys are quarterly or yearly, so the month
    shown often has none)."""
    found: dict[str, tuple[float, str]] = {}
    for month in sorted(months, reverse=True):
        satisfaction = kpis.satisfaction(months[month])
        for kpi, value in (
            ("satisfaction", satisfaction["index"]),
            ("response_rate", satisfaction["response_rate"]),
        ):
            if value is not None and kpi not in found:
                found[kpi] = (value, month)
    return found


def tiles(
    figures: dict[str, Any],
    judged: dict[str, bool | None],
    earlier: dict[str, tuple[float, str]],
    words: Words | None = None,
) -> list[dict[str, Any]]:
    w = words or Words.english()
    c = figures["complaints"]
    values = headline(figures)
    found = [
        {"kpi": "received", "value": c["received"], "bad": False},
        {"kpi": "open", "value": c["open"], "bad": False},
        {"kpi": "overdue", "value": c["overdue"], "bad": c["overdue"] > 0},
    ]
    for kpi in (
        "acknowledgement", "investigation", "eight_d", "closure", "answered", "repeat_rate",
        "satisfaction", "response_rate", "delivery",
    ):  # fmt: skip
        value, when = values[kpi], ""
        if value is None and kpi in earlier:
            value, when = earlier[kpi][0], f" ({earlier[kpi][1]})"
        unit = "" if kpi == "satisfaction" else " %"
        shown = "—" if value is None else f"{value:g}{unit}{when}"
        found.append({"kpi": kpi, "value": shown, "bad": judged.get(kpi) is False})
    for tile in found:
        tile["label"] = w.tile(tile["kpi"])
    return found


@router.get("/dashboard/{site}", response_class=HTMLResponse, summary="The site's dashboard")
async def dashboard(
    request: Request,
    site: SitePath,
    reports: ReportsDep,
    key: Reader,
    month: MonthQuery = None,
    lang: LangQuery = None,
) -> HTMLResponse:
    scope = scope_of(key, site)
    w = words_for(reports.rulebook, site, lang, request.headers.get("accept-language"))
    chosen = _month(request, reports, scope, month)
    monthly = await reports.monthly(scope, chosen)
    live = await reports.live(scope)
    targets = reports.targets(scope)
    judged = {t.kpi: t.met(headline(monthly["kpis"])[t.kpi]) for t in targets}
    data = await reports.trends(scope, trailing_months(chosen, 12))
    drawn = drawn_charts(data, {t.kpi: t.target for t in targets}, w)
    title = w.say("Dashboard — %(site)s — %(month)s") % {"site": w.site(site), "month": chosen}
    page = (
        render.environment()
        .get_template("dashboard.html")
        .render(
            title=title,
            tiles=tiles(monthly["kpis"], judged, latest(data["all"]), w),
            live=live,
            charts={name: Markup(svg) for name, svg in drawn.items()},  # our own escaped SVG
            items=[i for i in monthly["items"] if i["unfinished"]][:25],
            bands=monthly["kpis"]["satisfaction"]["bands"],
            cell=render.cell,
            w=w,
            say=w.say,
            language=w.language,
        )
    )
    return HTMLResponse(page)
