"""Waiting for a fault run to settle, then scoring it against the ledger."""

from __future__ import annotations

import asyncio
import json
import os
import time
from pathlib import Path
from typing import Any

from tests.support.ledger import (
    Findings,
    Ledger,
    reconcile_deadline_events,
    reconcile_intake,
    reconcile_outboxes,
    reconcile_read_models,
    reconcile_workflow,
)
from tests.support.processes import ROOT
from tests.support.stack import Stack
from tests.support.survey_load import reconcile_answers

RESULTS = Path(os.environ.get("QLOOP_FAULT_RESULTS", ROOT / "state" / "reliability.jsonl"))


# A full run's time limit: an hour, or QLOOP_FAULT_TIMEOUT seconds for a larger load.
FULL_TIMEOUT = int(os.environ.get("QLOOP_FAULT_TIMEOUT", 3600))


def scale(full: int, short: int, variant: str) -> int:
    """The load of a run: `short` in CI, `full` (or QLOOP_FAULT_COMPLAINTS) otherwise."""
    if variant == "short":
        return short
    return int(os.environ.get("QLOOP_FAULT_COMPLAINTS", full))


async def drained(stack: Stack, expected: int, *, timeout: float = 600) -> None:
    """Every registered complaint has its case, reporting stored both events, and no
    outbox holds anything: the pipeline has nothing left in flight.

    `timeout` bounds the wait without progress: while the queues' backlog keeps falling
    the wait goes on (a load faster than the slowest consumer leaves a backlog that is
    the broker's to hold; it must drain, at whatever pace, not within a set time)."""
    client = stack.client()
    intake = client[stack.db_name("intake")]
    workflow = client[stack.db_name("workflow")]
    reporting = client[stack.db_name("reporting")]
    survey = client[stack.db_name("survey")]
    site = stack.site

    async def quiet() -> bool:
        registered = await intake["complaints"].count_documents(
            {"site": site, "status": "registered"}
        )
        cases = await workflow["cases"].count_documents({"site": site, "origin": "complaint"})
        seen = await reporting["events"].count_documents(
            {"site": site, "type": {"$in": ["complaint.registered", "case.opened"]}}
        )
        pending = 0
        outboxes = [(intake, "complaints"), (workflow, "cases"), (workflow, "fired")]
        outboxes += [(survey, "responses"), (survey, "invitations")]
        for db, name in outboxes:
            pending += await db[name].count_documents({"outbox_n": {"$gt": 0}})
        return (
            registered >= expected
            and cases >= registered
            and seen >= 2 * registered
            and (pending == 0)
        )

    async def empty_queues() -> bool:
        depths = await asyncio.to_thread(stack.depths)
        return not any(n for name, n in depths.items() if not name.endswith(".dead"))

    async def settled() -> bool:
        # Stored events are not yet folded ones, and queue figures lag: all must hold
        # across a window longer than the management API's refresh. The queues are asked
        # first: on FerretDB each count in `quiet` reads a whole collection, and counting
        # every second while a backlog drains takes the database from the consumers.
        for _ in range(4):
            if not (await empty_queues() and await quiet()):
                return False
            await asyncio.sleep(2.0)
        return True

    async def backlog() -> int:
        depths = await asyncio.to_thread(stack.depths)
        return sum(n for name, n in depths.items() if not name.endswith(".dead"))

    try:
        lowest, since = await backlog(), time.monotonic()
        while not await settled():
            left = await backlog()
            if left < lowest:
                lowest, since = left, time.monotonic()
            elif time.monotonic() - since > timeout:
                ready = {name: p.ready() for name, p in stack.processes.items()}
                depths = await asyncio.to_thread(stack.depths)
                raise AssertionError(
                    f"not drained: no progress for {timeout:.0f} s; ready {ready}, "
                    f"queues {depths}"
                )
            await asyncio.sleep(5.0)
    finally:
        await client.close()


async def score(
    stack: Stack,
    ledger: Ledger,
    scenario: str,
    *,
    answers: tuple[Ledger, str] | None = None,
    **facts: Any,
) -> Findings:
    """Stop the services and reconcile every store with the ledger (and the survey
    answers' ledger with its campaign, if given); record the figures."""
    stack.stop()
    findings = Findings()
    client = stack.client()
    try:
        if answers is not None:
            answered, campaign = answers
            facts["answers"] = answered.summary()
            facts["answers"]["stored"] = await reconcile_answers(
                answered,
                campaign,
                client[stack.db_name("survey")],
                client[stack.db_name("reporting")],
                findings,
            )
        numbers = await reconcile_intake(ledger, client[stack.db_name("intake")], findings)
        workflow = client[stack.db_name("workflow")]
        await reconcile_workflow(stack.site, numbers, stack.stages, workflow, findings)
        reporting = client[stack.db_name("reporting")]
        await reconcile_deadline_events(stack.site, reporting, findings)
        events = await reconcile_read_models(stack.site, reporting, stack.rules_dir, findings)
        services = ("intake", "workflow", "survey", "reporting")
        await reconcile_outboxes({s: client[stack.db_name(s)] for s in services}, findings)
    finally:
        await client.close()
    record = {
        "scenario": scenario,
        "at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        **ledger.summary(),
        "registered": findings.registered,
        "reporting_events": events,
        "kills": {k: v for k, v in stack.kills.items() if v},
        "crashes": {k: v for k, v in stack.crashes.items() if v},
        "unready_restarts": {k: v for k, v in stack.unready_restarts.items() if v},
        "unready_reasons": stack.unready_reasons,
        "problems": {k: len(v) for k, v in findings.problems().items()},
        "examples": {k: v[:3] for k, v in findings.problems().items()},
        **facts,
    }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    with RESULTS.open("a") as out:
        out.write(json.dumps(record) + "\n")
    print(json.dumps(record))  # noqa: T201  (the figures docs/reliability.md quotes)
    return findings
