"""The operators' HTTP API (role- and site-scoped API keys): campaigns, eligibility,
results, customer profiles, deliveries, scorecards. Thin: request -> use case -> view."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any, Literal

from fastapi import Depends, HTTPException, Query, Request, Response
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from services.common.auth import Caller, ensure_site, require
from services.common.contracts.deliveries import DeliveryRecorded
from services.common.http import guarded_router
from services.common.runtime import context_of
from services.survey import activity, campaigns, closing, results
from services.survey.domain.schedule import SPAN_MONTHS, Period, period_before
from services.survey.service import SurveyService

router = guarded_router(tags=["surveys"])


async def refused(request: Request, exc: Exception) -> JSONResponse:
    """422 with the reason: the rules or the state refuse the request."""
    return JSONResponse({"detail": str(exc).strip("'\"")}, status_code=422)


async def service_of(request: Request) -> SurveyService:
    svc: SurveyService = context_of(request).state["survey"]
    return svc


Svc = Annotated[SurveyService, Depends(service_of)]
Reader = Annotated[Caller, Depends(require("read"))]
Operator = Annotated[Caller, Depends(require("survey"))]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class OpenCampaign(Strict):
    site: str
    kind: Literal["manual", "project_stage", "incident"] = "manual"
    project_stage: str | None = None
    period_start: date | None = None
    period_end: date | None = None
    customers: tuple[str, ...] = Field(default=(), description="Only these customers (ad hoc)")
    items: tuple[str, ...] = Field(default=(), description="Only these items (default: all)")


def _period(svc: SurveyService, site: str, start: date | None, end: date | None) -> Period:
    rules, survey = svc.rules(site)
    today = svc.clock.now().astimezone(rules.zone).date()
    if start is None and end is None:
        return period_before(today, SPAN_MONTHS[survey.schedule.cadence])
    if start is None or end is None or start > end:
        raise HTTPException(422, "give both period_start and period_end, start before end")
    return Period(start, end, f"{today.year}-{today.month:02d}")


@router.post("/campaigns", status_code=201, summary="Open a campaign by hand")
async def open_campaign(
    body: OpenCampaign, svc: Svc, key: Operator, response: Response
) -> dict[str, Any]:
    ensure_site(key, body.site)
    period = _period(svc, body.site, body.period_start, body.period_end)
    stamp = svc.clock.now().strftime("%Y%m%dT%H%M%S")
    request = campaigns.CampaignRequest(
        site=body.site,
        kind=body.kind,
        period=period,
        project_stage=body.project_stage,
        customers=body.customers,
        items=body.items,
        id=f"{body.site}-{body.kind}-{body.project_stage or period.label}-{stamp}",
    )
    campaign, created = await campaigns.open_campaign(svc, request)
    if not created:
        response.status_code = 200
    return results.campaign_view(campaign)


@router.get("/campaigns", summary="Campaigns, newest first")
async def list_campaigns(
    svc: Svc,
    key: Reader,
    site: str | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> dict[str, Any]:
    if site is not None:
        ensure_site(key, site)
    sites = [site] if site else key.visible_sites(svc.rulebook.sites)
    found = await svc.store.campaigns(sites, limit)
    return {"items": [results.campaign_view(c) for c in found], "count": len(found)}


async def _campaign(svc: SurveyService, key: Caller, campaign_id: str) -> dict[str, Any]:
    campaign = await svc.store.campaign(campaign_id)
    if campaign is None or not key.may_access(campaign["site"]):
        raise HTTPException(404, f"no campaign {campaign_id!r} at a site this key may read")
    return campaign


@router.get("/campaigns/{campaign_id}", summary="A campaign with its eligible customers")
async def get_campaign(campaign_id: str, svc: Svc, key: Reader) -> dict[str, Any]:
    return results.campaign_view(await _campaign(svc, key, campaign_id))


@router.get("/campaigns/{campaign_id}/results", summary="Results per campaign and customer")
async def campaign_results(campaign_id: str, svc: Svc, key: Reader) -> dict[str, Any]:
    return await results.campaign_results(svc, await _campaign(svc, key, campaign_id))


@router.post("/campaigns/{campaign_id}/close", summary="Close before the window ends")
async def close_campaign(campaign_id: str, svc: Svc, key: Operator) -> dict[str, Any]:
    campaign = await _campaign(svc, key, campaign_id)
    if campaign["status"] != "open":
        raise HTTPException(409, f"campaign {campaign_id!r} is {campaign['status']}, not open")
    await closing.close_campaign(svc, campaign_id)
    return await results.campaign_results(svc, await _campaign(svc, key, campaign_id))


@router.get("/eligibility", summary="Every known customer with why it is (not) surveyed")
async def eligibility(
    svc: Svc,
    key: Reader,
    site: str,
    period_start: date | None = None,
    period_end: date | None = None,
) -> dict[str, Any]:
    ensure_site(key, site)
    period = _period(svc, site, period_start, period_end)
    verdicts = await activity.eligibility(svc, site, period)
    return {
        "site": site,
        "period_start": period.start.isoformat(),
        "period_end": period.end.isoformat(),
        "customers": [v.__dict__ for v in verdicts],
    }


class Contact(Strict):
    name: str | None = None
    email: str | None = Field(default=None, pattern=r"^[^@\s]+@[^@\s]+$")
    language: str | None = None


class Profile(Strict):
    customer_name: str = Field(min_length=1)
    new_product: bool = False
    customer_owned_mould: bool = False
    prospect: bool = False
    contacts: tuple[Contact, ...] = ()


@router.put("/customers/{site}/{customer_id}", summary="Record what marketing knows")
async def save_profile(
    site: str, customer_id: str, body: Profile, svc: Svc, key: Operator
) -> dict[str, Any]:
    ensure_site(key, site)
    svc.rules(site)
    await svc.store.save_profile(site, customer_id, body.model_dump(mode="json"))
    return {"site": site, "customer_id": customer_id, **body.model_dump(mode="json")}


@router.get("/customers/{site}/{customer_id}/results", summary="A customer's trend")
async def customer_results(site: str, customer_id: str, svc: Svc, key: Reader) -> dict[str, Any]:
    ensure_site(key, site)
    return await results.customer_results(svc, site, customer_id)


class Delivery(DeliveryRecorded):
    site: str


@router.post("/deliveries", status_code=201, summary="Record a delivery (as the event does)")
async def record_delivery(
    body: Delivery, svc: Svc, key: Operator, response: Response
) -> dict[str, Any]:
    ensure_site(key, body.site)
    delivery = DeliveryRecorded.model_validate(body.model_dump(exclude={"site"}))
    key_id = activity.delivery_key(
        body.site, delivery, f"api:{delivery.lot}:{delivery.delivered_on}"
    )
    if not await activity.record_delivery(svc, body.site, delivery, key=key_id):
        response.status_code = 200
    return {"recorded": key_id}
