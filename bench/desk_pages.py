"""The desk's pages through HTTP at size, against a raw read of the documents they need.

    python -m bench.desk_pages [N_CASES] [N_COMPLAINTS] [--requests R] [--concurrency C]
                               [--wait-idle] [--smoke] [--out FILE]

- Seeds a fresh database (its own name and queue prefix) directly, not through the broker:
  N open cases of the sz site spread over the stages of its workflow, each stored by the
  workflow's own store (`MongoCaseStore.open`, which also lists it in its site|stage
  worklist), and M complaints in reporting's search index (`SearchIndex.index`, states
  shaped like reporting's complaint entity), received over the last two years. Both
  rates are reported.
- Starts the real desk, workflow, intake and reporting processes (tests/support/desk.py;
  before the seeding, so their start-up passes run on an empty database), signs in a
  quality engineer of sz and times, through HTTP with the session cookie, "my work"
  (GET /work), the case page (GET /cases/{id} of random seeded cases) and search (a word
  that matches few complaints, one that matches many, a filter alone): p50/p95/p99 over R
  requests each, one at a time and C at a time.
- In the same run, the raw limit: the documents each page needs read with PyMongo (the
  worklist documents and each listed case by `_id`; the case by `_id`; the months, the
  postings and the page's 25 summaries by `_id`), made in the same order and concurrency
  as the services make them, timed the same way; each page's figure is given as a ratio
  to it.

Needs QLOOP_AMQP_URL and QLOOP_MONGODB_URL (`make bench` sets them). `--wait-idle` waits
(up to 20 minutes) until no other test run (pytest, a CI run) has been seen for a minute
before measuring.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import statistics
import subprocess
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx
from pymongo import AsyncMongoClient
from pymongo.errors import DuplicateKeyError

from bench.report import DOC, delete_queues, machine, table, update_section
from services.common.rules import load_rules
from services.common.settings import ServiceSettings
from services.common.storage.locks import DocumentLocks
from services.reporting.domain import complaint_figures, search
from services.reporting.search_store import DOCS, MONTHS, TERMS, SearchIndex
from services.workflow.domain.case import Case
from services.workflow.store_mongo import MongoCaseStore
from services.workflow.store_worklists import WORKLISTS, worklist_id
from tests.support.desk import ENGINEER, PASSWORD, desk_stack
from tests.unit.workflow.builders import Driver, review_to_close, to_review

ROOT = Path(__file__).resolve().parents[1]
SITE, ZONE = "sz", ZoneInfo("Asia/Shanghai")
RARE_EVERY = 1000  # one complaint in this many names the rare lot number
COMMON = "外壳"  # in about half of the descriptions
FILTER = {"stage": "investigate"}
SEED_CONCURRENCY = 16
Timed = Callable[[int], Awaitable[None]]


@dataclass
class Results:
    cases: int
    complaints: int
    cases_seconds: float
    complaints_seconds: float
    requests: int
    concurrency: int
    budget: float
    worklist: int = 0  # cases on the engineer's "my work"
    matches: dict[str, int] = field(default_factory=dict)  # search -> total found
    rows: list[list[str]] = field(default_factory=list)
    failures: dict[str, int] = field(default_factory=dict)  # page -> answers without data
    idle: str = ""


def case_templates() -> list[Case]:
    """Real cases of the sz workflow, one at each open stage its main path passes."""
    rules = load_rules(ROOT / "rules" / "abc-company.yaml")
    start = datetime.now(UTC) - timedelta(days=3)
    driver = Driver(rules, start, number="T-1")
    found = {driver.case.stage: driver.case}
    original = driver.do

    def do(action: str, **kwargs: Any) -> Case:
        case = original(action, **kwargs)
        found.setdefault(case.stage, case)
        return case

    driver.do = do  # type: ignore[method-assign]
    to_review(driver)
    review_to_close(driver)
    return [c for c in found.values() if not c.terminal]


async def seed_cases(db: Any, n: int) -> float:
    """`n` open cases stored by the workflow's store, spread over the stages; seconds."""
    store = MongoCaseStore(db, DocumentLocks(), id_filters_only=True)
    templates, now = case_templates(), datetime.now(UTC)
    gate = asyncio.Semaphore(SEED_CONCURRENCY)

    async def one(i: int) -> None:
        template = templates[i % len(templates)]
        # Due times from two days overdue to two weeks ahead, so the list has every colour.
        due = now + timedelta(minutes=random.Random(i).uniform(-2 * 1440, 14 * 1440))
        case = template.model_copy(
            deep=True, update={"id": f"{SITE}:B-{i:07d}", "reference": f"B-{i:07d}", "due": due}
        )
        async with gate:
            await store.open(case, [])

    started = time.perf_counter()
    await asyncio.gather(*(one(i) for i in range(n)))
    return time.perf_counter() - started


def complaint_state(n: int, rng: random.Random, now: datetime) -> dict[str, Any]:
    """A complaint as reporting's entity holds it (domain/complaints.py), received within
    the last two years."""
    received = now - timedelta(minutes=rng.uniform(0, 2 * 365 * 1440))
    closed = rng.random() < 0.8
    lot = f"L{n % RARE_EVERY:04d}" if n % RARE_EVERY == 7 else f"K{rng.randint(0, 99999):05d}"
    description = rng.choice(
        [f"客户来料检验发现{COMMON}开裂 cracked housing", "包装破损 packaging damaged in transit",
         f"{COMMON}尺寸超差 dimension out of tolerance", "物流延误 delivery late by three days"]
    )  # fmt: skip
    stage = "closed" if closed else rng.choice(["investigate", "containment", "root_cause"])
    return {
        "site": SITE, "number": f"SZ-{n:07d}", "origin": "complaint",
        "received_at": received, "registered_at": received + timedelta(minutes=5),
        "customer_id": f"C-{rng.randint(1, 400)}", "customer_name": f"客户 {rng.randint(1, 400)}",
        "product": f"BX-{rng.randint(1, 60) * 100}", "description": description,
        "phenomenon": None, "identifiers": sorted({f"BX-{rng.randint(1, 60) * 100}", lot}),
        "nature": rng.choice(["quality", "quality", "delivery", "service"]), "kind": "appeal",
        "category": rng.choice(["a", "b", "c"]), "severity": "general", "tags": [],
        "department": rng.choice(["quality", "pmc", "engineering"]), "claim": None,
        "registered_due": {"acknowledge": received + timedelta(days=1)}, "stage_due": {},
        "left": {}, "missed": {}, "escalations": {}, "case_id": f"{SITE}:B-{n:07d}",
        "stage": stage, "stage_at": received + timedelta(hours=30),
        "closed_at": received + timedelta(days=9) if closed else None,
    }  # fmt: skip


async def seed_complaints(db: Any, m: int) -> float:
    """`m` complaints indexed by reporting's own `SearchIndex.index`; seconds."""
    index, rng, now = SearchIndex(db), random.Random(19), datetime.now(UTC)
    states = [complaint_state(n, rng, now) for n in range(m)]
    gate = asyncio.Semaphore(SEED_CONCURRENCY)

    async def one(state: dict[str, Any]) -> None:
        month = complaint_figures.month(state, ZONE)
        async with gate:
            for attempt in range(5):  # two first upserts of one posting: one of them retries
                try:
                    await index.index(f"complaint|{SITE}|{state['number']}", SITE, month, state)
                    return
                except DuplicateKeyError:
                    if attempt == 4:
                        raise

    started = time.perf_counter()
    await asyncio.gather(*(one(s) for s in states))
    return time.perf_counter() - started


class RawReads:
    """The documents each page needs, read with PyMongo the way the services read them."""

    def __init__(self, client: AsyncMongoClient[dict[str, Any]], database: str) -> None:
        self.workflow = client[f"{database}_workflow"]
        self.reporting = client[f"{database}_reporting"]

    async def worklist(self, stages: list[str]) -> int:
        """The worklist documents of the stages the person acts in, then each listed case
        by `_id`, one after another (worklist.py)."""
        read = 0
        for stage in stages:
            listed = await self.workflow[WORKLISTS].find_one({"_id": worklist_id(SITE, stage)})
            for case_id in (listed or {}).get("cases") or []:
                read += bool(await self.workflow["cases"].find_one({"_id": case_id}, {"outbox": 0}))
        return read

    async def case(self, case_id: str) -> None:
        assert await self.workflow["cases"].find_one({"_id": case_id}, {"outbox": 0})

    async def search(self, terms: set[str]) -> None:
        """The site's months, each month's postings of the terms (together), then the
        summaries of the first page by `_id` (together): search_store.py's reads."""
        found = await self.reporting[MONTHS].find_one({"_id": SITE})
        months = sorted((found or {}).get("months", ()))
        ordered = sorted(terms)
        postings = await asyncio.gather(*(
            self.reporting[TERMS].find_one({"_id": f"{SITE}|{month}|{term}"})
            for month in months for term in ordered
        ))  # fmt: skip
        entries: set[str] = set()
        for at in range(0, len(postings), len(ordered)):
            group = [set((p or {}).get("entries", ())) for p in postings[at : at + len(ordered)]]
            entries |= search.matching(group)
        page = [search.entity_of(e) for e in sorted(entries, reverse=True)[:25]]
        await asyncio.gather(*(self.reporting[DOCS].find_one({"_id": e}) for e in page))


def acting_stages() -> list[str]:
    """The open stages whose actors include one of the quality department's roles."""
    rules = load_rules(ROOT / "rules" / "abc-company.yaml")
    roles = {r for d in rules.departments if d.id == "quality" for r in d.roles}
    return [
        s.id
        for s in rules.workflow.stages
        if not s.terminal and (roles & set(s.actors) or "case_owner" in s.actors)
    ]


async def sign_in(desk: httpx.AsyncClient, login: str) -> None:
    await desk.get("/sign-in")
    data = {"login": login, "password": PASSWORD, "csrf": desk.cookies["qloop_csrf"]}
    signed = await desk.post("/sign-in", data=data)
    if signed.status_code != 303:
        raise RuntimeError(f"sign-in failed: {signed.status_code} {signed.text[:300]}")


def wait_idle(quiet: float = 60.0, give_up: float = 1200.0) -> str:
    """Wait until no other test run (pytest, a CI run) has been seen for `quiet` seconds,
    looking every 30 s; what happened, in words."""
    started = last_seen = time.monotonic()
    while time.monotonic() - last_seen < quiet:
        if time.monotonic() - started > give_up:
            return f"other test runs still running after {give_up / 60:.0f} minutes' wait"
        found = subprocess.run(["pgrep", "-f", r"pytest|\.ci/run"], capture_output=True, text=True)
        if found.stdout.split():
            last_seen = time.monotonic()
        time.sleep(min(30.0, quiet))
    return f"no other test run for a minute before measuring ({time.monotonic() - started:.0f} s)"


def service_ports() -> dict[str, int]:
    """The port of each service this process started (`services.cli run NAME --port P`;
    the last one started of a name wins: the desk's second process, told the services)."""
    found: dict[str, int] = {}
    for proc in sorted(Path("/proc").glob("[0-9]*"), key=lambda p: int(p.name)):
        try:
            args = (proc / "cmdline").read_bytes().decode().split("\0")
            parent = (proc / "stat").read_text().rsplit(")", 1)[1].split()[1]
        except OSError:
            continue
        if int(parent) == os.getpid() and "run" in args and "--port" in args:
            found[args[args.index("run") + 1]] = int(args[args.index("--port") + 1])
    return found


def percentiles(samples: list[float]) -> tuple[float, float, float]:
    if len(samples) < 2:
        return (samples[0] * 1000,) * 3
    cuts = statistics.quantiles(samples, n=100, method="inclusive")
    return cuts[49] * 1000, cuts[94] * 1000, cuts[98] * 1000


async def timed(job: Timed, requests: int, concurrency: int, budget: float) -> list[float]:
    """Seconds of each call of `job`, `concurrency` at a time, `requests` calls or as many
    as start within `budget` seconds."""
    times: list[float] = []
    turn = iter(range(requests))
    end = time.perf_counter() + budget

    async def worker() -> None:
        for i in turn:
            if time.perf_counter() > end:
                return
            started = time.perf_counter()
            await job(i)
            times.append(time.perf_counter() - started)

    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return times


async def measure(r: Results, base: str, raw: RawReads, wait: bool) -> None:
    rng = random.Random(7)
    cases = [f"{SITE}:B-{rng.randrange(r.cases):07d}" for _ in range(r.requests)]
    rare = f"L{7 % RARE_EVERY:04d}"
    searches = {
        f"a word matching few (`{rare}`)": {"q": rare},
        f"a word matching many (`{COMMON}`)": {"q": COMMON},
        "a filter alone (stage investigate)": dict(FILTER),
    }
    stages = acting_stages()
    ports = service_ports()
    workflow = f"http://127.0.0.1:{ports['workflow']}"
    reporting = f"http://127.0.0.1:{ports['reporting']}"
    async with (
        httpx.AsyncClient(base_url=base, timeout=120.0) as desk,
        httpx.AsyncClient(timeout=120.0) as api,
    ):
        await sign_in(desk, ENGINEER["id"])
        bearer: dict[str, str] = {}

        async def token() -> None:
            csrf = (await desk.get("/session")).json()["csrf"]
            issued = await desk.post("/session/token", headers={"X-CSRF-Token": csrf})
            bearer["Authorization"] = f"Bearer {issued.json()['access_token']}"

        async def page(path: str, params: dict[str, str] | None = None) -> None:
            try:
                answer = await desk.get(path, params=params)
            except httpx.TransportError:  # a kept-alive connection the desk closed meanwhile
                answer = await desk.get(path, params=params)
            if answer.status_code != 200 or "does not answer now" in answer.text:
                r.failures[path.split("/")[1]] = r.failures.get(path.split("/")[1], 0) + 1

        async def call(url: str, params: dict[str, str] | None = None) -> None:
            try:
                answer = await api.get(url, params=params, headers=bearer)
            except httpx.TransportError:  # as above
                answer = await api.get(url, params=params, headers=bearer)
            if answer.status_code != 200:
                raise RuntimeError(f"{url}: {answer.status_code} {answer.text[:300]}")

        rows: list[tuple[str, Timed, Timed, Timed]] = [
            (
                "my work (GET /work; workflow GET /worklist)",
                lambda i: page("/work"),
                lambda i: call(f"{workflow}/worklist", {"site": SITE}),
                lambda i: _ignore(raw.worklist(stages)),
            ),
            (
                "case page (GET /cases/{id}; workflow GET /cases/{id})",
                lambda i: page(f"/cases/{cases[i]}"),
                lambda i: call(f"{workflow}/cases/{cases[i]}"),
                lambda i: raw.case(cases[i]),
            ),
        ]
        for name, params in searches.items():
            terms = search.query_terms(params.get("q", ""), FILTER if "q" not in params else {},
                                       None, False)  # fmt: skip
            asked = {"site": SITE, **params}
            rows.append((
                f"search: {name} (GET /search; reporting GET /search/sz)",
                partial(_drop_index, partial(page, "/search", asked)),
                partial(_drop_index, partial(call, f"{reporting}/search/{SITE}", params)),
                partial(_drop_index, partial(raw.search, terms)),
            ))  # fmt: skip
            r.matches[name] = await _total(raw, terms)
        r.worklist = await raw.worklist(stages)
        await token()
        for _, *jobs in rows:  # warm every path (connections, caches)
            for job in jobs:
                await job(0)
        if wait:
            r.idle = await asyncio.to_thread(wait_idle)
        for name, *jobs in rows:
            for concurrency in (1, r.concurrency):
                await token()
                figures = []
                for job in jobs:
                    samples = await timed(job, r.requests, concurrency, r.budget)
                    figures.append((len(samples), percentiles(samples)))
                (n_page, at_page), (n_api, at_api), (n_raw, at_raw) = figures
                r.rows.append(
                    [name, str(concurrency), f"{n_page}"]
                    + [f"{v:.0f}" for v in at_page]
                    + [f"{at_api[1]:.0f}", f"{at_raw[0]:.1f}", f"{at_raw[1]:.1f}"]
                    + [f"{at_page[1] / max(at_raw[1], 1e-6):.1f}",
                       f"{at_api[1] / max(at_raw[1], 1e-6):.1f}"]
                )  # fmt: skip
                print(" | ".join(r.rows[-1]), flush=True)  # noqa: T201


async def _ignore(read: Awaitable[Any]) -> None:
    await read


async def _drop_index(job: Callable[[], Awaitable[None]], _: int) -> None:
    await job()


async def _total(raw: RawReads, terms: set[str]) -> int:
    found = await raw.reporting[MONTHS].find_one({"_id": SITE})
    total: set[str] = set()
    for month in (found or {}).get("months", ()):
        postings = [
            set(
                (await raw.reporting[TERMS].find_one({"_id": f"{SITE}|{month}|{t}"}) or {}).get(
                    "entries", ()
                )
            )
            for t in sorted(terms)
        ]
        total |= search.matching(postings)
    return len(total)


async def run(
    n: int, m: int, requests: int, concurrency: int, budget: float, wait: bool
) -> Results:
    tag = uuid.uuid4().hex[:8]
    settings = ServiceSettings(
        rules_dir=ROOT / "rules", database=f"bench_desk_{tag}", queue_prefix=f"bd{tag}."
    )
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(settings.mongodb_url, tz_aware=True)
    try:
        with tempfile.TemporaryDirectory() as work:
            with desk_stack(settings, Path(work), [ENGINEER]) as base:
                db = settings.database
                cases_s = await seed_cases(client[f"{db}_workflow"], n)
                print(f"{n} cases stored in {cases_s:.1f} s", flush=True)  # noqa: T201
                complaints_s = await seed_complaints(client[f"{db}_reporting"], m)
                print(f"{m} complaints indexed in {complaints_s:.1f} s", flush=True)  # noqa: T201
                r = Results(n, m, cases_s, complaints_s, requests, concurrency, budget)
                await measure(r, base, RawReads(client, db), wait)
        return r
    finally:
        await asyncio.to_thread(delete_queues, settings.amqp_url, settings.queue_prefix)
        for name in ("workflow", "reporting", "intake", "desk"):
            await client.drop_database(f"{settings.database}_{name}")
        await client.close()


HEADER = ["page (desk; the service call inside it)", "at once", "requests", "p50 ms", "p95 ms",
          "p99 ms", "service p95 ms", "raw p50 ms", "raw p95 ms", "page p95 / raw p95",
          "service p95 / raw p95"]  # fmt: skip


def render(r: Results) -> str:
    matches = "; ".join(f"{name}: {count}" for name, count in r.matches.items())
    failed = ", ".join(f"/{page}: {n}" for page, n in sorted(r.failures.items()))
    return "\n".join([
        f"`python -m bench.desk_pages {r.cases} {r.complaints}`; {machine()}; database: "
        f"{_database()}, RabbitMQ on the same machine. Sizes: {r.cases} open cases of sz "
        f"over {len(case_templates())} stages ({r.worklist} on the quality engineer's "
        f"\"my work\"), {r.complaints} complaints in the search index received over two "
        f"years (found: {matches}). Seeded directly: the cases by the workflow's "
        f"`MongoCaseStore.open`, {SEED_CONCURRENCY} at a time, {r.cases / r.cases_seconds:.0f} "
        f"cases/s ({r.cases_seconds:.0f} s); the complaints by reporting's "
        f"`SearchIndex.index`, {SEED_CONCURRENCY} at a time, "
        f"{r.complaints / r.complaints_seconds:.1f} complaints/s "
        f"({r.complaints_seconds:.0f} s). Each figure: {r.requests} requests, or as many as "
        f"start within {r.budget:.0f} s; the page through the desk with the session "
        "cookie, then the service's own call with the person's token, then the raw read "
        "of the same documents with PyMongo, timed the same way one after the other. "
        f"Pages answered without their data (a service call failed): {failed or 'none'}. "
        f"{r.idle}".rstrip(),
        "",
        table(HEADER, r.rows),
        "",
        "What each page reads. My work: the desk asks the workflow's GET /worklist twice, "
        "once for the list and once for the count in the navigation; the workflow reads "
        "the worklist documents of the stages the person acts in, then every listed case by "
        "`_id`, one after another, and makes each a `Case` and its view "
        "(services/workflow/worklist.py). The case page: the same worklist for the "
        "navigation's count (every page shows it), the case, its history (the case read "
        "again), intake's complaint and the attachments. Search: the worklist for the "
        "count, then reporting reads the site's months, the posting of every term in every "
        "month (search_store.py), intersects and sorts every match in Python and reads the "
        "page's 25 summaries by `_id`. The raw columns read only the documents the page's "
        "own data needs (my work: the worklists and the listed cases; the case page: the "
        "case; search: the months, the postings and the 25 summaries), not the count's.",
        "",
        f"Seeding at these rates: {100_000 / (r.cases / r.cases_seconds) / 60:.0f} min for "
        f"100,000 cases, {1_000_000 / (r.complaints / r.complaints_seconds) / 3600:.0f} h for "
        "1,000,000 complaints (more: both rates fall as the worklist and posting documents "
        "grow). Not measured: intake's complaints (not seeded: the case page's call to "
        "intake answers 404 after a read by `_id`), attachments, other people than one "
        "quality engineer, the browser's own time.",
    ])  # fmt: skip


def _database() -> str:
    from bench.intake_import import _database as named

    return named()


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("cases", type=int, nargs="?", default=100_000)
    parser.add_argument("complaints", type=int, nargs="?", default=1_000_000)
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument("--budget", type=float, default=30.0, help="seconds per figure at most")
    parser.add_argument("--wait-idle", action="store_true", help="wait for other test runs")
    parser.add_argument("--smoke", action="store_true", help="tiny run, to check it works")
    parser.add_argument("--out", type=Path, default=DOC)
    args = parser.parse_args()
    if args.smoke:
        args.cases, args.complaints, args.requests, args.budget = 40, 60, 10, 10.0
    results = asyncio.run(
        run(
            args.cases,
            args.complaints,
            args.requests,
            args.concurrency,
            args.budget,
            args.wait_idle,
        )
    )
    body = render(results)
    print(body)  # noqa: T201
    update_section("Desk pages", body, args.out)
    print(f"\nwritten to {args.out} at {datetime.now(UTC):%H:%M:%S}")  # noqa: T201


if __name__ == "__main__":
    main()
