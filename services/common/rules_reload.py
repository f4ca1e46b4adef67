"""Hot reload of a running service's rule files.

A background job watches `QLOOP_RULES_DIR`; when a file changes it loads the whole set
again. A set with any error is refused (logged as FILE:LINE:COLUMN lines, counted in
`qloop_rules_reloads_total{result="failed"}`) and the last good rules stay in force.
`POST /admin/rules/reload` does the same at once and answers with the errors.
"""

from __future__ import annotations

import asyncio
import logging
import re
from typing import Annotated, Any

from fastapi import Depends
from fastapi.responses import JSONResponse
from prometheus_client import CollectorRegistry, Counter, Gauge

from services.common.auth import Caller, require
from services.common.http import guarded_router
from services.common.rulebook import Rulebook, fingerprint
from services.common.rules import RuleFileErrors
from services.common.rules.coverage import coverage_end
from services.common.runtime import ServiceContext, service_context

log = logging.getLogger(__name__)
router = guarded_router(tags=["operations"])


class RulesMetrics:
    def __init__(self, registry: CollectorRegistry) -> None:
        self.reloads = Counter(
            "qloop_rules_reloads_total",
            "Rule reload attempts by result.",
            ["result"],
            registry=registry,
        )
        self.info = Gauge(
            "qloop_rules_info",
            "Rule version in force per site (value 1).",
            ["site", "version"],
            registry=registry,
        )
        self.coverage_end = Gauge(
            "qloop_calendar_coverage_end_timestamp_seconds",
            "When the site's published working-day calendar stops covering (Unix time); "
            "working-day due times after it are provisional. Absent for a site that "
            "accepts estimates (calendar.allow_uncovered_years).",
            ["site"],
            registry=registry,
        )

    def show(self, rulebook: Rulebook) -> None:
        self.info.clear()
        for site, version in rulebook.versions().items():
            self.info.labels(site, version).set(1)
        self.coverage_end.clear()
        for site in rulebook.sites:
            end = coverage_end(rulebook.for_site(site))
            if end is not None:
                self.coverage_end.labels(site).set(end.timestamp())


def _metrics(ctx: ServiceContext) -> RulesMetrics:
    if "rules_metrics" not in ctx.state:
        ctx.state["rules_metrics"] = RulesMetrics(ctx.registry)
    metrics: RulesMetrics = ctx.state["rules_metrics"]
    return metrics


def reload(ctx: ServiceContext) -> list[str]:
    """Reload; returns the errors (empty when the new rules are in force)."""
    metrics = _metrics(ctx)
    try:
        ctx.rulebook.reload()
    except RuleFileErrors as exc:
        metrics.reloads.labels("failed").inc()
        errors = [str(e) for e in exc.errors]
        log.error("rule files refused, keeping the last good rules:\n%s", "\n".join(errors))
        return errors
    except (OSError, ValueError) as exc:
        metrics.reloads.labels("failed").inc()
        log.error("rule files refused, keeping the last good rules: %s", exc)
        return [str(exc)]
    metrics.reloads.labels("ok").inc()
    metrics.show(ctx.rulebook)
    log.warning("rules reloaded: %s", ctx.rulebook.versions())
    return []


async def watch_rules(ctx: ServiceContext) -> None:
    _metrics(ctx).show(ctx.rulebook)
    failed_at: Any = None
    while True:
        await asyncio.sleep(ctx.settings.rules_reload_seconds)
        if not ctx.rulebook.changed_on_disk():
            continue
        try:
            seen = fingerprint(ctx.rulebook.directory) if ctx.rulebook.directory else ()
            if seen == failed_at:
                continue  # the same bad files: said once already
            failed_at = seen if reload(ctx) else None
        except Exception:  # a watcher that dies would silently stop rollouts
            log.exception("rules watch pass failed")


@router.post("/admin/rules/reload", summary="Load the rule files again (last good kept)")
async def reload_rules(
    ctx: Annotated[ServiceContext, Depends(service_context)],
    key: Annotated[Caller, Depends(require("admin"))],
) -> Any:
    errors = reload(ctx)
    if errors:
        return JSONResponse(
            status_code=422,
            content={
                "detail": "rules refused",
                "code": "rules_refused",
                "reason": f"{len(errors)} errors in the rule files; the last good rules stay",
                "errors": [_located(error) for error in errors],
                "in_force": ctx.rulebook.versions(),
            },
        )
    return {"in_force": ctx.rulebook.versions()}


def _located(error: str) -> dict[str, str]:
    """A rule file error as the one 422 shape has it: `FILE:LINE:COLUMN` and the message."""
    found = re.match(r"(.+?:\d+:\d+): (.*)", error, re.S)
    return (
        {"field": found[1], "message": found[2]} if found else {"field": "rules", "message": error}
    )
