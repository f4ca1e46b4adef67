"""Pipeline throughput and latency against the physical limit, measured in one run.

    python -m bench.pipeline [--complaints N] [--concurrency C] [--smoke] [--out FILE]

- Ceiling: raw aio-pika and PyMongo doing the same broker hops (publish with confirms,
  consume with manual ack: the submission, complaint.registered, case.opened) and the same
  single-document writes per complaint as the pipeline (intake: accept, claim, register
  with outbox, settle claim, relay; workflow: two deadline-hour shards together, open case
  with outbox, relay), writing the pipeline's own documents, event bodies and deadline
  records, taken from its run (Shapes). Reads are not in it (intake 1, workflow 1 per
  complaint), nor the pipeline's secondary indexes. Measured also with documents of a few
  bytes, as it was until 2026-11-30. Its latency is measured too, at each of the
  pipeline's load rates, timed the same way: the latency the broker and database allow.
- Pipeline (run first, for its documents): intake and workflow as real processes;
  complaints submitted over HTTP until the workflow's `case.opened` for each is on the
  broker. Throughput, then p50/p95/p99 latency (submission -> case.opened) at
  25/50/75/100% of that maximum, open loop. Peak RSS of each service.

Needs QLOOP_AMQP_URL and QLOOP_MONGODB_URL (`make bench` sets them).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import shutil
import statistics
import tempfile
import time
import uuid
from collections.abc import Callable, Coroutine
from contextlib import AsyncExitStack, ExitStack
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

import aio_pika
import httpx
from pymongo import AsyncMongoClient

from bench.report import (
    COMMAND_HEADER,
    CPU_HEADER,
    DOC,
    CommandTotals,
    command_rows,
    command_totals,
    cpu_rows,
    cpu_seconds,
    delete_queues,
    machine,
    table,
    update_section,
)
from services.common.contracts.registry import parse_event
from services.common.messaging.topology import EVENTS_EXCHANGE
from tests.support.complaints import complaint
from tests.support.keys import write_key_file
from tests.support.processes import ROOT, service_process

T = TypeVar("T")


@dataclass
class LoadResult:
    share: float
    rate: float
    count: int
    p50: float
    p95: float
    p99: float
    # The ceiling's p50 / p99 ms at the same rate: the raw chain's latency, the limit.
    raw: tuple[float, float] = (0.0, 0.0)
    # p50 / p99 ms from submission to intake's HTTP answer and to `complaint.registered`
    # on the broker: where the time of the whole (submission -> `case.opened`) goes.
    answered: tuple[float, float] = (0.0, 0.0)
    registered: tuple[float, float] = (0.0, 0.0)


@dataclass(frozen=True)
class Shapes:
    """The pipeline's own documents and event bodies, taken from a run of it, so that the
    ceiling writes the same bytes: the accepted complaint, the fields its registration
    sets, the case, the two events' bodies (which also go into the outboxes), and the
    deadline records a case writes into each of its two hours' shard documents."""

    accepted: dict[str, Any]
    registered: dict[str, Any]
    case: dict[str, Any]
    registered_body: bytes
    opened_body: bytes
    records: tuple[str, ...] = ("x",)


# The fields intake stores when it accepts a complaint (services/intake/store.py); the
# registration sets the others.
ACCEPT_FIELDS = (
    "site",
    "source",
    "external_ref",
    "accepted_at",
    "received_at",
    "customer_id",
    "submission",
)
SMALL = Shapes({"body": "x" * 16}, {}, {}, b'{"complaint": 1}', b'{"case": 1}')


def _entry(body: bytes) -> dict[str, Any]:
    """An outbox entry as services/common/storage/outbox.py stores one."""
    return {
        "type": "t",
        "routing_key": "k",
        "correlation_id": None,
        "time": datetime.now(UTC),
        "seq": 0,
        "body": body.decode(),
    }


class Ceiling:
    """The raw chain: complaints per second it sustains for the same hops and writes, and
    its latency (submission -> `case.opened` taken off the broker) at a given rate, the
    way the pipeline's is measured: the physical limit for both figures, in one run."""

    def __init__(self, amqp_url: str, mongodb_url: str, shapes: Shapes = SMALL) -> None:
        self.tag = uuid.uuid4().hex[:8]
        self._amqp_url, self._mongodb_url, self._shapes = amqp_url, mongodb_url, shapes
        self._stack = AsyncExitStack()
        self._sent: dict[str, float] = {}
        self._opened: dict[str, float] = {}
        self._failures: list[BaseException] = []
        self._progress = asyncio.Event()
        self._count = 0

    async def __aenter__(self) -> Ceiling:
        try:
            await self._open()
        except BaseException:
            await self._stack.aclose()
            raise
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self._stack.aclose()

    async def _open(self) -> None:
        stack, tag, shapes = self._stack, self.tag, self._shapes
        client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(
            self._mongodb_url, tz_aware=True
        )
        stack.push_async_callback(client.close)
        stack.push_async_callback(client.drop_database, f"bench_ceiling_{tag}")
        db = client[f"bench_ceiling_{tag}"]
        connection = await aio_pika.connect(self._amqp_url)
        stack.push_async_callback(connection.close)
        # Leftover queues pile up across runs (thousands once stopped the local broker).
        stack.push_async_callback(asyncio.to_thread, delete_queues, self._amqp_url, f"bench.{tag}.")
        self._publisher = publisher = await connection.channel(publisher_confirms=True)
        consumer = await connection.channel()
        await consumer.set_qos(prefetch_count=16)
        arguments: dict[str, Any] = {"x-queue-type": "quorum"}
        queues = [
            await consumer.declare_queue(f"bench.{tag}.{x}", durable=True, arguments=arguments)
            for x in "abc"
        ]
        self._first, second, third = queues[0], queues[1], queues[2]
        # The hours' shard documents exist already (the pipeline's exist after the first
        # case of the hour; concurrent upserts of a missing one would collide).
        await db.slots.insert_many(
            [{"_id": f"{h}/{s:02d}", "entries": {}} for h in ("h24", "h48") for s in range(16)]
        )

        async def intake_like(message: aio_pika.abc.AbstractIncomingMessage) -> None:
            key = message.message_id
            assert key is not None
            await db.complaints.insert_one({**shapes.accepted, "_id": key, "status": "accepted"})
            await db.claims.insert_one({"_id": f"s|{key}", "key": key, "done": False})
            await db.complaints.update_one(
                {"_id": key},
                {
                    "$set": {
                        **shapes.registered,
                        "status": "registered",
                        f"outbox.{key}": _entry(shapes.registered_body),
                    },
                    "$inc": {"outbox_n": 1},
                },
            )
            await db.claims.update_one({"_id": f"s|{key}"}, {"$set": {"done": True}})
            await _publish(publisher, shapes.registered_body, key, second.name)
            await db.complaints.update_one(
                {"_id": key}, {"$unset": {f"outbox.{key}": ""}, "$inc": {"outbox_n": -1}}
            )
            await message.ack()

        async def workflow_like(message: aio_pika.abc.AbstractIncomingMessage) -> None:
            key = message.message_id
            assert key is not None
            # The case's deadline records: two hours' shard documents, written together.
            shard = hash(key) % 16
            await asyncio.gather(
                *(
                    db.slots.update_one(
                        {"_id": f"{hour}/{shard:02d}"},
                        {"$set": {f"entries.{key}-{i}": r for i, r in enumerate(shapes.records)}},
                    )
                    for hour in ("h24", "h48")
                )
            )
            await db.cases.insert_one(
                {
                    **shapes.case,
                    "_id": key,
                    "stage": "open",
                    "outbox": {key: _entry(shapes.opened_body)},
                    "outbox_n": 1,
                }
            )
            await _publish(publisher, shapes.opened_body, key, third.name)  # case.opened
            await db.cases.update_one(
                {"_id": key}, {"$unset": {f"outbox.{key}": ""}, "$inc": {"outbox_n": -1}}
            )
            await message.ack()

        async def observed(message: aio_pika.abc.AbstractIncomingMessage) -> None:
            # The benchmark's own listener, as the pipeline's `case.opened` is observed.
            if message.message_id is not None:
                self._opened.setdefault(message.message_id, time.perf_counter())
            await message.ack()
            self._progress.set()

        def guarded(step: Any) -> Any:
            async def run(message: aio_pika.abc.AbstractIncomingMessage) -> None:
                try:
                    await step(message)
                except Exception as exc:  # fail the run instead of waiting forever
                    self._failures.append(exc)
                    self._progress.set()

            return run

        await self._first.consume(guarded(intake_like))
        await second.consume(guarded(workflow_like))
        await third.consume(observed)
        self._submission = json.dumps(shapes.accepted.get("submission", {"complaint": 1})).encode()

    async def _submit(self) -> str:
        self._count += 1
        key = f"{self.tag}-{self._count}"
        self._sent[key] = time.perf_counter()
        await _publish(self._publisher, self._submission, key, self._first.name)
        return key

    async def _wait(self, keys: list[str]) -> None:
        deadline = time.monotonic() + 600
        while not all(k in self._opened for k in keys):
            if self._failures:
                raise RuntimeError(f"ceiling run failed: {self._failures[0]!r}")
            if time.monotonic() > deadline:
                raise RuntimeError("ceiling run: case.opened missing after 600 s")
            self._progress.clear()
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(1):
                    await self._progress.wait()

    async def throughput(self, n: int, concurrency: int) -> float:
        """Complaints per second for `n` submitted `concurrency` at a time."""
        gate = asyncio.Semaphore(concurrency)

        async def one() -> str:
            async with gate:
                return await self._submit()

        started = time.perf_counter()
        keys = await asyncio.gather(*(one() for _ in range(n)))
        await self._wait(keys)
        return n / (max(self._opened[k] for k in keys) - started)

    async def latencies(self, rate: float, count: int) -> list[float]:
        """Open loop, as the pipeline's loads: ms from each submission to its case.opened."""
        keys = await open_loop(rate, count, self._submit)
        await self._wait(keys)
        return [(self._opened[k] - self._sent[k]) * 1000 for k in keys]


async def open_loop(rate: float, count: int, send: Callable[[], Coroutine[Any, Any, T]]) -> list[T]:
    """`count` calls of `send` started at `rate` a second, whether or not the earlier ones
    have returned; their results."""
    tasks: list[asyncio.Task[T]] = []
    start = time.perf_counter()
    for i in range(count):
        delay = start + i / rate - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(send()))
    return list(await asyncio.gather(*tasks))


async def _publish(channel: Any, body: bytes, key: str, queue: str) -> None:
    """Publish with confirm, persistent, to one queue (through the default exchange)."""
    message = aio_pika.Message(body, message_id=key, delivery_mode=aio_pika.DeliveryMode.PERSISTENT)
    await channel.default_exchange.publish(message, routing_key=queue)


async def ceiling(
    amqp_url: str, mongodb_url: str, n: int, concurrency: int, shapes: Shapes = SMALL
) -> float:
    """Complaints per second the raw clients sustain for the same hops and writes."""
    async with Ceiling(amqp_url, mongodb_url, shapes) as raw:
        return await raw.throughput(n, concurrency)


class Pipeline:
    """Intake and workflow as processes on a fresh database and queue prefix."""

    def __init__(self, amqp_url: str, mongodb_url: str, work: Path) -> None:
        self.tag = uuid.uuid4().hex[:8]
        self.database = f"bench_{self.tag}"
        # A site of its own (the sz rules under another id): other systems on the same
        # broker never share its numbers or cases.
        self.site = f"b{self.tag}"
        rules = work / "rules"
        shutil.copytree(ROOT / "rules" / "shared", rules / "shared")
        text = (ROOT / "rules" / "abc-company.yaml").read_text(encoding="utf-8")
        (rules / "bench.yaml").write_text(
            text.replace("  id: sz\n", f"  id: {self.site}\n", 1), encoding="utf-8"
        )
        keys = write_key_file(work / "keys.yaml", {"bench": (["*"], ["submit", "read"])})
        self.key = keys["bench"]
        self.env = {
            "QLOOP_AMQP_URL": amqp_url,
            "QLOOP_MONGODB_URL": mongodb_url,
            "QLOOP_DATABASE": self.database,
            "QLOOP_QUEUE_PREFIX": f"bench{self.tag}.",
            "QLOOP_API_KEYS_FILE": str(work / "keys.yaml"),
            "QLOOP_RULES_DIR": str(rules),
            "QLOOP_LOG_LEVEL": "WARNING",
            "QLOOP_SURVEY_LINK_SECRET": "bench-only-secret-not-for-production-use",
        }
        self.work = work
        self.ports: dict[str, int] = {}
        self.pids: dict[str, int] = {}
        self.submitted: dict[str, float] = {}  # complaint number -> wall time of submission
        self.answered: dict[str, float] = {}  # ... of intake's HTTP answer
        self.registered_at: dict[str, float] = {}  # ... of `complaint.registered` on the broker
        self.opened_at: dict[str, float] = {}  # complaint number -> case.opened on the broker
        self.bodies: dict[str, bytes] = {}  # event type -> the first body seen (for Shapes)

    def start(self, stack: ExitStack) -> None:
        for name in ("intake", "workflow"):
            port = stack.enter_context(service_process(name, self.env, self.work / f"{name}.log"))
            self.ports[name] = port
        self.pids = {name: _pid_on(port) for name, port in self.ports.items()}

    async def submit(self, http: httpx.AsyncClient) -> None:
        started = time.time()
        reply = await http.post(
            f"http://127.0.0.1:{self.ports['intake']}/complaints",
            json=complaint(site=self.site),
            headers={"X-API-Key": self.key},
        )
        if reply.status_code >= 400:
            raise RuntimeError(f"submission refused: {reply.status_code} {reply.text[:500]}")
        number = reply.json()["number"]
        self.submitted[number] = started
        self.answered[number] = time.time()

    async def listen(self, amqp_url: str, stack: AsyncExitStack) -> None:
        """Note when each complaint's `case.opened` reaches the broker: the end of the
        pipeline, observed without touching the database the pipeline writes to (polling
        it would scan the cases collection on FerretDB and slow what is measured)."""
        connection = await aio_pika.connect(amqp_url)
        stack.push_async_callback(connection.close)
        channel = await connection.channel()
        queue = await channel.declare_queue(exclusive=True)
        await queue.bind(EVENTS_EXCHANGE, routing_key=f"{self.site}.case.opened")
        await queue.bind(EVENTS_EXCHANGE, routing_key=f"{self.site}.complaint.registered")

        async def on_message(message: aio_pika.abc.AbstractIncomingMessage) -> None:
            event, now = parse_event(message.body), time.time()
            self.bodies.setdefault(event.type, message.body)
            if event.type == "complaint.registered":
                self.registered_at.setdefault(getattr(event.data, "number", ""), now)
            else:
                self.opened_at.setdefault(getattr(event.data, "complaint_number", ""), now)
            await message.ack()

        await queue.consume(on_message)

    async def shapes(self, client: AsyncMongoClient[dict[str, Any]]) -> Shapes:
        """The documents and event bodies of this run, for the ceiling to write."""
        hidden = {"_id": 0, "outbox": 0, "outbox_n": 0}
        complaint = await client[f"{self.database}_intake"].complaints.find_one(
            {"status": "registered"}, hidden
        )
        case = await client[f"{self.database}_workflow"].cases.find_one({}, hidden)
        if complaint is None or case is None:
            raise RuntimeError("no registered complaint or case to take the shapes from")
        accepted = {k: v for k, v in complaint.items() if k in ACCEPT_FIELDS}
        registered = {k: v for k, v in complaint.items() if k not in ACCEPT_FIELDS}
        # The deadline records of the run's cases (none fires within the run): how many a
        # case writes per hour document, and one of them as the bytes to write.
        entries: list[str] = []
        async for hour in client[f"{self.database}_workflow"].deadline_slots.find({}):
            entries += list((hour.get("entries") or {}).values())
        per_hour = max(1, round(len(entries) / max(len(self.opened_at), 1) / 2))
        return Shapes(
            accepted,
            registered,
            case,
            self.bodies["complaint.registered"],
            self.bodies["case.opened"],
            (entries[0] if entries else "x",) * per_hour,
        )


def _pid_on(port: int) -> int:
    import subprocess

    out = subprocess.run(
        ["bash", "-c", f"ss -ltnpH 'sport = :{port}'"], capture_output=True, text=True, check=False
    ).stdout
    marker = "pid="
    return int(out.split(marker, 1)[1].split(",", 1)[0]) if marker in out else 0


def peak_rss_mb(pid: int) -> float:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return float("nan")


async def _wait_all(pipeline: Pipeline, numbers: set[str]) -> dict[str, float]:
    deadline = time.monotonic() + 600
    while True:
        opened = {k: pipeline.opened_at[k] for k in numbers if k in pipeline.opened_at}
        if len(opened) == len(numbers) or time.monotonic() > deadline:
            return opened
        await asyncio.sleep(0.05)


async def command_readings(pipeline: Pipeline) -> CommandTotals:
    totals: CommandTotals = {}
    async with httpx.AsyncClient(timeout=30) as http:
        for name, port in pipeline.ports.items():
            text = (await http.get(f"http://127.0.0.1:{port}/metrics")).text
            totals.update(command_totals(name, text))
    return totals


async def max_throughput(pipeline: Pipeline, n: int, concurrency: int) -> float:
    gate = asyncio.Semaphore(concurrency)
    async with httpx.AsyncClient(timeout=60) as http:

        async def one() -> None:
            async with gate:
                await pipeline.submit(http)

        started = time.time()
        before = set(pipeline.submitted)
        await asyncio.gather(*(one() for _ in range(n)))
        numbers = set(pipeline.submitted) - before
        opened = await _wait_all(pipeline, numbers)
    return len(opened) / (max(opened.values()) - started)


async def at_rate(pipeline: Pipeline, rate: float, count: int) -> list[str]:
    """Open loop: submissions at `rate`/s regardless of answers; the complaint numbers."""
    before = set(pipeline.submitted)
    async with httpx.AsyncClient(timeout=60) as http:
        await open_loop(rate, count, lambda: pipeline.submit(http))
    numbers = set(pipeline.submitted) - before
    await _wait_all(pipeline, numbers)
    return sorted(numbers)


def load_result(pipeline: Pipeline, share: float, rate: float, numbers: list[str]) -> LoadResult:
    """Latencies in ms from each submission to its case opened, and to the stages before."""

    def since_submitted(at: dict[str, float]) -> list[float]:
        return [(at[k] - pipeline.submitted[k]) * 1000 for k in numbers if k in at]

    latencies = since_submitted(pipeline.opened_at)
    return LoadResult(
        share,
        rate,
        len(latencies),
        statistics.median(latencies),
        _percentile(latencies, 0.95),
        _percentile(latencies, 0.99),
        answered=p50_p99(since_submitted(pipeline.answered)),
        registered=p50_p99(since_submitted(pipeline.registered_at)),
    )


def p50_p99(values: list[float]) -> tuple[float, float]:
    return (statistics.median(values), _percentile(values, 0.99)) if values else (0.0, 0.0)


def _percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


@dataclass
class Results:
    limit: float  # the ceiling with the pipeline's documents: the ratios' base
    small: float  # the ceiling with documents of a few bytes (the figure before 2026-11-30)
    best: float
    loads: list[LoadResult]
    memory: dict[str, float]
    commands: list[list[str]]
    cpu: list[list[str]]


async def run(n: int, concurrency: int, seconds: float) -> Results:
    """The pipeline first (its documents shape the ceiling's), then, with its services
    stopped, the ceiling with those documents and with small ones."""
    amqp, mongo = os.environ["QLOOP_AMQP_URL"], os.environ["QLOOP_MONGODB_URL"]
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(mongo, tz_aware=True)
    try:
        with tempfile.TemporaryDirectory() as work, ExitStack() as stack:
            pipeline = Pipeline(amqp, mongo, Path(work))
            pipeline.start(stack)
            listening = AsyncExitStack()
            try:
                await pipeline.listen(amqp, listening)
                before = await command_readings(pipeline)
                cpu_before, wall = cpu_seconds(pipeline.pids), time.perf_counter()
                best = await max_throughput(pipeline, n, concurrency)
                cpu_after, wall = cpu_seconds(pipeline.pids), time.perf_counter() - wall
                commands = command_rows(before, await command_readings(pipeline), n)
                cpu = cpu_rows(cpu_before, cpu_after, n, wall)
                loads = []
                for share in (0.25, 0.5, 0.75, 1.0):
                    rate = best * share
                    numbers = await at_rate(pipeline, rate, max(20, int(rate * seconds)))
                    loads.append(load_result(pipeline, share, rate, numbers))
                memory = {name: peak_rss_mb(pid) for name, pid in pipeline.pids.items()}
                shapes = await pipeline.shapes(client)
            finally:
                # Stop the services before dropping their databases: FerretDB faults
                # (SIGBUS) when a database file goes while connections still map it.
                await listening.aclose()
                stack.close()
                await asyncio.to_thread(delete_queues, amqp, pipeline.env["QLOOP_QUEUE_PREFIX"])
                for name in ("intake", "workflow"):
                    await client.drop_database(f"{pipeline.database}_{name}")
        async with Ceiling(amqp, mongo, shapes) as raw:
            limit = await raw.throughput(n, concurrency)
            for load in loads:
                load.raw = p50_p99(await raw.latencies(load.rate, load.count))
        small = await ceiling(amqp, mongo, n, concurrency)
    finally:
        await client.close()
    return Results(limit, small, best, loads, memory, commands, cpu)


def render(results: Results, n: int, concurrency: int) -> str:
    r = results
    best, loads, memory, commands, cpu = r.best, r.loads, r.memory, r.commands, r.cpu
    rows = [
        [
            "ceiling (raw aio-pika + PyMongo, same hops and writes, the pipeline's documents)",
            f"{r.limit:,.0f}",
            "1.00",
        ],
        [
            "the same with documents of a few bytes",
            f"{r.small:,.0f}",
            f"{r.small / r.limit:.2f}",
        ],
        [
            "pipeline (HTTP -> intake -> broker -> workflow case opened)",
            f"{best:,.0f}",
            f"{best / r.limit:.2f}",
        ],
    ]
    lines = [
        f"Measured {machine()}; {n} complaints, concurrency {concurrency}; database "
        f"FerretDB 1.24 (SQLite) or whatever QLOOP_MONGODB_URL named, RabbitMQ 3.10 "
        f"(quorum queues), all on one machine.",
        "",
        table(["what", "complaints/s", "ratio to ceiling"], rows),
        "",
        table(
            [
                "load",
                "rate /s",
                "complaints",
                "p50 ms",
                "p95 ms",
                "p99 ms",
                "ceiling at that rate, p50 / p99 ms",
            ],
            [
                [
                    f"{r.share:.0%}",
                    f"{r.rate:,.1f}",
                    str(r.count),
                    f"{r.p50:.0f}",
                    f"{r.p95:.0f}",
                    f"{r.p99:.0f}",
                    f"{r.raw[0]:.0f} / {r.raw[1]:.0f}",
                ]
                for r in loads
            ],
        ),
        "",
        "The last column: the ceiling's raw chain (same hops, same writes, same documents)",
        "driven open loop at the pipeline's rate and timed the same way, submission to",
        "`case.opened` taken off the broker: the latency the broker and database allow.",
        "",
        "Where the time goes: p50 / p99 ms from submission to each stage (intake's HTTP",
        "answer: complaint stored and numbered; `complaint.registered` on the broker: relayed",
        "from intake's outbox; `case.opened` on the broker: the workflow's part and its relay):",
        "",
        table(
            ["load", "HTTP answer", "complaint.registered", "case.opened"],
            [
                [
                    f"{r.share:.0%}",
                    f"{r.answered[0]:.0f} / {r.answered[1]:.0f}",
                    f"{r.registered[0]:.0f} / {r.registered[1]:.0f}",
                    f"{r.p50:.0f} / {r.p99:.0f}",
                ]
                for r in loads
            ],
        ),
        "",
        table(["service", "peak RSS MB"], [[k, f"{v:.0f}"] for k, v in memory.items()]),
        "",
        "CPU per complaint during the throughput run, by process (the machine has "
        f"{os.cpu_count()} cores):",
        "",
        table(CPU_HEADER, cpu),
        "",
        "Database commands per complaint during the throughput run (from each service's",
        "`qloop_db_command_seconds`; time as the client saw it, waiting included):",
        "",
        table(COMMAND_HEADER, commands),
    ]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    # The figures in docs/performance.md come from these defaults (`make bench`).
    parser.add_argument("--complaints", type=int, default=600)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--seconds", type=float, default=15.0, help="per load level")
    parser.add_argument("--smoke", action="store_true", help="tiny run, to check it works")
    parser.add_argument("--out", type=Path, default=DOC)
    args = parser.parse_args()
    if args.smoke:
        args.complaints, args.concurrency, args.seconds = 20, 4, 0.5
    results = asyncio.run(run(args.complaints, args.concurrency, args.seconds))
    body = render(results, args.complaints, args.concurrency)
    print(body)
    update_section("Pipeline", body, args.out)
    print(f"\nwritten to {args.out} at {datetime.now(UTC):%H:%M:%S}")


if __name__ == "__main__":
    main()
