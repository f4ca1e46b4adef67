"""Personal data and records retention, the part every service shares.

Each service describes the contact details it holds with a `PersonalData` (its own
`services/<name>/privacy.py`, the only code that knows its collections) and installs it in
its `wire`. This module then gives it:

- `erasure_queue` + `erasure_handler`: consume `customer.erasure_requested`, erase the
  service's copies, and confirm with `customer.erasure_completed` through the outbox of a
  confirmation document whose `_id` is the request id: a redelivered request erases again
  (nothing is left to erase) but is confirmed once;
- `router`: `GET /privacy/customers/{customer_id}?site=S` (everything this service holds
  about the customer's contacts) and `POST /privacy/retention?site=S` (purge now);
- `run_retention`: the background job purging records older than each site's retention
  (`workflow.records_retention_*` in the rule file), at start and every `RETENTION_EVERY`.

Both endpoints need an API key with the role `privacy` (or `admin`) scoped to the site.
Contact details are never logged; only counts are.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Annotated, Any, Protocol

from fastapi import Depends, HTTPException, Query
from prometheus_client import Counter, Gauge
from pydantic import BaseModel

from services.common.auth import Caller, ensure_site, require
from services.common.contracts.envelope import SITE_PATTERN, Envelope
from services.common.contracts.privacy import CustomerErasureCompleted, CustomerErasureRequested
from services.common.contracts.registry import new_event
from services.common.http import guarded_router
from services.common.messaging.consumer import Handler, Outcome, Rejected
from services.common.messaging.topology import QueueSpec
from services.common.rulebook import UnknownSite
from services.common.rules import SiteRules
from services.common.runtime import ServiceContext, service_context
from services.common.storage.once import insert_once
from services.common.storage.outbox import with_outbox

ERASURES = "privacy_erasures"  # one confirmation per request, carrying its event (outbox)
RETENTION_EVERY = timedelta(hours=6)
# A contact erased in place keeps its keys (readers expect them) with no value.
ERASED_CONTACT: dict[str, None] = {"name": None, "email": None}
log = logging.getLogger(__name__)

Counts = dict[str, int]


class PersonalData(Protocol):
    """The contact details one service holds, and its records under retention."""

    async def export(self, site: str, customer_id: str) -> list[dict[str, Any]]:
        """One entry per record holding a contact of the customer:
        `{"collection", "record", "contact": {...}}`."""
        ...

    async def erase(self, site: str, customer_id: str, *, now: datetime) -> Counts:
        """Erase the customer's contact details; collection -> records changed."""
        ...

    async def purge(self, rules: SiteRules, *, now: datetime) -> Counts:
        """Delete (or anonymise) the site's records older than its retention;
        collection -> records removed."""
        ...


@dataclass(frozen=True)
class PrivacyMetrics:
    purged: Counter
    erased: Counter
    last_pass: Gauge


@dataclass(frozen=True)
class Privacy:
    holder: PersonalData
    metrics: PrivacyMetrics


def install(ctx: ServiceContext, holder: PersonalData) -> Privacy:
    """Call once in the service's `wire`: registers the metrics on its registry."""
    metrics = PrivacyMetrics(
        purged=Counter(
            "qloop_retention_purged_records_total",
            "Records deleted or anonymised because they outlived the site's retention.",
            ["site", "collection"],
            registry=ctx.registry,
        ),
        erased=Counter(
            "qloop_privacy_erased_records_total",
            "Records whose contact details were erased on a customer's request.",
            ["site", "collection"],
            registry=ctx.registry,
        ),
        last_pass=Gauge(
            "qloop_retention_last_pass_timestamp_seconds",
            "When the retention job last finished a pass over a site (Unix time).",
            ["site"],
            registry=ctx.registry,
        ),
    )
    privacy = Privacy(holder, metrics)
    ctx.state["privacy"] = privacy
    return privacy


def erasure_queue(service: str, delivery_limit: int, *extra: str) -> QueueSpec:
    return QueueSpec(f"{service}.privacy", ("*.customer.erasure_requested", *extra), delivery_limit)


def erasure_handler(ctx: ServiceContext) -> Handler:
    async def handle(envelope: Envelope[BaseModel]) -> Outcome:
        request = envelope.data
        assert isinstance(request, CustomerErasureRequested)
        try:
            # A site this deployment has no rules for is another deployment's (side by
            # side on one broker): confirming it would answer for data held elsewhere.
            ctx.rulebook.for_site(envelope.site)
        except UnknownSite as exc:
            raise Rejected(str(exc), ["site"]) from None
        return await erase_for(ctx, envelope.site, request, correlation_id=envelope.correlationid)

    return handle


async def erase_for(
    ctx: ServiceContext,
    site: str,
    request: CustomerErasureRequested,
    *,
    correlation_id: str | None = None,
) -> Outcome:
    privacy: Privacy = ctx.state["privacy"]
    now = ctx.clock.now()
    erased = await privacy.holder.erase(site, request.customer_id, now=now)
    for collection, n in erased.items():
        privacy.metrics.erased.labels(site, collection).inc(n)
    done = CustomerErasureCompleted(
        request_id=request.request_id,
        customer_id=request.customer_id,
        service=ctx.name,
        erased=erased,
        completed_at=now,
    )
    event = new_event(
        done,
        site=site,
        source=f"/qloop/{ctx.name}",
        time=now,
        subject=request.request_id,
        correlation_id=correlation_id,
    )
    document = {
        "_id": request.request_id,
        "site": site,
        "customer_id": request.customer_id,
        "erased": erased,
        "completed_at": now,
    }
    if not await insert_once(ctx.db[ERASURES], with_outbox(document, [event])):
        ctx.relay.kick(ERASURES, request.request_id)  # its event may still wait (a redelivery)
        return "duplicate"
    ctx.relay.kick(ERASURES, request.request_id, [event])
    log.info("erased contact details for request %s: %s", request.request_id, erased)
    return "stored"


async def purge_site(ctx: ServiceContext, rules: SiteRules) -> Counts:
    privacy: Privacy = ctx.state["privacy"]
    purged = await privacy.holder.purge(rules, now=ctx.clock.now())
    site = rules.site.id
    for collection, n in purged.items():
        privacy.metrics.purged.labels(site, collection).inc(n)
    privacy.metrics.last_pass.labels(site).set(ctx.clock.now().timestamp())
    if any(purged.values()):
        log.info("retention purged at site %s: %s", site, purged)
    return purged


async def run_retention(ctx: ServiceContext) -> None:
    """Background job: purge every site's expired records, a while after start and then
    periodically. Not at once: on FerretDB each pass scans the large collections, and a
    start (or a restart after a crash) has catching up to do first."""
    await asyncio.sleep(ctx.settings.retention_first_seconds)
    while True:
        for site in ctx.rulebook.sites:
            try:
                await purge_site(ctx, ctx.rulebook.for_site(site))
            except Exception:
                log.exception("retention pass for site %s failed; will retry", site)
        await asyncio.sleep(RETENTION_EVERY.total_seconds())


# --- HTTP ---------------------------------------------------------------------------------
router = guarded_router(tags=["privacy"])
Officer = Annotated[Caller, Depends(require("privacy"))]
Context = Annotated[ServiceContext, Depends(service_context)]
Site = Annotated[str, Query(pattern=SITE_PATTERN)]


def _privacy(ctx: ServiceContext) -> Privacy:
    privacy: Privacy | None = ctx.state.get("privacy")
    if privacy is None:
        raise HTTPException(404, f"the {ctx.name} service holds no personal data")
    return privacy


@router.get(
    "/privacy/customers/{customer_id}",
    summary="Every contact detail this service holds about one customer (for an export)",
)
async def export_customer(
    customer_id: str, site: Site, key: Officer, ctx: Context
) -> dict[str, Any]:
    ensure_site(key, site)
    records = await _privacy(ctx).holder.export(site, customer_id)
    return {"service": ctx.name, "site": site, "customer_id": customer_id, "records": records}


@router.post(
    "/privacy/retention",
    summary="Purge the site's records older than its retention now (the job runs anyway)",
)
async def purge_now(site: Site, key: Officer, ctx: Context) -> dict[str, Any]:
    ensure_site(key, site)
    try:
        rules = ctx.rulebook.for_site(site)
    except UnknownSite:
        raise HTTPException(404, f"no rules for site {site!r}") from None
    purged = await purge_site(ctx, rules)
    return {"service": ctx.name, "site": site, "purged": purged}
