"""Survey answers as load, scored with a ledger like complaints: customers with a contact
and deliveries, one campaign opened by hand, then every invitation answered over
`POST /api/answers/{token}` (idempotent per invitation), logged as confirmed, failed or
unclear, unconfirmed ones answered again. `reconcile_answers` checks one stored response
and one `survey.answered` event per answered invitation."""

from __future__ import annotations

import asyncio
import collections
import json
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from tests.support.ledger import Findings, Ledger, _repeated

ANSWER = {  # the qds-company items, all answered
    "pass_rate": 90,
    "failure_rate": 85,
    "on_time": 95,
    "intact": 100,
    "response_speed": 80,
    "attitude": 90,
}


async def open_campaign(http: httpx.AsyncClient, url: str, key: str, site: str, n: int) -> str:
    """`n` customers (one contact each, deliveries last month), one campaign; its id."""
    headers = {"X-API-Key": key}
    delivered = (datetime.now(UTC) - timedelta(days=20)).date()
    for i in range(n):
        customer = f"SC-{i:04d}"
        profile = {
            "customer_name": f"Customer {i}",
            "contacts": [{"name": f"Contact {i}", "email": f"c{i}@survey.example"}],
        }
        reply = await http.put(f"{url}/customers/{site}/{customer}", json=profile, headers=headers)
        reply.raise_for_status()
        delivery = {
            "site": site,
            "delivery_id": f"D-{i:04d}",
            "customer_id": customer,
            "customer_name": f"Customer {i}",
            "delivered_on": delivered.isoformat(),
            "quantity": 50_000,
            "lot": f"L-{i}",
        }
        (await http.post(f"{url}/deliveries", json=delivery, headers=headers)).raise_for_status()
    body = {
        "site": site,
        "period_start": (delivered - timedelta(days=30)).isoformat(),
        "period_end": (delivered + timedelta(days=10)).isoformat(),
    }
    reply = await http.post(f"{url}/campaigns", json=body, headers=headers)
    reply.raise_for_status()
    return str(reply.json()["campaign_id"])


async def tokens(survey_db: Any, campaign_id: str) -> dict[str, str]:
    """Invitation id -> the token of its link."""
    invitations = (
        await survey_db["invitations"].find({"campaign_id": campaign_id}, {"link": 1}).to_list()
    )
    return {d["_id"]: d["link"].rsplit("/s/", 1)[1] for d in invitations}


async def answer(http: httpx.AsyncClient, url: str, ledger: Ledger, ref: str, token: str) -> str:
    ledger.sends += 1
    ledger.states.setdefault(ref, "attempted")
    try:
        reply = await http.post(f"{url}/api/answers/{token}", json={"items": ANSWER})
    except httpx.ConnectError:
        ledger.record(ref, "failed")
    except httpx.HTTPError:
        ledger.record(ref, "unclear")
    else:
        if reply.status_code in (200, 201):
            ledger.record(ref, "confirmed")
        elif 400 <= reply.status_code < 500:
            raise AssertionError(f"answer refused: {reply.status_code} {reply.text}")
        else:
            ledger.record(ref, "unclear")
    return ledger.states[ref]


async def answer_all(url: Any, ledger: Ledger, invitations: dict[str, str]) -> None:
    """Answer every invitation until each is confirmed (`url()`: the service may move)."""
    async with httpx.AsyncClient(timeout=30) as http:
        for _ in range(600):
            pending = [i for i in invitations if ledger.states.get(i) != "confirmed"]
            if not pending:
                return
            for invitation in pending:
                if await answer(http, url(), ledger, invitation, invitations[invitation]) != (
                    "confirmed"
                ):
                    await asyncio.sleep(0.2)
    raise AssertionError(f"answers never confirmed: {ledger.pending()}")


async def reconcile_answers(
    ledger: Ledger, campaign_id: str, survey_db: Any, reporting_db: Any, findings: Findings
) -> int:
    responses = (
        await survey_db["responses"].find({"campaign_id": campaign_id}, {"_id": 1}).to_list()
    )
    stored = [str(r["_id"]) for r in responses]
    findings.lost += [f"answer {i}" for i in sorted(ledger.confirmed() - set(stored))]
    findings.phantom += [f"answer {i}" for i in sorted(set(stored) - set(ledger.states))]
    answered = (
        await reporting_db["events"]
        .find({"site": ledger.site, "type": "survey.answered"}, {"wire": 1})
        .to_list()
    )
    per_invitation = collections.Counter(
        json.loads(e["wire"])["data"].get("invitation_id") for e in answered
    )
    findings.duplicate_refs += [f"answered {i}" for i in _repeated(per_invitation.elements())]
    findings.lost += [f"answered event {i}" for i in sorted(set(stored) - set(per_invitation))]
    return len(stored)
