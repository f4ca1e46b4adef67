"""Reporting benchmark: monthly report latency against the size of the history.

    .venv/bin/python bench/bench_reporting.py [--sizes 10000 100000 1000000] [--no-write]

Histories are seeded directly into the read models, in bulk (what the projector would have
written): a group of sites with 400 complaints per site and month over 25 months, so
10k cases = 1 site, 100k = 10 sites, 1M = 100 sites. Each size adds to the previous one.
Every site gets its buckets; the measured site also its complaint entities and month
listings (the other sites' entities are not written: reports never read the `entities`
collection, and writing a million of them into FerretDB would take most of an hour).
For each size the monthly report (JSON: KPIs, breakdowns, the month's 400 items with
satisfaction), the yearly summary and the KPIs of a month are timed for one site, and
the monthly HQ roll-up over every site. Goal: flat in the history size. Writes the
"Reporting" section of docs/performance.md (other sections are kept).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import statistics
import sys
import time
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from pymongo import AsyncMongoClient

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.report import machine, table, update_section  # noqa: E402
from services.common.rulebook import Rulebook  # noqa: E402
from services.common.storage.locks import DocumentLocks  # noqa: E402
from services.common.storage.mongo import ensure_indexes  # noqa: E402
from services.reporting import store  # noqa: E402
from services.reporting.domain import complaint_figures  # noqa: E402
from services.reporting.domain.buckets import BucketKey, add  # noqa: E402
from services.reporting.domain.periods import month_of  # noqa: E402
from services.reporting.domain.policy import Policy  # noqa: E402
from services.reporting.reports import Reports, Scope  # noqa: E402
from services.reporting.settings import ReportingSettings  # noqa: E402
from tests.support.infra import provide  # noqa: E402

PER_MONTH, MONTHS = 400, 25
START = datetime(2024, 1, 1, tzinfo=UTC)
H = timedelta(hours=1)
ONE, MONTH = Scope("s000", ["s000"]), "2025-06"
STAGES = ("investigate", "containment", "root_cause", "corrective_action", "review", "reply")


def month_start(index: int) -> datetime:
    year, month = divmod(START.month - 1 + index, 12)
    return START.replace(year=START.year + year, month=month + 1)


def complaint(site: str, n: int, month: int, rng: random.Random) -> dict[str, Any]:
    received = month_start(month) + timedelta(hours=rng.uniform(0, 27 * 24))
    left = {"acknowledge": received + rng.choice([2, 5, 30]) * H}
    closed = rng.random() < 0.85
    if closed:
        left["investigate"] = received + rng.choice([20, 40, 60]) * H
        left["reply"] = received + rng.choice([80, 100, 130]) * H
    return {
        "site": site,
        "number": f"{site.upper()}-{n:07d}",
        "origin": "complaint",
        "received_at": received,
        "customer_id": f"C-{rng.randint(1, 50)}",
        "customer_name": "Customer",
        "product": f"P-{rng.randint(1, 20)}",
        "nature": rng.choice(["quality", "quality", "delivery", "service"]),
        "category": rng.choice(["a", "b", "c"]),
        "department": rng.choice(["qa", "pmc", "sales", "engineering"]),
        "tags": [rng.choice(["crack", "burr", "label", "packaging", "dimension"])],
        "claim": {"currency": "CNY", "cents": 25000} if rng.random() < 0.1 else None,
        "registered_due": {
            "acknowledge": received + 24 * H,
            "investigate": received + 48 * H,
            "reply": received + 120 * H,
        },
        "stage_due": {},
        "left": left,
        "missed": {},
        "escalations": {},
        "case_id": f"case-{site}-{n}",
        "repeat": rng.random() < 0.02,
        "stage": "closed" if closed else rng.choice(STAGES),
        "stage_at": received + 130 * H,
        "closed_at": received + 200 * H if closed else None,
        "closed_on_time": rng.random() < 0.9 if closed else None,
        "nonconformity": closed,
    }


def site_history(site: str, rng: random.Random, listed: bool) -> dict[str, list[dict[str, Any]]]:
    """Documents of one site's 25 months by collection, as the projector leaves them:
    buckets, and (`listed`) the entities and the month listings of its complaints."""
    policy, totals = Policy(), {}  # type: ignore[var-annotated]
    found: dict[str, list[dict[str, Any]]] = {}
    n = 0
    for month in range(MONTHS):
        for _ in range(PER_MONTH):
            n += 1
            state = complaint(site, n, month, rng)
            contributed = complaint_figures.contributions(state, UTC, policy)
            for key, counters in contributed.items():
                add(totals.setdefault(key, {}), counters)
            record = store.EntityRecord(
                id=f"complaint|{site}|{state['number']}",
                kind="complaint",
                state=state,
                version=8,
                applied=[str(uuid.uuid4()) for _ in range(3)],
                contributed=contributed,
            )
            if not listed:
                continue
            listing = {"month": month_of(state["received_at"], UTC), "link": state["case_id"]}
            found.setdefault(store.ENTITIES, []).append(store.entity_document(record, listing))
            items = store.listing_collection("complaint", site, listing["month"])
            found.setdefault(items, []).append(store.item_document(record, listing))
        when = month_start(month) + timedelta(days=20)
        for customer in range(1, 51, 3):  # a customer score for a third of the customers
            key = BucketKey(site, month_of(when, UTC), "customer", f"C-{customer}")
            score = {"sat_sum": rng.randint(8000, 9900), "sat_n": 1}
            add(totals.setdefault(key, {}), score)
            add(totals.setdefault(BucketKey(site, key.month, "all", "all"), {}), score)
    for key, counters in totals.items():
        name = store.monthly_collection(store.BUCKETS, site, key.month)
        found.setdefault(name, []).append(store.bucket_document(key, counters))
    return found


async def seed(db: Any, sites: list[str]) -> None:
    rng = random.Random(42)
    for site in sites:
        for collection, documents in site_history(site, rng, site == ONE.label).items():
            for start in range(0, len(documents), 2000):
                await db[collection].insert_many(documents[start : start + 2000], ordered=False)


async def timed(call: Callable[[], Awaitable[Any]], runs: int) -> tuple[float, float]:
    samples = []
    for _ in range(runs):
        began = time.perf_counter()
        await call()
        samples.append((time.perf_counter() - began) * 1000)
    samples.sort()
    return statistics.median(samples), samples[int(len(samples) * 0.95) - 1]


async def main(sizes: list[int], runs: int, write: bool) -> None:
    rows = []
    with provide() as infra:
        client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(
            infra.mongodb_url, tz_aware=True
        )
        db = client[f"qloop_bench_{uuid.uuid4().hex[:6]}_reporting"]
        await ensure_indexes(db, store.INDEXES)
        reports = Reports(
            store=store.MongoReadModels(db, DocumentLocks()),
            rulebook=Rulebook({}),
            settings=ReportingSettings(),
        )
        seeded = 0
        try:
            for size in sizes:
                began = time.perf_counter()
                have, want = seeded // (PER_MONTH * MONTHS), size // (PER_MONTH * MONTHS)
                await seed(db, [f"s{i:03d}" for i in range(have, want)])
                seeded = want * PER_MONTH * MONTHS
                seconds = time.perf_counter() - began
                monthly = await timed(lambda: reports.monthly(ONE, MONTH), runs)
                yearly = await timed(lambda: reports.yearly(ONE, 2025), runs)
                month_kpis = await timed(lambda: reports.kpis(ONE, MONTH, "customer"), runs)
                hq = await timed(lambda: reports.kpis(Scope("*", None), MONTH, "all"), runs)
                items = len((await reports.monthly(ONE, MONTH))["items"])
                row = [
                    f"{seeded:,}",
                    f"{want}",
                    f"{items}",
                    f"{monthly[0]:.0f} / {monthly[1]:.0f}",
                    f"{yearly[0]:.0f} / {yearly[1]:.0f}",
                    f"{month_kpis[0]:.0f} / {month_kpis[1]:.0f}",
                    f"{hq[0]:.0f} / {hq[1]:.0f}",
                    f"{seconds:.0f}",
                ]
                rows.append(row)
                print(" | ".join(row), flush=True)
        finally:
            await client.drop_database(db.name)
            await client.close()
    header = [
        "cases in history",
        "sites",
        "items in the month",
        "monthly report ms (p50 / p95)",
        "yearly summary ms",
        "KPIs per customer ms",
        "HQ roll-up KPIs ms",
        "seeding s",
    ]
    body = (
        f"Measured {machine()} with `bench/bench_reporting.py` on FerretDB 1.24 (SQLite) from "
        f"`deploy/local/infra.sh`: {PER_MONTH} complaints per site and month over {MONTHS} "
        f"months, seeded in bulk into the read models; {runs} runs per figure, one site's "
        "June 2025 (HQ: every site). Goal: flat in the size of the history.\n\n"
        + table(header, rows)
        + "\n\nOne site's reports stay flat from 10k to 1M cases: they read only that site's "
        "month collections. The HQ roll-up reads one bucket collection per site, so it grows "
        "with the number of sites (1, 10, 100 here), not with the length of the history."
    )
    print(body)
    if write:
        update_section("Reporting", body)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000, 1_000_000])
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--no-write", action="store_true")
    arguments = parser.parse_args()
    os.environ.setdefault("PYTHONHASHSEED", "0")
    asyncio.run(main(arguments.sizes, arguments.runs, not arguments.no_write))
