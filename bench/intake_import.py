"""History import: rows/s from the file to the case opened, against the raw insert rate.

    python -m bench.intake_import [--rows N] [--smoke] [--out FILE]

- Import: intake and workflow run as real processes on a fresh database, site and queue
  prefix; `qloop intake import FILE` (the real command, its own process) registers N
  history rows received over the last five years. Timed from its start to its end
  (registered) and to the last `case.opened` on the broker (the running intake publishes
  the import's rows from its marks; the workflow opens their cases as history).
- The import alone: the same file into a fresh database with no service running (nothing
  relays or opens cases beside it): what the import itself can do on this database.
- Raw inserts, in the same run, after the services stopped: the complaint documents the
  import accepted, inserted into a scratch database with PyMongo, one `insert_one` at a
  time (as the import writes) and in `insert_many` batches of 200: the rate the database
  allows for the import's first write alone (it makes four per row: accept, claim,
  register with outbox, settle claim; the mark is one per 200 rows).

Needs QLOOP_AMQP_URL and QLOOP_MONGODB_URL (`make bench` sets them).
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import os
import sys
import tempfile
import time
import uuid
from contextlib import ExitStack
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import aio_pika
from pymongo import AsyncMongoClient

from bench.report import DOC, delete_queues, machine, table, update_section
from services.common.contracts.registry import parse_event
from services.common.messaging.topology import EVENTS_EXCHANGE
from tests.support.processes import ROOT, service_process
from tests.support.surveys import site_rules

COLUMNS = [
    "external_ref",
    "channel",
    "received_at",
    "customer.id",
    "customer.name",
    "product.model",
    "product.quantity",
    "product.lot_numbers",
    "description",
    "defect_quantity",
    "customer_severity",
]
PHENOMENA = ["外壳断裂 cracked housing", "物流延误 delivery late", "包装破损 packaging damaged"]
RAW_AT_MOST = 20_000  # documents the raw insert rate is measured on
STALL_SECONDS = 300.0  # no new case for this long: the run failed


@dataclass
class Results:
    rows: int
    import_seconds: float
    opened_seconds: float
    opened: int
    raw_single: float  # documents/s, one insert_one at a time
    raw_batched: float  # documents/s, insert_many of 200
    raw_count: int
    alone_seconds: float  # the import with no service beside it


def write_history(path: Path, rows: int, now: datetime) -> None:
    """`rows` complaints received over the five years before `now`, oldest first."""
    span = timedelta(days=5 * 365).total_seconds()
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(COLUMNS)
        for i in range(rows):
            received = now - timedelta(seconds=span * (1 - i / max(rows, 1))) - timedelta(days=1)
            writer.writerow(
                [
                    f"LEGACY-{i:07d}",
                    ("email", "phone", "visit", "letter")[i % 4],
                    received.isoformat(timespec="seconds"),
                    f"C-{i % 97:03d}",
                    f"Customer {i % 97}",
                    f"BX-{200 + i % 5 * 100}",
                    str(1000 + i % 9000),
                    f"L{i % 1000:04d}",
                    PHENOMENA[i % 3],
                    str(i % 50),
                    ("general", "serious")[i % 7 == 0],
                ]
            )


async def count_opened(queue: Any, opened: set[str], last: list[float]) -> None:
    """Note each `case.opened` of the site (subjects: the case ids) as it arrives."""
    async with queue.iterator() as messages:
        async for message in messages:
            async with message.process():
                event = parse_event(message.body)
                if event.type == "case.opened" and event.subject not in opened:
                    opened.add(event.subject)
                    last[0] = time.perf_counter()


async def import_command(history: Path, site: str, env: dict[str, str]) -> float:
    """Seconds `qloop intake import` takes for `history`."""
    started = time.perf_counter()
    process = await asyncio.create_subprocess_exec(
        *[sys.executable, "-m", "services.cli", "intake", "import", str(history)],
        *["--site", site, "--source", "legacy"],
        cwd=ROOT,
        env={**os.environ, **env},
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await process.communicate()
    if process.returncode != 0:
        raise RuntimeError(f"import failed: {out.decode()}\n{err.decode()[-3000:]}")
    return time.perf_counter() - started


async def import_alone(work: Path) -> float:
    """The import's own speed: the same file, a fresh database, no service running."""
    tag = uuid.uuid4().hex[:8]
    site, database = f"a{tag}", f"bench_alone_{tag}"
    env = {
        "QLOOP_DATABASE": database,
        "QLOOP_RULES_DIR": str(site_rules(work / "alone", "abc-company", site, any_year=True)),
    }
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(os.environ["QLOOP_MONGODB_URL"])
    try:
        return await import_command(work / "history.csv", site, env)
    finally:
        await client.drop_database(f"{database}_intake")
        await client.close()


async def run_import(rows: int, work: Path) -> tuple[float, float, int, list[dict[str, Any]]]:
    amqp, mongo = os.environ["QLOOP_AMQP_URL"], os.environ["QLOOP_MONGODB_URL"]
    tag = uuid.uuid4().hex[:8]
    site, database = f"i{tag}", f"bench_import_{tag}"
    rules = site_rules(work, "abc-company", site, any_year=True)
    env = {
        "QLOOP_AMQP_URL": amqp,
        "QLOOP_MONGODB_URL": mongo,
        "QLOOP_DATABASE": database,
        "QLOOP_QUEUE_PREFIX": f"bench{tag}.",
        "QLOOP_RULES_DIR": str(rules),
        "QLOOP_LOG_LEVEL": "WARNING",
    }
    history = work / "history.csv"
    write_history(history, rows, datetime.now(UTC))
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(mongo, tz_aware=True)
    connection = await aio_pika.connect(amqp)
    opened: set[str] = set()
    try:
        with ExitStack() as stack:
            for name in ("intake", "workflow"):
                stack.enter_context(service_process(name, env, work / f"{name}.log"))
            channel = await connection.channel()
            queue = await channel.declare_queue(exclusive=True)
            await queue.bind(EVENTS_EXCHANGE, routing_key=f"{site}.case.opened")
            started = time.perf_counter()
            last = [started]
            listener = asyncio.create_task(count_opened(queue, opened, last))
            imported = await import_command(history, site, env)
            while len(opened) < rows and time.perf_counter() - last[0] < STALL_SECONDS:
                await asyncio.sleep(0.2)
            listener.cancel()
            await asyncio.gather(listener, return_exceptions=True)
            accepted = (
                await client[f"{database}_intake"]["complaints"]
                .find({}, {"_id": 0, "outbox": 0, "outbox_n": 0, "registration": 0})
                .limit(RAW_AT_MOST)
                .to_list()
            )
    finally:
        # Services stopped before their databases go (FerretDB faults otherwise).
        await connection.close()
        await asyncio.to_thread(delete_queues, amqp, env["QLOOP_QUEUE_PREFIX"])
        for name in ("intake", "workflow"):
            await client.drop_database(f"{database}_{name}")
        await client.close()
    return imported, last[0] - started, len(opened), accepted


async def raw_inserts(documents: list[dict[str, Any]]) -> tuple[float, float]:
    """Documents/s for `insert_one` one at a time, and for `insert_many` of 200."""
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(
        os.environ["QLOOP_MONGODB_URL"], retryWrites=False
    )
    db = client[f"bench_raw_{uuid.uuid4().hex[:8]}"]
    try:
        started = time.perf_counter()
        for i, document in enumerate(documents):
            await db.single.insert_one({**document, "_id": f"s{i}"})
        single = len(documents) / (time.perf_counter() - started)
        started = time.perf_counter()
        for at in range(0, len(documents), 200):
            batch = documents[at : at + 200]
            await db.batched.insert_many([{**d, "_id": f"b{at + j}"} for j, d in enumerate(batch)])
        batched = len(documents) / (time.perf_counter() - started)
    finally:
        await client.drop_database(db.name)
        await client.close()
    return single, batched


async def run(rows: int) -> Results:
    with tempfile.TemporaryDirectory() as work:
        imported, opened_seconds, opened, accepted = await run_import(rows, Path(work))
        alone = await import_alone(Path(work))
    single, batched = await raw_inserts(accepted)
    return Results(rows, imported, opened_seconds, opened, single, batched, len(accepted), alone)


def render(r: Results) -> str:
    registered = r.rows / r.import_seconds
    cases = r.opened / r.opened_seconds
    alone = r.rows / r.alone_seconds
    rows = [
        [
            "registered, no service running (the import alone)",
            f"{r.alone_seconds:.1f}",
            f"{alone:.0f}",
            f"{alone / r.raw_single:.2f}",
        ],
        [
            "registered (import command, start to end)",
            f"{r.import_seconds:.1f}",
            f"{registered:.0f}",
            f"{registered / r.raw_single:.2f}",
        ],
        [
            f"case opened ({r.opened} of {r.rows})",
            f"{r.opened_seconds:.1f}",
            f"{cases:.0f}",
            f"{cases / r.raw_single:.2f}",
        ],
    ]
    return "\n".join(
        [
            f"`python -m bench.intake_import --rows {r.rows}`; {machine()}; database: "
            f"{_database()}. {r.rows} history rows received over five years (CSV), "
            "`qloop intake import` beside running intake and workflow processes; the "
            "raw rates measured in the same run, after them, on "
            f"{r.raw_count} of the complaint documents the import accepted.",
            "",
            table(["from the file to", "seconds", "rows/s", "ratio to raw insert_one"], rows),
            "",
            "The import writes four commands per row, 200 rows a batch (history.py): the "
            "keys read together, one insert of the claims, one of the registered "
            "complaints, then the claims settled one update each (FerretDB takes about "
            "1,000 updates/s, fewer when they come together). Beside it the running "
            "services do per row what a submission costs them: intake's relay reads the "
            "complaint, publishes and removes its entry; the workflow opens the case "
            "(deadline shards, case, its relay). On FerretDB every write of those "
            "processes goes through one SQLite database on the same two cores: the "
            "import alone is the first row, the three together the second.",
            "",
            table(
                ["raw database inserts", "documents/s"],
                [
                    ["insert_one, one at a time", f"{r.raw_single:.0f}"],
                    ["insert_many, 200 a command", f"{r.raw_batched:.0f}"],
                ],
            ),
        ]
    )


def _database() -> str:
    url = os.environ.get("QLOOP_MONGODB_URL", "")
    if not url:
        return "unknown (QLOOP_MONGODB_URL unset)"
    return "FerretDB 1.24 (SQLite)" if _is_ferretdb() else url.split("@")[-1]


def _is_ferretdb() -> bool:
    async def ask() -> bool:
        client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(os.environ["QLOOP_MONGODB_URL"])
        try:
            return "ferretdbVersion" in await client.admin.command("buildInfo")
        finally:
            await client.close()

    return asyncio.run(ask())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--smoke", action="store_true", help="tiny run, to check it works")
    parser.add_argument("--out", type=Path, default=DOC)
    args = parser.parse_args()
    if args.smoke:
        args.rows = 60
    results = asyncio.run(run(args.rows))
    body = render(results)
    print(body)
    update_section("Import", body, args.out)
    print(f"\nwritten to {args.out} at {datetime.now(UTC):%H:%M:%S}")


if __name__ == "__main__":
    main()
