"""Scripted event histories for reporting tests: envelopes as intake, workflow and survey
would publish them, with explicit times."""

from __future__ import annotations

import random
import uuid
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

from pydantic import BaseModel

from services.common.contracts import cases, deliveries, surveys
from services.common.contracts.complaint import ComplaintSubmission
from services.common.contracts.complaints import ClassificationRecord, ComplaintRegistered
from services.common.contracts.envelope import Envelope
from services.common.contracts.registry import new_event
from tests.support.complaints import complaint

H = timedelta(hours=1)


def envelope(
    data: BaseModel, site: str, at: datetime, source: str = "/qloop/test"
) -> Envelope[Any]:
    return new_event(data, site=site, source=source, time=at)


def registered(
    site: str,
    number: str,
    received: datetime,
    *,
    customer: str = "C-1",
    model: str = "BX-200",
    nature: str = "quality",
    category: str | None = "a",
    department: str = "qa",
    claim: str | None = None,
    deadlines: dict[str, datetime] | None = None,
) -> Envelope[Any]:
    body = complaint(
        site,
        customer={"id": customer, "name": f"Customer {customer}"},
        received_at=received.isoformat(),
        products=[{"model": model, "quantity": 100}],
    )
    if claim:
        body["claimed_amount"] = {"amount": claim, "currency": "CNY"}
    event = ComplaintRegistered(
        number=number,
        sequence=int(number.rsplit("-", 1)[1]),
        complaint=ComplaintSubmission.model_validate(body),
        classification=ClassificationRecord(
            nature=nature,
            kind="claim" if claim else "appeal",
            category=category,
            severity="general",
            owner_department=department,
            matched_rule=None,
        ),
        rules_version="test",
        source="test",
        registered_at=received + timedelta(minutes=5),
        deadlines=deadlines or {},
    )
    return envelope(event, site, received + timedelta(minutes=5), "/qloop/intake")


def opened(site: str, number: str, at: datetime, *, repeat: bool = False) -> Envelope[Any]:
    return envelope(
        cases.CaseOpened(
            case_id=f"case-{number}",
            complaint_number=number,
            origin="complaint",
            customer_id=None,
            customer_name=None,
            nature=None,
            category=None,
            severity=None,
            owner_department="qa",
            stage="register",
            due=None,
            repeat=repeat,
            opened_at=at,
            rules_version="test",
        ),
        site,
        at,
        "/qloop/workflow",
    )


def moved(site: str, number: str, from_stage: str, to_stage: str, at: datetime) -> Envelope[Any]:
    return envelope(
        cases.CaseStageChanged(
            case_id=f"case-{number}",
            complaint_number=number,
            action=f"to_{to_stage}",
            from_stage=from_stage,
            to_stage=to_stage,
            actor="tester",
            review_round=0,
            due=None,
            changed_at=at,
            rules_version="test",
        ),
        site,
        at,
        "/qloop/workflow",
    )


def missed(site: str, number: str, stage: str, due: datetime, at: datetime) -> Envelope[Any]:
    return envelope(
        cases.CaseDeadlineMissed(
            case_id=f"case-{number}",
            complaint_number=number,
            stage=stage,
            due=due,
            owner_department="qa",
            noticed_at=at,
        ),
        site,
        at,
        "/qloop/workflow",
    )


def closed(
    site: str,
    number: str,
    at: datetime,
    *,
    on_time: bool | None,
    opened_at: datetime,
    customer: str = "C-1",
    outcome: str = "nonconformity",
    repeat: bool = False,
) -> Envelope[Any]:
    return envelope(
        cases.CaseClosed(
            case_id=f"case-{number}",
            complaint_number=number,
            customer_id=customer,
            customer_name=f"Customer {customer}",
            nature="quality",
            category="a",
            outcome=outcome,
            nonconformity=outcome == "nonconformity",
            repeat=repeat,
            closed_at=at,
            on_time=on_time,
            owner_department="qa",
            stage="closed",
            review_rounds=0,
            opened_at=opened_at,
            rules_version="test",
        ),
        site,
        at,
        "/qloop/workflow",
    )


def reopened(site: str, number: str, at: datetime) -> Envelope[Any]:
    return envelope(
        cases.CaseReopened(
            case_id=f"case-{number}",
            complaint_number=number,
            from_stage="closed",
            to_stage="investigate",
            reason="recurrence",
            by_case_id="case-other",
            reopened_at=at,
        ),
        site,
        at,
        "/qloop/workflow",
    )


def customer_score(
    site: str,
    customer: str,
    overall: float,
    at: datetime,
    *,
    band: str | None,
    dimensions: dict[str, float] | None = None,
    campaign: str = "camp-1",
    scope: str = "customer",
) -> Envelope[Any]:
    return envelope(
        surveys.SurveyScored(
            scope=scope,  # type: ignore[arg-type]
            campaign_id=campaign,
            customer_id=customer,
            customer_name=f"Customer {customer}",
            overall=overall,
            band=band,
            dimensions=dimensions or {},
            responses=1,
            rules_version="test",
            scored_at=at,
        ),
        site,
        at,
        "/qloop/survey",
    )


def campaign_opened(
    site: str, campaign: str, at: datetime, *, follow_up_of_case: str | None = None
) -> Envelope[Any]:
    return envelope(
        surveys.SurveyCampaignOpened(
            campaign_id=campaign,
            kind="follow_up" if follow_up_of_case else "scheduled",
            period_start=date(at.year, 1, 1),
            period_end=date(at.year, 3, 31),
            follow_up_of_case=follow_up_of_case,
            opened_at=at,
            answer_due=at + timedelta(days=7),
            eligible=(),
            invitations=0,
            rules_version="test",
        ),
        site,
        at,
        "/qloop/survey",
    )


def campaign_closed(
    site: str,
    campaign: str,
    at: datetime,
    *,
    sent: int,
    returned: int,
    late: int = 0,
    effects: tuple[surveys.ActionEffect, ...] = (),
) -> Envelope[Any]:
    return envelope(
        surveys.SurveyCampaignClosed(
            campaign_id=campaign,
            closed_at=at,
            sent=sent,
            returned=returned,
            late=late,
            response_rate=round(returned / sent * 100, 2) if sent else None,
            target_rate=80.0,
            target_met=(returned / sent * 100 >= 80) if sent else None,
            overall=None,
            band=None,
            actions_raised=0,
            effectiveness=effects,
        ),
        site,
        at,
        "/qloop/survey",
    )


def action_required(site: str, action: str, at: datetime, customer: str = "C-1") -> Envelope[Any]:
    return envelope(
        surveys.SurveyActionRequired(
            action_id=action,
            campaign_id="camp-1",
            customer_id=customer,
            customer_name=f"Customer {customer}",
            trigger="item-at-or-below-70",
            what="delivery on_time scored 65",
            why="item at or below 70",
            score=65.0,
            threshold=70.0,
            owner_department="pmc",
            due=at + timedelta(days=30),
            raised_at=at,
        ),
        site,
        at,
        "/qloop/survey",
    )


def delivery(
    site: str,
    lot: str,
    due_on: date | None,
    *,
    late: bool | None = False,
    customer: str = "C-1",
    delivery_id: str | None = None,
    at: datetime | None = None,
) -> Envelope[Any]:
    moment = at or datetime.fromisoformat("2026-03-15T08:00:00+00:00")
    return envelope(
        deliveries.DeliveryRecorded(
            delivery_id=delivery_id,
            customer_id=customer,
            customer_name=f"Customer {customer}",
            delivered_on=due_on or moment.date(),
            quantity=1000,
            lot=lot,
            product_model="BX-200",
            due_on=due_on,
            late=late,
        ),
        site,
        moment,
        "/erp",
    )


def money(text: str) -> Decimal:
    return Decimal(text)


def new_id() -> str:
    return uuid.uuid4().hex[:8]


def at(text: str) -> datetime:
    return datetime.fromisoformat(text)


def march_complaints(site: str) -> list[Envelope[Any]]:
    """Five complaints at a Shanghai site (UTC+8); four received in March 2026 there.

    - 0001 (C-1, claim 1000.50 CNY): acknowledged, investigated and 8D in time; closed in time.
    - 0002 (C-1): acknowledged late, investigation deadline missed: open, overdue.
    - 0003 (C-2, repeat): acknowledged in time, explained to the customer, closed late.
    - 0004 (C-2, category b): received 31 March 23:30 Shanghai (15:30 UTC): March; no case.
    - 0005 (C-3): received 1 April 00:30 Shanghai (31 March 16:30 UTC): April; no case.
    """
    p = site.upper()
    t1, t2, t3 = (
        at("2026-03-02T09:00:00+08:00"),
        at("2026-03-10T09:00:00+08:00"),
        at("2026-03-20T09:00:00+08:00"),
    )

    def due(t: datetime) -> dict[str, datetime]:
        return {"acknowledge": t + 24 * H, "investigate": t + 48 * H, "reply": t + 96 * H}

    return [
        registered(site, f"{p}-0001", t1, claim="1000.50", deadlines=due(t1)),
        opened(site, f"{p}-0001", t1 + 0.1 * H),
        moved(site, f"{p}-0001", "register", "acknowledge", t1 + 0.2 * H),
        moved(site, f"{p}-0001", "acknowledge", "investigate", t1 + 2 * H),
        moved(site, f"{p}-0001", "investigate", "containment", t1 + 30 * H),
        moved(site, f"{p}-0001", "containment", "reply", t1 + 40 * H),
        moved(site, f"{p}-0001", "reply", "implementation", t1 + 95 * H),
        closed(site, f"{p}-0001", t1 + 200 * H, on_time=True, opened_at=t1),
        registered(site, f"{p}-0002", t2, deadlines=due(t2)),
        opened(site, f"{p}-0002", t2),
        moved(site, f"{p}-0002", "register", "acknowledge", t2),
        moved(site, f"{p}-0002", "acknowledge", "investigate", t2 + 30 * H),
        missed(site, f"{p}-0002", "investigate", t2 + 48 * H, t2 + 48.1 * H),
        registered(site, f"{p}-0003", t3, customer="C-2", deadlines=due(t3)),
        opened(site, f"{p}-0003", t3, repeat=True),
        moved(site, f"{p}-0003", "register", "acknowledge", t3),
        moved(site, f"{p}-0003", "acknowledge", "investigate", t3 + 5 * H),
        moved(site, f"{p}-0003", "investigate", "customer_explanation", t3 + 50 * H),
        closed(
            site,
            f"{p}-0003",
            t3 + 120 * H,
            on_time=False,
            opened_at=t3,
            customer="C-2",
            outcome="explanation",
            repeat=True,
        ),
        registered(
            site, f"{p}-0004", at("2026-03-31T23:30:00+08:00"), customer="C-2", category="b"
        ),
        registered(site, f"{p}-0005", at("2026-04-01T00:30:00+08:00"), customer="C-3"),
    ]


def march_feedback(site: str) -> list[Envelope[Any]]:
    """Ten customer scores in March (7 > 80, 2 in 70-80, 1 in 60-70), a campaign closed with
    7 of 10 forms back, a survey action that worked, and deliveries: 10 lots due in March of
    which 1 late, one resent, one without a due date, one due in April."""
    scores = [85.0] * 6 + [95.0, 75.0, 72.0, 65.0]
    found = [
        customer_score(
            site,
            f"C-{i + 1}",
            score,
            at("2026-03-25T10:00:00+08:00"),
            band=None,
            dimensions={"quality": score, "delivery": 70.0 if i < 5 else 90.0},
        )
        for i, score in enumerate(scores)
    ]
    found.append(
        customer_score(
            site, "C-1", 88.0, at("2026-03-25T10:00:00+08:00"), band=None, scope="response"
        )
    )
    found.append(campaign_opened(site, "camp-1", at("2026-03-01T09:00:00+08:00")))
    found.append(
        campaign_closed(
            site, "camp-1", at("2026-03-28T09:00:00+08:00"), sent=10, returned=7, late=1
        )
    )
    found.append(action_required(site, "act-1", at("2026-03-05T09:00:00+08:00")))
    found.append(
        campaign_closed(
            site,
            "camp-0",
            at("2026-03-29T09:00:00+08:00"),
            sent=0,
            returned=0,
            effects=(
                surveys.ActionEffect(
                    action_id="act-1",
                    trigger="t",
                    subject="on_time",
                    before=65,
                    after=82,
                    effective=True,
                ),
            ),
        )
    )
    for n in range(10):
        found.append(
            delivery(site, f"L{n}", date(2026, 3, 1 + n), late=n == 3, delivery_id=f"D{n}")
        )
    found.append(delivery(site, "L3", date(2026, 3, 4), late=True, delivery_id="D3"))  # resent
    found.append(delivery(site, "LX", None, late=None))
    found.append(delivery(site, "LA", date(2026, 4, 2), late=True))
    return found


def year_history(
    site: str, year: int = 2026, months: int = 11, seed: int = 1
) -> list[Envelope[Any]]:
    """A plausible year for a dashboard: a few complaints a month with varied timeliness,
    quarterly customer scores, a campaign per quarter, deliveries with some late lots."""
    rng = random.Random(seed)
    customers = ["C-1", "C-2", "C-3", "C-4"]
    tags = ["crack", "burr", "label", "packaging", "dimension"]
    found: list[Envelope[Any]] = []
    n = 0
    for month in range(1, months + 1):
        for _ in range(rng.randint(3, 7)):
            n += 1
            number = f"{site.upper()}-{n:04d}"
            start = datetime(year, month, rng.randint(1, 25), 9, tzinfo=UTC)
            dues = {
                "acknowledge": start + 24 * H,
                "investigate": start + 48 * H,
                "reply": start + 120 * H,
            }
            event = registered(
                site,
                number,
                start,
                customer=rng.choice(customers),
                category=rng.choice(["a", "a", "b", "c"]),
                claim="250.00" if rng.random() < 0.2 else None,
                deadlines=dues,
            )
            tagged = event.data.model_copy(
                update={
                    "classification": event.data.classification.model_copy(
                        update={"tags": (rng.choice(tags),)}
                    )
                }
            )
            found.append(envelope(tagged, site, event.time, "/qloop/intake"))
            found.append(opened(site, number, start, repeat=rng.random() < 0.05))
            ack = start + rng.choice([2, 4, 20, 30]) * H
            found.append(moved(site, number, "register", "acknowledge", start))
            found.append(moved(site, number, "acknowledge", "investigate", ack))
            if month == months and rng.random() < 0.6:
                if rng.random() < 0.5:
                    found.append(
                        missed(
                            site,
                            number,
                            "investigate",
                            dues["investigate"],
                            dues["investigate"] + H,
                        )
                    )
                continue
            found.append(
                moved(site, number, "investigate", "reply", ack + rng.choice([20, 40, 60]) * H)
            )
            found.append(
                moved(
                    site, number, "reply", "implementation", start + rng.choice([90, 110, 130]) * H
                )
            )
            found.append(
                closed(site, number, start + 300 * H, on_time=rng.random() < 0.85, opened_at=start)
            )
        for day in (5, 15, 25):
            lot = f"L{month}-{day}"
            found.append(
                delivery(
                    site,
                    lot,
                    date(year, month, day),
                    late=rng.random() < 0.08,
                    delivery_id=lot,
                    customer=rng.choice(customers),
                )
            )
        if month % 3 == 0:
            when = datetime(year, month, 28, 9, tzinfo=UTC)
            for customer in customers:
                overall = round(rng.uniform(82, 98), 1)
                band = "very_satisfied" if overall > 90 else "satisfied"
                found.append(
                    customer_score(
                        site,
                        customer,
                        overall,
                        when,
                        band=band,
                        campaign=f"q{month}",
                        dimensions={
                            "quality": round(rng.uniform(80, 99), 1),
                            "delivery": round(rng.uniform(75, 99), 1),
                            "service": round(rng.uniform(85, 99), 1),
                        },
                    )
                )
            found.append(
                campaign_closed(site, f"q{month}", when, sent=20, returned=rng.randint(15, 20))
            )
    return found
