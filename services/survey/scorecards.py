"""Customers' own supplier scorecards: recorded once per customer and period, put on
the site's scale and announced as survey.scored (scope scorecard)."""

from __future__ import annotations

from typing import Any

from services.common.contracts.surveys import SurveyScored
from services.survey.domain import scorecards as cards
from services.survey.service import Refused, SurveyService
from services.survey.store import SCORECARDS


async def record(
    svc: SurveyService,
    *,
    site: str,
    customer_id: str,
    customer_name: str,
    period: str,
    score: float,
    out_of: float,
    comments: str | None,
) -> tuple[dict[str, Any], bool]:
    rules, _ = svc.rules(site)
    try:
        site_score = cards.on_site_scale(rules, score, out_of)
    except ValueError as exc:
        raise Refused(str(exc)) from None
    band = rules.band_for(site_score)
    now = svc.clock.now()
    document = {
        "_id": f"{site}|{customer_id}|{period}",
        "site": site,
        "customer_id": customer_id,
        "customer_name": customer_name,
        "period": period,
        "score": score,
        "out_of": out_of,
        "site_score": site_score,
        "band": band.id,
        "comments": comments,
        "recorded_at": now,
    }
    event = svc.event(
        SurveyScored(
            scope="scorecard",
            campaign_id=None,
            customer_id=customer_id,
            customer_name=customer_name,
            overall=site_score,
            band=band.id,
            improvement_report=band.improvement_report,
            period=period,
            rules_version=rules.rules_version,
            scored_at=now,
        ),
        site=site,
        subject=customer_id,
    )
    created = await svc.store.insert_scorecard(document, [event])
    svc.stored(SCORECARDS, document["_id"], [event] if created else None)
    return document, created
