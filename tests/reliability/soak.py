"""Soak: the four services under a moderate, steady load for a long time (not in CI).

    python -m tests.reliability.soak --minutes 60 [--rate 5]

Uses the servers of `deploy/local/infra.sh env` (QLOOP_AMQP_URL, QLOOP_MONGODB_URL), its
own database names, queue prefix and site. Every `--every` seconds it prints one line:
elapsed time, complaints confirmed, resident memory (RSS, MiB) of each service process
and the depth of each of its queues (management API). At the end it scores the run
with the ledger (tests/support/ledger.py) and drops its databases.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import tempfile
import time
import uuid
from pathlib import Path

import httpx

from services.common.deadletters import management_url_from
from tests.reliability.scoring import drained, score
from tests.support.ledger import Ledger, LoadGenerator
from tests.support.rabbit import delete_queues
from tests.support.stack import Stack


def rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return round(int(line.split()[1]) / 1024, 1)
    return 0.0


def sample(stack: Stack, ledger: Ledger, started: float) -> dict[str, object]:
    memory = {
        name: rss_mib(p.process.pid) if p.process and p.alive() else None
        for name, p in stack.processes.items()
    }
    try:
        depths = {k.removeprefix(stack.queue_prefix): v for k, v in stack.depths().items() if v}
    except OSError as exc:
        depths = {"error": str(exc)}  # type: ignore[dict-item]
    return {
        "minute": round((time.monotonic() - started) / 60, 1),
        "confirmed": ledger.summary()["confirmed"],
        "rss_mib": memory,
        "queues": depths,
    }


async def soak(minutes: float, rate: float, every: float) -> int:
    amqp, mongo = os.environ.get("QLOOP_AMQP_URL"), os.environ.get("QLOOP_MONGODB_URL")
    if not amqp or not mongo:
        print("set QLOOP_AMQP_URL and QLOOP_MONGODB_URL (deploy/local/infra.sh env)")  # noqa: T201
        return 2
    run = uuid.uuid4().hex[:8]
    site = f"soak{run}"
    stack = Stack(
        Path(tempfile.mkdtemp(prefix="qloop-soak-")),
        site,
        amqp_url=amqp,
        mongodb_url=mongo,
        database=f"qloop_soak_{run}",
        queue_prefix=f"soak{run}.",
    )
    ledger = Ledger(site)
    load = LoadGenerator(stack.url, stack.key, ledger, concurrency=2)
    stack.start()
    started = time.monotonic()
    try:
        async with httpx.AsyncClient(timeout=30) as http:
            i, next_report = 0, started
            in_flight = asyncio.Semaphore(16)
            sending: set[asyncio.Task[None]] = set()

            async def send(ref: str) -> None:
                async with in_flight:
                    await load.send(http, ref)

            while time.monotonic() - started < minutes * 60:
                task = asyncio.create_task(send(load.ref(i)))
                sending.add(task)
                task.add_done_callback(sending.discard)
                i += 1
                if time.monotonic() >= next_report:
                    print(json.dumps(sample(stack, ledger, started)), flush=True)  # noqa: T201
                    next_report += every
                await asyncio.sleep(max(0.0, started + i / rate - time.monotonic()))
            await asyncio.gather(*sending)
        await load.settle()
        await drained(stack, len(ledger.states), timeout=1800)
        print(json.dumps(sample(stack, ledger, started)), flush=True)  # noqa: T201
        findings = await score(stack, ledger, "soak", minutes=minutes, rate=rate)
    finally:
        stack.stop()
        client = stack.client()
        for service in ("intake", "workflow", "survey", "reporting"):
            await client.drop_database(stack.db_name(service))
        await client.close()
        management = management_url_from(amqp)
        await asyncio.to_thread(delete_queues, management, stack.queue_prefix)
    return 1 if findings.problems() else 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--minutes", type=float, default=60.0)
    parser.add_argument("--rate", type=float, default=5.0, help="complaints per second")
    parser.add_argument("--every", type=float, default=60.0, help="seconds between reports")
    args = parser.parse_args()
    return asyncio.run(soak(args.minutes, args.rate, args.every))


if __name__ == "__main__":
    sys.exit(main())
