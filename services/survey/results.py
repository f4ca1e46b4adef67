"""Read views: campaigns, results per campaign and customer, a customer's trend."""

from __future__ import annotations

from typing import Any

from services.survey.domain import scorecards as cards
from services.survey.domain import window
from services.survey.service import SurveyService


def campaign_view(campaign: dict[str, Any]) -> dict[str, Any]:
    hidden = {"_id", "planned", "outbox", "outbox_n", "applied_events"}
    view = {k: v for k, v in campaign.items() if k not in hidden}
    return {"campaign_id": campaign["_id"], "invitations": len(campaign.get("planned", [])), **view}


async def campaign_results(svc: SurveyService, campaign: dict[str, Any]) -> dict[str, Any]:
    """The closed figures, or while open the answers so far (not yet scored as a whole)."""
    responses = await svc.store.responses(campaign["_id"])
    sent = len(await svc.store.invitations(campaign["_id"]))
    returned = sum(1 for r in responses if r["counted"])
    return {
        "campaign_id": campaign["_id"],
        "site": campaign["site"],
        "status": campaign["status"],
        "answer_due": campaign["answer_due"],
        "sent": sent,
        "answers": len(responses),
        "returned": returned,
        "late": sum(1 for r in responses if not r["on_time"]),
        "response_rate": window.response_rate(sent, returned),
        "results": campaign.get("results"),
        "responses": [
            {
                "customer_id": r["customer_id"],
                "customer_name": r["customer_name"],
                "answered_at": r["answered_at"],
                "on_time": r["on_time"],
                "counted_as_returned": r["counted"],
                "score": r["score"],
                "comments": r.get("comments"),
                "suggestions": r.get("suggestions", []),
            }
            for r in responses
        ],
    }


async def customer_results(svc: SurveyService, site: str, customer_id: str) -> dict[str, Any]:
    """The customer's score in each closed campaign, and its own scorecards, as trends."""
    rules, _ = svc.rules(site)
    campaigns = await svc.store.campaigns([site], limit=500)
    points = []
    for c in campaigns:
        score = ((c.get("results") or {}).get("customers") or {}).get(customer_id)
        if c["status"] == "closed" and score and score["overall"] is not None:
            points.append((c["_id"], score["overall"], c["label"], score))
    survey_trend = cards.trend(rules, [(cid, value) for cid, value, _, _ in points])
    details = {cid: (label, s) for cid, _, label, s in points}
    scorecards = await svc.store.scorecards(site, customer_id)
    card_trend = cards.trend(rules, [(d["period"], d["site_score"]) for d in scorecards])
    comments = {d["period"]: d.get("comments") for d in scorecards}
    return {
        "site": site,
        "customer_id": customer_id,
        "surveys": [
            {
                "campaign_id": p.period,
                "label": details[p.period][0],
                "score": p.score,
                "band": p.band,
                "change": p.change,
                "dimensions": details[p.period][1]["dimensions"],
            }
            for p in survey_trend
        ],
        "scorecards": [{**p.__dict__, "comments": comments[p.period]} for p in card_trend],
    }
