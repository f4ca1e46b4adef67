"""Scoring fault runs with a ledger, as RabbitMQ's Jepsen test does.

The load generator logs every complaint it sends by its idempotency reference:
`attempted` before the request, then `confirmed` (2xx, with the number intake gave it),
`failed` (definitely not taken: connection refused, 4xx) or `unclear` (cut mid-request,
timed out, 5xx: it may or may not have been registered). Unconfirmed complaints are sent
again, as a real sender would (the reference makes that idempotent). `reconcile` then
compares the ledger with what the services stored.
"""

from __future__ import annotations

import asyncio
import collections
import json
import time
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from services.common.rulebook import Rulebook
from services.common.storage.locks import DocumentLocks
from services.reporting.rebuild import rebuild
from services.reporting.settings import ReportingSettings
from services.reporting.sites import RuleSites
from services.reporting.store import MongoReadModels
from tests.support.complaints import complaint

State = str  # attempted | confirmed | failed | unclear


@dataclass
class Ledger:
    site: str
    states: dict[str, State] = field(default_factory=dict)
    numbers: dict[str, str] = field(default_factory=dict)  # ref -> number intake answered
    ever_unclear: set[str] = field(default_factory=set)
    ever_failed: set[str] = field(default_factory=set)
    sends: int = 0
    started: float = field(default_factory=time.monotonic)

    def record(self, ref: str, state: State, number: str | None = None) -> None:
        self.states[ref] = state
        if state == "unclear":
            self.ever_unclear.add(ref)
        elif state == "failed":
            self.ever_failed.add(ref)
        elif state == "confirmed" and number is not None:
            previous = self.numbers.setdefault(ref, number)
            assert previous == number, f"{ref}: confirmed as {previous}, then as {number}"

    def pending(self) -> list[str]:
        return sorted(r for r, s in self.states.items() if s != "confirmed")

    def confirmed(self) -> set[str]:
        return {r for r, s in self.states.items() if s == "confirmed"}

    def summary(self) -> dict[str, int]:
        counts = collections.Counter(self.states.values())
        return {
            "complaints": len(self.states),
            "sends": self.sends,
            "confirmed": counts["confirmed"],
            "ever_unclear": len(self.ever_unclear),
            "ever_failed": len(self.ever_failed),
            "seconds": round(time.monotonic() - self.started),
        }


class LoadGenerator:
    """Complaints over HTTP to intake's `POST /complaints`, scored in a ledger."""

    def __init__(
        self, url: Callable[[], str], key: str, ledger: Ledger, *, concurrency: int = 8
    ) -> None:
        self.url, self.key, self.ledger, self.concurrency = url, key, ledger, concurrency

    def ref(self, i: int) -> str:
        return f"LEDGER-{self.ledger.site}-{i:06d}"

    async def send(self, http: httpx.AsyncClient, ref: str) -> State:
        self.ledger.sends += 1
        self.ledger.states.setdefault(ref, "attempted")
        body = complaint(site=self.ledger.site, external_ref=ref)
        try:
            reply = await http.post(
                f"{self.url()}/complaints", json=body, headers={"X-API-Key": self.key}
            )
        except httpx.ConnectError:
            self.ledger.record(ref, "failed")
            return "failed"
        except httpx.HTTPError:
            self.ledger.record(ref, "unclear")
            return "unclear"
        if reply.status_code in (200, 201):
            self.ledger.record(ref, "confirmed", reply.json().get("number"))
        elif 400 <= reply.status_code < 500:
            self.ledger.record(ref, "failed")
        else:
            self.ledger.record(ref, "unclear")
        return self.ledger.states[ref]

    async def run(
        self,
        refs: Iterable[str],
        *,
        faults: dict[int, Callable[[], Awaitable[None]]] | None = None,
        timeout: float = 10.0,
    ) -> None:
        """Send every ref once; `faults[n]` runs (in the background) when the n-th send
        starts, so faults hit requests in flight."""
        queue: asyncio.Queue[str] = asyncio.Queue()
        for ref in refs:
            queue.put_nowait(ref)
        faults = dict(faults or {})
        started = 0
        running: list[asyncio.Task[None]] = []

        async def worker(http: httpx.AsyncClient) -> None:
            nonlocal started
            while not queue.empty():
                ref = queue.get_nowait()
                started += 1
                fault = faults.pop(started, None)
                if fault is not None:
                    running.append(asyncio.create_task(fault()))
                if await self.send(http, ref) != "confirmed":
                    await asyncio.sleep(0.2)  # a sender backs off; the stream is not burnt

        async with httpx.AsyncClient(timeout=timeout) as http:
            await asyncio.gather(*(worker(http) for _ in range(self.concurrency)))
            await asyncio.gather(*running)
            for fault in faults.values():  # fewer sends than planned faults: run them now
                await fault()

    async def settle(self, *, within: float = 300.0) -> None:
        """Send again whatever is not confirmed, until everything is."""
        deadline = time.monotonic() + within
        async with httpx.AsyncClient(timeout=30) as http:
            while pending := self.ledger.pending():
                if time.monotonic() > deadline:
                    raise AssertionError(f"{len(pending)} complaints never confirmed")
                for start in range(0, len(pending), self.concurrency):
                    batch = pending[start : start + self.concurrency]
                    await asyncio.gather(*(self.send(http, r) for r in batch))
                if self.ledger.pending():
                    await asyncio.sleep(1.0)


@dataclass
class Findings:
    """What the stores hold against the ledger; every list must end up empty."""

    registered: int = 0
    lost: list[str] = field(default_factory=list)  # confirmed, never registered
    phantom: list[str] = field(default_factory=list)  # registered, never sent
    duplicate_refs: list[str] = field(default_factory=list)
    duplicate_numbers: list[str] = field(default_factory=list)
    number_gaps: list[int] = field(default_factory=list)
    renumbered: list[str] = field(default_factory=list)  # confirmed number != stored
    unfinished: list[str] = field(default_factory=list)  # accepted, never numbered
    cases_missing: list[str] = field(default_factory=list)
    cases_doubled: list[str] = field(default_factory=list)
    bad_stages: list[str] = field(default_factory=list)
    fired_twice: list[str] = field(default_factory=list)
    fired_unpublished: list[str] = field(default_factory=list)
    read_model_diff: list[str] = field(default_factory=list)
    # Outbox entries left after the run, or a counter that disagrees with the entries (a
    # counter below the entries would hide them from the start-up pass).
    outbox_left: list[str] = field(default_factory=list)

    def problems(self) -> dict[str, list[Any]]:
        return {k: v for k, v in vars(self).items() if isinstance(v, list) and v}


def _repeated(values: Iterable[Any]) -> list[Any]:
    return sorted(v for v, n in collections.Counter(values).items() if n > 1)


async def reconcile_intake(ledger: Ledger, intake_db: Any, findings: Findings) -> list[str]:
    """Zero lost, zero doubled, numbers 1..N without gaps; returns the numbers."""
    documents = (
        await intake_db["complaints"]
        .find(
            {"site": ledger.site},
            {"external_ref": 1, "number": 1, "sequence": 1, "status": 1},
        )
        .to_list()
    )
    done = [d for d in documents if d.get("status") == "registered"]
    findings.registered = len(done)
    findings.unfinished = sorted(d["external_ref"] for d in documents if d not in done)
    refs = [d["external_ref"] for d in done]
    findings.duplicate_refs = _repeated(refs)
    findings.duplicate_numbers = _repeated(d["number"] for d in done)
    findings.lost = sorted(ledger.confirmed() - set(refs))
    findings.phantom = sorted(set(refs) - set(ledger.states))
    sequences = sorted(d["sequence"] for d in done)
    findings.number_gaps = sorted(set(range(1, len(done) + 1)) - set(sequences))
    stored = {d["external_ref"]: d["number"] for d in done}
    findings.renumbered = sorted(
        r for r, n in ledger.numbers.items() if r in stored and stored[r] != n
    )
    return [d["number"] for d in done]


async def reconcile_workflow(
    site: str, numbers: list[str], stages: set[str], workflow_db: Any, findings: Findings
) -> None:
    """One case per complaint, each in a stage its rules define; deadlines fired once."""
    cases = (
        await workflow_db["cases"]
        .find({"site": site, "origin": "complaint"}, {"reference": 1, "stage": 1, "visits": 1})
        .to_list()
    )
    references = [c["reference"] for c in cases]
    findings.cases_doubled = _repeated(references)
    findings.cases_missing = sorted(set(numbers) - set(references))
    for case in cases:
        visits = case.get("visits") or []
        if case["stage"] not in stages or (visits and visits[-1]["stage"] != case["stage"]):
            findings.bad_stages.append(f"{case['_id']}: {case['stage']}")
    fired = await workflow_db["fired"].find({"site": site}, {"outbox_n": 1}).to_list()
    findings.fired_unpublished = sorted(str(f["_id"]) for f in fired if f.get("outbox_n"))


async def reconcile_outboxes(databases: dict[str, Any], findings: Findings) -> None:
    """Every outbox empty with its counter at 0, in every collection that has one."""
    for service, db in databases.items():
        for name in await db.list_collection_names():
            query = {"outbox_n": {"$exists": True}}
            async for document in db[name].find(query, {"outbox": 1, "outbox_n": 1}):
                entries, counter = len(document.get("outbox") or {}), document["outbox_n"]
                if entries or counter:
                    findings.outbox_left.append(
                        f"{service}.{name} {document['_id']}: {entries} left, counter {counter}"
                    )


async def reconcile_deadline_events(site: str, reporting_db: Any, findings: Findings) -> None:
    """Each deadline announced at most once per stage visit (case, stage, due)."""
    kinds = ("case.deadline_missed", "case.deadline_approaching")
    events = (
        await reporting_db["events"]
        .find({"site": site, "type": {"$in": list(kinds)}}, {"wire": 1, "type": 1})
        .to_list()
    )
    keys = []
    for event in events:
        data = json.loads(event["wire"])["data"]
        keys.append(f"{event['type']}|{data['case_id']}|{data['stage']}|{data['due']}")
    findings.fired_twice = _repeated(keys)


async def reconcile_read_models(
    site: str, reporting_db: Any, rules_dir: Path, findings: Findings
) -> int:
    """Reporting's incremental read models equal a rebuild from its event store (the
    reporting service must be stopped: the rebuild rewrites the read models in place)."""
    before = await _read_models(site, reporting_db)
    done = await rebuild(
        MongoReadModels(reporting_db, DocumentLocks()),
        sites=RuleSites(Rulebook.load(rules_dir)),
        policy=ReportingSettings().policy(),
        progress=False,
    )
    after = await _read_models(site, reporting_db)
    for part in ("buckets", "entities"):
        mine, theirs = before[part], after[part]
        for key in sorted(set(mine) | set(theirs)):
            if mine.get(key) != theirs.get(key):
                findings.read_model_diff.append(
                    f"{part} {key}: incremental {mine.get(key)!r} != rebuilt {theirs.get(key)!r}"
                )
    return done.events


async def _read_models(site: str, db: Any) -> dict[str, dict[str, Any]]:
    buckets: dict[str, Any] = {}
    for name in await MongoReadModels(db, DocumentLocks()).bucket_collections():
        for b in await db[name].find({"site": site}).to_list():
            counters = {k: v for k, v in b["counters"].items() if v}
            if counters:
                buckets[b["_id"]] = counters
    entities = {d["_id"]: d["state"] for d in await db["entities"].find({"site": site}).to_list()}
    return {"buckets": buckets, "entities": entities}
